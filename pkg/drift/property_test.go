package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigilhq/vigil/pkg/event"
)

// randomSample returns n sorted values from one of a few shapes, with ties.
func randomSample(rng *rand.Rand, n int) []float64 {
	xs := make([]float64, n)
	shape := rng.IntN(3)
	for i := range xs {
		switch shape {
		case 0:
			xs[i] = rng.NormFloat64()
		case 1:
			xs[i] = math.Exp(rng.NormFloat64())
		default:
			xs[i] = float64(rng.IntN(5)) // judge-style scores: many ties
		}
	}
	slices.Sort(xs)
	return xs
}

func randomCounts(rng *rand.Rand, k int) []int64 {
	c := make([]int64, k)
	for i := range c {
		c[i] = int64(rng.IntN(50))
	}
	return c
}

// TestDistanceProperties checks, on random inputs, the properties the detectors' definitions
// imply: ranges, symmetry, identity, invariance under monotone maps (KS) and equivariance under
// shifts and scaling (Wasserstein).
func TestDistanceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		a := randomSample(rng, 1+rng.IntN(60))
		b := randomSample(rng, 1+rng.IntN(60))
		d := ksStatistic(a, b)
		if d < 0 || d > 1 || d != ksStatistic(b, a) || ksStatistic(a, a) != 0 {
			t.Fatalf("case %d: KS %v (reversed %v, self %v)", i, d, ksStatistic(b, a), ksStatistic(a, a))
		}
		mono := func(xs []float64) []float64 {
			out := make([]float64, len(xs))
			for j, x := range xs {
				out[j] = 3*x + 7
			}
			return out
		}
		if got := ksStatistic(mono(a), mono(b)); !near(got, d) {
			t.Fatalf("case %d: KS not invariant under x → 3x+7: %v vs %v", i, got, d)
		}
		w := wasserstein1(a, b)
		if w < 0 || !near(w, wasserstein1(b, a)) || wasserstein1(a, a) != 0 {
			t.Fatalf("case %d: W %v (reversed %v, self %v)", i, w, wasserstein1(b, a), wasserstein1(a, a))
		}
		if got := wasserstein1(mono(a), mono(b)); !near(got, 3*w) {
			t.Fatalf("case %d: W(3a+7, 3b+7) = %v, want 3·%v", i, got, w)
		}
		shifted := mono(a)
		for j := range shifted {
			shifted[j] = a[j] + 2.5
		}
		if got := wasserstein1(a, shifted); !near(got, 2.5) {
			t.Fatalf("case %d: W(a, a+2.5) = %v", i, got)
		}
		c := randomSample(rng, 1+rng.IntN(60))
		if wasserstein1(a, c) > wasserstein1(a, b)+wasserstein1(b, c)+1e-9 {
			t.Fatalf("case %d: W breaks the triangle inequality", i)
		}

		k := 2 + rng.IntN(8)
		p, q := randomCounts(rng, k), randomCounts(rng, k)
		js := jensenShannon(p, q)
		if js < 0 || js > 1 || !near(js, jensenShannon(q, p)) || jensenShannon(p, p) != 0 {
			t.Fatalf("case %d: JS(%v, %v) = %v", i, p, q, js)
		}
		ix := psi(p, q)
		if ix < 0 || !near(ix, psi(q, p)) || psi(p, p) != 0 {
			t.Fatalf("case %d: PSI(%v, %v) = %v", i, p, q, ix)
		}
		stat, df := chiSquareHomogeneity(p, q)
		pv := chiSquareSF(stat, df)
		if stat < 0 || df < 0 || df >= k || pv < 0 || pv > 1 {
			t.Fatalf("case %d: chi-square(%v, %v) = %v df %d p %v", i, p, q, stat, df, pv)
		}
	}
}

// TestChiSquareSFMonotone: the survival function falls as x grows and is continuous where gammaQ
// switches from its series to its continued fraction (x = a + 1).
func TestChiSquareSFMonotone(t *testing.T) {
	for _, df := range []int{1, 2, 3, 7, 20, 63} {
		prev := 1.0
		for x := 0.0; x < 200; x += 0.25 {
			p := chiSquareSF(x, df)
			if p > prev+1e-15 || p < 0 {
				t.Fatalf("df %d: SF(%v) = %v after %v", df, x, p, prev)
			}
			prev = p
		}
		a := float64(df) / 2
		below, above := gammaQ(a, a+1-1e-9), gammaQ(a, a+1+1e-9)
		if math.Abs(below-above) > 1e-8 {
			t.Errorf("df %d: gammaQ jumps at the switch: %v vs %v", df, below, above)
		}
	}
}

