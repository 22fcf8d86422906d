package otlp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/pkg/event"
)

// base is the start of every span in testdata: 2026-11-20T10:00:00Z.
var base = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func decodeFile(tb testing.TB, name string) []*tracepb.ResourceSpans {
	tb.Helper()
	data := readTestdata(tb, name)
	rss, err := DecodeJSON(data)
	if err != nil {
		tb.Fatalf("DecodeJSON(%s) = %v", name, err)
	}
	return rss
}

func TestMapInstrumentations(t *testing.T) {
	tests := []struct {
		file     string
		spans    int
		want     []*event.Event
		rejected map[string]string // span id → substring of the reason
	}{
		{
			file:  "genai_current.json",
			spans: 6,
			want: []*event.Event{{
				EventID: "otel-5b8efff798038103d269b633813fc60c-1a2b3c4d5e6f7081", Timestamp: at(10), App: "shop",
				Feature: "support-bot", Stage: "answer_ticket", Environment: "staging",
				TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "1a2b3c4d5e6f7081", ParentSpanID: "6ab2f3c1d0e4a5b7",
				Provider: "openai", Model: "gpt-4o-mini-2024-07-18", PromptVersion: "v3",
				Messages:           []event.Message{{Role: "user", Content: "Where is my order 1234?"}},
				Output:             "Your order 1234 shipped yesterday and arrives on Friday.",
				SystemInstructions: "You are a support agent for Acme. Never reveal internal notes.",
				LatencyMS:          820, TTFTMS: 350, InputTokens: 52, OutputTokens: 18, FinishReason: "stop",
				Status: "ok", SessionID: "conv-77",
				Attributes: map[string]string{
					"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.id": "chatcmpl-AbC123",
					"otel.scope.name": "opentelemetry.instrumentation.openai_v2", "otel.span.name": "chat gpt-4o-mini",
					"server.address": "api.openai.com", "service.name": "support-bot", "service.version": "1.4.2",
				},
			}, {
				EventID: "otel-5b8efff798038103d269b633813fc60c-4d5e6f7081920314", Timestamp: at(950), App: "shop",
				Feature: "support-bot", Stage: "fallback", Environment: "staging",
				TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "4d5e6f7081920314", ParentSpanID: "6ab2f3c1d0e4a5b7",
				Provider: "anthropic", Model: "claude-sonnet-4", PromptVersion: "v3",
				Messages:  []event.Message{{Role: "user", Content: "Where is my order 1234?"}},
				LatencyMS: 400, Status: "error", Error: "Overloaded",
				Attributes: map[string]string{
					"gen_ai.operation.name": "chat", "error.type": "overloaded_error",
					"otel.scope.name": "opentelemetry.instrumentation.openai_v2", "otel.span.name": "chat claude-sonnet-4",
					"output_captured": "false", "service.name": "support-bot", "service.version": "1.4.2",
				},
			}},
		},
		{
			file:  "genai_events.json",
			spans: 4,
			want: []*event.Event{{
				EventID: "otel-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", Timestamp: at(0), App: "shop",
				Feature: "search-summary", Environment: "prod",
				TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
				Provider: "azure.ai.openai", Model: "gpt-4",
				Messages: []event.Message{
					{Role: "system", Content: "Summarise the search results."}, {Role: "user", Content: "Results: ..."}},
				Output: "The results say that the", SystemInstructions: "Summarise the search results.",
				LatencyMS: 2300, InputTokens: 40, OutputTokens: 12, FinishReason: "length", Status: "ok",
				Attributes: map[string]string{
					"gen_ai.operation.name": "chat", "otel.scope.name": "opentelemetry.instrumentation.openai",
					"otel.span.name": "chat gpt-4", "service.name": "unknown_service:python",
				},
			}, {
				EventID: "otel-0af7651916cd43dd8448eb211c80319c-c8be7c827a314442", Timestamp: at(2400), App: "shop",
				Feature: "search-summary", Environment: "prod",
				TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "c8be7c827a314442",
				Provider: "gcp.vertex_ai", Model: "gemini-1.5-pro",
				Messages: []event.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}},
				Output:   "Hello! How can I help?", SystemInstructions: "Be brief.",
				LatencyMS: 900, FinishReason: "stop", Status: "ok",
				Attributes: map[string]string{
					"gen_ai.operation.name": "chat", "otel.scope.name": "opentelemetry.instrumentation.openai",
					"otel.span.name": "chat gemini-1.5-pro", "service.name": "unknown_service:python",
				},
			}, {
				EventID: "otel-0af7651916cd43dd8448eb211c80319c-d9cf8d938b425553", Timestamp: at(3400), App: "shop",
				Feature: "search-summary", Environment: "prod",
				TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "d9cf8d938b425553",
				Provider: "mistral_ai", Model: "mistral-large",
				Messages:  []event.Message{{Role: "user", Content: "Complete: The capital of France is"}},
				Output:    " Paris.",
				LatencyMS: 700, FinishReason: "stop", Status: "ok",
				Attributes: map[string]string{
					"gen_ai.operation.name": "text_completion", "otel.scope.name": "opentelemetry.instrumentation.openai",
					"otel.span.name": "text_completion mistral-large", "service.name": "unknown_service:python",
				},
			}},
			rejected: map[string]string{"e0d09ea49c536664": "model: required: the span has none of gen_ai.response.model"},
		},
		{
			file:  "openllmetry.json",
			spans: 3,
			want: []*event.Event{{
				EventID: "otel-4bf92f3577b34da6a3ce929d0e0e4736-a1b2c3d4e5f60718", Timestamp: at(320), App: "shop",
				Feature: "rag-api", Stage: "answer_question.workflow", Environment: "production",
				TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "a1b2c3d4e5f60718", ParentSpanID: "00f067aa0ba902b7",
				Provider: "openai", Model: "gpt-3.5-turbo-0125", PromptID: "refund-faq", PromptVersion: "4",
				Messages: []event.Message{
					{Role: "system", Content: "Answer from the context only."}, {Role: "user", Content: "What is the refund window?"}},
				Output: "I'm sorry, but I can't help with that.", SystemInstructions: "Answer from the context only.",
				LatencyMS: 1450, InputTokens: 31, OutputTokens: 11, FinishReason: "stop", Status: "ok",
				Attributes: map[string]string{
					"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-3.5-turbo",
					"otel.scope.name": "opentelemetry.instrumentation.openai.v1", "otel.span.name": "openai.chat",
					"service.name": "rag-api", "traceloop.workflow.name": "answer_question",
				},
			}},
		},
		{
			file:  "openinference.json",
			spans: 3,
			want: []*event.Event{{
				EventID: "otel-8a3c60f7d188f8fa79d48a391a778fa6-3d4c5b6a79881726", Timestamp: at(220), App: "shop",
				Feature: "warranty-qa", Stage: "RetrievalQA", Environment: "dev",
				TraceID: "8a3c60f7d188f8fa79d48a391a778fa6", SpanID: "3d4c5b6a79881726", ParentSpanID: "1f2e3d4c5b6a7988",
				Provider: "openai", Model: "gpt-4o-2024-08-06", PromptVersion: "2024-06",
				Messages: []event.Message{
					{Role: "system", Content: "Use the context to answer."}, {Role: "user", Content: "Summarise the warranty terms."}},
				Output: "The warranty covers defects for two years.", SystemInstructions: "Use the context to answer.",
				LatencyMS: 1800, InputTokens: 120, OutputTokens: 14, Status: "ok", UserID: "user-42", SessionID: "sess-9",
				Attributes: map[string]string{
					"openinference.span.kind": "LLM", "otel.scope.name": "openinference.instrumentation.langchain",
					"otel.span.name": "ChatOpenAI", "service.name": "warranty-assistant",
				},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := Map(decodeFile(t, tc.file), Options{App: "shop"})
			if got.Spans != tc.spans {
				t.Errorf("Map(%s).Spans = %d, want %d", tc.file, got.Spans, tc.spans)
			}
			if diff := cmp.Diff(tc.want, got.Events); diff != "" {
				t.Errorf("Map(%s) events mismatch (-want +got):\n%s", tc.file, diff)
			}
			if len(got.Rejected) != len(tc.rejected) {
				t.Errorf("Map(%s) rejected %d spans (%v), want %d", tc.file, len(got.Rejected), got.Rejected, len(tc.rejected))
			}
			for _, r := range got.Rejected {
				want, ok := tc.rejected[r.SpanID]
				if !ok || !strings.Contains(r.Err.Error(), want) {
					t.Errorf("Map(%s) rejected span %s: %v, want a reason containing %q", tc.file, r.SpanID, r.Err, want)
				}
			}
		})
	}
}

