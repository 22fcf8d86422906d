package drift

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/vigilhq/vigil/pkg/event"
)

func toFloat32s(xs []float64) []float32 {
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = float32(x)
	}
	return out
}

// TestQuantileSummaryAccuracy checks what QuantilePoints documents: against the summary of a
// sample, a window's KS statistic is within 1/(2k) of its value against the sample itself, and its
// Wasserstein distance within the distance between summary and sample, itself at most
// (max − min)/k; a sample of at most k values is its own summary. It also pins the measured
// Wasserstein errors the documentation quotes, for samples of 1000 and windows of 40 to 1000.
func TestQuantileSummaryAccuracy(t *testing.T) {
	const k = QuantilePoints
	rng := rand.New(rand.NewPCG(21, 22))
	for i := range 300 {
		s := toFloat32s(randomSample(rng, 1+rng.IntN(3000)))
		q := systematic(s, k)
		if len(s) <= k && !slices.Equal(q, s) {
			t.Fatalf("case %d: a sample of %d values is summarised as %v, want itself", i, len(s), q)
		}
		self := wasserstein1(q, s)
		if bound := (float64(s[len(s)-1]) - float64(s[0])) / k; self > bound+1e-9 {
			t.Fatalf("case %d: W(summary, sample) = %v, above (max − min)/k = %v", i, self, bound)
		}
		for range 5 {
			w := toFloat32s(randomSample(rng, 1+rng.IntN(1000)))
			if dd := math.Abs(ksStatistic(q, w) - ksStatistic(s, w)); dd > 0.5/k+1e-12 {
				t.Fatalf("case %d: KS moves by %v against the summary, above 1/(2k) = %v", i, dd, 0.5/k)
			}
			if dw := math.Abs(wasserstein1(q, w) - wasserstein1(s, w)); dw > self+1e-9 {
				t.Fatalf("case %d: Wasserstein moves by %v, above W(summary, sample) = %v", i, dw, self)
			}
		}
	}

	shapes := []struct {
		name          string
		draw          func() float64
		mean, largest float64 // bounds on the mean and largest |ΔW|/σ
	}{
		{"normal", rng.NormFloat64, 0.002, 0.01},
		{"log-normal", func() float64 { return math.Exp(rng.NormFloat64()) }, 0.01, 0.04},
	}
	for _, sh := range shapes {
		var sum, largest float64
		var n int
		for range 100 {
			s := make([]float32, 1000)
			var m moments
			for i := range s {
				s[i] = float32(sh.draw())
				m.add(float64(s[i]))
			}
			slices.Sort(s)
			q := systematic(s, k)
			sd := math.Sqrt(m.variance())
			for _, size := range []int{40, 150, 1000} {
				w := make([]float32, size)
				for i := range w {
					w[i] = float32(sh.draw())
				}
				slices.Sort(w)
				dw := math.Abs(wasserstein1(q, w)-wasserstein1(s, w)) / sd
				sum, largest, n = sum+dw, max(largest, dw), n+1
			}
		}
		if mean := sum / float64(n); mean > sh.mean || largest > sh.largest {
			t.Errorf("%s: Wasserstein moves by %.4fσ on average, %.4fσ at most; want at most %vσ and %vσ",
				sh.name, mean, largest, sh.mean, sh.largest)
		}
	}
}

