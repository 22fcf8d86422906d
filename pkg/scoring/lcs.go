package scoring

import "math/bits"

// lcsLength returns the length of the longest common subsequence of the symbol sequences a and
// b (word keys or runes), using in.tabs[2] and in.bits as scratch space. It runs the bit-parallel algorithm of
// Hyyrö ("Bit-parallel LCS-length computation revisited", 2004) in O(len(a)·⌈len(b)/64⌉) word
// operations: fast enough for references of thousands of symbols.
func lcsLength(in *Input, a, b []uint64) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	m := len(b)
	w := (m + 63) / 64
	// One bit mask per distinct symbol of b: bit j set where b[j] is that symbol. Symbols under
	// 128 (ASCII characters) are indexed directly, others through a table.
	var small [128]int32
	index := &in.tabs[2]
	index.reset(min(m, 1<<16))
	distinct := 0
	slot := func(sym uint64) int32 {
		if sym < uint64(len(small)) {
			return small[sym]
		}
		return index.get(sym | 1<<63)
	}
	for _, sym := range b {
		if slot(sym) == 0 {
			distinct++
			if sym < uint64(len(small)) {
				small[sym] = int32(distinct)
			} else {
				index.put(sym|1<<63, int32(distinct))
			}
		}
	}
	need := (distinct + 1) * w
	if cap(in.bits) < need {
		in.bits = make([]uint64, need)
	}
	masks := in.bits[:need]
	clear(masks)
	for j, sym := range b {
		k := int(slot(sym)) * w
		masks[k+j/64] |= 1 << (j % 64)
	}
	v := masks[:w] // slot 0 is unused by symbols: V, all ones
	for i := range v {
		v[i] = ^uint64(0)
	}
	for _, sym := range a {
		var k int
		if sym < uint64(len(small)) {
			k = int(small[sym]) * w
		} else {
			k = int(index.get(sym|1<<63)) * w
		}
		if k == 0 {
			continue // not in b: V is unchanged
		}
		mk := masks[k : k+w]
		var carry uint64
		for i := range v {
			u := v[i] & mk[i]
			var sum uint64
			sum, carry = bits.Add64(v[i], u, carry)
			v[i] = sum | (v[i] &^ mk[i])
		}
	}
	zeros := 0
	for i, x := range v {
		if i == w-1 && m%64 != 0 {
			x |= ^uint64(0) << (m % 64)
		}
		zeros += 64 - bits.OnesCount64(x)
	}
	return zeros
}

// keysOf appends the keys of words to dst.
func keysOf(dst []uint64, words []Word) []uint64 {
	for i := range words {
		dst = append(dst, words[i].Key)
	}
	return dst
}
