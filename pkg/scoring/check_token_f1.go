package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "token_f1", Kind: event.KindMeasure,
		Description: "Word-overlap F1 of the output against the expected answer (SQuAD).",
		Applies:     "expected is set; status is not error",
		Fails:       "F1 < min",
		Params:      minParam(0.5, "F1 floor"),
		Threshold:   "min",
	}, newTokenF1)
}

// newTokenF1 builds the "token_f1" measure: how many words do the output and the expected answer
// share?
//
// Inputs: Output, Expected. Applies when Expected is set and the status is not "error".
// Output: value = F1 of the multiset of normalised words (as exact_match: case, punctuation and
// the articles a, an and the ignored): common = multiset intersection, precision =
// common/|output|, recall = common/|expected|, F1 = 2PR/(P+R); 1 when both have no words, 0 when
// one has none. Fails with label "low_similarity" when value < min.
// Parameters: min (number, default 0.5; the threshold).
func newTokenF1(_ Env, p Params) (Check, error) {
	return newSimilarity("token_f1", "token F1", 0.5, p, tokenF1)
}

func tokenF1(in *Input) float64 {
	pred := normalizedKeys(in.seqs[0][:0], in.Output().Words(), true)
	ref := normalizedKeys(in.seqs[1][:0], in.Expected().Words(), true)
	in.seqs[0], in.seqs[1] = pred, ref
	switch {
	case len(pred) == 0 && len(ref) == 0:
		return 1
	case len(pred) == 0 || len(ref) == 0:
		return 0
	}
	counts := &in.tabs[0]
	counts.reset(len(ref))
	for _, k := range ref {
		counts.add(k, 1)
	}
	common := 0
	for _, k := range pred {
		if counts.get(k) > 0 {
			counts.add(k, -1)
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p, r := float64(common)/float64(len(pred)), float64(common)/float64(len(ref))
	return 2 * p * r / (p + r)
}
