package drift

import "math"

// Two-sample Kolmogorov–Smirnov test, one of the window detectors of the "value" signal.
//
// The statistic is D = sup |F_a(x) − F_b(x)| over the empirical distribution functions of the
// baseline and the window. The baseline's is that of its quantile summary (Baseline.Quantiles),
// within 1/(2·QuantilePoints) of its sample's everywhere, so D is within as much of the statistic
// against the whole sample; n is the size of the sample it summarises (Baseline.SampleN). The
// window's comes from its cells (ksCells; see QuantilePoints for when it is not exact) and m is
// its number of values. The p-value comes from the asymptotic Kolmogorov distribution,
// Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}, at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with nₑ = n·m/(n+m):
// Stephens' small-sample correction, as in Numerical Recipes' kstwo. For the sample sizes the
// engine compares (tens to a thousand values) it is within a few percent of the exact
// distribution, and conservative where it differs.
//
// Parameters (Config): the significance level is Alpha Bonferroni-divided by the number of tests
// of the series; the effect floor is the Wasserstein distance in baseline standard deviations,
// WassersteinThreshold (default 0.1, Evidently's threshold), so that a large window cannot alert on
// a negligible difference. Baselines of at most LargeBaseline values (default 1000, Evidently's
// switch) report the KS test as their detector ("ks"); larger ones report the distance
// ("wasserstein", see wasserstein1) with this test's p-value as its significance guard.

// ksStatistic returns D for two samples sorted in ascending order; 0 when either is empty.
func ksStatistic[A, B ~float32 | ~float64](a []A, b []B) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	na, nb := float64(len(a)), float64(len(b))
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		// Step over every copy of the smaller value in both samples before comparing, so ties
		// do not open a spurious gap.
		x := math.Min(float64(a[i]), float64(b[j]))
		for i < len(a) && float64(a[i]) == x {
			i++
		}
		for j < len(b) && float64(b[j]) == x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return d
}

// kolmogorovQ returns Q(λ) = P(K > λ) for the Kolmogorov distribution.
func kolmogorovQ(lambda float64) float64 {
	if lambda < 0.2 {
		// Q(0.2) = 1 - 6e-12; the alternating series converges slowly down here.
		return 1
	}
	const eps1, eps2 = 1e-10, 1e-16
	a2 := -2 * lambda * lambda
	sign := 2.0
	var sum, prev float64
	for j := 1; j <= 100; j++ {
		jf := float64(j)
		term := sign * math.Exp(a2*jf*jf)
		sum += term
		if math.Abs(term) <= eps1*prev || math.Abs(term) <= eps2*sum {
			return min(max(sum, 0), 1)
		}
		sign = -sign
		prev = math.Abs(term)
	}
	return 1 // no convergence: only possible for λ near 0, where Q is 1
}

// ksLambdaScale returns the factor that turns D into λ for samples of n and m values.
func ksLambdaScale(n, m int) float64 {
	ne := float64(n) * float64(m) / float64(n+m)
	s := math.Sqrt(ne)
	return s + 0.12 + 0.11/s
}

// ksPValue returns the approximate two-sided p-value of D for samples of n and m values; 1 when
// either is empty.
func ksPValue(d float64, n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	return kolmogorovQ(ksLambdaScale(n, m) * d)
}

// ksCritical returns the D at which ksPValue equals alpha (in (0, 1)) for samples of n and m values,
// capped at 1, the largest D there is.
func ksCritical(alpha float64, n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	// Q is decreasing in λ; bisect on [0.2, 10] (Q(10) underflows to 0).
	lo, hi := 0.2, 10.0
	for range 100 {
		mid := (lo + hi) / 2
		if kolmogorovQ(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return min(hi/ksLambdaScale(n, m), 1)
}
