package ingestsvc_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
)

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

var traceID = []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}

// genAIExport is an export shaped like the OpenTelemetry GenAI instrumentations': an application
// span, a chat span under it with content on attributes, and a chat span without a model.
func genAIExport(start time.Time) *coltracepb.ExportTraceServiceRequest {
	ns := func(d time.Duration) uint64 { return uint64(start.Add(d).UnixNano()) }
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "checkout-assistant"), str("deployment.environment.name", "staging")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "opentelemetry.instrumentation.openai_v2"},
			Spans: []*tracepb.Span{
				{TraceId: traceID, SpanId: []byte{1, 1, 1, 1, 1, 1, 1, 1}, Name: "plan_reply",
					StartTimeUnixNano: ns(0), EndTimeUnixNano: ns(2 * time.Second)},
				{TraceId: traceID, SpanId: []byte{2, 2, 2, 2, 2, 2, 2, 2}, ParentSpanId: []byte{1, 1, 1, 1, 1, 1, 1, 1},
					Name: "chat gpt-4o-mini", Kind: tracepb.Span_SPAN_KIND_CLIENT,
					StartTimeUnixNano: ns(100 * time.Millisecond), EndTimeUnixNano: ns(900 * time.Millisecond),
					Attributes: []*commonpb.KeyValue{
						str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
						str("gen_ai.request.model", "gpt-4o-mini"), num("gen_ai.usage.input_tokens", 20), num("gen_ai.usage.output_tokens", 9),
						str("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Can I pay by invoice?"}]}]`),
						str("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Yes, invoices are due in 30 days."}],"finish_reason":"stop"}]`),
					}},
				{TraceId: traceID, SpanId: []byte{3, 3, 3, 3, 3, 3, 3, 3}, ParentSpanId: []byte{1, 1, 1, 1, 1, 1, 1, 1},
					Name: "chat", StartTimeUnixNano: ns(time.Second), EndTimeUnixNano: ns(1100 * time.Millisecond),
					Attributes: []*commonpb.KeyValue{str("gen_ai.operation.name", "chat")}},
			},
		}},
	}}}
}

