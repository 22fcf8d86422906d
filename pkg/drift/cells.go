package drift

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// A window does not keep its values: it counts them into cells frozen with its baseline, so its
// distribution takes a few hundred bytes however many values it receives (see QuantilePoints for
// what that costs the KS test and the Wasserstein distance; PSI is exact).
//
// The cells of a baseline with k quantiles q₀ ≤ … ≤ q_{k−1} are k+1 quantile cells and, when it
// has frozen bins, one cell per PSI bin. A value x falls into quantile cell lo = #{q < x} unless
// x equals a quantile the summary holds twice or more (an atom of a discrete score), when it falls
// into cell lo+1: the cells inside a run of equal quantiles cannot otherwise receive a value, so
// the atom is counted on its own without a cell more. Values are compared at float32 precision,
// as the quantiles are kept.
//
// The counts live in one byte slice (nil until the first value):
//
//	[0:8]   Σ (q₀ − x) over the values below q₀, float64
//	[8:16]  Σ (x − q_{k−1}) over the values above q_{k−1}, float64
//	[16]    width of a counter: 1 or 2 bytes, widened when a count passes 255
//	[17]    shift s: each count stands for 2^s values
//	[18:]   the counters, little-endian: quantile cells, then PSI bins
//
// The tail sums make the Wasserstein distance exact outside the baseline's range. When a count
// would pass 65 535, every count (and tail sum) is halved and s grows; from then on a value is
// counted with probability 2^−s, drawn from the track's generator, so a window's state stays within
// 18 + 2 bytes a cell (296 at the default PSIBins) at any rate: past 65 535 values in one cell, the
// cells count a uniform sample of at least 32 768 of the window's values (a share p within about
// √(p/32768) of exact).
const (
	cellsHeader = 18
	cellsMaxS   = 40 // 2^40 values of a window in one cell: beyond any real rate, and no overflow
)

// cellLayout returns the number of quantile cells and of PSI bins t's windows count values into
// (zero for a test the baseline does not support).
func cellLayout(b *Baseline, d *derived) (q, p int) {
	if b == nil || !d.signals[signalValue] {
		return 0, 0
	}
	if d.ks {
		q = len(b.Quantiles) + 1
	}
	if d.bins {
		p = len(b.BinEdges) + 1
	}
	return q, p
}

// quantileCell returns the quantile cell of x (see above).
func quantileCell(x float32, qs []float32) int {
	lo, found := slices.BinarySearch(qs, x)
	if found && lo+1 < len(qs) && qs[lo+1] == x {
		return lo + 1
	}
	return lo
}

// cellWidth returns the width of a counter of h.
func cellWidth(h []byte) int { return int(h[16]) }

func cellGet(h []byte, i int) int64 {
	if cellWidth(h) == 1 {
		return int64(h[cellsHeader+i])
	}
	return int64(binary.LittleEndian.Uint16(h[cellsHeader+2*i:]))
}

func cellSet(h []byte, i int, v int64) {
	if cellWidth(h) == 1 {
		h[cellsHeader+i] = byte(v)
		return
	}
	binary.LittleEndian.PutUint16(h[cellsHeader+2*i:], uint16(v))
}

func tailGet(h []byte, i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(h[8*i:]))
}

func tailSet(h []byte, i int, v float64) { binary.LittleEndian.PutUint64(h[8*i:], math.Float64bits(v)) }

// newCells returns empty cells for n counters.
func newCells(n int, shift uint8) []byte {
	h := make([]byte, cellsHeader+n)
	h[16], h[17] = 1, shift
	return h
}

// cellsCount returns the number of counters of h.
func cellsCount(h []byte) int { return (len(h) - cellsHeader) / cellWidth(h) }

