package scoring

import (
	"fmt"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	Register("truncated", func(Env) (Check, error) { return truncated{}, nil })
}

// truncated is the "truncated" check: did generation stop at the token limit?
//
// Inputs: FinishReason. Applies when FinishReason is set.
// Output: fail with value 1 when the finish reason, compared case-insensitively, is "length"
// (OpenAI chat), "max_tokens" (Anthropic; "MAX_TOKENS" from Gemini) or "max_output_tokens" (OpenAI
// Responses); label = the finish reason in lower case. Otherwise pass with value 0.
// Parameters: none.
type truncated struct{}

func (truncated) Name() string     { return "truncated" }
func (truncated) Kind() event.Kind { return event.KindCheck }

func (c truncated) Score(ev *event.Event) (event.Score, bool) {
	if ev.FinishReason == "" {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Pass: true}
	switch reason := strings.ToLower(ev.FinishReason); reason {
	case "length", "max_tokens", "max_output_tokens":
		sc.Value, sc.Pass, sc.Label = 1, false, reason
		sc.Reason = fmt.Sprintf("Generation stopped at the token limit (finish_reason %q); raise max_tokens or ask for a shorter answer.", reason)
	}
	return sc, true
}
