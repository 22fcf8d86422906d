package scoring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "ban_list", Kind: event.KindCheck,
		Description: "Does the output use a banned word or phrase, even with other case, accents or a typo?",
		Applies:     "configured; status is not error",
		Fails:       "a banned entry occurs",
		Params: []ParamInfo{
			{Name: "words", Type: "strings", Required: true, Doc: "banned words and phrases (competitors, slurs, internal code names)"},
			{Name: "max_distance", Type: "integer", Default: 1, Doc: "edits (insert, delete, substitute a character) a long word may differ by"},
			{Name: "min_fuzzy_length", Type: "integer", Default: 5, Doc: "shortest word, in characters, compared with edits; shorter words must match exactly"},
		},
	}, newBanList)
}

// banList is the "ban_list" check: does the output use a banned word or phrase?
//
// Inputs: Output. Applies when configured (it needs words) and the status is not "error".
// Output: value = number of occurrences of banned entries; pass when there are none. Otherwise
// fail, label "banned", and the reason names the entries found (the configured spelling). An
// entry is one or more words; it matches consecutive words of the output that equal its words
// with case and diacritics ignored ("Café" = "cafe", NFC or NFD alike), each word of
// min_fuzzy_length or more characters also matching within max_distance edits ("Acmecorp" finds
// "AcmeCorps" and "Akmecorp").
// Parameters: words (strings, required), max_distance (integer, default 1), min_fuzzy_length
// (integer, default 5).
type banList struct {
	entries  []banEntry
	first    table // bare key of an entry's first word → 1 + index of the first such entry
	nextSame []int // next entry with the same first word, or -1
	maxDist  int
	minFuzzy int
}

var _ Check = (*banList)(nil)

type banEntry struct {
	text  string
	words [][]rune // bare
	keys  []uint64
}

func newBanList(_ Env, p Params) (Check, error) {
	words, err1 := p.Strings("words", nil)
	dist, err2 := p.Int("max_distance", 1)
	minFuzzy, err3 := p.Int("min_fuzzy_length", 5)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if err := errors.Join(between("max_distance", dist, 0, 3), atLeast("min_fuzzy_length", minFuzzy, 2)); err != nil {
		return nil, err
	}
	c := &banList{maxDist: dist, minFuzzy: minFuzzy}
	c.first.reset(len(words))
	var errs []error
	for i, w := range words {
		t := Text{segs: []string{w}}
		var e banEntry
		e.text = strings.TrimSpace(w)
		for _, word := range t.Words() {
			bare := appendBare(nil, t.WordString(word))
			e.words = append(e.words, bare)
			e.keys = append(e.keys, runesKey(bare))
		}
		if len(e.words) == 0 {
			errs = append(errs, &ParamError{Param: fmt.Sprintf("%q[%d]", "words", i), Problem: "no words"})
			continue
		}
		idx := len(c.entries)
		c.entries = append(c.entries, e)
		c.nextSame = append(c.nextSame, int(c.first.get(e.keys[0]))-1)
		c.first.put(e.keys[0], int32(idx+1))
	}
	if len(words) == 0 {
		errs = append(errs, paramErr("words", "want at least one word"))
	}
	return c, errors.Join(errs...)
}

func (c *banList) Name() string     { return "ban_list" }
func (c *banList) Kind() event.Kind { return event.KindCheck }

func (c *banList) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	t := in.Output()
	words := t.Words()
	// The bare form of every word, end to end in in.runes[0], with offsets in in.ints.
	bare := in.runes[0][:0]
	offs := in.ints[:0]
	keys := in.bits[:0]
	for i := range words {
		offs = append(offs, int32(len(bare)))
		n := len(bare)
		bare = appendBare(bare, t.str(&words[i]))
		keys = append(keys, runesKey(bare[n:]))
	}
	offs = append(offs, int32(len(bare)))
	in.runes[0], in.ints, in.bits = bare, offs, keys
	word := func(i int) []rune { return bare[offs[i]:offs[i+1]] }

	if cap(in.marks) < len(c.entries) {
		in.marks = make([]bool, len(c.entries))
	}
	hit := in.marks[:len(c.entries)]
	clear(hit)
	total := 0
	match := func(e, i int) {
		entry := &c.entries[e]
		if i+len(entry.words) > len(words) {
			return
		}
		for k := 1; k < len(entry.words); k++ {
			if !c.same(keys[i+k], word(i+k), entry.keys[k], entry.words[k]) {
				return
			}
		}
		total++
		hit[e] = true
	}
	for i := range words {
		// Entries whose first word is this word, then those within maxDist edits of it.
		for e := int(c.first.get(keys[i])) - 1; e >= 0; e = c.nextSame[e] {
			match(e, i)
		}
		if w := word(i); c.maxDist > 0 && len(w) >= c.minFuzzy {
			for e := range c.entries {
				entry := &c.entries[e]
				if entry.keys[0] != keys[i] && c.same(keys[i], w, entry.keys[0], entry.words[0]) {
					match(e, i)
				}
			}
		}
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(total), Pass: total == 0}
	if total > 0 {
		var found []string
		for e, h := range hit {
			if h {
				found = append(found, c.entries[e].text)
			}
		}
		sc.Label = "banned"
		noun := "entries"
		if len(found) == 1 {
			noun = "entry"
		}
		sc.Reason = reasonf("Output uses banned %s %s; tighten the prompt or filter outputs.", noun, quoteList(found, 3))
	}
	return sc, true
}

// same reports whether the output word (key k, bare runes w) matches the entry word (key ek,
// bare runes e): equal, or within maxDist edits when both are long enough.
func (c *banList) same(k uint64, w []rune, ek uint64, e []rune) bool {
	if k == ek {
		return true
	}
	if c.maxDist == 0 || len(e) < c.minFuzzy || len(w) < c.minFuzzy || abs(len(w)-len(e)) > c.maxDist {
		return false
	}
	return withinDistance(w, e, c.maxDist)
}

// withinDistance reports whether the Levenshtein distance of a and b is at most d.
func withinDistance(a, b []rune, d int) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	// Two rows of the edit-distance table; words are short, so they live on the stack.
	var rows [2][64]int
	if len(b) >= len(rows[0]) {
		return false
	}
	prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > d {
			return false
		}
		prev, cur = cur, prev
	}
	return prev[len(b)] <= d
}

// runesKey hashes a bare word.
func runesKey(rs []rune) uint64 {
	h := uint64(len(rs)) * hashK0
	for _, r := range rs {
		h = (h ^ uint64(r)) * hashK1
		h ^= h >> 32
	}
	return finish(h)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
