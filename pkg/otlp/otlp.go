// Package otlp maps OpenTelemetry traces of model calls to vigil events. It reads the GenAI
// semantic conventions (current and deprecated attribute names), OpenLLMetry's and
// OpenInference's attributes, and the span events that carry message content. It is pure: no
// I/O; the ingest service decodes request bodies with DecodeProto or DecodeJSON and publishes
// what Map returns.
//
// # Which spans become events
//
// A span is a model call when it carries openinference.span.kind = LLM; otherwise, when its
// gen_ai.operation.name (or OpenLLMetry's llm.request.type) is chat, text_completion,
// generate_content or completion; otherwise, when it has no operation name but names a model
// (gen_ai.response.model, gen_ai.request.model, llm.response.model, llm.request.model or
// llm.model_name). Every other span (the application's own spans, tools, agents, retrieval,
// embeddings) is not an event, but it still links the events in the same request: a model
// call's stage is its parent span's name when the parent is in the request.
//
// # Field sources (first match wins)
//
//	event_id            "otel-" + hex trace_id + "-" + hex span_id (a re-sent span gets the same id)
//	timestamp           span start; latency_ms = end - start
//	app                 Options.App (the API key's app), never an attribute
//	trace_id, span_id, parent_span_id   the span's ids, hex
//	feature             vigil.feature (span, its ancestors in the request, resource) → resource service.name
//	environment         vigil.environment (span, ancestors, resource) → resource deployment.environment.name → deployment.environment
//	stage               vigil.stage (span, then parent) → the parent span's name when the parent is in the request
//	prompt_version      vigil.prompt_version (span, ancestors, resource) → traceloop.prompt.version → llm.prompt_template.version
//	prompt_id           vigil.prompt_id (span, ancestors, resource) → gen_ai.prompt.name → traceloop.prompt.key
//	output_schema       vigil.output_schema (span, ancestors, resource)
//	provider            gen_ai.provider.name → gen_ai.system (old values renamed) → llm.provider → llm.system
//	model               gen_ai.response.model → gen_ai.request.model → llm.response.model → llm.request.model → llm.model_name
//	messages / input    gen_ai.input.messages → event gen_ai.client.inference.operation.details →
//	                    gen_ai.prompt.<i>.role/content → events gen_ai.<role>.message →
//	                    event gen_ai.content.prompt (or attribute gen_ai.prompt) →
//	                    llm.input_messages.<i>.message.* → input.value (as input text)
//	output              the first choice of gen_ai.output.messages → the operation.details event →
//	                    gen_ai.completion.<i>.content → event gen_ai.choice →
//	                    event gen_ai.content.completion (or attribute gen_ai.completion) →
//	                    llm.output_messages.<i>.message.* → output.value
//	system_instructions gen_ai.system_instructions → the operation.details event → the input's system messages
//	finish_reason       gen_ai.response.finish_reasons[0] → the output message's finish_reason → llm.response.finish_reason
//	input_tokens        gen_ai.usage.input_tokens → gen_ai.usage.prompt_tokens → llm.usage.prompt_tokens → llm.token_count.prompt
//	output_tokens       gen_ai.usage.output_tokens → gen_ai.usage.completion_tokens → llm.usage.completion_tokens → llm.token_count.completion
//	ttft_ms             gen_ai.response.time_to_first_chunk × 1000
//	cost_usd            gen_ai.usage.cost
//	status, error       span status ERROR (or an error.type attribute) → "error", with the status message or error.type
//	user_id, session_id user.id → enduser.id; gen_ai.conversation.id → session.id
//	attributes          operation, response id, request model (when it differs), error type, agent, server,
//	                    service, workflow and span names; output_format=json for gen_ai.output.type=json;
//	                    output_captured=false when the span carries no output content at all
//
// Content capture is off by default in most instrumentations: a model call whose span carries no
// output becomes an event with an empty output and attributes.output_captured = "false".
package otlp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/vigilhq/vigil/pkg/event"
)

// Options control Map.
type Options struct {
	// App is the application every event belongs to: the one the request's credentials name.
	App string
}

// Result is what Map made of one export request.
type Result struct {
	// Events are the model calls, each valid against the v1 contract, in request order.
	Events []*event.Event
	// Rejected are the model-call spans that could not become valid events.
	Rejected []Rejection
	// Spans counts every span in the request, model calls or not.
	Spans int
}