// cellInc adds v to counter i of h, widening or halving first when needed, and returns h.
func cellInc(h []byte, i int, v int64) []byte {
	for {
		c := cellGet(h, i) + v
		switch {
		case c <= 255 || cellWidth(h) == 2 && c <= math.MaxUint16:
			cellSet(h, i, c)
			return h
		case cellWidth(h) == 1:
			n := cellsCount(h)
			w := make([]byte, cellsHeader+2*n)
			copy(w, h[:cellsHeader])
			w[16] = 2
			for j := range n {
				binary.LittleEndian.PutUint16(w[cellsHeader+2*j:], uint16(h[cellsHeader+j]))
			}
			h = w
		case h[17] >= cellsMaxS:
			cellSet(h, i, math.MaxUint16)
			return h
		default:
			// Halve: counts round up, so a cell that saw values keeps one.
			for j := range cellsCount(h) {
				cellSet(h, j, (cellGet(h, j)+1)/2)
			}
			tailSet(h, 0, tailGet(h, 0)/2)
			tailSet(h, 1, tailGet(h, 1)/2)
			h[17]++
			v = (v + 1) / 2
		}
	}
}

// addValue counts x into h (allocated when nil) for a baseline with quantiles qs and bin edges
// (q quantile cells, p bins), n times, and returns h. With a shift, each of the n values is kept
// with probability 2^−s.
func addValue(h []byte, x float64, n int64, qs []float32, edges []float64, q, p int, rng *uint64) []byte {
	if q+p == 0 {
		return h
	}
	if h == nil {
		h = newCells(q+p, 0)
	}
	if s := h[17]; s > 0 && rng != nil {
		kept := int64(0)
		for range n {
			if randN(rng, 1<<s) == 0 {
				kept++
			}
		}
		if n = kept; n == 0 {
			return h
		}
	}
	x32 := float32(x)
	if q > 0 {
		c := quantileCell(x32, qs)
		switch k := len(qs); {
		case c == 0 && x32 < qs[0]:
			tailSet(h, 0, tailGet(h, 0)+float64(n)*(float64(qs[0])-float64(x32)))
		case c == k:
			tailSet(h, 1, tailGet(h, 1)+float64(n)*(float64(x32)-float64(qs[k-1])))
		}
		shift := h[17]
		h = cellInc(h, c, n)
		for s := shift; s < h[17]; s++ {
			n = (n + 1) / 2 // halved while counting: n in the new scale
		}
	}
	if p > 0 {
		h = cellInc(h, q+binOf(float64(x32), edges), n)
	}
	return h
}

// cellCounts decodes h into the quantile cell counts qc and the bin counts pc (q and p long), each
// multiplied by 2^s, and returns the number of values the quantile cells (else the bins) stand for
// and the tail sums, likewise scaled.
func cellCounts(h []byte, q, p int, qc, pc []int64) (m int64, lo, hi float64) {
	clear(qc[:q])
	clear(pc[:p])
	if h == nil {
		return 0, 0, 0
	}
	s := h[17]
	for i := range q {
		qc[i] = cellGet(h, i) << s
		m += qc[i]
	}
	var mp int64
	for i := range p {
		pc[i] = cellGet(h, q+i) << s
		mp += pc[i]
	}
	if q == 0 {
		m = mp
	}
	f := math.Ldexp(1, int(s))
	return m, tailGet(h, 0) * f, tailGet(h, 1) * f
}

// checkCells reports whether h is well formed for q quantile cells and p bins.
func checkCells(h []byte, q, p int) error {
	if h == nil {
		return nil
	}
	if len(h) < cellsHeader || h[16] != 1 && h[16] != 2 {
		return fmt.Errorf("cells: %d bytes, header %v", len(h), h[:min(len(h), cellsHeader)])
	}
	if len(h) != cellsHeader+int(h[16])*(q+p) || q+p == 0 {
		return fmt.Errorf("cells: %d bytes for %d cells of %d bytes", len(h)-cellsHeader, q+p, h[16])
	}
	if h[17] > cellsMaxS {
		return fmt.Errorf("cells: shift %d", h[17])
	}
	for i := range 2 {
		if v := tailGet(h, i); !(v >= 0 && v <= math.MaxFloat64) {
			return fmt.Errorf("cells: tail sum %v", v)
		}
	}
	return nil
}