// TestPinSummarisesSample: a pinned baseline keeps the summary of its sample, never the sample; a
// baseline re-pinned from its summary alone (as listed, or stored) is the same baseline; and bin
// counts that do not add up are estimated from the quantiles.
func TestPinSummarisesSample(t *testing.T) {
	cfg := smallConfig()
	rng := rand.New(rand.NewPCG(23, 24))
	sample := make([]float32, 1500) // more than SampleSize: thinned first
	for i := range sample {
		sample[i] = float32(50 + 5*rng.NormFloat64())
	}
	sr := series("shop", "v1")
	e := NewEngine(cfg)
	if err := e.PinBaseline(sr, "length", Baseline{N: 2000, Values: 2000, Mean: 50, Variance: 25, Sample: sample}); err != nil {
		t.Fatal(err)
	}
	got := e.Baselines()[0].Baseline
	if got.Sample != nil || got.SampleN != int64(cfg.SampleSize) || len(got.Quantiles) != QuantilePoints ||
		!slices.IsSorted(got.Quantiles) || sum(got.BinCounts) != int64(cfg.SampleSize) || len(got.BinEdges) != cfg.PSIBins-1 {
		t.Fatalf("pinned sample %d, summary of %d in %d quantiles, bins %v; want no sample, %d values in %d sorted quantiles and %d bins",
			len(got.Sample), got.SampleN, len(got.Quantiles), got.BinCounts, cfg.SampleSize, QuantilePoints, cfg.PSIBins)
	}
	if t.Run("re-pinned", func(t *testing.T) {
		e2 := NewEngine(cfg)
		if err := e2.PinBaseline(sr, "length", got); err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(got, e2.Baselines()[0].Baseline); diff != "" {
			t.Errorf("re-pinning the summary changed it:\n%s", diff)
		}
	}) {
		// Counts that do not add up to SampleN are estimated from the quantiles, each standing
		// for SampleN/k values, and add up again.
		bad := got
		bad.BinCounts = []int64{1, 2}
		e3 := NewEngine(cfg)
		if err := e3.PinBaseline(sr, "length", bad); err != nil {
			t.Fatal(err)
		}
		est := e3.Baselines()[0].Baseline.BinCounts
		if len(est) != len(got.BinCounts) || sum(est) != got.SampleN {
			t.Fatalf("estimated counts %v, want %d summing to %d", est, len(got.BinCounts), got.SampleN)
		}
		for i := range est {
			// A bin's share is known to within one quantile's weight.
			if d := math.Abs(float64(est[i]-got.BinCounts[i])) / float64(got.SampleN); d > 1.0/QuantilePoints {
				t.Errorf("bin %d: estimated %d, counted %d", i, est[i], got.BinCounts[i])
			}
		}
	}
}

