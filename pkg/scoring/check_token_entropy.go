package scoring

import (
	"errors"
	"math"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "token_entropy", Kind: event.KindMeasure,
		Description: "Shannon entropy of the output's word distribution, in bits: low for degenerate, looping text.",
		Applies:     "the output has a word; not JSON; status is not error",
		Fails:       "entropy < min_bits on an output of at least min_words words",
		Params: []ParamInfo{
			{Name: "min_bits", Type: "number", Default: 3.0, Doc: "entropy floor in bits"},
			{Name: "min_words", Type: "integer", Default: 50, Doc: "fewest words for the floor to apply; shorter outputs always pass"},
		},
		Threshold: "min_bits",
	}, newTokenEntropy)
}

// tokenEntropy is the "token_entropy" measure: how varied is the output's vocabulary?
//
// Inputs: Output. Applies when the output has at least one word, the status is not "error" and
// the output is not meant to be JSON.
// Output: value = Shannon entropy, in bits, of the distribution of folded words (case,
// apostrophe style and normalisation ignored): 0 for one repeated word, log2(n) for n distinct
// words. Natural prose of 50 words scores about 5 bits, of 300 words about 7; a model looping
// over a phrase scores 1 to 3. Fails with label "low_entropy" when value < min_bits and the
// output has at least min_words words.
// Parameters: min_bits (number, default 3; the threshold), min_words (integer, default 50).
type tokenEntropy struct {
	minBits  float64
	minWords int
}

var _ Check = tokenEntropy{}

func newTokenEntropy(_ Env, p Params) (Check, error) {
	bits, err1 := p.Float("min_bits", 3)
	words, err2 := p.Int("min_words", 50)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if err := errors.Join(between("min_bits", bits, 0, 64), atLeast("min_words", words, 1)); err != nil {
		return nil, err
	}
	return tokenEntropy{minBits: bits, minWords: words}, nil
}

func (tokenEntropy) Name() string     { return "token_entropy" }
func (tokenEntropy) Kind() event.Kind { return event.KindMeasure }

func (c tokenEntropy) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) || wantsJSON(ev) {
		return event.Score{}, false
	}
	words := in.Output().Words()
	if len(words) == 0 {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: wordEntropy(in, words), Pass: true}
	if len(words) >= c.minWords && sc.Value < c.minBits {
		sc.Pass, sc.Label = false, "low_entropy"
		sc.Reason = reasonf("Output's %d words carry only %.1f bits of entropy; the model repeats itself, check sampling settings and the prompt.", len(words), sc.Value)
	}
	return sc, true
}

// wordEntropy returns the entropy of the word keys of words, counting them in in.tabs[0]:
// H = log2(N) - Σ c·log2(c) / N, the sum kept up to date as counts grow.
func wordEntropy(in *Input, words []Word) float64 {
	counts := &in.tabs[0]
	counts.reset(len(words))
	var sum float64
	for i := range words {
		c := counts.incr(words[i].Key)
		sum += clog(c) - clog(c-1)
	}
	n := float64(len(words))
	return max(0, math.Log2(n)-sum/n)
}

// clogs caches c·log2(c) for small counts.
var clogs = func() (t [256]float64) {
	for c := 2; c < len(t); c++ {
		t[c] = float64(c) * math.Log2(float64(c))
	}
	return t
}()

func clog(c int32) float64 {
	if int(c) < len(clogs) {
		return clogs[c]
	}
	return float64(c) * math.Log2(float64(c))
}