// TestMapProtoMatchesJSON checks that the two encodings of one export map to the same events.
func TestMapProtoMatchesJSON(t *testing.T) {
	for _, f := range []string{"genai_current.json", "genai_events.json", "openllmetry.json", "openinference.json"} {
		fromJSON := decodeFile(t, f)
		data, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: fromJSON})
		if err != nil {
			t.Fatal(err)
		}
		fromProto, err := DecodeProto(data)
		if err != nil {
			t.Fatalf("DecodeProto(marshalled %s) = %v", f, err)
		}
		want, got := Map(fromJSON, Options{App: "a"}), Map(fromProto, Options{App: "a"})
		if diff := cmp.Diff(want.Events, got.Events); diff != "" {
			t.Errorf("%s: protobuf and JSON map differently (-json +protobuf):\n%s", f, diff)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	span := func(fields string) string {
		return `{"resourceSpans":[{"scopeSpans":[{"spans":[{` + fields + `}]}]}]}`
	}
	tests := []struct {
		name, body string
		wantTrace  string // hex trace id of the one span, or the error substring
		wantErr    bool
	}{
		{"hex ids", span(`"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x"`), "5b8efff798038103d269b633813fc60c", false},
		{"snake_case keys", `{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"}]}]}]}`, "5b8efff798038103d269b633813fc60c", false},
		{"unknown fields ignored", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000001","futureField":{"a":1}}]}],"futureField":1}]}`, "00000000000000000000000000000001", false},
		{"enum names and int64 as numbers", span(`"traceId":"00000000000000000000000000000002","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1795168800000000000`), "00000000000000000000000000000002", false},
		{"base64 id is not hex", span(`"traceId":"W47/95gDgQPSabYzgT/GDA=="`), "resourceSpans[0].scopeSpans[0].spans[0].traceId: not a hex id", true},
		{"bad parent id", span(`"traceId":"5b8efff798038103d269b633813fc60c","parentSpanId":"xyz"`), "spans[0].parentSpanId: not a hex id", true},
		{"not an object", `[1,2]`, "not a JSON object", true},
		{"trailing data", `{} {}`, "unexpected data after the JSON object", true},
		{"truncated", `{"resourceSpans":[`, "decode JSON", true},
		{"wrong type", `{"resourceSpans":{"a":1}}`, "decode OTLP JSON", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rss, err := DecodeJSON([]byte(tc.body))
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantTrace) {
					t.Fatalf("DecodeJSON(%q) = %v, want ErrMalformed containing %q", tc.body, err, tc.wantTrace)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeJSON(%q) = %v, want nil", tc.body, err)
			}
			got := ""
			if sp := rss[0].GetScopeSpans()[0].GetSpans()[0]; sp != nil {
				got = hexOf(sp.GetTraceId())
			}
			if got != tc.wantTrace {
				t.Errorf("DecodeJSON(%q) trace id = %s, want %s", tc.body, got, tc.wantTrace)
			}
		})
	}
}