// versionedSnapshots returns the snapshot of an engine whose measure baseline was pinned from a
// sample of 700 values, in version 1 (the sample, packed) and version 2 (its summary), with the
// engine and the steps it has yet to play.
func versionedSnapshots(tb testing.TB) (v1, v2 []byte, src *Engine, rest []step) {
	tb.Helper()
	cfg := snapshotConfig()
	rng := rand.New(rand.NewPCG(25, 26))
	sample := make([]float32, 700)
	for i := range sample {
		sample[i] = float32(100 + 10*rng.NormFloat64())
	}
	sr := series("shop", "v1")
	var steps []step
	for w := range 12 {
		start := t0.Add(time.Duration(w) * cfg.Window)
		sd := 10.0
		if w >= 5 {
			sd = 25 // the spread widens, the mean does not move
		}
		for j := range 300 {
			v := 100 + sd*rng.NormFloat64()
			steps = append(steps, step{rec: &event.Scored{
				EventID: "e" + strconv.Itoa(w*1000+j), Timestamp: start.Add(time.Duration(j) * cfg.Window / 300), Series: sr,
				Scores: []event.Score{{Metric: "length", Kind: event.KindMeasure, Value: v, Pass: v < 160}},
			}})
		}
		steps = append(steps, step{watermark: start.Add(cfg.Window + cfg.Grace)})
	}
	cut := len(steps) / 3

	src = NewEngine(cfg)
	if err := src.PinBaseline(sr, "length", Baseline{N: 700, Values: 700, Mean: 100, Variance: 100, Sample: sample}); err != nil {
		tb.Fatal(err)
	}
	play(src, steps[:cut])
	v2, err := src.Snapshot(nil)
	if err != nil {
		tb.Fatal(err)
	}
	// The same state as version 1 wrote it: the baseline's sample, packed, instead of its summary.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(v2))
	dec.UseNumber() // keep the generator states exact
	if err := dec.Decode(&doc); err != nil {
		tb.Fatal(err)
	}
	doc["version"] = 1
	b0 := doc["baselines"].([]any)[0].(map[string]any)
	if _, ok := b0["quantiles"]; !ok {
		tb.Fatalf("version 2 baseline has no quantiles: %v", b0)
	}
	delete(b0, "quantiles")
	delete(b0, "sample_n")
	raw := make([]byte, 4*len(sample))
	for i, v := range sample {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b0["sample"] = base64.StdEncoding.EncodeToString(raw)
	if v1, err = json.Marshal(doc); err != nil {
		tb.Fatal(err)
	}
	return v1, v2, src, steps[cut:]
}

// TestRestoreVersion1: a version 1 snapshot, whose baselines carry their whole sample, restores
// into the same state as the version 2 snapshot of the same engine, and the restored engines go
// on to emit the same alerts.
func TestRestoreVersion1(t *testing.T) {
	v1, v2, src, rest := versionedSnapshots(t)
	cfg := snapshotConfig()
	fromV1, fromV2 := NewEngine(cfg), NewEngine(cfg)
	if err := fromV1.Restore(v1); err != nil {
		t.Fatalf("Restore(version 1) = %v", err)
	}
	if err := fromV2.Restore(v2); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(fromV2.Baselines(), fromV1.Baselines()); diff != "" {
		t.Fatalf("version 1 restores other baselines (-v2 +v1):\n%s", diff)
	}
	if again, err := fromV1.Snapshot(nil); err != nil || string(again) != string(v2) {
		t.Errorf("snapshot of the version 1 restore differs from version 2's (err %v)", err)
	}
	want := play(src, rest)
	if len(want) == 0 {
		t.Fatal("the widened spread raised no alert; the test compares nothing")
	}
	if diff := gocmp.Diff(want, play(fromV1, rest)); diff != "" {
		t.Errorf("alerts after a version 1 restore (-uninterrupted +restored):\n%s", diff)
	}
	if diff := gocmp.Diff(want, play(fromV2, rest)); diff != "" {
		t.Errorf("alerts after a version 2 restore (-uninterrupted +restored):\n%s", diff)
	}
}

// FuzzRestore: whatever Restore accepts (either version) snapshots to a value that restores to the
// same state, and the restored engine observes and advances without panicking.
func FuzzRestore(f *testing.F) {
	v1, v2, _, _ := versionedSnapshots(f)
	f.Add(v1)
	f.Add(v2)
	f.Add([]byte(`{"version":2,"window_ns":60000000000}`))
	f.Add([]byte(`{"version":1,"window_ns":60000000000,"baselines":[{"n":5,"values":5,"sample":"AACAPwAAAEA="}],` +
		`"tracks":[{"series":{"app":"a"},"metric":"m"}]}`))
	f.Add([]byte(`{"version":2,"window_ns":60000000000,"baselines":[{"n":9,"values":9,"sample_n":4,"quantiles":"AACAPwAAAEA=",` +
		`"bin_edges":[1.5],"bin_counts":[1,1]}],"tracks":[{"series":{"app":"a"},"metric":"m"}]}`))
	cfg := snapshotConfig()
	f.Fuzz(func(t *testing.T, data []byte) {
		e := NewEngine(cfg)
		if err := e.Restore(data); err != nil {
			return
		}
		out, err := e.Snapshot(nil)
		if err != nil {
			t.Fatalf("Snapshot after Restore: %v", err)
		}
		again := NewEngine(cfg)
		if err := again.Restore(out); err != nil {
			t.Fatalf("Restore(Snapshot()) = %v", err)
		}
		if out2, _ := again.Snapshot(nil); !bytes.Equal(out, out2) {
			t.Fatalf("snapshot does not round-trip:\n%s\n%s", out, out2)
		}
		for _, b := range e.Baselines() {
			if b.Baseline.Sample != nil || len(b.Baseline.Quantiles) > QuantilePoints {
				t.Fatalf("restored baseline keeps a sample of %d and %d quantiles", len(b.Baseline.Sample), len(b.Baseline.Quantiles))
			}
		}
		e.Observe(&event.Scored{EventID: "x", Timestamp: t0, Series: event.Series{App: "a"},
			Scores: []event.Score{{Metric: "m", Kind: event.KindMeasure, Value: 1.5}}})
		e.Advance(t0.Add(time.Hour)) // restored state must not make Advance panic
	})
}

// TestMeasureSeriesMemory: a measure series with its own pinned baseline, one closed window and one
// half full holds at most 4 KiB of heap, its baseline summary included, whatever the size of its
// windows: 40 events a window (the shape BenchmarkSeries100k measures at scale) and 1500 (more than
// SampleSize values; TestCellsStayBounded bounds the cells of any window).
func TestMeasureSeriesMemory(t *testing.T) {
	const limit = 4096
	for _, c := range []struct {
		name         string
		n, perWindow int
		shift        float64
	}{
		{"40", 5000, 40, 0},
		{"1500", 400, 1500, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			perSeries := measureSeriesMemory(t, c.n, c.perWindow, c.shift)
			t.Logf("%.0f B a measure series", perSeries)
			// Below 1 KB the measurement itself is wrong: a track alone is larger.
			if perSeries > limit || perSeries < 1024 {
				t.Errorf("a measure series holds %.0f B, want at most %d (and at least 1024)", perSeries, limit)
			}
		})
	}
}