// openInferenceJSON is an OTLP JSON export shaped like OpenInference's (hex ids, camelCase keys).
func openInferenceJSON(start time.Time) string {
	return fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"warranty-qa"}}]},
 "scopeSpans":[{"scope":{"name":"openinference.instrumentation.langchain"},"spans":[
  {"traceId":"8a3c60f7d188f8fa79d48a391a778fa6","spanId":"3d4c5b6a79881726","parentSpanId":"1f2e3d4c5b6a7988","name":"ChatOpenAI",
   "kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","status":{"code":1},
   "attributes":[
    {"key":"openinference.span.kind","value":{"stringValue":"LLM"}},
    {"key":"llm.model_name","value":{"stringValue":"gpt-4o"}},
    {"key":"llm.input_messages.0.message.role","value":{"stringValue":"user"}},
    {"key":"llm.input_messages.0.message.content","value":{"stringValue":"How long is the warranty?"}},
    {"key":"llm.output_messages.0.message.role","value":{"stringValue":"assistant"}},
    {"key":"llm.output_messages.0.message.content","value":{"stringValue":"Two years from the date of purchase."}},
    {"key":"llm.token_count.prompt","value":{"intValue":"12"}},
    {"key":"llm.token_count.completion","value":{"intValue":"8"}}]}]}]}]}`,
		start.UnixNano(), start.Add(700*time.Millisecond).UnixNano())
}

func marshalProto(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTracesProtobufMapsModelCalls(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	start := time.Now().Add(-time.Minute)
	body := marshalProto(t, genAIExport(start))
	for attempt := 1; attempt <= 2; attempt++ { // an exporter's retry
		r := g.do(t, request{path: ingestsvc.TracesPath, key: shopKey, contentType: "application/x-protobuf", body: body})
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-protobuf" {
			t.Fatalf("attempt %d: POST = %d %q %q, want 200 application/x-protobuf", attempt, r.status, r.header.Get("Content-Type"), r.body)
		}
		var resp coltracepb.ExportTraceServiceResponse
		if err := proto.Unmarshal(r.body, &resp); err != nil {
			t.Fatal(err)
		}
		ps := resp.GetPartialSuccess()
		if ps.GetRejectedSpans() != 1 || !strings.Contains(ps.GetErrorMessage(), "span 0303030303030303: model: required") {
			t.Errorf("attempt %d: partial success = %v, want 1 rejected span naming the missing model", attempt, ps)
		}
	}
	const id = "otel-5b8efff798038103d269b633813fc60c-0202020202020202"
	if diff := cmp.Diff(map[string][]string{"vigil.events.shop": {id}}, storedIDs(t, g.js)); diff != "" {
		t.Errorf("EVENTS after the same export twice (-want +got):\n%s", diff)
	}
	ev := lastEvent(t, g.js, "shop")
	want := &event.Event{
		EventID: id, Timestamp: start.Add(100 * time.Millisecond).UTC(), App: "shop", Feature: "checkout-assistant",
		Stage: "plan_reply", TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "0202020202020202", ParentSpanID: "0101010101010101",
		Environment: "staging", Provider: "openai", Model: "gpt-4o-mini",
		Messages: []event.Message{{Role: "user", Content: "Can I pay by invoice?"}}, Output: "Yes, invoices are due in 30 days.",
		LatencyMS: 800, InputTokens: 20, OutputTokens: 9, FinishReason: "stop", Status: "ok",
		Attributes: map[string]string{"gen_ai.operation.name": "chat", "otel.scope.name": "opentelemetry.instrumentation.openai_v2",
			"otel.span.name": "chat gpt-4o-mini", "service.name": "checkout-assistant"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("stored event (-want +got):\n%s", diff)
	}
}

func TestTracesJSONTakesTheKeysApp(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	body := gzipped(t, []byte(openInferenceJSON(time.Now().Add(-time.Minute))))
	r := g.do(t, request{path: ingestsvc.TracesPath, key: bankKey, contentType: "application/json", encoding: "gzip", body: body})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST = %d %q %s, want 200 application/json", r.status, r.header.Get("Content-Type"), r.body)
	}
	var resp coltracepb.ExportTraceServiceResponse
	if err := protojson.Unmarshal(r.body, &resp); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	if resp.GetPartialSuccess().GetRejectedSpans() != 0 {
		t.Errorf("partial success = %v, want nothing rejected", resp.GetPartialSuccess())
	}
	ev := lastEvent(t, g.js, "bank")
	if ev.App != "bank" || ev.Model != "gpt-4o" || ev.Output != "Two years from the date of purchase." || ev.Feature != "warranty-qa" ||
		ev.ParentSpanID != "1f2e3d4c5b6a7988" || ev.Stage != "" || ev.InputTokens != 12 || ev.OutputTokens != 8 {
		t.Errorf("stored event = %+v, want bank's gpt-4o call with its output, tokens and parent (stage unknown: the parent is not in the request)", ev)
	}
}

func lastEvent(t *testing.T, js jetstream.JetStream, app string) *event.Event {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, stream.EventsSubject(app))
	if err != nil {
		t.Fatalf("last message on %s: %v", stream.EventsSubject(app), err)
	}
	ev, err := event.Decoder{MaxBytes: maxEvent}.Decode(m.Data)
	if err != nil {
		t.Fatalf("stored message %s: %v", m.Data, err)
	}
	return ev
}

func TestTracesRefusesRequests(t *testing.T) {
	g := newGateway(t, gatewayOpts{config: func(c *ingestsvc.Config) { c.MaxBodyBytes = 4096 }})
	good := marshalProto(t, genAIExport(time.Now()))
	tests := []struct {
		name     string
		req      request
		status   int
		code     codes.Code
		want     string
		jsonBody bool
	}{
		{"no key", request{contentType: "application/x-protobuf", body: good}, 401, codes.Unauthenticated, "missing Authorization", false},
		{"unknown key, JSON", request{key: "not-a-key-0123456789", contentType: "application/json", body: []byte(`{}`)}, 401, codes.Unauthenticated, "unknown API key", true},
		{"malformed protobuf", request{key: shopKey, contentType: "application/x-protobuf", body: []byte{0x0a, 0xff, 0xff, 0x01}}, 400, codes.InvalidArgument, "decode protobuf", false},
		{"base64 ids in JSON", request{key: shopKey, contentType: "application/json",
			body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}`)}, 400, codes.InvalidArgument, "traceId: not a hex id", true},
		{"oversized", request{key: shopKey, contentType: "application/json", body: []byte(strings.Repeat(" ", 5000) + "{}")}, 413, codes.ResourceExhausted, "exceeds 4096 bytes", true},
	}
	for _, tc := range tests {
		tc.req.path = ingestsvc.TracesPath
		r := g.do(t, tc.req)
		var st spb.Status
		var err error
		if tc.jsonBody {
			err = protojson.Unmarshal(r.body, &st)
		} else {
			err = proto.Unmarshal(r.body, &st)
		}
		if err != nil || r.status != tc.status || codes.Code(st.GetCode()) != tc.code || !strings.Contains(st.GetMessage(), tc.want) {
			t.Errorf("%s: POST = %d %q (status %v, decode error %v), want %d with code %v and a message containing %q",
				tc.name, r.status, r.body, &st, err, tc.status, tc.code, tc.want)
		}
	}
	r := g.do(t, request{path: ingestsvc.TracesPath, key: shopKey, contentType: "text/plain", body: good})
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("POST text/plain = %d %s, want 415", r.status, r.body)
	}
	if got := storedIDs(t, g.js); len(got) != 0 {
		t.Errorf("refused exports stored %v", got)
	}
}

func TestTracesUnavailable(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	if err := g.js.DeleteStream(context.Background(), stream.Events); err != nil {
		t.Fatal(err)
	}
	r := g.do(t, request{path: ingestsvc.TracesPath, key: shopKey, contentType: "application/x-protobuf", body: marshalProto(t, genAIExport(time.Now()))})
	var st spb.Status
	if err := proto.Unmarshal(r.body, &st); err != nil || r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		codes.Code(st.GetCode()) != codes.Unavailable || !strings.Contains(st.GetMessage(), "did not store 1 of 1 model calls") {
		t.Errorf("POST without a stream = %d %v %v (%v), want 503 Unavailable with Retry-After", r.status, r.header, &st, err)
	}
}
