package drift

import "math"

// Jensen–Shannon distance, the window detector of the "label" signal for large baselines and the
// effect floor of its chi-square test for small ones: with P and Q the baseline and window shares
// of each category (the baseline's labels plus the unseen bucket) and M = (P + Q)/2,
//
//	JS = sqrt(½·KL(P‖M) + ½·KL(Q‖M)),  logarithms base 2,
//
// which lies in [0, 1] (scipy.spatial.distance.jensenshannon with base=2; NannyML's convention;
// Evidently uses the natural logarithm, whose range ends at sqrt(ln 2) ≈ 0.833). No smoothing is
// needed: M is positive wherever P or Q is.
//
// Parameters (Config): it reaches its threshold at JSThreshold (default 0.1, Evidently's and
// NannyML's). The chi-square test of homogeneity on the same counts is its significance guard.

// jensenShannon returns the distance between the distributions of counts p and q (same length); 0
// when either has no observations.
func jensenShannon(p, q []int64) float64 {
	np, nq := sum(p), sum(q)
	if np == 0 || nq == 0 {
		return 0
	}
	var d float64
	for i := range p {
		pi := float64(p[i]) / float64(np)
		qi := float64(q[i]) / float64(nq)
		m := (pi + qi) / 2
		if pi > 0 {
			d += pi * math.Log2(pi/m)
		}
		if qi > 0 {
			d += qi * math.Log2(qi/m)
		}
	}
	return math.Sqrt(max(0, d/2))
}
