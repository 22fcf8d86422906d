package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "context_coverage", Kind: event.KindMeasure,
		Description: "Share of the output's content words found in the retrieved context: a groundedness proxy.",
		Applies:     "context is set and the output has a content word; status is not error",
		Fails:       "coverage < min",
		Params:      minParam(0.5, "coverage floor"),
		Threshold:   "min",
	}, newContextCoverage)
}

// contextCoverage is the "context_coverage" measure: how much of the output comes from the
// retrieved passages?
//
// Inputs: Output, Context. Applies when Context has a passage, the output has a content word and
// the status is not "error".
// Output: value = share of the output's content words (words with a letter or digit that are not
// stop words of the main European languages or common CJK particles; case, apostrophe style and
// Unicode normalisation ignored) that occur anywhere in the context, counting every occurrence.
// An answer stitched from the passages scores high; one the model made up scores low. Fails with
// label "low_coverage" when value < min. It is a recall-style proxy: calibrate min against judged
// faithfulness.
// Parameters: min (number, default 0.5; the threshold).
type contextCoverage struct {
	min float64
}

var _ Check = contextCoverage{}

func newContextCoverage(_ Env, p Params) (Check, error) {
	floor, err := p.Float("min", 0.5)
	if err != nil {
		return nil, err
	}
	if err := between("min", floor, 0, 1); err != nil {
		return nil, err
	}
	return contextCoverage{min: floor}, nil
}

func (contextCoverage) Name() string     { return "context_coverage" }
func (contextCoverage) Kind() event.Kind { return event.KindMeasure }

func (c contextCoverage) Score(in *Input) (event.Score, bool) {
	if !hasContext(in.Event()) {
		return event.Score{}, false
	}
	ground := &in.tabs[0]
	var filter keyFilter
	groundWords(in, ground, &filter, false)
	total, found := 0, 0
	words := in.Output().Words()
	for i := range words {
		w := &words[i]
		if w.Flags&(WordLetter|WordDigit) == 0 || isStopword(w.Key) {
			continue
		}
		total++
		if filter.mayHave(w.Key) && ground.has(w.Key) {
			found++
		}
	}
	if total == 0 {
		return event.Score{}, false
	}
	v := float64(found) / float64(total)
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: v, Pass: v >= c.min}
	if !sc.Pass {
		sc.Label = "low_coverage"
		sc.Reason = reasonf("Only %.0f%% of the output's %d content words occur in the retrieved context; the answer may not be grounded, check retrieval.", v*100, total)
	}
	return sc, true
}
