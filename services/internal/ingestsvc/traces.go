package ingestsvc

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/otlp"
	"github.com/vigilhq/vigil/pkg/stream"
)

// maxRejectionsListed bounds the span rejections quoted in a partial-success message.
const maxRejectionsListed = 5

// otlpCodec encodes OTLP/HTTP answers in the encoding of the request.
type otlpCodec struct{ json bool }

func (c otlpCodec) contentType() string {
	if c.json {
		return "application/json"
	}
	return "application/x-protobuf"
}

func (c otlpCodec) write(w http.ResponseWriter, status int, m proto.Message) {
	var body []byte
	var err error
	if c.json {
		body, err = protojson.Marshal(m)
	} else {
		body, err = proto.Marshal(m)
	}
	if err != nil {
		http.Error(w, "encode the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", c.contentType())
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client went away
}

// fail answers with a google.rpc.Status, as OTLP/HTTP prescribes for errors.
func (c otlpCodec) fail(w http.ResponseWriter, status int, code codes.Code, msg string) {
	c.write(w, status, &spb.Status{Code: int32(code), Message: msg})
}

// handleTraces receives OTLP/HTTP trace exports (protobuf or JSON), maps the model-call spans to
// events of the key's app and publishes them; the answer reports rejected spans as a partial
// success.
func (s *Server) handleTraces(w http.ResponseWriter, r *http.Request) {
	var c otlpCodec
	switch mt, ok := mediaType(r); {
	case ok && (mt == "application/x-protobuf" || mt == "application/protobuf"):
	case ok && mt == "application/json":
		c.json = true
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: fmt.Sprintf("Content-Type %q is not supported; OTLP/HTTP uses application/x-protobuf or application/json", r.Header.Get("Content-Type"))})
		return
	}
	app, why := s.authenticate(r)
	if app == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		c.fail(w, http.StatusUnauthorized, codes.Unauthenticated, why)
		return
	}
	body, berr := s.readBody(w, r)
	if berr != nil {
		code := codes.InvalidArgument
		if berr.status == http.StatusRequestEntityTooLarge {
			code = codes.ResourceExhausted
		}
		c.fail(w, berr.status, code, berr.msg)
		return
	}
	decode := otlp.DecodeProto
	if c.json {
		decode = otlp.DecodeJSON
	}
	rss, err := decode(body)
	if err != nil {
		c.fail(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}

	res := otlp.Map(rss, otlp.Options{App: app})
	rejected := res.Rejected
	subject := stream.EventsSubject(app)
	msgs := make([]*nats.Msg, 0, len(res.Events))
	for _, ev := range res.Events {
		data, err := event.Marshal(ev)
		if err == nil {
			// The stages decode with this decoder: its size limit applies to mapped events too.
			_, err = s.dec.Decode(data)
		}
		if err != nil {
			rejected = append(rejected, otlp.Rejection{TraceID: ev.TraceID, SpanID: ev.SpanID, Err: err})
			continue
		}
		msgs = append(msgs, stream.NewMsg(subject, ev.EventID, data))
	}
	ignored := res.Spans - len(res.Events) - len(res.Rejected)
	s.m.spans.WithLabelValues(outcomeIgnored).Add(float64(ignored))
	s.m.spans.WithLabelValues(outcomeRejected).Add(float64(len(rejected)))
	s.m.events.WithLabelValues("traces", outcomeRejected).Add(float64(len(rejected)))

	var stored, failed int
	var firstErr error
	for _, err := range publishEach(r.Context(), s.js, msgs) {
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		stored++
	}
	s.m.spans.WithLabelValues(outcomeAccepted).Add(float64(stored))
	s.m.events.WithLabelValues("traces", outcomeAccepted).Add(float64(stored))
	if failed > 0 {
		s.m.spans.WithLabelValues(outcomeUnavailable).Add(float64(failed))
		s.m.events.WithLabelValues("traces", outcomeUnavailable).Add(float64(failed))
		setRetryAfter(w)
		c.fail(w, http.StatusServiceUnavailable, codes.Unavailable, fmt.Sprintf(
			"JetStream did not store %d of %d model calls (%v); export again after %v: spans already stored are de-duplicated",
			failed, len(msgs), firstErr, retryAfter))
		return
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if len(rejected) > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: int64(len(rejected)),
			ErrorMessage:  rejectionMessage(rejected),
		}
	}
	c.write(w, http.StatusOK, resp)
}

// rejectionMessage says why spans were rejected, quoting the first few.
func rejectionMessage(rejected []otlp.Rejection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d model-call spans were not valid vigil events: ", len(rejected))
	for i, r := range rejected {
		if i == maxRejectionsListed {
			fmt.Fprintf(&b, "; and %d more", len(rejected)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		reason := r.Err.Error()
		var verr *event.ValidationError
		if errors.As(r.Err, &verr) {
			reason = strings.TrimPrefix(reason, "invalid event: ")
		}
		fmt.Fprintf(&b, "span %s: %s", r.SpanID, reason)
	}
	return b.String()
}
