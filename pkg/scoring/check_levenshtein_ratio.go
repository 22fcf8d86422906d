package scoring

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "levenshtein_ratio", Kind: event.KindMeasure,
		Description: "Character similarity of the output and the expected answer: 1 − indel distance / total length (rapidfuzz, Opik).",
		Applies:     "expected is set; status is not error",
		Fails:       "ratio < min",
		Params: []ParamInfo{
			{Name: "min", Type: "number", Default: 0.6, Doc: "similarity floor"},
			{Name: "max_chars", Type: "integer", Default: 10000, Doc: "characters of each text compared; longer texts are cut, bounding the cost"},
		},
		Threshold: "min",
	}, newLevenshteinRatio)
}

// newLevenshteinRatio builds the "levenshtein_ratio" measure: how close are the output and the
// expected answer, character by character?
//
// Inputs: Output, Expected. Applies when Expected is set and the status is not "error".
// Output: value = 1 − (insertions + deletions)/(|a| + |b|) = 2·LCS/(|a| + |b|) over the characters
// of both texts, lower-cased, in NFC and with runs of white space as one space: the normalised
// indel similarity of rapidfuzz that Opik's LevenshteinRatio reports. 1 for equal texts, 0 for
// texts without a common character. Texts longer than max_chars characters are compared on
// their first max_chars. Fails with label "low_similarity" when value < min.
// Parameters: min (number, default 0.6; the threshold), max_chars (integer, default 10000).
func newLevenshteinRatio(_ Env, p Params) (Check, error) {
	maxChars, err := p.Int("max_chars", 10000)
	if err != nil {
		return nil, err
	}
	if err := between("max_chars", maxChars, 1, 1_000_000); err != nil {
		return nil, err
	}
	return newSimilarity("levenshtein_ratio", "Levenshtein ratio", 0.6, p, func(in *Input) float64 {
		a := charSeq(in, 0, in.Event().Output, maxChars)
		b := charSeq(in, 1, in.Event().Expected, maxChars)
		if len(a)+len(b) == 0 {
			return 1
		}
		return 2 * float64(lcsLength(in, a, b)) / float64(len(a)+len(b))
	})
}

// charSeq returns the normalised characters of s, at most max, in in.seqs[slot].
func charSeq(in *Input, slot int, s string, max int) []uint64 {
	seq := in.seqs[slot][:0]
	space := false
	if isASCII(s) {
		for i := 0; i < len(s) && len(seq) < max; i++ {
			c := s[i]
			if asciiClass[c]&cSpace != 0 || c == '\n' {
				space = len(seq) > 0
				continue
			}
			if space {
				seq = append(seq, ' ')
				space = false
				if len(seq) == max {
					break
				}
			}
			seq = append(seq, uint64(c|asciiFlags[c].lowerBit()))
		}
		in.seqs[slot] = seq
		return seq
	}
	in.buf = norm.NFC.AppendString(in.buf[:0], s)
	for b := in.buf; len(b) > 0 && len(seq) < max; {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if unicode.IsSpace(r) {
			space = len(seq) > 0
			continue
		}
		if space {
			seq = append(seq, ' ')
			space = false
			if len(seq) == max {
				break
			}
		}
		seq = append(seq, uint64(foldRune(r)))
	}
	in.seqs[slot] = seq
	return seq
}
