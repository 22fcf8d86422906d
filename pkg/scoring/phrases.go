package scoring

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A phraseSet finds many phrases in a text in one pass over its words. Phrases are sequences of
// words compared by key (case, apostrophe style and Unicode normalisation ignored), so they match
// only whole words, across any punctuation or white space but not across a sentence boundary.
// The set is a trie keyed on word keys: each word of the text costs one probe of a hash table of
// first words, and only a hit walks further. A set is immutable once compiled and safe for
// concurrent use.
//
// Phrase syntax, for built-in lists and for phrases users configure:
//   - words separated by spaces; CJK text needs no spaces, each character is a word;
//   - {a|b c|} alternatives, each a sequence of words, an empty one making the group optional;
//   - word* a word starting with "word" (as the first word it costs a comparison per word);
//   - ~N up to N words of anything (1 ≤ N ≤ 8), not first or last.
type phraseSet struct {
	root table // key of a first word → 1 + node
	// rootPrefixes are phrases starting with a prefix word; each costs a comparison per word of
	// the text, so built-in lists avoid them.
	rootPrefixes []prefixEdge
	filter       keyFilter // of the first words: most words of a text miss without a probe
	nodes        []phraseNode
	phrases      []phrase
}

type phraseNode struct {
	next     []phraseEdge
	nextBits uint64 // bit keyBit(k) set for the key k of every edge in next
	prefixes []prefixEdge
	gap      int32 // node reached after skipping 0 to gapMax words, or -1
	gapMax   int32
	accept   []int32 // phrases that end here
}

type phraseEdge struct {
	key  uint64
	node int32
}

type prefixEdge struct {
	prefix string // folded
	node   int32
}

// phrase is one phrase of the set, as written.
type phrase struct {
	text  string
	group int // what the user of the set makes of it: a family, an index in a list
}

// maxExpansions bounds the phrases one pattern may expand to.
const maxExpansions = 4096

// newPhraseSet compiles patterns; groups[i] is the group of patterns[i]. The error lists every
// bad pattern with its index.
func newPhraseSet(patterns []string, groups []int) (*phraseSet, error) {
	p := &phraseSet{}
	p.root.reset(len(patterns))
	var errs []error
	for i, pat := range patterns {
		group := i
		if groups != nil {
			group = groups[i]
		}
		if err := p.add(pat, group); err != nil {
			errs = append(errs, fmt.Errorf("[%d] %q: %w", i, clip(pat, 60), err))
		}
	}
	return p, errors.Join(errs...)
}

// element is one position of an expanded phrase.
type element struct {
	key    uint64
	prefix string // a prefix element when not empty
	gap    int    // a gap element when > 0
}

func (p *phraseSet) add(pattern string, group int) error {
	expanded, err := expand(pattern)
	if err != nil {
		return err
	}
	id := int32(len(p.phrases))
	p.phrases = append(p.phrases, phrase{text: pattern, group: group})
	for _, e := range expanded {
		elems, err := parsePhrase(e)
		if err != nil {
			return err
		}
		p.insert(elems, id)
	}
	return nil
}

// expand returns every alternative of pattern, with the {a|b} groups resolved.
func expand(pattern string) ([]string, error) {
	i := strings.IndexByte(pattern, '{')
	j := strings.IndexByte(pattern, '}')
	switch {
	case i < 0 && j < 0:
		if strings.ContainsRune(pattern, '|') {
			return nil, errors.New("'|' outside {...}")
		}
		return []string{pattern}, nil
	case i < 0 || j < i:
		return nil, errors.New("unbalanced { }")
	}
	inner := pattern[i+1 : j]
	if strings.ContainsRune(inner, '{') {
		return nil, errors.New("nested { }")
	}
	rest, err := expand(pattern[j+1:])
	if err != nil {
		return nil, err
	}
	head := pattern[:i]
	if strings.ContainsRune(head, '|') {
		return nil, errors.New("'|' outside {...}")
	}
	var out []string
	for _, alt := range strings.Split(inner, "|") {
		for _, r := range rest {
			if len(out) == maxExpansions {
				return nil, fmt.Errorf("more than %d alternatives", maxExpansions)
			}
			out = append(out, head+" "+alt+" "+r)
		}
	}
	return out, nil
}

// parsePhrase turns one expanded phrase into its elements.
func parsePhrase(s string) ([]element, error) {
	var elems []element
	for _, chunk := range strings.Fields(s) {
		if n, ok := strings.CutPrefix(chunk, "~"); ok {
			k, err := strconv.Atoi(n)
			if err != nil || k < 1 || k > 8 {
				return nil, fmt.Errorf("gap %q: want ~1 to ~8", chunk)
			}
			elems = append(elems, element{gap: k})
			continue
		}
		body, prefix := strings.CutSuffix(chunk, "*")
		t := Text{segs: []string{body}}
		words := t.Words()
		if len(words) == 0 {
			if prefix {
				return nil, fmt.Errorf("%q: '*' needs a word before it", chunk)
			}
			continue // punctuation only
		}
		for i, w := range words {
			if prefix && i == len(words)-1 {
				elems = append(elems, element{prefix: string(appendFolded(nil, t.WordString(w)))})
				break
			}
			elems = append(elems, element{key: w.Key})
		}
	}
	switch {
	case len(elems) == 0:
		return nil, errors.New("no words")
	case elems[0].gap > 0:
		return nil, errors.New("must not start with a gap")
	case elems[len(elems)-1].gap > 0:
		return nil, errors.New("must not end with a gap")
	}
	for i := 1; i < len(elems); i++ {
		if elems[i].gap > 0 && elems[i-1].gap > 0 {
			return nil, errors.New("two gaps in a row")
		}
	}
	return elems, nil
}

