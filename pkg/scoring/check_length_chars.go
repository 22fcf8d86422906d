package scoring

import (
	"fmt"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

// Bounds of the length_chars check, in runes (Unicode code points).
const (
	// defaultMinChars is the shortest output that passes.
	defaultMinChars = 1
	// defaultMaxChars is the longest output that passes: longer ones are usually runaway
	// generations or pasted context.
	defaultMaxChars = 8000
)

func init() {
	Register("length_chars", func(Env) (Check, error) {
		return lengthChars{min: defaultMinChars, max: defaultMaxChars}, nil
	})
}

// lengthChars is the "length_chars" measure: how long is the output?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of runes of the output; pass when min <= value <= max; otherwise label
// "too_short" or "too_long".
// Parameters: min = defaultMinChars (1), max = defaultMaxChars (8000).
type lengthChars struct {
	min, max int
}

func (lengthChars) Name() string     { return "length_chars" }
func (lengthChars) Kind() event.Kind { return event.KindMeasure }

func (c lengthChars) Score(ev *event.Event) (event.Score, bool) {
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	n := utf8.RuneCountInString(ev.Output)
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: true}
	switch {
	case n < c.min:
		sc.Pass, sc.Label = false, "too_short"
		sc.Reason = fmt.Sprintf("Output has %s, under the minimum of %d; check for empty or cut-off responses.", plural(n, "character", "characters"), c.min)
	case n > c.max:
		sc.Pass, sc.Label = false, "too_long"
		sc.Reason = fmt.Sprintf("Output has %d characters, over the maximum of %d; check for runaway generation or lower max_tokens.", n, c.max)
	}
	return sc, true
}
