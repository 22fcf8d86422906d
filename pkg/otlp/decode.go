package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ErrMalformed marks a request body that is not an OTLP trace export in the expected encoding.
var ErrMalformed = errors.New("otlp: malformed request")

// DecodeProto parses the body of an OTLP/HTTP protobuf trace export (an
// ExportTraceServiceRequest, which shares its wire form with TracesData). Errors wrap
// ErrMalformed. The result does not alias data.
func DecodeProto(data []byte) ([]*tracepb.ResourceSpans, error) {
	var td tracepb.TracesData
	if err := proto.Unmarshal(data, &td); err != nil {
		return nil, fmt.Errorf("%w: decode protobuf: %v", ErrMalformed, err)
	}
	return td.GetResourceSpans(), nil
}

// DecodeJSON parses the body of an OTLP/HTTP JSON trace export: the protobuf JSON mapping with
// lowerCamelCase keys, except that trace and span ids are hex strings, as OTLP specifies.
// Unknown fields are ignored, as OTLP receivers must. Errors wrap ErrMalformed and name the
// position of a bad id. The result does not alias data.
func DecodeJSON(data []byte) ([]*tracepb.ResourceSpans, error) {
	dec := stdjson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep 64-bit nanosecond times exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: decode JSON: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the JSON object", ErrMalformed)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the body is not a JSON object", ErrMalformed)
	}
	if err := hexIDsToBase64(root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	canonical, err := stdjson.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("%w: re-encode JSON: %v", ErrMalformed, err)
	}
	var td tracepb.TracesData
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(canonical, &td); err != nil {
		return nil, fmt.Errorf("%w: decode OTLP JSON: %v", ErrMalformed, err)
	}
	return td.GetResourceSpans(), nil
}

// hexIDsToBase64 rewrites the hex trace and span ids of an OTLP JSON document into the base64
// form that the generic protobuf JSON mapping reads for bytes fields. A hex id is also valid
// base64 of another length, so reading it without this step would silently yield wrong ids.
func hexIDsToBase64(root map[string]any) error {
	for i, rs := range objects(field(root, "resourceSpans", "resource_spans")) {
		for j, ss := range objects(field(rs, "scopeSpans", "scope_spans")) {
			for k, sp := range objects(field(ss, "spans")) {
				at := fmt.Sprintf("resourceSpans[%d].scopeSpans[%d].spans[%d]", i, j, k)
				if err := rewriteIDs(sp, at, "traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"); err != nil {
					return err
				}
				for l, link := range objects(field(sp, "links")) {
					if err := rewriteIDs(link, fmt.Sprintf("%s.links[%d]", at, l), "traceId", "trace_id", "spanId", "span_id"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func rewriteIDs(obj map[string]any, at string, keys ...string) error {
	for _, k := range keys {
		v, ok := obj[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			continue // the protobuf decoder reports the wrong type
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s.%s: not a hex id", at, k)
		}
		obj[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}

// field returns the first of keys present in obj.
func field(obj map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := obj[k]; ok {
			return v
		}
	}
	return nil
}

// objects returns the objects in v if it is an array; other elements are left to the protobuf
// decoder to reject.
func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{})
		}
	}
	return out
}