func TestDecodeProtoRejectsGarbage(t *testing.T) {
	if _, err := DecodeProto([]byte{0x0a, 0xff, 0xff}); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeProto(truncated) = %v, want ErrMalformed", err)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// Builders for hand-made spans.

func kv(key string, v any) *commonpb.KeyValue {
	var av *commonpb.AnyValue
	switch x := v.(type) {
	case string:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: x}}
	case int:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(x)}}
	case float64:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: x}}
	default:
		panic("unsupported attribute type")
	}
	return &commonpb.KeyValue{Key: key, Value: av}
}

func kvs(pairs ...any) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, kv(pairs[i].(string), pairs[i+1]))
	}
	return out
}

func id(n byte, size int) []byte {
	b := make([]byte, size)
	b[size-1] = n
	return b
}

func mkSpan(spanN, parentN byte, name string, attrs ...any) *tracepb.Span {
	sp := &tracepb.Span{
		TraceId: id(1, 16), SpanId: id(spanN, 8), Name: name,
		StartTimeUnixNano: uint64(base.UnixNano()), EndTimeUnixNano: uint64(base.Add(time.Second).UnixNano()),
		Attributes: kvs(attrs...),
	}
	if parentN != 0 {
		sp.ParentSpanId = id(parentN, 8)
	}
	return sp
}

func export(resource []*commonpb.KeyValue, spans ...*tracepb.Span) []*tracepb.ResourceSpans {
	return []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: resource},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}
}