// measureSeriesMemory returns the heap held per series by n measure series with their own pinned
// baseline, one closed window of perWindow events and one half full, their values moved by shift.
func measureSeriesMemory(t *testing.T, n, perWindow int, shift float64) float64 {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(27, 28))
	score := func(shift float64) event.Score {
		v := 100 + shift + 20*rng.NormFloat64()
		return event.Score{Metric: "length", Kind: event.KindMeasure, Value: v, Pass: v < 160}
	}
	proto := NewEngine(cfg)
	for range cfg.BaselineSize {
		proto.Observe(&event.Scored{EventID: "p", Timestamp: t0, Series: series("proto", "v1"), Scores: []event.Score{score(0)}})
	}
	base := proto.Baselines()[0].Baseline
	ss := make([]event.Series, n)
	for i := range ss {
		ss[i] = series("app-"+strconv.Itoa(i), "v1")
	}
	// Records and their ids belong to the caller, not to the engine: made before measuring.
	recs := make([]event.Scored, 0, n*perWindow)
	for j := range perWindow {
		for i := range ss {
			recs = append(recs, event.Scored{EventID: ss[i].App + "-" + strconv.Itoa(j), Series: ss[i], Scores: []event.Score{score(shift)}})
		}
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	feed := func(e *Engine, w int, frac float64) {
		start := t0.Add(time.Duration(w) * cfg.Window)
		k := int(frac * float64(len(recs)))
		for i := range recs[:k] {
			recs[i].Timestamp = start.Add(time.Duration(i) * cfg.Window / time.Duration(len(recs)+1))
			e.Observe(&recs[i])
		}
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e := NewEngine(cfg)
	for i := range ss {
		if err := e.PinBaseline(ss[i], "length", base); err != nil {
			t.Fatal(err)
		}
	}
	feed(e, 0, 1)
	e.Advance(t0.Add(cfg.Window + cfg.Grace))
	feed(e, 1, 0.5)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSeries := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	runtime.KeepAlive(e)
	runtime.KeepAlive(recs) // freed in between, they would hide the engine's share
	runtime.KeepAlive(proto)
	return perSeries
}

// TestRestoreVersion2Windows: a version 2 snapshot, whose windows carry a sample of their values
// instead of cells, restores with those values counted into each window's cells, and the restored
// engine goes on to emit the alerts of the engine that never stopped.
func TestRestoreVersion2Windows(t *testing.T) {
	_, v3, src, rest := versionedSnapshots(t)
	cfg := snapshotConfig()
	// The windows' values as version 2 kept them, packed, instead of their cells.
	samples := map[int64][]float32{}
	tr := src.tracks[0]
	q, p := cellLayout(tr.base, &tr.d)
	for _, w := range tr.open {
		samples[w.idx] = cellSample(w.cells, tr.base.Quantiles, tr.base.BinEdges, q, p, &w.acc.values, cfg.SampleSize)
	}
	if tr.hasPrev {
		w := tr.prev
		samples[w.idx] = cellSample(w.cells, tr.base.Quantiles, tr.base.BinEdges, q, p, &w.acc.values, cfg.SampleSize)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(v3))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = 2
	track := doc["tracks"].([]any)[0].(map[string]any)
	var windows []any
	if open, ok := track["open"].([]any); ok {
		windows = append(windows, open...)
	}
	if prev, ok := track["prev"]; ok {
		windows = append(windows, prev)
	}
	converted := 0
	for _, x := range windows {
		w := x.(map[string]any)
		if _, ok := w["cells"]; !ok {
			continue
		}
		delete(w, "cells")
		var idx int64
		if n, ok := w["idx"].(json.Number); ok {
			idx, _ = n.Int64()
		}
		raw := make([]byte, 4*len(samples[idx]))
		for i, v := range samples[idx] {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		w["acc"].(map[string]any)["sample"] = base64.StdEncoding.EncodeToString(raw)
		converted++
	}
	if converted == 0 {
		t.Fatal("the snapshot has no window with values; the test converts nothing")
	}
	v2, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cfg)
	if err := e.Restore(v2); err != nil {
		t.Fatalf("Restore(version 2) = %v", err)
	}
	rt := e.tracks[0]
	for i := range rt.open {
		w := &rt.open[i]
		if w.acc.sample != nil || (w.acc.values.n > 0) != (w.cells != nil) {
			t.Errorf("restored window %d: sample %d, %d values, cells %v", w.idx, len(w.acc.sample), w.acc.values.n, w.cells)
		}
	}
	want := play(src, rest)
	if len(want) == 0 {
		t.Fatal("the widened spread raised no alert; the test compares nothing")
	}
	if diff := gocmp.Diff(want, play(e, rest)); diff != "" {
		t.Errorf("alerts after a version 2 restore (-uninterrupted +restored):\n%s", diff)
	}
}
