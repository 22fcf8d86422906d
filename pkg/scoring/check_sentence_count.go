package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "sentence_count", Kind: event.KindMeasure,
		Description: "Number of sentences in the output.",
		Applies:     "the output has a word; status is not error",
		Fails:       "fewer than min or more than max sentences",
		Params: []ParamInfo{
			{Name: "min", Type: "integer", Default: 1, Doc: "fewest passing sentences"},
			{Name: "max", Type: "integer", Default: 0, Doc: "most passing sentences; 0 means no limit"},
		},
		Threshold: "max",
	}, newSentenceCount)
}

// sentenceCount is the "sentence_count" measure: how many sentences does the output have?
//
// Inputs: Output. Applies when the output has at least one word and the status is not "error".
// Output: value = number of sentences holding a word. A sentence ends at ".", "!", "?" or "…"
// followed by white space and not by a lower-case letter (not after an initial, "e.g." or a
// common abbreviation such as "Dr." or "bzw."; "3.5" ends nothing), right after "。", "！" or "？",
// at a blank line, and around Markdown list items and headings; a hard-wrapped line break ends
// nothing. Fails with label "too_few" under min and "too_many" over max (unless max is 0).
// Parameters: min (integer, default 1), max (integer, default 0: no limit; the threshold).
type sentenceCount struct {
	min, max int
}

var _ Check = sentenceCount{}

func newSentenceCount(_ Env, p Params) (Check, error) {
	lo, hi, err := countBounds(p, 0)
	if err != nil {
		return nil, err
	}
	return sentenceCount{min: lo, max: hi}, nil
}

func (sentenceCount) Name() string     { return "sentence_count" }
func (sentenceCount) Kind() event.Kind { return event.KindMeasure }

func (c sentenceCount) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	st := in.Output().Stats()
	if st.Words == 0 {
		return event.Score{}, false
	}
	n := st.Sentences
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: true}
	switch {
	case n < c.min:
		sc.Pass, sc.Label = false, "too_few"
		sc.Reason = reasonf("Output has %s, under the minimum of %d; check for cut-off or one-line answers.", plural(n, "sentence", "sentences"), c.min)
	case c.max > 0 && n > c.max:
		sc.Pass, sc.Label = false, "too_many"
		sc.Reason = reasonf("Output has %d sentences, over the maximum of %d; ask for a shorter answer.", n, c.max)
	}
	return sc, true
}