// Rejection is a model-call span that Map could not turn into a valid event.
type Rejection struct {
	// TraceID and SpanID are the span's ids, hex; Name is its name.
	TraceID, SpanID, Name string
	// Err is an *event.ValidationError whose reasons say where each bad value came from.
	Err error
}

// maxAncestors bounds the walk up the parent chain, which a malformed request may make cyclic.
const maxAncestors = 32

// Lengths the event contract allows: an attribute value, and a label (a stage taken from a span
// name is cut to it rather than rejected).
const (
	maxAttributeValue = 4096
	maxDerivedLabel   = 128
)

type spanKey struct{ trace, span string }

// Map turns the model-call spans of an export request into events. It never fails as a whole:
// spans that are not model calls are skipped, and model calls that cannot become valid events
// are returned in Result.Rejected. It does not retain rss.
func Map(rss []*tracepb.ResourceSpans, opts Options) Result {
	index := map[spanKey]*tracepb.Span{}
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				k := spanKey{string(sp.GetTraceId()), string(sp.GetSpanId())}
				if _, dup := index[k]; !dup {
					index[k] = sp
				}
			}
		}
	}
	m := mapper{opts: opts, index: index, spanAttrs: map[*tracepb.Span]attrs{}}
	var res Result
	for _, rs := range rss {
		resource := newAttrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			scope := ss.GetScope().GetName()
			for _, sp := range ss.GetSpans() {
				res.Spans++
				a := m.attrsOf(sp)
				if !isModelCall(a) {
					continue
				}
				ev, err := m.mapSpan(sp, a, resource, scope)
				if err != nil {
					res.Rejected = append(res.Rejected, Rejection{
						TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
						Name: sp.GetName(), Err: err,
					})
					continue
				}
				res.Events = append(res.Events, ev)
			}
		}
	}
	return res
}

// isModelCall reports whether a span with attributes a describes one call of a model.
func isModelCall(a attrs) bool {
	if kind, _ := a.str(keyOISpanKind); kind != "" {
		return strings.EqualFold(kind, "LLM")
	}
	if op, _ := a.str(keyOperationName, keyLLMRequestType); op != "" {
		switch strings.ToLower(op) {
		case "chat", "text_completion", "generate_content", "completion":
			return true
		}
		return false
	}
	model, _ := a.str(keyResponseModel, keyRequestModel, keyLLMResponseModel, keyLLMRequestModel, keyOIModelName)
	return model != ""
}

type mapper struct {
	opts      Options
	index     map[spanKey]*tracepb.Span
	spanAttrs map[*tracepb.Span]attrs
}

func (m *mapper) attrsOf(sp *tracepb.Span) attrs {
	a, ok := m.spanAttrs[sp]
	if !ok {
		a = newAttrs(sp.GetAttributes())
		m.spanAttrs[sp] = a
	}
	return a
}

// parent returns sp's parent when it is in the same request.
func (m *mapper) parent(sp *tracepb.Span) *tracepb.Span {
	if len(sp.GetParentSpanId()) == 0 {
		return nil
	}
	p := m.index[spanKey{string(sp.GetTraceId()), string(sp.GetParentSpanId())}]
	if p == sp {
		return nil
	}
	return p
}

// inherited returns the value of key on sp, else on its nearest ancestor in the request that has
// it, else on the resource.
func (m *mapper) inherited(sp *tracepb.Span, a attrs, resource attrs, key string) (string, string) {
	if v, _ := a.str(key); v != "" {
		return v, "span attribute " + key
	}
	seen := map[*tracepb.Span]bool{sp: true}
	for p, n := m.parent(sp), 0; p != nil && !seen[p] && n < maxAncestors; p, n = m.parent(p), n+1 {
		seen[p] = true
		if v, _ := m.attrsOf(p).str(key); v != "" {
			return v, fmt.Sprintf("attribute %s of ancestor span %q", key, p.GetName())
		}
	}
	if v, _ := resource.str(key); v != "" {
		return v, "resource attribute " + key
	}
	return "", ""
}

// sources records where each event field's value came from, for rejection reasons.
type sources map[string]string

func (s sources) set(field, source string) {
	if source != "" {
		s[field] = source
	}
}

