package scoring

// scanReference is phraseSet.scan as first written: one filter test and table probe per word and
// a linear search of each node's edges. FuzzPhraseScanMatchesReference holds the faster scan to
// exactly its output.
func (p *phraseSet) scanReference(t *Text, yield func(id int32, first, last int) bool) {
	words := t.Words()
	if len(p.nodes) == 0 {
		return
	}
	for i := range words {
		for _, e := range p.rootPrefixes {
			if hasFoldedPrefix(t.str(&words[i]), e.prefix) && !p.walkReference(t, words, e.node, i, i+1, yield) {
				return
			}
		}
		k := words[i].Key
		if !p.filter.mayHave(k) {
			continue
		}
		if n := p.root.get(k) - 1; n >= 0 && !p.walkReference(t, words, n, i, i+1, yield) {
			return
		}
	}
}

func (p *phraseSet) walkReference(t *Text, words []Word, n int32, first, next int, yield func(int32, int, int) bool) bool {
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
			if !p.walkReference(t, words, node.gap, first, j, yield) {
				return false
			}
		}
	}
	if next >= len(words) || words[next].Flags&WordSentenceStart != 0 {
		return true
	}
	w := &words[next]
	for _, e := range node.next {
		if e.key == w.Key && !p.walkReference(t, words, e.node, first, next+1, yield) {
			return false
		}
	}
	if len(node.prefixes) > 0 {
		s := t.str(w)
		for _, e := range node.prefixes {
			if hasFoldedPrefix(s, e.prefix) && !p.walkReference(t, words, e.node, first, next+1, yield) {
				return false
			}
		}
	}
	return true
}