// TestKSCalibration: under the null hypothesis the KS p-value is close to uniform at the sample
// sizes the engine compares, so its significance level means what it says.
func TestKSCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	runs := 4000
	if raceEnabled || testing.Short() {
		runs = 1500
	}
	var below5, below1 int
	a, b := make([]float32, 1000), make([]float32, 200)
	for range runs {
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		slices.Sort(a)
		slices.Sort(b)
		p := ksPValue(ksStatistic(a, b), len(a), len(b))
		if p < 0.05 {
			below5++
		}
		if p < 0.01 {
			below1++
		}
	}
	if f := float64(below5) / float64(runs); f < 0.035 || f > 0.065 {
		t.Errorf("P(p < 0.05) = %v under the null, want about 0.05", f)
	}
	if f := float64(below1) / float64(runs); f < 0.003 || f > 0.018 {
		t.Errorf("P(p < 0.01) = %v under the null, want about 0.01", f)
	}
}

// TestReservoirIsUniform: a window or baseline sample of 100 values out of 10 000 is a uniform
// sample: each decile of the stream is represented about equally often.
func TestReservoirIsUniform(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SampleSize = 100
	var deciles [10]int
	for k := range 200 {
		var a accum
		state := seed(seriesKey{metric: string(rune('a' + k%26)), series: event.Series{App: string(rune('A' + k/26))}})
		for i := range 10_000 {
			a.add(0, false, true, true, float64(i), "", "", &cfg, &state)
		}
		if len(a.sample) != 100 || a.values.n != 10_000 {
			t.Fatalf("sample %d of %d values", len(a.sample), a.values.n)
		}
		for _, v := range a.sample {
			deciles[int(v)/1000]++
		}
	}
	// 20 000 sampled values, 2 000 expected per decile; chi-square with 9 df below its 0.1% point.
	var chi float64
	for _, c := range deciles {
		chi += float64((c-2000)*(c-2000)) / 2000
	}
	if chi > 27.88 {
		t.Errorf("decile counts %v: chi-square %v, not uniform", deciles, chi)
	}
}

// TestAccumMerge: merging accumulators keeps counts and moments exact and the sample bounded.
func TestAccumMerge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SampleSize = 50
	cfg.MaxCategories = 2
	rng := rand.New(rand.NewPCG(7, 8))
	var whole, a, b accum
	var state uint64
	for i := range 300 {
		v := rng.NormFloat64()*3 + 10
		label := []string{"", "x", "y", "z"}[rng.IntN(4)]
		dst := &a
		if i%3 == 0 {
			dst = &b
		}
		dst.add(int64(i), i%5 == 0, true, true, v, label, "e", &cfg, &state)
		whole.add(int64(i), i%5 == 0, true, true, v, label, "e", &cfg, &state)
	}
	a.merge(&b, &cfg)
	if a.n != whole.n || a.failures != whole.failures || a.labelled != whole.labelled || a.from != 0 || a.to != 299 {
		t.Errorf("merged counts %d/%d/%d [%d, %d], want %d/%d/%d [0, 299]", a.n, a.failures, a.labelled, a.from, a.to, whole.n, whole.failures, whole.labelled)
	}
	if !near(a.values.mean, whole.values.mean) || !near(a.values.variance(), whole.values.variance()) {
		t.Errorf("merged moments %v/%v, want %v/%v", a.values.mean, a.values.variance(), whole.values.mean, whole.values.variance())
	}
	if len(a.sample) != cfg.SampleSize || len(a.labels) > cfg.MaxCategories {
		t.Errorf("merged sample %d, labels %d: want %d and at most %d", len(a.sample), len(a.labels), cfg.SampleSize, cfg.MaxCategories)
	}
	var counted int64
	for _, l := range a.labels {
		counted += l.n
	}
	if counted+a.other != a.labelled {
		t.Errorf("labels %d + other %d != labelled %d", counted, a.other, a.labelled)
	}
}

// TestBaselineJSONRoundTrip: a frozen baseline encodes and decodes without loss.
func TestBaselineJSONRoundTrip(t *testing.T) {
	e := NewEngine(DefaultConfig())
	rng := rand.New(rand.NewPCG(9, 10))
	var a accum
	var state uint64
	for i := range 3000 {
		a.add(int64(i)*1e6, rng.IntN(10) == 0, true, true, rng.ExpFloat64()*100, []string{"", "p", "q"}[rng.IntN(3)], "e", &e.cfg, &state)
	}
	b := e.freeze(&a, seriesKey{series: series("shop", "v1"), metric: "m"}, SourceAuto, t0)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Baseline
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(*b, back, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("round trip (-frozen +decoded):\n%s", diff)
	}
	if err := checkBaseline(&back); err != nil {
		t.Errorf("a frozen baseline fails its own check: %v", err)
	}
}
