package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// cellsOf counts a window's values into the cells of a baseline summary.
func cellsOf(q []float32, edges []float64, w []float64) []byte {
	var h []byte
	for _, x := range w {
		h = addValue(h, x, 1, q, edges, len(q)+1, len(edges)+1, nil)
	}
	return h
}

// TestCellsMatchSample checks what QuantilePoints documents for windows counted into cells instead
// of kept: against the same quantile summary, KS from the cells is the statistic of the window's
// values, exceeding it at most by the share of values equal to a quantile the summary holds once
// (none for continuous scores); the Wasserstein distance from the cells is within the bound
// wassersteinCells returns of the distance to the values; the PSI bins are counted exactly. It
// also pins the measured Wasserstein errors the documentation quotes.
func TestCellsMatchSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i := range 300 {
		s := toFloat32s(randomSample(rng, 2+rng.IntN(3000)))
		q := systematic(s, QuantilePoints)
		edges := quantileEdges(s, 10)
		for range 5 {
			w := randomSample(rng, 1+rng.IntN(2000))
			if rng.IntN(4) == 0 {
				for j := range w {
					w[j] = w[j]*1.5 + 0.5 // moved and spread
				}
			}
			w32 := toFloat32s(w)
			h := cellsOf(q, edges, w)
			qc := make([]int64, len(q)+1)
			pc := make([]int64, len(edges)+1)
			m, lo, hi := cellCounts(h, len(q)+1, len(edges)+1, qc, pc)
			if m != int64(len(w)) {
				t.Fatalf("case %d: cells count %d values, want %d", i, m, len(w))
			}
			// Values equal to a quantile the summary holds once.
			var single int
			for _, x := range w32 {
				j, found := slices.BinarySearch(q, x)
				if found && (j+1 == len(q) || q[j+1] != x) {
					single++
				}
			}
			exact := ksStatistic(q, w32)
			d := ksCells(q, qc[:len(q)+1], m)
			if d < exact-1e-12 || d > exact+float64(single)/float64(len(w))+1e-12 {
				t.Fatalf("case %d: KS from cells %v, from values %v (%d of %d values on single quantiles)", i, d, exact, single, len(w))
			}
			if single == 0 && math.Abs(d-exact) > 1e-12 {
				t.Fatalf("case %d: KS from cells %v, from values %v", i, d, exact)
			}
			wc, bound := wassersteinCells(q, qc[:len(q)+1], m, lo, hi)
			if dw := math.Abs(wc - wasserstein1(q, w32)); dw > bound+1e-9*(1+wc) {
				t.Fatalf("case %d: Wasserstein from cells %v, from values %v: off by %v, above the bound %v", i, wc, wasserstein1(q, w32), dw, bound)
			}
			want := make([]int64, len(edges)+1)
			countBins(w32, edges, want)
			if !slices.Equal(pc, want) {
				t.Fatalf("case %d: bins %v, want %v", i, pc, want)
			}
			// A window pinned from its cells has its size and (for continuous scores) its shape.
			ps := cellSample(h, q, edges, len(q)+1, len(edges)+1, nil, 1000)
			if len(ps) != min(len(w), 1000) || !slices.IsSorted(ps) {
				t.Fatalf("case %d: sample of %d values from cells of %d (sorted %v)", i, len(ps), len(w), slices.IsSorted(ps))
			}
		}
	}

	shapes := []struct {
		name          string
		draw          func() float64
		mean, largest float64 // bounds on the mean and largest |ΔW|/σ
	}{
		{"normal", rng.NormFloat64, 0.002, 0.01},
		{"log-normal", func() float64 { return math.Exp(rng.NormFloat64()) }, 0.006, 0.05},
	}
	for _, sh := range shapes {
		var sum, largest, bounds float64
		var n int
		for range 100 {
			s := make([]float32, 1000)
			var mo moments
			for i := range s {
				s[i] = float32(sh.draw())
				mo.add(float64(s[i]))
			}
			slices.Sort(s)
			q := systematic(s, QuantilePoints)
			sd := math.Sqrt(mo.variance())
			for _, size := range []int{40, 150, 1000, 1500} {
				w := make([]float64, size)
				for i := range w {
					w[i] = sh.draw()
				}
				h := cellsOf(q, nil, w)
				qc := make([]int64, len(q)+1)
				m, lo, hi := cellCounts(h, len(q)+1, 0, qc, nil)
				wc, bound := wassersteinCells(q, qc, m, lo, hi)
				w32 := toFloat32s(w)
				slices.Sort(w32)
				dw := math.Abs(wc-wasserstein1(q, w32)) / sd
				sum, largest, bounds, n = sum+dw, max(largest, dw), max(bounds, bound/sd), n+1
			}
		}
		mean := sum / float64(n)
		t.Logf("%s: Wasserstein from cells off by %.4fσ on average, %.4fσ at most (bound at most %.4fσ)", sh.name, mean, largest, bounds)
		if mean > sh.mean || largest > sh.largest {
			t.Errorf("%s: Wasserstein from cells moves by %.4fσ on average, %.4fσ at most; want at most %vσ and %vσ",
				sh.name, mean, largest, sh.mean, sh.largest)
		}
	}
}

