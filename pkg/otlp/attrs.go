package otlp

import (
	"encoding/base64"
	stdjson "encoding/json"
	"math"
	"strconv"
	"strings"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// Attribute keys read from spans and resources. They are declared here rather than imported
// from a semconv package: the GenAI conventions are still moving, and real traffic carries
// current, deprecated and vendor names side by side.
const (
	// vigil's own overrides.
	keyVigilFeature       = "vigil.feature"
	keyVigilStage         = "vigil.stage"
	keyVigilEnvironment   = "vigil.environment"
	keyVigilPromptID      = "vigil.prompt_id"
	keyVigilPromptVersion = "vigil.prompt_version"
	keyVigilOutputSchema  = "vigil.output_schema"

	// Resource.
	keyServiceName       = "service.name"
	keyServiceVersion    = "service.version"
	keyDeploymentEnvName = "deployment.environment.name"
	keyDeploymentEnv     = "deployment.environment"
	unknownServicePrefix = "unknown_service" // the SDKs' default service.name

	// OpenTelemetry and its GenAI conventions (current and deprecated names).
	keyServerAddress      = "server.address"
	keyErrorType          = "error.type"
	keyUserID             = "user.id"
	keyEndUserID          = "enduser.id"
	keySessionID          = "session.id"
	keyConversationID     = "gen_ai.conversation.id"
	keyOperationName      = "gen_ai.operation.name"
	keyProviderName       = "gen_ai.provider.name"
	keySystem             = "gen_ai.system"
	keyRequestModel       = "gen_ai.request.model"
	keyResponseModel      = "gen_ai.response.model"
	keyResponseID         = "gen_ai.response.id"
	keyFinishReasons      = "gen_ai.response.finish_reasons"
	keyTimeToFirstChunk   = "gen_ai.response.time_to_first_chunk"
	keyInputTokens        = "gen_ai.usage.input_tokens"
	keyOutputTokens       = "gen_ai.usage.output_tokens"
	keyPromptTokens       = "gen_ai.usage.prompt_tokens"
	keyCompletionTokens   = "gen_ai.usage.completion_tokens"
	keyUsageCost          = "gen_ai.usage.cost"
	keyOutputType         = "gen_ai.output.type"
	keyPromptName         = "gen_ai.prompt.name"
	keyAgentName          = "gen_ai.agent.name"
	keyInputMessages      = "gen_ai.input.messages"
	keyOutputMessages     = "gen_ai.output.messages"
	keySystemInstructions = "gen_ai.system_instructions"
	keyLegacyPrompt       = "gen_ai.prompt"
	keyLegacyCompletion   = "gen_ai.completion"

	// OpenLLMetry (Traceloop).
	keyLLMRequestType      = "llm.request.type"
	keyLLMRequestModel     = "llm.request.model"
	keyLLMResponseModel    = "llm.response.model"
	keyLLMPromptTokens     = "llm.usage.prompt_tokens"
	keyLLMCompletionTokens = "llm.usage.completion_tokens"
	keyLLMFinishReason     = "llm.response.finish_reason"
	keyTraceloopPromptKey  = "traceloop.prompt.key"
	keyTraceloopPromptVer  = "traceloop.prompt.version"
	keyTraceloopWorkflow   = "traceloop.workflow.name"
	keyTraceloopEntity     = "traceloop.entity.name"
	prefixLegacyPrompt     = "gen_ai.prompt."
	prefixLegacyCompletion = "gen_ai.completion."

	// OpenInference (Arize Phoenix).
	keyOISpanKind        = "openinference.span.kind"
	keyOIModelName       = "llm.model_name"
	keyOIProvider        = "llm.provider"
	keyOISystem          = "llm.system"
	keyOIPromptTokens    = "llm.token_count.prompt"
	keyOICompletionToken = "llm.token_count.completion"
	keyOIPromptVersion   = "llm.prompt_template.version"
	keyOIInputValue      = "input.value"
	keyOIOutputValue     = "output.value"
	prefixOIInput        = "llm.input_messages."
	prefixOIOutput       = "llm.output_messages."
)

// Span event names.
const (
	eventOperationDetails = "gen_ai.client.inference.operation.details"
	eventContentPrompt    = "gen_ai.content.prompt"
	eventContentComplete  = "gen_ai.content.completion"
	eventChoice           = "gen_ai.choice"
	eventContentKey       = "gen_ai.event.content"
)

// maxDepth bounds how deep a structured attribute value is followed.
const maxDepth = 32

// attrs is a span's, resource's or span event's attributes by key; the last value of a repeated
// key wins.
type attrs map[string]*commonpb.AnyValue

func newAttrs(kvs []*commonpb.KeyValue) attrs {
	a := make(attrs, len(kvs))
	for _, kv := range kvs {
		if kv.GetKey() != "" && kv.GetValue() != nil {
			a[kv.GetKey()] = kv.GetValue()
		}
	}
	return a
}

// str returns the first of keys with a non-empty scalar value, as a string, and that key.
func (a attrs) str(keys ...string) (string, string) {
	for _, k := range keys {
		if s, ok := scalarString(a[k]); ok && s != "" {
			return s, k
		}
	}
	return "", ""
}

// int returns the first of keys holding a non-negative whole number.
func (a attrs) int(keys ...string) (int64, string, bool) {
	for _, k := range keys {
		v := a[k]
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			return x.IntValue, k, true
		case *commonpb.AnyValue_DoubleValue:
			if f := x.DoubleValue; f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
				return int64(f), k, true
			}
		case *commonpb.AnyValue_StringValue:
			if n, err := strconv.ParseInt(strings.TrimSpace(x.StringValue), 10, 64); err == nil {
				return n, k, true
			}
		}
	}
	return 0, "", false
}

