package eval

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultResamples is the number of bootstrap resamples Compare draws unless told otherwise.
const DefaultResamples = 2000

// Interval is a paired difference (candidate minus baseline) with its confidence interval.
// N is the number of pairs; with none, every value is NaN.
type Interval struct {
	Diff float64
	Lo   float64
	Hi   float64
	N    int
}

// ExcludesZero reports whether the interval lies strictly on one side of zero: the difference
// is significant at the interval's level.
func (iv Interval) ExcludesZero() bool { return iv.N > 0 && (iv.Hi < 0 || iv.Lo > 0) }

// PairedBootstrap estimates the mean of cand[i]-base[i] and its percentile confidence interval
// at level (0.95 for 95%) from resamples resamples of the pairs, drawn with replacement by a
// PCG generator seeded with seed: the same inputs and seed always give the same interval. base
// and cand must have the same length.
func PairedBootstrap(base, cand []float64, resamples int, level float64, seed uint64) Interval {
	n := len(base)
	if n == 0 || len(cand) != n {
		return Interval{Diff: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	if resamples < 1 {
		resamples = DefaultResamples
	}
	d := make([]float64, n)
	var sum float64
	constant := true
	for i := range d {
		d[i] = cand[i] - base[i]
		sum += d[i]
		constant = constant && d[i] == d[0]
	}
	mean := sum / float64(n)
	if constant {
		// Every resample has this mean; skip the draws and their rounding.
		return Interval{Diff: d[0], Lo: d[0], Hi: d[0], N: n}
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	means := make([]float64, resamples)
	for b := range means {
		var s float64
		for range n {
			s += d[rng.IntN(n)]
		}
		means[b] = s / float64(n)
	}
	slices.Sort(means)
	tail := (1 - level) / 2
	return Interval{Diff: mean, Lo: quantile(means, tail), Hi: quantile(means, 1-tail), N: n}
}

// quantile returns the q-quantile of sorted by linear interpolation between order statistics
// (Hyndman and Fan's type 7, the default of R and NumPy).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	if lo < 0 {
		return sorted[0]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// metricSeed derives a per-metric seed, so a metric's interval does not depend on which other
// metrics are compared.
func metricSeed(seed uint64, metric, signal string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(metric))
	h.Write([]byte{0})
	h.Write([]byte(signal))
	return seed ^ h.Sum64()
}
