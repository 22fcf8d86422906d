package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPairedBootstrapKnownCases(t *testing.T) {
	ones := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 1
		}
		return xs
	}
	// 4 of 20 cases regress: a resample's mean is -Binomial(20, 0.2)/20, whose 2.5% and 97.5%
	// quantiles are -8/20 and -1/20.
	cand := ones(20)
	for i := range 4 {
		cand[i*5] = 0
	}
	tests := []struct {
		name       string
		base, cand []float64
		want       Interval
	}{
		{"identical runs", ones(10), ones(10), Interval{Diff: 0, Lo: 0, Hi: 0, N: 10}},
		{"every case regressed", ones(8), make([]float64, 8), Interval{Diff: -1, Lo: -1, Hi: -1, N: 8}},
		{"one of two regressed", []float64{1, 1}, []float64{1, 0}, Interval{Diff: -0.5, Lo: -1, Hi: 0, N: 2}},
		{"4 of 20 regressed", ones(20), cand, Interval{Diff: -0.2, Lo: -0.4, Hi: -0.05, N: 20}},
	}
	for _, tt := range tests {
		got := PairedBootstrap(tt.base, tt.cand, 2000, 0.95, 1)
		if !near(got.Diff, tt.want.Diff) || !near(got.Lo, tt.want.Lo) || !near(got.Hi, tt.want.Hi) || got.N != tt.want.N {
			t.Errorf("%s: PairedBootstrap = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if iv := PairedBootstrap(nil, nil, 2000, 0.95, 1); iv.N != 0 || !math.IsNaN(iv.Diff) || iv.ExcludesZero() {
		t.Errorf("PairedBootstrap of no pairs = %+v, want NaN and N 0", iv)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// TestPairedBootstrapMatchesNormalTheory: for many pairs the percentile interval approaches
// mean ± 1.96 standard errors.
func TestPairedBootstrapMatchesNormalTheory(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	n := 2000
	base, cand := make([]float64, n), make([]float64, n)
	var sum, sumSq float64
	for i := range base {
		base[i] = rng.NormFloat64()
		cand[i] = base[i] + 0.1 + 0.5*rng.NormFloat64()
		d := cand[i] - base[i]
		sum += d
		sumSq += d * d
	}
	mean := sum / float64(n)
	se := math.Sqrt((sumSq/float64(n) - mean*mean) / float64(n))
	got := PairedBootstrap(base, cand, 4000, 0.95, 7)
	if !near(got.Diff, mean) {
		t.Errorf("Diff = %v, want the mean difference %v", got.Diff, mean)
	}
	for _, b := range []struct{ got, want float64 }{{got.Lo, mean - 1.96*se}, {got.Hi, mean + 1.96*se}} {
		if math.Abs(b.got-b.want) > 0.1*se*1.96 {
			t.Errorf("bound %v, want %v ± 10%% of the half-width (se %v)", b.got, b.want, se)
		}
	}
	if !got.ExcludesZero() {
		t.Errorf("a shift of 0.1 with se %.3f: interval %+v includes 0", se, got)
	}
}

func TestPairedBootstrapIsDeterministic(t *testing.T) {
	base := []float64{1, 0, 1, 1, 0, 1, 1, 1, 0, 1}
	cand := []float64{1, 1, 0, 1, 0, 0, 1, 1, 1, 0}
	a := PairedBootstrap(base, cand, 2000, 0.95, 3)
	b := PairedBootstrap(base, cand, 2000, 0.95, 3)
	if a != b {
		t.Errorf("the same seed gave %+v and %+v", a, b)
	}
	if a.Lo > a.Diff || a.Diff > a.Hi {
		t.Errorf("interval %+v does not hold its estimate", a)
	}
}
