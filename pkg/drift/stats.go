package drift

import "math"

// upperTail returns P(Z > z) for a standard normal Z.
func upperTail(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// twoSidedP returns P(|Z| >= |z|) for a standard normal Z.
func twoSidedP(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// zCritical returns the z for which upperTail(z) == p: the one-sided critical value at level p (use
// p/2 for a two-sided test).
func zCritical(p float64) float64 {
	return math.Sqrt2 * math.Erfcinv(2*p)
}

// twoProportionZ returns the pooled two-proportion z statistic of the second proportion (f1 of n1)
// against the first (f0 of n0): positive when the second is larger. It returns 0 when either sample
// is empty or the pooled proportion is 0 or 1 (no variation, hence no evidence of a difference).
func twoProportionZ(f0, n0, f1, n1 int64) float64 {
	if n0 <= 0 || n1 <= 0 {
		return 0
	}
	p0 := float64(f0) / float64(n0)
	p1 := float64(f1) / float64(n1)
	pooled := float64(f0+f1) / float64(n0+n1)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(n0) + 1/float64(n1)))
	if se == 0 || math.IsNaN(se) {
		return 0
	}
	return (p1 - p0) / se
}

// welchZ returns the Welch (unequal variances) z statistic of mean1 against mean0, given the sample
// variances and sizes: (mean1 - mean0) / sqrt(var0/n0 + var1/n1). With large samples the statistic
// is standard normal under the null hypothesis. It returns 0 when the standard error is 0 (callers
// floor var0 to keep it positive).
func welchZ(mean0, var0 float64, n0 int64, mean1, var1 float64, n1 int64) float64 {
	if n0 <= 0 || n1 <= 0 {
		return 0
	}
	se := math.Sqrt(var0/float64(n0) + var1/float64(n1))
	if se == 0 || math.IsNaN(se) {
		return 0
	}
	return (mean1 - mean0) / se
}

// moments accumulates count, mean and sum of squared deviations with Welford's update, which keeps
// the variance accurate where the naive sum-of-squares form cancels catastrophically.
type moments struct {
	n    int64
	mean float64
	m2   float64
}

func (m *moments) add(x float64) {
	m.n++
	d := x - m.mean
	m.mean += d / float64(m.n)
	m.m2 += d * (x - m.mean)
}

// variance returns the unbiased sample variance, 0 below two observations.
func (m *moments) variance() float64 {
	if m.n < 2 {
		return 0
	}
	return m.m2 / float64(m.n-1)
}

// meanScaleFloor is the smallest baseline standard deviation the mean detector divides by: 0.01, or
// 1% of the baseline mean's magnitude when that is larger. A constant (or near-constant) baseline
// would otherwise turn a noise-free shift of a rounding error into an infinite effect size.
func meanScaleFloor(mean0 float64) float64 {
	return 0.01 * math.Max(1, math.Abs(mean0))
}

// wilsonUpper returns the upper end of the Wilson score interval for f successes in n trials at
// standard-normal quantile z (Wilson 1927): the largest proportion the data make plausible at that
// confidence. For z = 0 it is the observed proportion.
func wilsonUpper(f, n int64, z float64) float64 {
	if n <= 0 {
		return 1
	}
	p := float64(f) / float64(n)
	if z == 0 {
		return p
	}
	nf := float64(n)
	z2 := z * z
	c := (p + z2/(2*nf) + z*math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))) / (1 + z2/nf)
	return min(c, 1)
}

// merge combines the moments of two samples (Chan, Golub & LeVeque's parallel update).
func (m *moments) merge(o moments) {
	if o.n == 0 {
		return
	}
	if m.n == 0 {
		*m = o
		return
	}
	n := m.n + o.n
	d := o.mean - m.mean
	m.mean += d * float64(o.n) / float64(n)
	m.m2 += o.m2 + d*d*float64(m.n)*float64(o.n)/float64(n)
	m.n = n
}

// binomialUpperTail returns P(X ≥ x) for X ~ Binomial(n, p), summing the exact terms from x up
// until they no longer change the sum. It returns 1 when x is at or below the mean n·p (the tail is
// then at least about one half, which no caller treats as significant), so the loop only ever
// walks down a decreasing tail.
func binomialUpperTail(x, n int64, p float64) float64 {
	switch {
	case x <= 0 || p >= 1:
		return 1
	case x > n || p <= 0:
		return 0
	case float64(x) <= float64(n)*p:
		return 1
	}
	lgN, _ := math.Lgamma(float64(n) + 1)
	lp, lq := math.Log(p), math.Log1p(-p)
	lgX, _ := math.Lgamma(float64(x) + 1)
	lgNX, _ := math.Lgamma(float64(n-x) + 1)
	// term(k+1) = term(k) · (n−k)/(k+1) · p/(1−p)
	term := math.Exp(lgN - lgX - lgNX + float64(x)*lp + float64(n-x)*lq)
	sum := term
	for k := x; k < n && term > sum*1e-17; k++ {
		term *= float64(n-k) / float64(k+1) * p / (1 - p)
		sum += term
	}
	return math.Min(sum, 1)
}
