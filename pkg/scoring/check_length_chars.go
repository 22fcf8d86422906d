package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "length_chars", Kind: event.KindMeasure,
		Description: "Length of the output in characters (Unicode code points).",
		Applies:     "status is not error",
		Fails:       "fewer than min or more than max characters",
		Params: []ParamInfo{
			{Name: "min", Type: "integer", Default: 1, Doc: "shortest passing output"},
			{Name: "max", Type: "integer", Default: 8000, Doc: "longest passing output; 0 means no limit"},
		},
		Threshold: "max",
	}, newLengthChars)
}

// lengthChars is the "length_chars" measure: how long is the output?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of runes (Unicode code points) of the output; pass when min <= value
// and, unless max is 0, value <= max; otherwise label "too_short" or "too_long".
// Parameters: min (integer, default 1), max (integer, default 8000: longer outputs are usually
// runaway generations; 0 means no limit; the threshold).
type lengthChars struct {
	min, max int
}

var _ Check = lengthChars{}

func newLengthChars(_ Env, p Params) (Check, error) {
	lo, hi, err := countBounds(p, 8000)
	if err != nil {
		return nil, err
	}
	return lengthChars{min: lo, max: hi}, nil
}

func (lengthChars) Name() string     { return "length_chars" }
func (lengthChars) Kind() event.Kind { return event.KindMeasure }

func (c lengthChars) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	n := in.Output().Stats().Runes
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: true}
	switch {
	case n < c.min:
		sc.Pass, sc.Label = false, "too_short"
		sc.Reason = reasonf("Output has %s, under the minimum of %d; check for empty or cut-off responses.", plural(n, "character", "characters"), c.min)
	case c.max > 0 && n > c.max:
		sc.Pass, sc.Label = false, "too_long"
		sc.Reason = reasonf("Output has %d characters, over the maximum of %d; check for runaway generation or lower max_tokens.", n, c.max)
	}
	return sc, true
}