func TestMapSelectsModelCalls(t *testing.T) {
	tests := []struct {
		name  string
		attrs []any
		want  bool
	}{
		{"chat operation", []any{"gen_ai.operation.name", "chat", "gen_ai.request.model", "m"}, true},
		{"generate_content", []any{"gen_ai.operation.name", "generate_content", "gen_ai.request.model", "m"}, true},
		{"legacy llm.request.type", []any{"llm.request.type", "completion", "gen_ai.request.model", "m"}, true},
		{"model without operation", []any{"gen_ai.system", "openai", "gen_ai.response.model", "m"}, true},
		{"OpenInference LLM", []any{"openinference.span.kind", "LLM", "llm.model_name", "m"}, true},
		{"OpenInference lower case", []any{"openinference.span.kind", "llm", "llm.model_name", "m"}, true},
		{"OpenInference chain with a model", []any{"openinference.span.kind", "CHAIN", "llm.model_name", "m"}, false},
		{"tool execution", []any{"gen_ai.operation.name", "execute_tool", "gen_ai.request.model", "m"}, false},
		{"embeddings", []any{"gen_ai.operation.name", "embeddings", "gen_ai.request.model", "m"}, false},
		{"agent", []any{"gen_ai.operation.name", "invoke_agent", "gen_ai.request.model", "m"}, false},
		{"plain HTTP span", []any{"http.request.method", "GET"}, false},
		{"no attributes", nil, false},
	}
	for _, tc := range tests {
		res := Map(export(nil, mkSpan(2, 0, "s", tc.attrs...)), Options{App: "a"})
		if got := len(res.Events)+len(res.Rejected) == 1; got != tc.want {
			t.Errorf("%s: Map(%v) took the span as a model call = %v, want %v (result %+v)", tc.name, tc.attrs, got, tc.want, res)
		}
	}
}

func TestMapLinksStagesAndInheritsOverrides(t *testing.T) {
	root := mkSpan(1, 0, "handle_request", "vigil.feature", "checkout-assistant", "vigil.prompt_version", "v7")
	stage := mkSpan(2, 1, "draft_reply")
	call := mkSpan(3, 2, "chat m", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m",
		"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]`)
	orphan := mkSpan(4, 9, "chat m", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m")
	override := mkSpan(5, 2, "chat m", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m",
		"vigil.feature", "own-feature", "vigil.stage", "rerank", "vigil.prompt_version", "v8", "vigil.environment", "canary")
	res := Map(export(kvs("service.name", "svc", "deployment.environment.name", "prod", "vigil.prompt_id", "reply-prompt"),
		root, stage, call, orphan, override), Options{App: "shop"})
	if len(res.Rejected) != 0 {
		t.Fatalf("Map rejected %v", res.Rejected)
	}
	type labels struct{ Feature, Stage, Parent, Env, PromptID, PromptVersion string }
	var got []labels
	for _, ev := range res.Events {
		got = append(got, labels{ev.Feature, ev.Stage, ev.ParentSpanID, ev.Environment, ev.PromptID, ev.PromptVersion})
	}
	want := []labels{
		{"checkout-assistant", "draft_reply", "0000000000000002", "prod", "reply-prompt", "v7"},
		{"svc", "", "0000000000000009", "prod", "reply-prompt", ""}, // parent not in this request
		{"own-feature", "rerank", "0000000000000002", "canary", "reply-prompt", "v8"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestMapSurvivesParentCycles(t *testing.T) {
	a := mkSpan(1, 2, "a", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m")
	b := mkSpan(2, 1, "b")
	self := mkSpan(3, 3, "self", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m")
	res := Map(export(nil, a, b, self), Options{App: "shop"})
	if len(res.Events) != 2 {
		t.Fatalf("Map of a parent cycle = %+v, want 2 events", res)
	}
	if res.Events[0].Stage != "b" || res.Events[1].Stage != "" {
		t.Errorf("stages = %q, %q; want \"b\" and none for a self-parented span", res.Events[0].Stage, res.Events[1].Stage)
	}
}

func TestMapIsDeterministic(t *testing.T) {
	rss := decodeFile(t, "genai_current.json")
	first, second := Map(rss, Options{App: "shop"}), Map(rss, Options{App: "shop"})
	if diff := cmp.Diff(first, second, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
		t.Errorf("Map is not deterministic (-first +second):\n%s", diff)
	}
}

func TestMapRejectsWithSources(t *testing.T) {
	chat := []any{"gen_ai.operation.name", "chat", "gen_ai.request.model", "m"}
	tests := []struct {
		name     string
		resource []*commonpb.KeyValue
		span     func() *tracepb.Span
		want     []string
	}{
		{"short trace id", nil, func() *tracepb.Span {
			sp := mkSpan(2, 0, "x", chat...)
			sp.TraceId = []byte{1, 2, 3}
			return sp
		}, []string{"trace_id: the span's trace_id must be 16 bytes"}},
		{"zero span id", nil, func() *tracepb.Span {
			sp := mkSpan(2, 0, "x", chat...)
			sp.SpanId = make([]byte, 8)
			return sp
		}, []string{"span_id: the span's span_id must be 8 bytes, not all zero"}},
		{"no start time", nil, func() *tracepb.Span {
			sp := mkSpan(2, 0, "x", chat...)
			sp.StartTimeUnixNano = 0
			return sp
		}, []string{"timestamp: required (from span start_time_unix_nano)"}},
		{"environment not a token", kvs("deployment.environment.name", "eu prod"), func() *tracepb.Span {
			return mkSpan(2, 0, "x", chat...)
		}, []string{`environment: character ' ' at offset 2; use letters, digits, - and _ (from resource attribute deployment.environment.name)`}},
		{"negative tokens", nil, func() *tracepb.Span {
			return mkSpan(2, 0, "x", append(chat, "gen_ai.usage.output_tokens", -3)...)
		}, []string{"output_tokens: must not be negative (from span attribute gen_ai.usage.output_tokens)"}},
		{"feature too long", nil, func() *tracepb.Span {
			return mkSpan(2, 0, "x", append(chat, "vigil.feature", strings.Repeat("f", 200))...)
		}, []string{"feature: 200 bytes exceeds the maximum of 128 (from span attribute vigil.feature)"}},
		{"no model", nil, func() *tracepb.Span {
			return mkSpan(2, 0, "x", "gen_ai.operation.name", "chat")
		}, []string{"model: required: the span has none of"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Map(export(tc.resource, tc.span()), Options{App: "shop"})
			if len(res.Events) != 0 || len(res.Rejected) != 1 {
				t.Fatalf("Map = %+v, want one rejected span", res)
			}
			err := res.Rejected[0].Err
			var verr *event.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("rejection error %T %v, want *event.ValidationError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("rejection %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMapReadsStructuredAndStringAttributesAlike(t *testing.T) {
	msgs := &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
		{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			kv("role", "user"),
			{Key: "parts", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
				{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("type", "text"), kv("content", "hi")}}}},
				{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("type", "tool_call"), kv("name", "f")}}}},
			}}}}},
		}}}},
	}}}}
	structuredSpan := mkSpan(2, 0, "s", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m")
	structuredSpan.Attributes = append(structuredSpan.Attributes, &commonpb.KeyValue{Key: "gen_ai.input.messages", Value: msgs})
	stringSpan := mkSpan(3, 0, "s", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m",
		"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"},{"type":"tool_call","name":"f"}]}]`)
	openAISpan := mkSpan(4, 0, "s", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m",
		"gen_ai.input.messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]}]`)
	res := Map(export(nil, structuredSpan, stringSpan, openAISpan), Options{App: "shop"})
	if len(res.Events) != 3 {
		t.Fatalf("Map = %+v, want 3 events", res)
	}
	want := []event.Message{{Role: "user", Content: "hi"}}
	for i, ev := range res.Events {
		if diff := cmp.Diff(want, ev.Messages); diff != "" {
			t.Errorf("event %d messages (-want +got):\n%s", i, diff)
		}
	}
}

