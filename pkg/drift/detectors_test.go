package drift

import (
	"math"
	"testing"
)

// Expected values in this file were computed independently of this package from the textbook
// formulas quoted next to each table (plain Python with the math module: direct sums, brute-force
// empirical distribution functions, closed forms of the chi-square survival function for small
// degrees of freedom), or are published table values.

func TestBernoulliCUSUM(t *testing.T) {
	// p0 = 0.1, p1 = 0.2, h = 2: W = ln 2 = 0.693147 for a failure, ln(0.8/0.9) = -0.117783 for a
	// pass; S = max(0, S + W); the seventh observation takes S to 2.419240 > h, which resets it.
	p := newBernoulliParams(0.1, 0.2, 2)
	if !near(p.fail, 0.6931471805599453) || !near(p.pass, -0.11778303565638339) {
		t.Fatalf("increments = %v, %v, want ln 2 and ln(8/9)", p.fail, p.pass)
	}
	steps := []struct {
		fail  bool
		s     float64 // S after the step
		alarm float64 // the crossing value, 0 for none
	}{
		{true, 0.6931471805599453, 0},
		{true, 1.3862943611198906, 0},
		{false, 1.2685113254635072, 0},
		{true, 1.9616585060234524, 0},
		{false, 1.843875470367069, 0},
		{false, 1.7260924347106856, 0},
		{true, 0, 2.419239615270631},
		{true, 0.6931471805599453, 0},
	}
	var c bernoulliCUSUM
	for i, st := range steps {
		alarm, peak := c.add(st.fail, &p)
		if alarm != (st.alarm > 0) || !near(peak, st.alarm) || !near(c.s, st.s) {
			t.Fatalf("step %d: alarm %v peak %v S %v, want %v %v %v", i, alarm, peak, c.s, st.alarm > 0, st.alarm, st.s)
		}
	}
	// Passes alone never go below zero.
	c = bernoulliCUSUM{}
	for range 100 {
		c.add(false, &p)
	}
	if c.s != 0 {
		t.Errorf("S after passes = %v, want 0", c.s)
	}
}

func TestBernoulliParamsOff(t *testing.T) {
	for _, tt := range []struct{ p0, p1 float64 }{{0, 0.1}, {0.2, 0.2}, {0.3, 0.1}, {0.5, 1}} {
		p := newBernoulliParams(tt.p0, tt.p1, 5)
		var c bernoulliCUSUM
		if alarm, _ := c.add(true, &p); p.on || alarm {
			t.Errorf("newBernoulliParams(%v, %v) is on, want off", tt.p0, tt.p1)
		}
	}
}

func TestCUSUM(t *testing.T) {
	// k = 0.5, h = 4: C+ = max(0, C+ + z - k), C- = max(0, C- - z - k); a sum equal to h does not
	// alarm, one above it does and resets both.
	steps := []struct {
		z      float64
		hi, lo float64
		dir    int8
		peak   float64
	}{
		{1, 0.5, 0, 0, 0},
		{2, 2, 0, 0, 0},
		{1.5, 3, 0, 0, 0},
		{-0.5, 2, 0, 0, 0},
		{0, 1.5, 0, 0, 0},
		{3, 4, 0, 0, 0},
		{-2, 1.5, 1.5, 0, 0},
		{-3, 0, 4, 0, 0},
		{-1, 0, 0, -1, 4.5},
		{6, 0, 0, 1, 5.5},
	}
	var c cusum
	for i, st := range steps {
		dir, peak := c.add(st.z, 0.5, 4)
		if dir != st.dir || !near(peak, st.peak) || !near(c.hi, st.hi) || !near(c.lo, st.lo) {
			t.Fatalf("step %d: dir %d peak %v C+ %v C- %v, want %d %v %v %v", i, dir, peak, c.hi, c.lo, st.dir, st.peak, st.hi, st.lo)
		}
	}
}

