package scoring

import (
	"math"
	"math/bits"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "bleu", Kind: event.KindMeasure,
		Description: "Sentence BLEU-4 of the output against the expected answer, smoothed (NLTK method 1).",
		Applies:     "expected is set; status is not error",
		Fails:       "BLEU < min",
		Params:      minParam(0.2, "BLEU floor; sentence BLEU is harsh on paraphrases, so keep it low"),
		Threshold:   "min",
	}, newBLEU)
}

// newBLEU builds the "bleu" measure: how many of the output's word n-grams does the expected
// answer contain?
//
// Inputs: Output, Expected. Applies when Expected is set and the status is not "error".
// Output: value = BP·exp(Σ wₙ·ln pₙ) over n = 1..N with N = min(4, |output|) and uniform weights
// wₙ = 1/N; pₙ = clipped n-gram precision of the folded words (case and punctuation ignored), a
// zero count replaced by ε = 0.1 (NLTK's smoothing method 1, as Opik uses); BP = 1 when the
// output is longer than the expected answer, else exp(1 − |expected|/|output|). 0 when either
// has no words. Fails with label "low_similarity" when value < min.
// Parameters: min (number, default 0.2; the threshold).
func newBLEU(_ Env, p Params) (Check, error) {
	return newSimilarity("bleu", "BLEU", 0.2, p, bleu)
}

// bleuEpsilon replaces a zero n-gram match count (smoothing method 1).
const bleuEpsilon = 0.1

func bleu(in *Input) float64 {
	cand := keysOf(in.seqs[0][:0], in.Output().Words())
	ref := keysOf(in.seqs[1][:0], in.Expected().Words())
	in.seqs[0], in.seqs[1] = cand, ref
	if len(cand) == 0 || len(ref) == 0 {
		return 0
	}
	maxN := min(4, len(cand))
	refCounts, candCounts := &in.tabs[0], &in.tabs[1]
	refCounts.reset(4 * len(ref))
	candCounts.reset(min(4*len(cand), 4*len(ref)))
	// The n-gram keys of each order are grown in place from those of the order before:
	// ref[i] and cand[i] become the keys of the n-grams starting at i.
	var inRef keyFilter
	for n := 1; n <= maxN; n++ {
		growGrams(ref, n)
		for i := 0; i+n <= len(ref); i++ {
			refCounts.add(ref[i], 1)
			inRef.add(ref[i])
		}
	}
	var logSum float64
	for n := 1; n <= maxN; n++ {
		growGrams(cand, n)
		total, matched := len(cand)-n+1, 0
		for i := 0; i+n <= len(cand); i++ {
			k := cand[i]
			// Only n-grams of the reference can match; the others need no count.
			if !inRef.mayHave(k) {
				continue
			}
			if have := refCounts.get(k); have > 0 && candCounts.add(k, 1) <= have {
				matched++
			}
		}
		p := float64(matched) / float64(total)
		if matched == 0 {
			p = bleuEpsilon / float64(total)
		}
		logSum += math.Log(p) / float64(maxN)
	}
	bp := 1.0
	if c, r := len(cand), len(ref); c <= r {
		bp = math.Exp(1 - float64(r)/float64(c))
	}
	return bp * math.Exp(logSum)
}

// growGrams turns keys, holding the keys of the (n-1)-grams starting at each position (the words
// themselves for n = 1), into those of the n-grams, in place: the n-gram at i joins the
// (n-1)-grams at i and i+1. Positions past the last n-gram keep stale values. n-grams of
// different orders get different keys.
func growGrams(keys []uint64, n int) {
	if n == 1 {
		return
	}
	for i := 0; i+n <= len(keys); i++ {
		h := (keys[i] ^ bits.RotateLeft64(keys[i+1], n*7)) * hashK1
		keys[i] = h ^ h>>29 | 1
	}
}