// cellValues calls emit for the values h stands for, in ascending order, as n copies of x:
// spread evenly through each quantile cell, at the atom of an atom cell; beyond the baseline's
// range, normally around the mean the tail sums give, with the spread that the window's moments mo
// leave to the tails (at that mean when mo is nil); from the bins alone (no quantile cells) at the
// upper edge of each bin, just above the last edge for the last. Counts are those of h (not
// multiplied by 2^s).
func cellValues(h []byte, qs []float32, edges []float64, q, p int, mo *moments, emit func(x float32, n int64)) {
	if h == nil {
		return
	}
	if q == 0 {
		for i := range p {
			c := cellGet(h, i)
			if c == 0 {
				continue
			}
			if i < len(edges) {
				emit(float32(edges[i]), c)
			} else {
				emit(float32(math.Nextafter(edges[len(edges)-1], math.Inf(1))), c)
			}
		}
		return
	}
	k := len(qs)
	cLo, cHi := cellGet(h, 0), cellGet(h, k)
	muLo, muHi := float64(qs[0]), float64(qs[k-1])
	if cLo > 0 {
		muLo -= tailGet(h, 0) / float64(cLo)
	}
	if cHi > 0 {
		muHi += tailGet(h, 1) / float64(cHi)
	}
	sdLo, sdHi := tailSpread(h, qs, mo, cLo, cHi, muLo, muHi)
	tail := func(c int64, mu, sd float64, bound float32, up bool) {
		if sd == 0 {
			emit(float32(mu), c)
			return
		}
		for i := range c {
			x := float32(mu - sd*zCritical((float64(i)+0.5)/float64(c)))
			if up {
				x = max(x, math.Nextafter32(bound, float32(math.Inf(1))))
			} else {
				x = min(x, bound)
			}
			emit(x, 1)
		}
	}
	if cLo > 0 {
		tail(cLo, muLo, sdLo, qs[0], false)
	}
	for i := 0; i < k; {
		j := i + 1
		for j < k && qs[j] == qs[i] {
			j++
		}
		if j-i >= 2 {
			for c := i + 1; c < j; c++ {
				if n := cellGet(h, c); n > 0 {
					emit(qs[i], n)
				}
			}
		}
		if j == k {
			if cHi > 0 {
				tail(cHi, muHi, sdHi, qs[k-1], true)
			}
			break
		}
		// Cell j holds (qs[i], qs[j]) or (qs[i], qs[j]].
		if c := cellGet(h, j); c > 0 {
			lo, width := float64(qs[i]), float64(qs[j])-float64(qs[i])
			for v := range c {
				emit(float32(lo+(float64(v)+0.5)/float64(c)*width), 1)
			}
		}
		i = j
	}
}

// tailSpread returns the standard deviations of the values below and above the baseline's range:
// the variance of the window's moments mo that the values within the range (spread evenly through
// their cells) leave, shared by the two tails in proportion to their counts. Zero without mo.
func tailSpread(h []byte, qs []float32, mo *moments, cLo, cHi int64, muLo, muHi float64) (float64, float64) {
	if mo == nil || mo.n < 2 || cLo+cHi == 0 {
		return 0, 0
	}
	k := len(qs)
	var total int64
	for i := range k + 1 {
		total += cellGet(h, i)
	}
	mu, rest := mo.mean, mo.m2/float64(mo.n) // per value
	ft := float64(total)
	for i := 0; i < k; {
		j := i + 1
		for j < k && qs[j] == qs[i] {
			j++
		}
		for c := i + 1; c < j; c++ {
			d := float64(qs[i]) - mu
			rest -= float64(cellGet(h, c)) / ft * d * d
		}
		if j == k {
			break
		}
		lo, hi := float64(qs[i]), float64(qs[j])
		d, w := (lo+hi)/2-mu, hi-lo
		rest -= float64(cellGet(h, j)) / ft * (d*d + w*w/12)
		i = j
	}
	sd := func(c int64, m float64) float64 {
		if c == 0 {
			return 0
		}
		share := float64(c) / ft
		r := rest*float64(c)/float64(cLo+cHi)/share - (m-mu)*(m-mu)
		return math.Sqrt(max(r, 0))
	}
	return sd(cLo, muLo), sd(cHi, muHi)
}