func (p *phraseSet) newNode() int32 {
	p.nodes = append(p.nodes, phraseNode{gap: -1})
	return int32(len(p.nodes) - 1)
}

func (p *phraseSet) insert(elems []element, id int32) {
	var n int32
	if pre := elems[0].prefix; pre != "" {
		n = -1
		for _, e := range p.rootPrefixes {
			if e.prefix == pre {
				n = e.node
			}
		}
		if n < 0 {
			n = p.newNode()
			p.rootPrefixes = append(p.rootPrefixes, prefixEdge{pre, n})
		}
	} else {
		k := elems[0].key
		n = p.root.get(k) - 1
		if n < 0 {
			n = p.newNode()
			p.root.put(k, n+1)
			p.filter.add(k)
		}
	}
	for _, e := range elems[1:] {
		n = p.child(n, e)
	}
	for _, a := range p.nodes[n].accept {
		if a == id {
			return
		}
	}
	p.nodes[n].accept = append(p.nodes[n].accept, id)
}

// child returns the node reached from n by e, creating it when needed.
func (p *phraseSet) child(n int32, e element) int32 {
	node := &p.nodes[n]
	switch {
	case e.gap > 0:
		if node.gap < 0 {
			g := p.newNode()
			node = &p.nodes[n]
			node.gap = g
		}
		node.gapMax = max(node.gapMax, int32(e.gap))
		return node.gap
	case e.prefix != "":
		for _, pe := range node.prefixes {
			if pe.prefix == e.prefix {
				return pe.node
			}
		}
		c := p.newNode()
		p.nodes[n].prefixes = append(p.nodes[n].prefixes, prefixEdge{e.prefix, c})
		return c
	}
	for _, pe := range node.next {
		if pe.key == e.key {
			return pe.node
		}
	}
	c := p.newNode()
	p.nodes[n].next = append(p.nodes[n].next, phraseEdge{e.key, c})
	p.nodes[n].nextBits |= keyBit(e.key)
	return c
}

// keyBit maps a key to one of 64 bits, for a node's one-word filter of its edges.
func keyBit(k uint64) uint64 { return 1 << (k >> 58) }

// scan calls yield for every occurrence of a phrase in t: the phrase's index and the indexes of
// its first and last word in t.Words(). Occurrences come in order of their first word; scan stops
// when yield returns false.
func (p *phraseSet) scan(t *Text, yield func(id int32, first, last int) bool) {
	words := t.Words()
	if len(p.nodes) == 0 {
		return
	}
	if len(p.rootPrefixes) > 0 {
		p.scanPrefixed(t, words, yield)
		return
	}
	for i := p.nextCandidate(words, 0); i < len(words); i = p.nextCandidate(words, i+1) {
		if n := p.root.get(words[i].Key) - 1; n >= 0 && !p.walk(t, words, n, i, i+1, yield) {
			return
		}
	}
}

// nextCandidate returns the index of the first word from i on that may start a phrase, or
// len(words). Most words of a text fail the filter, so this loop is kept free of anything else.
func (p *phraseSet) nextCandidate(words []Word, i int) int {
	f := &p.filter
	for ; i < len(words); i++ {
		if f.mayHave(words[i].Key) {
			return i
		}
	}
	return i
}

// scanPrefixed is scan for a set with phrases that start with a prefix, which needs a comparison
// per word of the text.
func (p *phraseSet) scanPrefixed(t *Text, words []Word, yield func(id int32, first, last int) bool) {
	for i := range words {
		for _, e := range p.rootPrefixes {
			if hasFoldedPrefix(t.str(&words[i]), e.prefix) && !p.walk(t, words, e.node, i, i+1, yield) {
				return
			}
		}
		k := words[i].Key
		if !p.filter.mayHave(k) {
			continue
		}
		if n := p.root.get(k) - 1; n >= 0 && !p.walk(t, words, n, i, i+1, yield) {
			return
		}
	}
}

// walk continues a match that reached node n with words[first:next].
func (p *phraseSet) walk(t *Text, words []Word, n int32, first, next int, yield func(int32, int, int) bool) bool {
	node := &p.nodes[n]
	for _, id := range node.accept {
		if !yield(id, first, next-1) {
			return false
		}
	}
	if node.gap >= 0 {
		for skip := 0; skip <= int(node.gapMax); skip++ {
			j := next + skip
			if j >= len(words) || skip > 0 && words[j-1].Flags&WordSentenceStart != 0 {
				break
			}
			if !p.walk(t, words, node.gap, first, j, yield) {
				return false
			}
		}
	}
	if next >= len(words) || words[next].Flags&WordSentenceStart != 0 {
		return true
	}
	w := &words[next]
	if node.nextBits&keyBit(w.Key) != 0 {
		// Edge keys are unique in a node: at most one matches.
		for _, e := range node.next {
			if e.key == w.Key {
				if !p.walk(t, words, e.node, first, next+1, yield) {
					return false
				}
				break
			}
		}
	}
	if len(node.prefixes) > 0 {
		s := t.str(w)
		for _, e := range node.prefixes {
			if hasFoldedPrefix(s, e.prefix) && !p.walk(t, words, e.node, first, next+1, yield) {
				return false
			}
		}
	}
	return true
}

// hasFoldedPrefix reports whether the folded form of s starts with prefix, which is folded.
func hasFoldedPrefix(s, prefix string) bool {
	for _, r := range s {
		if prefix == "" {
			return true
		}
		p, size := utf8.DecodeRuneInString(prefix)
		if foldRune(r) != p {
			return false
		}
		prefix = prefix[size:]
	}
	return prefix == ""
}