// float returns the first of keys holding a number.
func (a attrs) float(keys ...string) (float64, string, bool) {
	for _, k := range keys {
		switch x := a[k].GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			return float64(x.IntValue), k, true
		case *commonpb.AnyValue_DoubleValue:
			return x.DoubleValue, k, true
		case *commonpb.AnyValue_StringValue:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x.StringValue), 64); err == nil {
				return f, k, true
			}
		}
	}
	return 0, "", false
}

// first returns the first element of an array attribute (or the value of a scalar one), as a
// string; a JSON-encoded array of strings counts as an array.
func (a attrs) first(key string) string {
	v := a[key]
	if arr := v.GetArrayValue(); arr != nil {
		for _, e := range arr.GetValues() {
			if s, ok := scalarString(e); ok && s != "" {
				return s
			}
		}
		return ""
	}
	s, _ := scalarString(v)
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var list []string
		if stdjson.Unmarshal([]byte(s), &list) == nil {
			for _, e := range list {
				if e != "" {
					return e
				}
			}
			return ""
		}
	}
	return s
}

// scalarString renders a string, number or boolean value; arrays, maps and bytes are not
// scalars.
func scalarString(v *commonpb.AnyValue) (string, bool) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue, true
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10), true
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64), true
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue), true
	}
	return "", false
}

// plain converts a value to the Go form encoding/json produces (string, float64, bool, []any,
// map[string]any), so that a structured attribute and its JSON-string form read alike. A string
// is returned as is, not parsed.
func plain(v *commonpb.AnyValue, depth int) any {
	if depth > maxDepth {
		return nil
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return float64(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, plain(e, depth+1))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = plain(kv.GetValue(), depth+1)
		}
		return out
	}
	return nil
}

// text renders any value as text: strings as they are, anything else as JSON.
func text(v *commonpb.AnyValue) string {
	if s, ok := scalarString(v); ok {
		return s
	}
	b, err := stdjson.Marshal(plain(v, 0))
	if err != nil {
		return ""
	}
	return string(b)
}

// structured returns the value of a message-like attribute in plain form: a structured value as
// it is, a string holding JSON parsed, and any other string as is.
func structured(v *commonpb.AnyValue) any {
	p := plain(v, 0)
	s, ok := p.(string)
	if !ok {
		return p
	}
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '[' && t[0] != '{') {
		return s
	}
	var parsed any
	if err := stdjson.Unmarshal([]byte(t), &parsed); err != nil {
		return s
	}
	return parsed
}

// indexed collects attributes of the form prefix + "<i>." + suffix by index, for the flattened
// message lists of OpenLLMetry (gen_ai.prompt.0.content) and OpenInference
// (llm.input_messages.0.message.content).
func (a attrs) indexed(prefix string) map[int]attrs {
	var out map[int]attrs
	for k, v := range a {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, suffix, ok := strings.Cut(rest, ".")
		if !ok || suffix == "" {
			continue
		}
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= 1<<20 {
			continue
		}
		if out == nil {
			out = map[int]attrs{}
		}
		if out[i] == nil {
			out[i] = attrs{}
		}
		out[i][suffix] = v
	}
	return out
}