// ksCells returns the KS statistic between the baseline's quantile summary qs and a window with
// quantile cell counts qc (k+1 long) of m values. It is exact except at a quantile the summary
// holds once: a window's values equal to it are counted with the values below it, so D may
// exceed the exact statistic by their share (nothing for continuous scores).
func ksCells(qs []float32, qc []int64, m int64) float64 {
	k := len(qs)
	if k == 0 || m == 0 {
		return 0
	}
	fm, fk := float64(m), float64(k)
	var cum int64
	var d float64
	for i := 0; i < k; {
		j := i + 1
		for j < k && qs[j] == qs[i] {
			j++
		}
		cum += qc[i]
		before := float64(cum) / fm // F_window just below qs[i] (at it, for a single quantile)
		for c := i + 1; c < j; c++ {
			cum += qc[c]
		}
		at := float64(cum) / fm
		d = max(d, math.Abs(before-float64(i)/fk), math.Abs(at-float64(j)/fk))
		i = j
	}
	return d
}

// wassersteinCells returns W₁ between the baseline's quantile summary qs and a window with quantile
// cell counts qc of m values and tail sums lo and hi, spreading each cell's values evenly between
// its quantiles, and the bound ½·Σ share·width on how far that can move it from the distance to
// the window's values themselves (the tails are exact).
func wassersteinCells(qs []float32, qc []int64, m int64, lo, hi float64) (w, bound float64) {
	k := len(qs)
	if k == 0 || m == 0 {
		return 0, 0
	}
	fm, fk := float64(m), float64(k)
	w = (lo + hi) / fm
	var cum int64
	for i := 0; i < k; {
		j := i + 1
		for j < k && qs[j] == qs[i] {
			j++
		}
		for c := i; c < j; c++ {
			cum += qc[c]
		}
		if j == k {
			break
		}
		// Between qs[i] and qs[j] the summary's F is j/k; the window's rises linearly from a by p.
		a, p, c := float64(cum)/fm, float64(qc[j])/fm, float64(j)/fk
		width := float64(qs[j]) - float64(qs[i])
		switch {
		case c <= a:
			w += width * (a + p/2 - c)
		case c >= a+p:
			w += width * (c - a - p/2)
		default:
			w += width * ((c-a)*(c-a) + (a+p-c)*(a+p-c)) / (2 * p)
		}
		bound += width * p / 2
		i = j
	}
	return w, bound
}

// cellSample returns at most size values standing for h (a window with moments mo), in ascending
// order: all of them, or an evenly spaced selection through their order.
func cellSample(h []byte, qs []float32, edges []float64, q, p int, mo *moments, size int) []float32 {
	if h == nil {
		return nil
	}
	var total int64
	cellValues(h, qs, edges, q, p, nil, func(_ float32, n int64) { total += n })
	if total == 0 {
		return nil
	}
	keep := min(total, int64(size))
	out := make([]float32, 0, keep)
	var g int64
	cellValues(h, qs, edges, q, p, mo, func(x float32, n int64) {
		for range n {
			// Value g is kept when ⌊(g+1)·keep/total⌋ passes ⌊g·keep/total⌋.
			if (g+1)*keep/total > g*keep/total {
				out = append(out, x)
			}
			g++
		}
	})
	return out
}

// recount returns the cells of h (for qs, edges, q, p) counted again for another baseline's layout
// (qs2, edges2, q2, p2), keeping h's shift: the values h stands for are placed as cellValues
// places them.
func recount(h []byte, qs []float32, edges []float64, q, p int, mo *moments, qs2 []float32, edges2 []float64, q2, p2 int) []byte {
	if h == nil || q2+p2 == 0 {
		return nil
	}
	out := newCells(q2+p2, h[17])
	cellValues(h, qs, edges, q, p, mo, func(x float32, n int64) {
		out = addValue(out, float64(x), n, qs2, edges2, q2, p2, nil)
	})
	return out
}
