package scoring

import (
	"slices"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "truncated", Kind: event.KindCheck,
		Description: "Did generation stop at the token limit?",
		Applies:     "finish_reason is set",
		Fails:       "finish_reason is a token-limit reason",
		Params: []ParamInfo{
			{Name: "reasons", Type: "strings", Default: []string{"length", "max_tokens", "max_output_tokens"}, Doc: "finish reasons, any case, that mean the output was cut off"},
		},
	}, newTruncated)
}

// truncated is the "truncated" check: did generation stop at the token limit?
//
// Inputs: FinishReason. Applies when FinishReason is set.
// Output: fail with value 1 when the finish reason, compared case-insensitively, is one of
// reasons; label = the finish reason in lower case. Otherwise pass with value 0.
// Parameters: reasons (strings, default "length" (OpenAI chat), "max_tokens" (Anthropic;
// "MAX_TOKENS" from Gemini), "max_output_tokens" (OpenAI Responses)).
type truncated struct {
	reasons []string // lower case
}

var _ Check = truncated{}

func newTruncated(_ Env, p Params) (Check, error) {
	reasons, err := p.Strings("reasons", []string{"length", "max_tokens", "max_output_tokens"})
	if err != nil {
		return nil, err
	}
	if len(reasons) == 0 {
		return nil, paramErr("reasons", "want at least one finish reason")
	}
	for i := range reasons {
		reasons[i] = strings.ToLower(reasons[i])
	}
	return truncated{reasons: reasons}, nil
}

func (truncated) Name() string     { return "truncated" }
func (truncated) Kind() event.Kind { return event.KindCheck }

func (c truncated) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if ev.FinishReason == "" {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Pass: true}
	if i := slices.IndexFunc(c.reasons, func(r string) bool { return strings.EqualFold(r, ev.FinishReason) }); i >= 0 {
		reason := c.reasons[i]
		sc.Value, sc.Pass, sc.Label = 1, false, reason
		sc.Reason = reasonf("Generation stopped at the token limit (finish_reason %s); raise max_tokens or ask for a shorter answer.", quote(reason, 40))
	}
	return sc, true
}