func (m *mapper) mapSpan(sp *tracepb.Span, a, resource attrs, scope string) (*event.Event, error) {
	src := sources{}
	var idProblems []*event.FieldError
	traceID, ok := spanID(sp.GetTraceId(), 16)
	if !ok {
		idProblems = append(idProblems, &event.FieldError{Field: "trace_id", Reason: "the span's trace_id must be 16 bytes, not all zero"})
	}
	spanIDHex, ok := spanID(sp.GetSpanId(), 8)
	if !ok {
		idProblems = append(idProblems, &event.FieldError{Field: "span_id", Reason: "the span's span_id must be 8 bytes, not all zero"})
	}
	ev := &event.Event{
		EventID:      "otel-" + traceID + "-" + spanIDHex,
		App:          m.opts.App,
		TraceID:      traceID,
		SpanID:       spanIDHex,
		ParentSpanID: hex.EncodeToString(sp.GetParentSpanId()),
		Status:       event.StatusOK,
	}
	if len(idProblems) > 0 {
		return nil, &event.ValidationError{Fields: idProblems}
	}

	start, end := sp.GetStartTimeUnixNano(), sp.GetEndTimeUnixNano()
	if start > 0 && start <= math.MaxInt64 {
		ev.Timestamp = time.Unix(0, int64(start)).UTC()
		if end >= start {
			ev.LatencyMS = float64(end-start) / 1e6
		}
	}
	src.set("timestamp", "span start_time_unix_nano")

	var s string
	s, src["feature"] = m.inherited(sp, a, resource, keyVigilFeature)
	if s == "" {
		if name, _ := resource.str(keyServiceName); name != "" && !strings.HasPrefix(name, unknownServicePrefix) {
			s, src["feature"] = name, "resource attribute "+keyServiceName
		}
	}
	ev.Feature = s

	s, src["environment"] = m.inherited(sp, a, resource, keyVigilEnvironment)
	if s == "" {
		var k string
		s, k = resource.str(keyDeploymentEnvName, keyDeploymentEnv)
		src.set("environment", "resource attribute "+k)
	}
	ev.Environment = s

	if v, _ := a.str(keyVigilStage); v != "" {
		ev.Stage, src["stage"] = v, "span attribute "+keyVigilStage
	} else if p := m.parent(sp); p != nil {
		if v, _ := m.attrsOf(p).str(keyVigilStage); v != "" {
			ev.Stage, src["stage"] = v, "attribute "+keyVigilStage+" of the parent span"
		} else {
			ev.Stage, src["stage"] = truncate(p.GetName(), maxDerivedLabel), "the parent span's name"
		}
	}

	ev.PromptVersion, src["prompt_version"] = m.inherited(sp, a, resource, keyVigilPromptVersion)
	if ev.PromptVersion == "" {
		var k string
		ev.PromptVersion, k = a.str(keyTraceloopPromptVer, keyOIPromptVersion)
		src.set("prompt_version", "span attribute "+k)
	}
	ev.PromptID, src["prompt_id"] = m.inherited(sp, a, resource, keyVigilPromptID)
	if ev.PromptID == "" {
		var k string
		ev.PromptID, k = a.str(keyPromptName, keyTraceloopPromptKey)
		src.set("prompt_id", "span attribute "+k)
	}
	ev.OutputSchema, src["output_schema"] = m.inherited(sp, a, resource, keyVigilOutputSchema)

	var k string
	ev.Provider, k = a.str(keyProviderName, keySystem, keyOIProvider, keyOISystem)
	ev.Provider = normalizeProvider(ev.Provider)
	src.set("provider", "span attribute "+k)
	ev.Model, k = a.str(keyResponseModel, keyRequestModel, keyLLMResponseModel, keyLLMRequestModel, keyOIModelName)
	src.set("model", "span attribute "+k)

	c := readContent(a, sp.GetEvents())
	ev.Messages, ev.Input, ev.Output, ev.SystemInstructions = c.messages, c.input, c.output, c.system
	src.set("messages", c.inputSource)
	src.set("output", c.outputSource)

	if f := a.first(keyFinishReasons); f != "" {
		ev.FinishReason, src["finish_reason"] = f, "span attribute "+keyFinishReasons
	} else if c.finish != "" {
		ev.FinishReason, src["finish_reason"] = c.finish, c.outputSource
	} else {
		ev.FinishReason, k = a.str(keyLLMFinishReason)
		src.set("finish_reason", "span attribute "+k)
	}

	if n, k, ok := a.int(keyInputTokens, keyPromptTokens, keyLLMPromptTokens, keyOIPromptTokens); ok {
		ev.InputTokens, src["input_tokens"] = n, "span attribute "+k
	}
	if n, k, ok := a.int(keyOutputTokens, keyCompletionTokens, keyLLMCompletionTokens, keyOICompletionToken); ok {
		ev.OutputTokens, src["output_tokens"] = n, "span attribute "+k
	}
	if f, k, ok := a.float(keyTimeToFirstChunk); ok {
		ev.TTFTMS, src["ttft_ms"] = f*1000, "span attribute "+k
	}
	if f, k, ok := a.float(keyUsageCost); ok {
		ev.CostUSD, src["cost_usd"] = f, "span attribute "+k
	}

	errType, _ := a.str(keyErrorType)
	if sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR || errType != "" {
		ev.Status = event.StatusError
		ev.Error = sp.GetStatus().GetMessage()
		if ev.Error == "" {
			ev.Error = errType
		}
	}
	ev.UserID, k = a.str(keyUserID, keyEndUserID)
	src.set("user_id", "span attribute "+k)
	ev.SessionID, k = a.str(keyConversationID, keySessionID)
	src.set("session_id", "span attribute "+k)

	ev.Attributes = attributes(sp, a, resource, scope, ev, c)

	if err := ev.Validate(); err != nil {
		return nil, explain(err, src)
	}
	return ev, nil
}