func TestMapPlainTextContent(t *testing.T) {
	sp := mkSpan(2, 0, "s", "openinference.span.kind", "LLM", "llm.model_name", "m",
		"input.value", "What is 2+2?", "output.value", "4", "llm.response.finish_reason", "stop")
	res := Map(export(nil, sp), Options{App: "shop"})
	if len(res.Events) != 1 {
		t.Fatalf("Map = %+v, want 1 event", res)
	}
	ev := res.Events[0]
	if ev.Input != "What is 2+2?" || ev.Messages != nil || ev.Output != "4" || ev.FinishReason != "stop" {
		t.Errorf("event input=%q messages=%v output=%q finish=%q, want the plain input and output values", ev.Input, ev.Messages, ev.Output, ev.FinishReason)
	}
	if _, ok := ev.Attributes["output_captured"]; ok {
		t.Errorf("attributes %v mark a captured output as missing", ev.Attributes)
	}
}

func TestMapJSONOutputFormat(t *testing.T) {
	sp := mkSpan(2, 0, "s", "gen_ai.operation.name", "chat", "gen_ai.request.model", "m", "gen_ai.output.type", "json",
		"vigil.output_schema", "ticket_triage", "gen_ai.usage.cost", 0.0021)
	res := Map(export(nil, sp), Options{App: "shop"})
	if len(res.Events) != 1 {
		t.Fatalf("Map = %+v, want 1 event", res)
	}
	ev := res.Events[0]
	if ev.Attributes["output_format"] != "json" || ev.OutputSchema != "ticket_triage" || ev.CostUSD != 0.0021 {
		t.Errorf("event = %+v, want output_format=json, output_schema ticket_triage, cost 0.0021", ev)
	}
}
