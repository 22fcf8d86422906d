package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "rouge_l", Kind: event.KindMeasure,
		Description: "ROUGE-L F-measure of the output against the expected answer (longest common word subsequence).",
		Applies:     "expected is set; status is not error",
		Fails:       "ROUGE-L < min",
		Params:      minParam(0.4, "ROUGE-L floor"),
		Threshold:   "min",
	}, newRougeL)
}

// newRougeL builds the "rouge_l" measure: how much of the expected answer does the output follow,
// in order?
//
// Inputs: Output, Expected. Applies when Expected is set and the status is not "error".
// Output: value = ROUGE-L F1: LCS = longest common subsequence of the folded words (case and
// punctuation ignored, as rouge-score tokenizes), recall = LCS/|expected|, precision =
// LCS/|output|, F = 2PR/(P+R); 1 when both have no words, 0 when one has none. The LCS runs
// bit-parallel, 64 words of the reference per machine word. Fails with label "low_similarity"
// when value < min.
// Parameters: min (number, default 0.4; the threshold).
func newRougeL(_ Env, p Params) (Check, error) {
	return newSimilarity("rouge_l", "ROUGE-L", 0.4, p, rougeL)
}

func rougeL(in *Input) float64 {
	cand := keysOf(in.seqs[0][:0], in.Output().Words())
	ref := keysOf(in.seqs[1][:0], in.Expected().Words())
	in.seqs[0], in.seqs[1] = cand, ref
	switch {
	case len(cand) == 0 && len(ref) == 0:
		return 1
	case len(cand) == 0 || len(ref) == 0:
		return 0
	}
	lcs := lcsLength(in, cand, ref)
	if lcs == 0 {
		return 0
	}
	p, r := float64(lcs)/float64(len(cand)), float64(lcs)/float64(len(ref))
	return 2 * p * r / (p + r)
}
