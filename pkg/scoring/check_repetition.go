package scoring

import (
	"errors"
	"math/bits"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "repetition", Kind: event.KindMeasure,
		Description: "Share of the output's word 3-grams that repeat an earlier one: is the model looping?",
		Applies:     "at least min_words words or a character run; not JSON; status is not error",
		Fails:       "share >= max_share, a word repeated max_word_run times in a row or a character max_char_run times",
		Params: []ParamInfo{
			{Name: "max_share", Type: "number", Default: 0.3, Doc: "share of repeated word 3-grams at which the check fails"},
			{Name: "min_words", Type: "integer", Default: 6, Doc: "fewest words on which the share is measured"},
			{Name: "max_word_run", Type: "integer", Default: 8, Doc: "consecutive identical words at which the check fails"},
			{Name: "max_char_run", Type: "integer", Default: 30, Doc: "consecutive identical characters (white space and rule characters aside) at which the check fails"},
		},
		Threshold: "max_share",
	}, newRepetition)
}

// repetition is the "repetition" measure: is the output degenerate, looping over the same words?
//
// Inputs: Output, OutputSchema, Attributes["output_format"]. Applies when the output has at least
// min_words words or holds a character run of max_char_run, the status is not "error" and the
// output is not meant to be JSON (keys and values repeat there by design).
// Output: value = share of word 3-grams (folded words) that repeat an earlier 3-gram, in [0, 1];
// 0 when there are fewer than 3 words. The check fails with label "char_run" when one character
// other than white space and rule characters (- = _ * # ~ . · … and box drawing) occurs
// max_char_run times in a row, "word_run" when one word occurs max_word_run times in a row, or
// "ngram_repeat" when value >= max_share; runs are reported first because they also hide in long
// outputs with a low share.
// Parameters: max_share (number, default 0.3; the threshold), min_words (integer, default 6),
// max_word_run (integer, default 8), max_char_run (integer, default 30).
type repetition struct {
	maxShare                     float64
	minWords, maxWordRun, maxRun int
}

var _ Check = repetition{}

func newRepetition(_ Env, p Params) (Check, error) {
	share, err1 := p.Float("max_share", 0.3)
	minWords, err2 := p.Int("min_words", 6)
	wordRun, err3 := p.Int("max_word_run", 8)
	charRun, err4 := p.Int("max_char_run", 30)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if err := errors.Join(between("max_share", share, 0, 1), atLeast("min_words", minWords, 3),
		atLeast("max_word_run", wordRun, 2), atLeast("max_char_run", charRun, 2)); err != nil {
		return nil, err
	}
	return repetition{maxShare: share, minWords: minWords, maxWordRun: wordRun, maxRun: charRun}, nil
}

func (repetition) Name() string     { return "repetition" }
func (repetition) Kind() event.Kind { return event.KindMeasure }

func (c repetition) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) || wantsJSON(ev) {
		return event.Score{}, false
	}
	t := in.Output()
	words, st := t.Words(), t.Stats()
	if len(words) < c.minWords && st.Run < c.maxRun {
		return event.Score{}, false
	}
	run, longest, at := 1, 1, 0
	for i := 1; i < len(words); i++ {
		if words[i].Key == words[i-1].Key {
			run++
			if run > longest {
				longest, at = run, i
			}
		} else {
			run = 1
		}
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: repeatedTrigramShare(in, words), Pass: true}
	switch {
	case st.Run >= c.maxRun:
		sc.Pass, sc.Label = false, "char_run"
		sc.Reason = reasonf("Output repeats the character %q %d times in a row; the generation degenerated, check sampling settings and the prompt.", st.RunRune, st.Run)
	case longest >= c.maxWordRun:
		sc.Pass, sc.Label = false, "word_run"
		sc.Reason = reasonf("Output repeats the word %s %d times in a row; the generation degenerated, check sampling settings and the prompt.", quote(t.WordString(words[at]), 20), longest)
	case sc.Value >= c.maxShare:
		sc.Pass, sc.Label = false, "ngram_repeat"
		sc.Reason = reasonf("%.0f%% of the output's word 3-grams are repeats; the model is looping, check sampling settings (repetition penalty) and the prompt.", sc.Value*100)
	}
	return sc, true
}

// repeatedTrigramShare returns the share of the word 3-grams of words that occurred before,
// counting them in in.tabs[0].
func repeatedTrigramShare(in *Input, words []Word) float64 {
	n := len(words) - 2
	if n <= 0 {
		return 0
	}
	seen := &in.tabs[0]
	seen.reset(n)
	repeats := 0
	for i := range n {
		if seen.incr(mix(words[i].Key, words[i+1].Key, words[i+2].Key)) > 1 {
			repeats++
		}
	}
	return float64(repeats) / float64(n)
}

// mix combines three word keys, which are well-mixed hashes already, into an order-sensitive,
// nonzero 3-gram key.
func mix(a, b, c uint64) uint64 {
	h := a ^ bits.RotateLeft64(b, 21) ^ bits.RotateLeft64(c, 42)
	if h == 0 {
		h = 1
	}
	return h
}
