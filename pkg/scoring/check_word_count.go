package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "word_count", Kind: event.KindMeasure,
		Description: "Number of words in the output; each CJK character counts as a word.",
		Applies:     "status is not error",
		Fails:       "no words, fewer than min or more than max",
		Params: []ParamInfo{
			{Name: "min", Type: "integer", Default: 1, Doc: "fewest passing words"},
			{Name: "max", Type: "integer", Default: 0, Doc: "most passing words; 0 means no limit"},
		},
		Threshold: "max",
	}, newWordCount)
}

// wordCount is the "word_count" measure: how many words does the output have?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of words, where a word is a run of letters and digits (unicode.IsLetter,
// unicode.IsDigit; combining marks and an apostrophe between letters stay inside the word) and
// each Han, Hiragana or Katakana character counts as one word. Fails with label "no_words" when
// there are none, "too_few" under min and "too_many" over max (unless max is 0).
// Parameters: min (integer, default 1), max (integer, default 0: no limit; the threshold).
type wordCount struct {
	min, max int
}

var _ Check = wordCount{}

func newWordCount(_ Env, p Params) (Check, error) {
	lo, hi, err := countBounds(p, 0)
	if err != nil {
		return nil, err
	}
	return wordCount{min: lo, max: hi}, nil
}

func (wordCount) Name() string     { return "word_count" }
func (wordCount) Kind() event.Kind { return event.KindMeasure }

func (c wordCount) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	n := in.Output().Stats().Words
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: true}
	switch {
	case n == 0 && c.min > 0:
		sc.Pass, sc.Label = false, "no_words"
		sc.Reason = "Output contains no words, only punctuation, symbols or nothing; check the prompt and output post-processing."
	case n < c.min:
		sc.Pass, sc.Label = false, "too_few"
		sc.Reason = reasonf("Output has %s, under the minimum of %d; check for cut-off or evasive answers.", plural(n, "word", "words"), c.min)
	case c.max > 0 && n > c.max:
		sc.Pass, sc.Label = false, "too_many"
		sc.Reason = reasonf("Output has %d words, over the maximum of %d; ask for a shorter answer or lower max_tokens.", n, c.max)
	}
	return sc, true
}
