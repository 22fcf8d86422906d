package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	Register("word_count", func(Env) (Check, error) { return wordCount{}, nil })
}

// wordCount is the "word_count" measure: how many words does the output have?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of words, where a word is a run of letters and digits (unicode.IsLetter,
// unicode.IsDigit; combining marks and an apostrophe between letters stay inside the word) and
// each Han, Hiragana or Katakana character counts as one word; pass when value > 0, otherwise
// label "no_words".
// Parameters: none.
type wordCount struct{}

func (wordCount) Name() string     { return "word_count" }
func (wordCount) Kind() event.Kind { return event.KindMeasure }

func (c wordCount) Score(ev *event.Event) (event.Score, bool) {
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	n := 0
	for range words(ev.Output) {
		n++
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: n > 0}
	if n == 0 {
		sc.Label = "no_words"
		sc.Reason = "Output contains no words, only punctuation, symbols or nothing; check the prompt and output post-processing."
	}
	return sc, true
}