// TestCellsStayBounded: however many values a window receives, even mostly into one cell, its cells
// stay under 300 bytes and count a uniform sample of at least 32 768 of them: every cell's share
// within five standard errors of exact.
func TestCellsStayBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	s := make([]float32, 1000)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	slices.Sort(s)
	q := systematic(s, QuantilePoints)
	edges := quantileEdges(s, 10)
	nq, np := len(q)+1, len(edges)+1
	var h []byte
	state := uint64(7)
	want := make([]int64, nq)
	const n = 3_000_000
	for i := range n {
		x := 10.0 // above the baseline: one cell
		if i%3 == 0 {
			x = rng.NormFloat64()
		}
		h = addValue(h, x, 1, q, edges, nq, np, &state)
		want[quantileCell(float32(x), q)]++
		if len(h) > cellsHeader+2*(nq+np) {
			t.Fatalf("after %d values the cells take %d bytes", i+1, len(h))
		}
	}
	if cap(h) > 300 {
		t.Errorf("cells of %d values hold %d bytes, want under 300", n, cap(h))
	}
	qc := make([]int64, nq)
	pc := make([]int64, np)
	m, _, hi := cellCounts(h, nq, np, qc, pc)
	if math.Abs(float64(m)-n)/n > 0.01 {
		t.Errorf("cells stand for %d values, want about %d", m, n)
	}
	kept := float64(m >> h[17])
	if kept < 1<<15 {
		t.Errorf("cells keep %v values, want at least 32768", kept)
	}
	for i := range qc {
		p := float64(want[i]) / n
		if d := math.Abs(float64(qc[i])/float64(m) - p); d > 5*math.Sqrt(p/kept)+1/kept {
			t.Errorf("cell %d: share %v, want %v", i, float64(qc[i])/float64(m), float64(want[i])/n)
		}
	}
	// The tail sum keeps the mean distance above the baseline.
	top := float64(want[nq-1])
	if got, exact := hi/float64(qc[nq-1]), 10-float64(q[len(q)-1]); math.Abs(got-exact) > 0.01*exact {
		t.Errorf("mean distance above the baseline %v, want %v (%v values)", got, exact, top)
	}
}

// TestPinCurrentFromCells: windows keep no values, yet pinning the current windows of a measure
// yields a baseline with their distribution (drawn from their cells), and pinning another baseline
// while a window is open counts that window's values again into the new baseline's cells.
func TestPinCurrentFromCells(t *testing.T) {
	cfg := smallConfig()
	e := NewEngine(cfg)
	sr := series("shop", "v1")
	rng := rand.New(rand.NewPCG(35, 36))
	base := make([]float32, 800)
	for i := range base {
		base[i] = float32(100 + 10*rng.NormFloat64())
	}
	if err := e.PinBaseline(sr, "length", Baseline{N: 800, Values: 800, Mean: 100, Variance: 100, Sample: base}); err != nil {
		t.Fatal(err)
	}
	const n = 600
	for i := range n {
		v := 130 + 10*rng.NormFloat64()
		e.Observe(&event.Scored{EventID: "e", Timestamp: t0.Add(time.Duration(i) * cfg.Window / n), Series: sr,
			Scores: []event.Score{{Metric: "length", Kind: event.KindMeasure, Value: v, Pass: true}}})
	}
	b, err := e.PinCurrent(sr, "length")
	if err != nil {
		t.Fatal(err)
	}
	med := float64(b.Quantiles[len(b.Quantiles)/2])
	if b.Values != n || b.SampleN != n || math.Abs(med-130) > 2 || math.Abs(b.Mean-130) > 2 {
		t.Fatalf("PinCurrent: %d values, sample of %d, median %v, mean %v; want %d values around 130", b.Values, b.SampleN, med, b.Mean, n)
	}
	// New values of the accepted level do not differ from it.
	fresh := make([]float32, n)
	for i := range fresh {
		fresh[i] = float32(130 + 10*rng.NormFloat64())
	}
	slices.Sort(fresh)
	if d, crit := ksStatistic(b.Quantiles, fresh), ksCritical(0.01, n, n); d > crit {
		t.Errorf("a new window of the pinned level: KS %v, above the 1%% critical value %v", d, crit)
	}
	// The cells of the old baseline place the new level's values coarsely (its upper tail by its
	// moments), so the distance is noisier than between two samples; KS, the significance gate, holds.
	if w := wasserstein1(b.Quantiles, fresh) / math.Sqrt(b.Variance); w > 0.15 {
		t.Errorf("a new window of the pinned level: Wasserstein %vσ, want under 0.15σ", w)
	}
	// The open window now counts into the new baseline's cells: against itself it does not differ.
	tr := e.lookup(sr, "length")
	q, p := cellLayout(tr.base, &tr.d)
	qc := make([]int64, q)
	pc := make([]int64, p)
	m, _, _ := cellCounts(tr.open[0].cells, q, p, qc, pc)
	if m != n {
		t.Fatalf("open window counts %d values after the pin, want %d", m, n)
	}
	if d := ksCells(tr.base.Quantiles, qc, m); d > 0.05 {
		t.Errorf("open window against the baseline pinned from it: KS %v, want about 0", d)
	}
	if ix := psi(tr.base.BinCounts, pc); ix > 0.01 {
		t.Errorf("open window against the baseline pinned from it: PSI %v, want about 0", ix)
	}
}
