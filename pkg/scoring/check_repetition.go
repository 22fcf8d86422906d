package scoring

import (
	"fmt"
	"slices"
	"unicode"

	"github.com/vigilhq/vigil/pkg/event"
)

// Parameters of the repetition check.
const (
	// repetitionMinWords is the fewest words on which the 3-gram share is measured.
	repetitionMinWords = 6
	// repetitionMaxShare is the share of repeated word 3-grams at which the check fails.
	repetitionMaxShare = 0.3
	// maxWordRun is the number of consecutive identical words at which the check fails.
	maxWordRun = 8
	// maxCharRun is the number of consecutive identical characters at which the check fails.
	maxCharRun = 30
)

func init() {
	Register("repetition", func(Env) (Check, error) { return repetition{}, nil })
}

// repetition is the "repetition" measure: is the output degenerate, looping over the same words?
//
// Inputs: Output, OutputSchema, Attributes["output_format"]. Applies when the output has at least
// repetitionMinWords (6) words or holds a character run (below), the status is not "error" and
// the output is not meant to be JSON (keys and values repeat there by design).
// Output: value = share of word 3-grams (lower-cased words, as word_count splits them) that repeat
// an earlier 3-gram, in [0, 1]; 0 when there are fewer than 3 words. The check fails with label
// "ngram_repeat" when value >= repetitionMaxShare (0.3), "word_run" when one word occurs
// maxWordRun (8) times in a row, or "char_run" when one character other than white space and
// rule characters (- = _ * # ~ . and box drawing) occurs maxCharRun (30) times in a row; runs are
// reported first because they also hide in long outputs with a low share.
// Parameters: the constants above.
type repetition struct{}

func (repetition) Name() string     { return "repetition" }
func (repetition) Kind() event.Kind { return event.KindMeasure }

func (c repetition) Score(ev *event.Event) (event.Score, bool) {
	if !hasOutput(ev) || wantsJSON(ev) {
		return event.Score{}, false
	}
	var (
		// Room for words of 4 bytes on average, enough for most text in one allocation.
		hashes        = make([]uint64, 0, len(ev.Output)/4+1)
		run, longest  int
		runWord, word string
	)
	for _, w := range words(ev.Output) {
		h := foldHash(w)
		if len(hashes) > 0 && h == hashes[len(hashes)-1] {
			run++
		} else {
			run, word = 1, w
		}
		if run > longest {
			longest, runWord = run, word
		}
		hashes = append(hashes, h)
	}
	char, charRun := longestCharRun(ev.Output)
	if len(hashes) < repetitionMinWords && charRun < maxCharRun {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: repeatedTrigramShare(hashes), Pass: true}
	switch {
	case charRun >= maxCharRun:
		sc.Pass, sc.Label = false, "char_run"
		sc.Reason = fmt.Sprintf("Output repeats the character %q %d times in a row; the generation degenerated, check sampling settings and the prompt.", char, charRun)
	case longest >= maxWordRun:
		sc.Pass, sc.Label = false, "word_run"
		sc.Reason = fmt.Sprintf("Output repeats the word %q %d times in a row; the generation degenerated, check sampling settings and the prompt.", clip(runWord, 20), longest)
	case sc.Value >= repetitionMaxShare:
		sc.Pass, sc.Label = false, "ngram_repeat"
		sc.Reason = fmt.Sprintf("%.0f%% of the output's word 3-grams are repeats; the model is looping, check sampling settings (repetition penalty) and the prompt.", sc.Value*100)
	}
	return sc, true
}

// repeatedTrigramShare returns the share of 3-grams of the word hashes that occurred before. It
// overwrites hashes with 3-gram hashes and sorts them, which avoids a map.
func repeatedTrigramShare(hashes []uint64) float64 {
	n := len(hashes) - 2
	if n <= 0 {
		return 0
	}
	for i := range n {
		// hashes[i] is read before it is overwritten; later 3-grams only need later words.
		hashes[i] = mix(hashes[i], hashes[i+1], hashes[i+2])
	}
	grams := hashes[:n]
	slices.Sort(grams)
	repeats := 0
	for i := 1; i < n; i++ {
		if grams[i] == grams[i-1] {
			repeats++
		}
	}
	return float64(repeats) / float64(n)
}

// mix combines three word hashes into an order-sensitive 3-gram hash.
func mix(a, b, c uint64) uint64 {
	h := a
	h = (h^(h>>31))*0x9e3779b97f4a7c15 ^ b
	h = (h^(h>>31))*0x9e3779b97f4a7c15 ^ c
	return (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9
}

// longestCharRun returns the character with the longest run of consecutive repeats in s, ignoring
// white space and characters used to draw rules and leaders.
func longestCharRun(s string) (rune, int) {
	var best, prev rune
	bestN, n := 0, 0
	for _, r := range s {
		if r == prev {
			n++
		} else {
			prev, n = r, 1
		}
		if n > bestN && !isRuleChar(r) {
			best, bestN = r, n
		}
	}
	return best, bestN
}

func isRuleChar(r rune) bool {
	switch r {
	case '-', '=', '_', '*', '#', '~', '.', '·', '…':
		return true
	}
	return unicode.IsSpace(r) || r >= 0x2500 && r <= 0x257F
}
