package otlp

import (
	stdjson "encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/pkg/event"
)

// seedFiles are the payloads shaped like those of OpenLLMetry, OpenInference and the current
// and previous OpenTelemetry GenAI conventions.
func seedFiles(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed payloads in testdata (%v)", err)
	}
	var out [][]byte
	for _, p := range paths {
		out = append(out, readTestdata(f, filepath.Base(p)))
	}
	return out
}

var errText = cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })

// checkResult asserts what holds for any request: every event is valid and survives the wire
// codec unchanged, every rejection names a field, and nothing is counted twice.
func checkResult(t *testing.T, fn string, data []byte, res Result) {
	t.Helper()
	if len(res.Events)+len(res.Rejected) > res.Spans {
		t.Fatalf("%s(%q): %d events and %d rejections from %d spans", fn, data, len(res.Events), len(res.Rejected), res.Spans)
	}
	for _, ev := range res.Events {
		if ev.App != "fuzz" {
			t.Fatalf("%s(%q): event app %q, want the caller's", fn, data, ev.App)
		}
		enc, err := event.Marshal(ev)
		if err != nil {
			t.Fatalf("%s(%q): Marshal(event) = %v", fn, data, err)
		}
		again, err := event.Decoder{MaxBytes: len(enc) + 1}.Decode(enc)
		if err != nil {
			t.Fatalf("%s(%q): the wire decoder rejects a mapped event: %v\n%s", fn, data, err, enc)
		}
		if diff := cmp.Diff(ev, again); diff != "" {
			t.Fatalf("%s(%q): event changed through the wire codec (-mapped +decoded):\n%s", fn, data, diff)
		}
	}
	for _, r := range res.Rejected {
		var verr *event.ValidationError
		if !errors.As(r.Err, &verr) || len(verr.Fields) == 0 {
			t.Fatalf("%s(%q): rejection %v is not a *event.ValidationError naming a field", fn, data, r.Err)
		}
	}
}

func FuzzMapJSON(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"zz"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rss, err := DecodeJSON(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeJSON(%q) = %v, want an error wrapping ErrMalformed", data, err)
			}
			return
		}
		if !stdjson.Valid(data) {
			t.Fatalf("DecodeJSON(%q) accepted input that encoding/json.Valid rejects", data)
		}
		res := Map(rss, Options{App: "fuzz"})
		checkResult(t, "MapJSON", data, res)
		// The protobuf encoding of what was read maps to the same result.
		wire, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rss})
		if err != nil {
			t.Fatalf("proto.Marshal(DecodeJSON(%q)) = %v", data, err)
		}
		again, err := DecodeProto(wire)
		if err != nil {
			t.Fatalf("DecodeProto(proto.Marshal(DecodeJSON(%q))) = %v", data, err)
		}
		if diff := cmp.Diff(res, Map(again, Options{App: "fuzz"}), errText); diff != "" {
			t.Fatalf("JSON and protobuf forms of %q map differently (-json +protobuf):\n%s", data, diff)
		}
	})
}

func FuzzMapProto(f *testing.F) {
	for _, s := range seedFiles(f) {
		rss, err := DecodeJSON(s)
		if err != nil {
			f.Fatal(err)
		}
		wire, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rss})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rss, err := DecodeProto(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeProto(%q) = %v, want an error wrapping ErrMalformed", data, err)
			}
			return
		}
		res := Map(rss, Options{App: "fuzz"})
		checkResult(t, "MapProto", data, res)
		wire, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rss})
		if err != nil {
			t.Fatalf("proto.Marshal(DecodeProto(%q)) = %v", data, err)
		}
		again, err := DecodeProto(wire)
		if err != nil {
			t.Fatalf("DecodeProto(round trip of %q) = %v", data, err)
		}
		if diff := cmp.Diff(res, Map(again, Options{App: "fuzz"}), errText); diff != "" {
			t.Fatalf("Map changed through a protobuf round trip of %q (-first +second):\n%s", data, diff)
		}
	})
}