// attributes collects the bounded set of span details kept in the event's attribute map.
func attributes(sp *tracepb.Span, a, resource attrs, scope string, ev *event.Event, c content) map[string]string {
	out := map[string]string{}
	put := func(key, value string) {
		if value != "" {
			out[key] = truncate(value, maxAttributeValue)
		}
	}
	op, _ := a.str(keyOperationName, keyLLMRequestType)
	put(keyOperationName, op)
	v, _ := a.str(keyResponseID)
	put(keyResponseID, v)
	if req, _ := a.str(keyRequestModel, keyLLMRequestModel); req != ev.Model {
		put(keyRequestModel, req)
	}
	for _, key := range []string{keyErrorType, keyAgentName, keyServerAddress, keyTraceloopWorkflow, keyTraceloopEntity, keyOISpanKind} {
		v, _ := a.str(key)
		put(key, v)
	}
	for _, key := range []string{keyServiceName, keyServiceVersion} {
		v, _ := resource.str(key)
		put(key, v)
	}
	put("otel.span.name", sp.GetName())
	put("otel.scope.name", scope)
	if t, _ := a.str(keyOutputType); strings.EqualFold(t, "json") {
		out["output_format"] = "json"
	}
	if !c.outputFound {
		out["output_captured"] = "false"
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// explain appends to each reason of a validation error where the field's value came from.
func explain(err error, src sources) error {
	var verr *event.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	fields := make([]*event.FieldError, len(verr.Fields))
	for i, f := range verr.Fields {
		name, _, _ := strings.Cut(f.Field, "[")
		reason := f.Reason
		if f.Field == "model" && reason == "required" {
			reason = "required: the span has none of " + keyResponseModel + ", " + keyRequestModel + ", " + keyOIModelName
		} else if s := src[name]; s != "" {
			reason += " (from " + s + ")"
		}
		fields[i] = &event.FieldError{Field: f.Field, Reason: reason}
	}
	return &event.ValidationError{Fields: fields}
}

// spanID renders an id as hex if it has the expected length and is not all zero.
func spanID(b []byte, size int) (string, bool) {
	if len(b) != size {
		return hex.EncodeToString(b), false
	}
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b), true
		}
	}
	return hex.EncodeToString(b), false
}

// oldProviders maps gen_ai.system values that gen_ai.provider.name renamed.
var oldProviders = map[string]string{
	"vertex_ai":       "gcp.vertex_ai",
	"gemini":          "gcp.gemini",
	"az.ai.inference": "azure.ai.inference",
	"az.ai.openai":    "azure.ai.openai",
	"xai":             "x_ai",
}

func normalizeProvider(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if n, ok := oldProviders[p]; ok {
		return n
	}
	return p
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