func TestKSStatistic(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64 // sorted
		want float64
	}{
		// Brute force: max over all points x of |F_a(x) - F_b(x)|.
		{"overlap", []float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7, 8}, 0.5},
		{"ties across samples", []float64{0.1, 0.2, 0.2, 0.4}, []float64{0.2, 0.3, 0.5}, 0.4166666666666667},
		{"equal", []float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{"disjoint", []float64{1, 2}, []float64{3, 4, 5}, 1},
		{"empty", nil, []float64{1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ksStatistic(tt.a, tt.b); !near(got, tt.want) {
				t.Errorf("ksStatistic(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := ksStatistic(tt.b, tt.a); !near(got, tt.want) {
				t.Errorf("ksStatistic(%v, %v) = %v, want %v (symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestKolmogorovQ(t *testing.T) {
	tests := []struct{ lambda, want float64 }{
		// Q(λ) = 2 Σ (-1)^(j-1) exp(-2 j² λ²), summed to 200 terms; 1.3581, 1.6276 and 1.9495 are the
		// tabulated 5%, 1% and 0.1% points of the Kolmogorov distribution.
		{0.1, 1},
		{0.5, 0.9639452436648751},
		{1.0, 0.26999967167735456},
		{1.2, 0.11224966667072496},
		{1.3581, 0.0499996304316674},
		{1.6276, 0.010001537333060776},
		{1.9495, 0.0009998019790258981},
		{10, 0},
	}
	for _, tt := range tests {
		if got := kolmogorovQ(tt.lambda); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("kolmogorovQ(%v) = %v, want %v", tt.lambda, got, tt.want)
		}
	}
}

func TestKSPValue(t *testing.T) {
	tests := []struct {
		d    float64
		n, m int
		want float64
	}{
		// λ = (√nₑ + 0.12 + 0.11/√nₑ)·D, nₑ = nm/(n+m), then Q(λ).
		{0.5, 10, 10, 0.11084033741322809},
		{0.2, 100, 200, 0.0080992910255771},
		{0.3, 0, 10, 1},
	}
	for _, tt := range tests {
		if got := ksPValue(tt.d, tt.n, tt.m); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("ksPValue(%v, %d, %d) = %v, want %v", tt.d, tt.n, tt.m, got, tt.want)
		}
	}
	for _, alpha := range []float64{0.05, 1e-3, 1e-6} {
		d := ksCritical(alpha, 1000, 300)
		if p := ksPValue(d, 1000, 300); math.Abs(p-alpha) > 1e-6*alpha {
			t.Errorf("ksPValue(ksCritical(%v)) = %v", alpha, p)
		}
	}
}

func TestWasserstein1(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64 // sorted
		want float64
	}{
		// ∫|F_a - F_b| dx, by hand (scipy.stats.wasserstein_distance gives the same).
		{"shift", []float64{0, 1, 3}, []float64{5, 6, 8}, 5},
		{"one point moves", []float64{0, 1}, []float64{0, 2}, 0.5},
		{"ties", []float64{0, 0, 1}, []float64{0, 1, 1}, 1.0 / 3},
		{"unequal sizes", []float64{0, 10}, []float64{0, 5, 10}, 5.0 / 3},
		{"equal", []float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{"empty", nil, []float64{1, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wasserstein1(tt.a, tt.b); !near(got, tt.want) {
				t.Errorf("wasserstein1(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := wasserstein1(tt.b, tt.a); !near(got, tt.want) {
				t.Errorf("wasserstein1(%v, %v) = %v, want %v (symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestPSI(t *testing.T) {
	tests := []struct {
		name string
		r, c []int64
		want float64
	}{
		// Σ (c - r)·ln(c/r) over shares; 0.1·ln(1.2) + 0.1·ln(1.25) for the first.
		{"two bins", []int64{50, 50}, []int64{60, 40}, 0.04054651081081642},
		{"empty baseline bin", []int64{100, 0}, []int64{50, 50}, 4.60431846666895},
		{"reversed", []int64{10, 20, 30, 40}, []int64{40, 30, 20, 10}, 0.9128696382935673},
		{"equal", []int64{3, 7}, []int64{30, 70}, 0},
		{"empty window", []int64{3, 7}, []int64{0, 0}, 0},
	}
	for _, tt := range tests {
		if got := psi(tt.r, tt.c); !near(got, tt.want) {
			t.Errorf("%s: psi(%v, %v) = %v, want %v", tt.name, tt.r, tt.c, got, tt.want)
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		bins   int
		edges  []float64
		counts []int64
	}{
		{"deciles of 1..10 in 5 bins", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, []float64{3, 5, 7, 9}, []int64{3, 2, 2, 2, 1}},
		{"ties collapse", []float64{1, 1, 1, 1, 2, 2, 3}, 3, []float64{1, 2}, []int64{4, 2, 1}},
		{"mass at the top", []float64{1, 5, 5, 5, 5, 5}, 4, []float64{1}, []int64{1, 5}},
		{"constant", []float64{4, 4, 4}, 10, nil, []int64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edges := quantileEdges(tt.sorted, tt.bins)
			if len(edges) != len(tt.edges) {
				t.Fatalf("quantileEdges = %v, want %v", edges, tt.edges)
			}
			for i := range edges {
				if edges[i] != tt.edges[i] {
					t.Fatalf("quantileEdges = %v, want %v", edges, tt.edges)
				}
			}
			counts := make([]int64, len(edges)+1)
			countBins(tt.sorted, edges, counts)
			for i := range counts {
				if counts[i] != tt.counts[i] {
					t.Fatalf("countBins = %v, want %v", counts, tt.counts)
				}
			}
			for _, x := range tt.sorted {
				if b := binOf(x, edges); counts[b] == 0 {
					t.Errorf("binOf(%v) = %d, an empty bin", x, b)
				}
			}
		})
	}
}

func TestChiSquareHomogeneity(t *testing.T) {
	tests := []struct {
		name string
		a, b []int64
		stat float64
		df   int
	}{
		// Σ (O - E)²/E with E = row total · column total / N.
		{"2x3", []int64{20, 30, 50}, []int64{30, 30, 40}, 3.111111111111111, 2},
		// Column 4 expects 0.38 in the smaller row: pooled alone, still below 1, merged into the
		// smallest other column: the table [100 80 3; 50 60 3].
		{"pooled into a neighbour", []int64{100, 80, 2, 1}, []int64{50, 60, 3, 0}, 3.1456803428368794, 2},
		// Every expected count is at least 1 (the smallest is 4.3): no pooling.
		{"small but not pooled", []int64{60, 30, 5, 4}, []int64{40, 40, 6, 5}, 5.303151233887162, 3},
		// Columns 2 and 3 expect 0.09 each: pooled together (0.18), merged into column 1.
		{"everything pooled", []int64{200, 1, 1}, []int64{20, 0, 0}, 0, 0},
		{"one column", []int64{10, 0}, []int64{20, 0}, 0, 0},
		{"empty row", []int64{0, 0}, []int64{5, 5}, 0, 0},
	}
	for _, tt := range tests {
		stat, df := chiSquareHomogeneity(tt.a, tt.b)
		if !near(stat, tt.stat) || df != tt.df {
			t.Errorf("%s: chiSquareHomogeneity(%v, %v) = %v, %d, want %v, %d", tt.name, tt.a, tt.b, stat, df, tt.stat, tt.df)
		}
	}
}

func TestChiSquareSF(t *testing.T) {
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		// Closed forms: df 1: erfc(√(x/2)); df 2: e^(-x/2); df 3: erfc(√(x/2)) + √(2x/π)·e^(-x/2);
		// df 4: e^(-x/2)(1 + x/2); df 6: e^(-x/2)(1 + x/2 + (x/2)²/2). The rest are table values.
		{2, 1, 0.15729920705028513},
		{3, 2, 0.22313016014842982},
		{4, 3, 0.26146412994911067},
		{5, 4, 0.2872974951836458},
		{10, 6, 0.12465201948308113},
		{40, 6, 4.555149505589213e-07},
		{3.841458820694124, 1, 0.05},
		{6.634896601021214, 1, 0.01},
		{11.070497693516351, 5, 0.05},
		{23.209251158954356, 10, 0.01},
		{0, 3, 1},
		{5, 0, 1},
	}
	for _, tt := range tests {
		if got := chiSquareSF(tt.x, tt.df); math.Abs(got-tt.want) > 1e-9*math.Max(1e-3, tt.want) {
			t.Errorf("chiSquareSF(%v, %d) = %v, want %v", tt.x, tt.df, got, tt.want)
		}
	}
	for _, df := range []int{1, 2, 9, 30} {
		for _, alpha := range []float64{0.05, 1e-4, 1e-8} {
			x := chiSquareCritical(alpha, df)
			if p := chiSquareSF(x, df); math.Abs(p-alpha) > 1e-6*alpha {
				t.Errorf("chiSquareSF(chiSquareCritical(%v, %d)) = %v", alpha, df, p)
			}
		}
	}
	if !math.IsInf(chiSquareCritical(0.05, 0), 1) {
		t.Errorf("chiSquareCritical(df 0) is finite, want +Inf")
	}
}

func TestJensenShannon(t *testing.T) {
	tests := []struct {
		name string
		p, q []int64
		want float64
	}{
		// sqrt(½ KL(P‖M) + ½ KL(Q‖M)) in bits, M = (P+Q)/2.
		{"disjoint", []int64{1, 0}, []int64{0, 1}, 1},
		{"half", []int64{1, 1}, []int64{1, 0}, 0.5579230452841438},
		{"reversed", []int64{1, 2, 3}, []int64{3, 2, 1}, 0.354703515198132},
		{"equal shares", []int64{5, 5}, []int64{50, 50}, 0},
		{"empty", []int64{0, 0}, []int64{1, 1}, 0},
	}
	for _, tt := range tests {
		if got := jensenShannon(tt.p, tt.q); !near(got, tt.want) {
			t.Errorf("%s: jensenShannon(%v, %v) = %v, want %v", tt.name, tt.p, tt.q, got, tt.want)
		}
	}
}

func TestWilsonUpper(t *testing.T) {
	tests := []struct {
		f, n int64
		z    float64
		want float64
	}{
		// (p + z²/2n + z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
		{10, 100, 2, 0.17619764731093038},
		{0, 100, 2, 0.038461538461538464}, // z²/(n + z²)
		{40, 2000, 2, 0.0272857754427734},
		{50, 50, 2, 1},
		{7, 100, 0, 0.07},
		{1, 0, 2, 1},
	}
	for _, tt := range tests {
		if got := wilsonUpper(tt.f, tt.n, tt.z); !near(got, tt.want) {
			t.Errorf("wilsonUpper(%d, %d, %v) = %v, want %v", tt.f, tt.n, tt.z, got, tt.want)
		}
	}
}
