package drift

import "math"

// Pearson's chi-square test of homogeneity, the window test of the "label" signal and the
// significance guard of the PSI and Jensen–Shannon detectors. The baseline counts and the window
// counts over the same categories form a 2×K table; with E = row total × column total / N,
//
//	χ² = Σ (O − E)² / E,  df = K' − 1,  p = Q(df/2, χ²/2),
//
// where Q is the regularised upper incomplete gamma function. Categories empty in both rows are left
// out. Cochran's rule is applied by pooling: columns whose smaller expected count is below 5 are
// merged into one, and that pooled column into the smallest other column if it is still below 5, so
// the chi-square approximation holds; with fewer than two columns left there is no
// test (df 0, p 1). The window's labels unseen in the baseline form one column of their own (the
// "unseen" bucket, with a baseline count of 0 plus whatever the baseline had to fold away), which
// is how a new label such as json_valid's "code_fence" is detected.
//
// Parameters (Config): significance Alpha, Bonferroni-divided by the number of tests of the series;
// the effect floor is the Jensen–Shannon distance, JSThreshold (default 0.1). Baselines of at most
// LargeBaseline labelled observations report this test ("chi_square"); larger ones report the
// distance ("jensen_shannon") with this test's p-value.

// maxColumns bounds the categories of one test (labels: MaxCategories plus the unseen bucket; PSI:
// PSIBins).
const maxColumns = 65

// chiSquareHomogeneity returns χ² and its degrees of freedom for the 2×K table with rows a and b
// (same length, at most maxColumns).
func chiSquareHomogeneity(a, b []int64) (stat float64, df int) {
	na, nb := sum(a), sum(b)
	if na == 0 || nb == 0 {
		return 0, 0
	}
	n := float64(na + nb)
	small := min(float64(na), float64(nb)) / n // expected count of a column in its smaller row, per observation
	var ca, cb [maxColumns]int64
	k := 0
	var pa, pb int64 // pooled small columns
	for i := range a {
		t := a[i] + b[i]
		if t == 0 {
			continue
		}
		if float64(t)*small < 1 {
			pa += a[i]
			pb += b[i]
			continue
		}
		ca[k], cb[k] = a[i], b[i]
		k++
	}
	if pa+pb > 0 {
		if float64(pa+pb)*small < 1 && k > 0 {
			// Merge the pooled column into the smallest full column.
			s := 0
			for i := 1; i < k; i++ {
				if ca[i]+cb[i] < ca[s]+cb[s] {
					s = i
				}
			}
			ca[s] += pa
			cb[s] += pb
		} else {
			ca[k], cb[k] = pa, pb
			k++
		}
	}
	if k < 2 {
		return 0, 0
	}
	fa, fb := float64(na)/n, float64(nb)/n
	for i := range k {
		t := float64(ca[i] + cb[i])
		ea, eb := t*fa, t*fb
		da, db := float64(ca[i])-ea, float64(cb[i])-eb
		stat += da*da/ea + db*db/eb
	}
	return stat, k - 1
}

// chiSquareSF returns P(X > x) for X chi-square distributed with df degrees of freedom; 1 for
// df < 1 or x <= 0.
func chiSquareSF(x float64, df int) float64 {
	if df < 1 || !(x > 0) {
		return 1
	}
	return gammaQ(float64(df)/2, x/2)
}

// chiSquareCritical returns the x at which chiSquareSF(x, df) equals alpha in (0, 1); +Inf for
// df < 1 (no test can reach it).
func chiSquareCritical(alpha float64, df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	lo, hi := 0.0, float64(df)+10
	for chiSquareSF(hi, df) > alpha {
		hi *= 2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if chiSquareSF(mid, df) > alpha {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo <= 1e-12*hi {
			break
		}
	}
	return hi
}

// gammaQ returns the regularised upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a) for a > 0,
// x >= 0: by its series below x = a+1 and by Lentz's continued fraction above (Numerical Recipes
// §6.2).
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		// P(a, x) = e^{−x} x^a / Γ(a) · Σ x^n / (a(a+1)…(a+n)).
		ap, del := a, 1/a
		s := del
		for range 1000 {
			ap++
			del *= x / ap
			s += del
			if math.Abs(del) < math.Abs(s)*1e-16 {
				break
			}
		}
		return max(0, 1-s*math.Exp(-x+a*math.Log(x)-lg))
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
