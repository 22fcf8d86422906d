package scoring

import (
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "non_empty", Kind: event.KindCheck,
		Description: "Did the model return any visible content?",
		Applies:     "status is not error",
		Fails:       "the output is empty or holds only white space and invisible characters",
	}, func(Env, Params) (Check, error) { return nonEmpty{}, nil })
}

// nonEmpty is the "non_empty" check: did the model return any visible content?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value 1 and pass when the output has a visible character; otherwise value 0, fail,
// label "empty" (no characters at all) or "whitespace_only" (only white space, control and
// zero-width format characters such as U+200B or a byte-order mark).
// Parameters: none.
type nonEmpty struct{}

var _ Check = nonEmpty{}

func (nonEmpty) Name() string     { return "non_empty" }
func (nonEmpty) Kind() event.Kind { return event.KindCheck }

func (c nonEmpty) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	switch {
	case strings.IndexFunc(ev.Output, isVisible) >= 0:
		sc.Value, sc.Pass = 1, true
	case ev.Output == "":
		sc.Label = "empty"
		sc.Reason = "Output is empty; check the provider response and any post-processing that strips content."
	default:
		sc.Label = "whitespace_only"
		sc.Reason = "Output contains only white space; check the prompt and any post-processing that strips content."
	}
	return sc, true
}
