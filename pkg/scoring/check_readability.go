package scoring

import (
	"errors"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "readability", Kind: event.KindMeasure,
		Description: "Flesch reading ease of the output (English syllable heuristic): higher is easier.",
		Applies:     "at least min_words words, 90% of letters Latin; not JSON; status is not error",
		Fails:       "score < min_score",
		Params: []ParamInfo{
			{Name: "min_score", Type: "number", Default: 30.0, Doc: "reading-ease floor; 60-70 is plain English, under 30 reads like an academic paper"},
			{Name: "min_words", Type: "integer", Default: 30, Doc: "fewest words to score; the formula is noisy on short texts"},
		},
		Threshold: "min_score",
	}, newReadability)
}

// readability is the "readability" measure: how easy is the output to read?
//
// Inputs: Output. Applies when the output has at least min_words words with letters, at least
// 90% of its letters are Latin script, the status is not "error" and the output is not meant to
// be JSON.
// Output: value = Flesch reading ease, 206.835 − 1.015·(words/sentences) − 84.6·(syllables/words),
// over words with letters and the sentences of sentence_count; syllables are vowel groups with
// English corrections (silent final e, -ed). Plain English scores 60 to 70, an academic paper
// under 30; the value can leave [0, 100]. The formula is calibrated for English: other
// Latin-script languages score lower. Fails with label "hard_to_read" when value < min_score.
// Parameters: min_score (number, default 30; the threshold), min_words (integer, default 30).
type readability struct {
	minScore float64
	minWords int
}

var _ Check = readability{}

func newReadability(_ Env, p Params) (Check, error) {
	score, err1 := p.Float("min_score", 30)
	words, err2 := p.Int("min_words", 30)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if err := atLeast("min_words", words, 1); err != nil {
		return nil, err
	}
	return readability{minScore: score, minWords: words}, nil
}

func (readability) Name() string     { return "readability" }
func (readability) Kind() event.Kind { return event.KindMeasure }

func (c readability) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) || wantsJSON(ev) {
		return event.Score{}, false
	}
	t := in.Output()
	words, st := t.Words(), t.Stats()
	if st.Words < c.minWords || st.Latin*10 < st.Letters*9 {
		return event.Score{}, false
	}
	n, syl := 0, 0
	for i := range words {
		w := &words[i]
		if w.Flags&WordLetter == 0 {
			continue
		}
		n++
		s := t.str(w)
		if w.Flags&WordNonASCII != 0 {
			syl += syllables(s, false)
			continue
		}
		// The ASCII case of syllables, inline and without branches: it runs for every letter.
		var groups, prevVowel uint8
		for i := 0; i < len(s); i++ {
			v := asciiVowel[(s[i]|0x20)&0x7f]
			groups += v &^ prevVowel
			prevVowel = v
		}
		g := int(groups)
		if g > 1 && len(s) > 2 {
			g -= silentEnding(rune(s[len(s)-3]|0x20), rune(s[len(s)-2]|0x20), rune(s[len(s)-1]|0x20))
		}
		syl += max(g, 1)
	}
	if n < c.minWords {
		return event.Score{}, false
	}
	sentences := max(st.Sentences, 1)
	fre := 206.835 - 1.015*float64(n)/float64(sentences) - 84.6*float64(syl)/float64(n)
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: fre, Pass: fre >= c.minScore}
	if !sc.Pass {
		sc.Label = "hard_to_read"
		sc.Reason = reasonf("Output's reading ease is %.0f, under %.0f (%.1f words per sentence, %.2f syllables per word); ask for shorter sentences and plainer words.", fre, c.minScore, float64(n)/float64(sentences), float64(syl)/float64(n))
	}
	return sc, true
}

// syllables estimates the syllables of an English word: groups of vowels (y and accented Latin
// vowels included, a diaeresis starting a group), less a silent final "e" and a silent "-ed",
// at least 1. ascii says w has only ASCII bytes.
func syllables(w string, ascii bool) int {
	n := 0
	prevVowel := false
	var last, prev, prev2 rune
	if ascii {
		for i := 0; i < len(w); i++ {
			c := w[i] | 0x20
			v := asciiVowel[c&0x7f] == 1
			if v && !prevVowel {
				n++
			}
			prevVowel = v
			prev2, prev, last = prev, last, rune(c)
		}
	} else {
		accented := false
		for _, r := range w {
			r = foldRune(r)
			accented = false
			if b, ok := baseLetters[r]; ok {
				if strings.ContainsRune("äëïöüÿ", r) {
					prevVowel = false // a diaeresis starts a syllable: naïve, Zoë
				}
				r, accented = b, true
			}
			v := isVowel(r)
			if v && !prevVowel {
				n++
			}
			prevVowel = v
			prev2, prev, last = prev, last, r
		}
		if accented {
			return max(n, 1) // a final accented vowel is spoken: café
		}
	}
	if n > 1 && len(w) > 2 {
		n -= silentEnding(prev2, prev, last)
	}
	return max(n, 1)
}

// silentEnding returns 1 when a word ending in the folded letters a, b, c ends with a silent
// vowel group: a final "e" (make, cute; not table, free) or "-ed" (walked; not wanted, agreed).
func silentEnding(a, b, c rune) int {
	switch {
	case c == 'e' && !(b == 'l' && !isVowel(a)) && !isVowel(b):
		return 1
	case c == 'd' && b == 'e' && a != 't' && a != 'd' && !isVowel(a):
		return 1
	}
	return 0
}

// asciiVowel is 1 for the vowels (y included) of ASCII, in lower case.
var asciiVowel = func() (t [128]uint8) {
	for _, c := range "aeiouy" {
		t[c] = 1
	}
	return t
}()

func isVowel(r rune) bool {
	switch r {
	case 'a', 'e', 'i', 'o', 'u', 'y', 'æ', 'œ':
		return true
	}
	return false
}
