package drift

import "math"

// Wasserstein distance (earth mover's distance, W₁), one of the window detectors of the "value"
// signal: W₁ = ∫ |F_a(x) − F_b(x)| dx between the empirical distribution functions of the baseline's
// quantile summary (Baseline.Quantiles) and the window, from its cells (wassersteinCells; see
// QuantilePoints for how far the summary and the cells move W₁), divided by the baseline's
// standard deviation (floored as for the mean detector) so
// that the threshold is unit-free, as in Evidently's "wasserstein" test.
//
// Parameters (Config): it reaches its threshold at WassersteinThreshold (default 0.1, Evidently's).
// A window is a small sample even when its baseline is large, and W₁ of a 150-value window from the
// baseline's own distribution is often near 0.1σ, so the engine also requires the KS test on the
// same samples to be significant (see ks.go) and reports that p-value. For baselines of more than
// LargeBaseline values this is the reported detector ("wasserstein"); for smaller ones it is the KS
// test's effect floor.

// wasserstein1 returns W₁ between two samples sorted in ascending order; 0 when either is empty.
func wasserstein1[A, B ~float32 | ~float64](a []A, b []B) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	na, nb := float64(len(a)), float64(len(b))
	var i, j int
	var w float64
	x := math.Min(float64(a[0]), float64(b[0]))
	for i < len(a) || j < len(b) {
		// Advance past every copy of x, then add |F_a − F_b| times the gap to the next point.
		for i < len(a) && float64(a[i]) == x {
			i++
		}
		for j < len(b) && float64(b[j]) == x {
			j++
		}
		var next float64
		switch {
		case i < len(a) && j < len(b):
			next = math.Min(float64(a[i]), float64(b[j]))
		case i < len(a):
			next = float64(a[i])
		case j < len(b):
			next = float64(b[j])
		default:
			return w
		}
		w += math.Abs(float64(i)/na-float64(j)/nb) * (next - x)
		x = next
	}
	return w
}
