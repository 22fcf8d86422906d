package drift

import (
	"math"
	"slices"
)

// Population stability index, one of the window detectors of the "value" signal. The baseline's
// sample is cut into PSIBins (default 10) quantile bins when the baseline is pinned; the edges and
// the sample's count in each bin are frozen with the baseline (the sample itself is not kept), and
// every window counts its values into the same bins as they arrive (cells.go), so the index never
// depends on the window's own range. With r and c the baseline and window shares of each bin,
//
//	PSI = Σ (c − r)·ln(c / r),
//
// where an empty bin's share is replaced by 1e-4 (Evidently's smoothing for empty bins).
//
// Parameters (Config): it reaches its threshold at PSIThreshold (default 0.2, the credit-scoring
// rule of thumb for a major shift). PSI of a small window is noisy (with 150 values in ten bins it
// averages about 0.07 and reaches 0.2 by chance), so the engine also requires Pearson's chi-square
// test of homogeneity on the same bin counts to be significant and reports its p-value.

// psiEmptyShare replaces the share of an empty bin.
const psiEmptyShare = 1e-4

// psi returns the index between the baseline counts r and the window counts c (same length); 0
// when either has no observations.
func psi(r, c []int64) float64 {
	nr, nc := sum(r), sum(c)
	if nr == 0 || nc == 0 {
		return 0
	}
	var s float64
	for i := range r {
		pr := float64(r[i]) / float64(nr)
		pc := float64(c[i]) / float64(nc)
		if pr == 0 {
			pr = psiEmptyShare
		}
		if pc == 0 {
			pc = psiEmptyShare
		}
		s += (pc - pr) * math.Log(pc/pr)
	}
	return s
}

// quantileEdges returns up to bins-1 strictly increasing inner bin edges at the quantiles i/bins of
// a sorted sample: fewer when ties make quantiles coincide, none when the sample has fewer than two
// distinct values. Bin i holds the values with exactly i edges below them (see binOf).
func quantileEdges[T ~float32 | ~float64](sorted []T, bins int) []float64 {
	n := len(sorted)
	if n < 2 || sorted[0] == sorted[n-1] || bins < 2 {
		return nil
	}
	edges := make([]float64, 0, bins-1)
	for i := 1; i < bins; i++ {
		e := float64(sorted[(i*n)/bins])
		// An edge at the maximum would leave the last bin empty.
		if e >= float64(sorted[n-1]) {
			break
		}
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	if len(edges) == 0 {
		// Every quantile fell on the maximum: split below it.
		i := n - 1
		for i > 0 && sorted[i-1] == sorted[n-1] {
			i--
		}
		edges = append(edges, float64(sorted[i-1]))
	}
	return edges
}

// binOf returns the bin of x: the number of edges strictly below it.
func binOf(x float64, edges []float64) int {
	i, _ := slices.BinarySearch(edges, x)
	return i
}

// countBins adds the values of a sorted sample to counts (len(edges)+1 long).
func countBins[T ~float32 | ~float64](sorted []T, edges []float64, counts []int64) {
	b := 0
	for _, v := range sorted {
		x := float64(v)
		for b < len(edges) && edges[b] < x {
			b++
		}
		counts[b]++
	}
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}
