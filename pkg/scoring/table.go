package scoring

import "math/bits"

// table is an open-addressing hash table from nonzero 64-bit keys (word keys, n-gram hashes) to
// int32 values. The checks reuse the tables of an Input between events: an entry is live only
// when it carries the table's current generation, so emptying a table costs nothing and counting
// words allocates nothing once the table has grown. The phrase matcher's tables are built once and
// only read afterwards.
type table struct {
	slots []slot
	shift uint
	gen   uint32
	n     int
}

type slot struct {
	key uint64
	val int32
	gen uint32
}

// reset empties t and sizes it for about n keys.
func (t *table) reset(n int) {
	size := 16
	if n > 8 {
		size = 1 << bits.Len(uint(2*n-1))
	}
	t.n = 0
	// A table never shrinks here: a larger one costs nothing to empty (Input.release drops one a
	// huge event grew).
	if len(t.slots) >= size {
		if t.gen++; t.gen != 0 {
			return
		}
		// The generation wrapped: old entries could look live again.
		clear(t.slots)
		t.gen = 1
		return
	}
	t.slots = make([]slot, size)
	t.shift = uint(64 - bits.Len(uint(size-1)))
	t.gen = 1
}

// find returns the index of k, or of the free slot where k would go, and whether k is there.
func (t *table) find(k uint64) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := (k * hashK0) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			return int(i), false
		}
		if s.key == k {
			return int(i), true
		}
	}
}

// get returns the value of k, or 0 when k is absent (or the table was never reset).
func (t *table) get(k uint64) int32 {
	if len(t.slots) == 0 {
		return 0
	}
	i, ok := t.find(k)
	if !ok {
		return 0
	}
	return t.slots[i].val
}

// has reports whether k is present.
func (t *table) has(k uint64) bool {
	if len(t.slots) == 0 {
		return false
	}
	_, ok := t.find(k)
	return ok
}

// add adds d to the value of k, inserting k with value 0 first when absent, and returns the new
// value.
func (t *table) add(k uint64, d int32) int32 {
	i, ok := t.find(k)
	if !ok {
		if 2*(t.n+1) > len(t.slots) {
			t.grow()
			i, _ = t.find(k)
		}
		t.slots[i] = slot{key: k, gen: t.gen}
		t.n++
	}
	s := &t.slots[i]
	s.val += d
	return s.val
}

// incr adds 1 to the value of k and returns it. Unlike add it never grows the table: the caller
// reset it for at least as many keys as it inserts.
func (t *table) incr(k uint64) int32 {
	mask := uint64(len(t.slots) - 1)
	for i := (k * hashK0) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			*s = slot{key: k, val: 1, gen: t.gen}
			t.n++
			return 1
		}
		if s.key == k {
			s.val++
			return s.val
		}
	}
}

// put sets the value of k to v.
func (t *table) put(k uint64, v int32) {
	i, ok := t.find(k)
	if !ok {
		if 2*(t.n+1) > len(t.slots) {
			t.grow()
			i, _ = t.find(k)
		}
		t.n++
	}
	t.slots[i] = slot{key: k, val: v, gen: t.gen}
}

// keyFilter is a 4096-bit filter of keys: mayHave is false for most keys never added, so a
// probe of a small table can be skipped for most words of a long text.
type keyFilter [64]uint64

func (f *keyFilter) add(k uint64)          { f[k>>58] |= 1 << (k >> 52 & 63) }
func (f *keyFilter) mayHave(k uint64) bool { return f[k>>58]&(1<<(k>>52&63)) != 0 }

func (t *table) grow() {
	old, gen := t.slots, t.gen
	t.slots = make([]slot, 2*max(len(old), 8))
	t.shift = uint(64 - bits.Len(uint(len(t.slots)-1)))
	t.gen = 1
	for _, s := range old {
		if s.gen == gen {
			i, _ := t.find(s.key)
			t.slots[i] = slot{key: s.key, val: s.val, gen: 1}
		}
	}
}
