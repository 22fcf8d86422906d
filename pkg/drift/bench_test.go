package drift

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// benchFleet is n series with a "refusal" check (labelled failures), a "json_valid" check and a
// "length" measure, their baselines pinned, and pre-built records for each window.
type benchFleet struct {
	cfg    Config
	e      *Engine
	series []event.Series
	recs   []event.Scored // one window's worth, reused with new timestamps
	rng    *rand.Rand
}

func newBenchFleet(tb testing.TB, n, perWindow int, metrics []string) *benchFleet {
	tb.Helper()
	cfg := DefaultConfig()
	f := &benchFleet{cfg: cfg, e: NewEngine(cfg), rng: rand.New(rand.NewPCG(1, 2))}
	score := func(metric string) event.Score {
		switch metric {
		case "length":
			v := 100 + 20*f.rng.NormFloat64()
			return event.Score{Metric: metric, Kind: event.KindMeasure, Value: v, Pass: v < 160}
		case "refusal":
			s := event.Score{Metric: metric, Kind: event.KindCheck, Pass: f.rng.Float64() > 0.05}
			if !s.Pass {
				s.Label = []string{"refusal", "policy", "fallback"}[f.rng.IntN(3)]
			}
			return s
		}
		return event.Score{Metric: metric, Kind: event.KindCheck, Pass: f.rng.Float64() > 0.02}
	}
	// Build one baseline per metric from a throwaway series and pin it everywhere.
	proto := NewEngine(cfg)
	ps := event.Series{App: "proto", Environment: "p", Feature: "f", Model: "m", PromptVersion: "v"}
	for i := range cfg.BaselineSize {
		rec := event.Scored{EventID: "p", Timestamp: fleetT0, Series: ps}
		for _, m := range metrics {
			rec.Scores = append(rec.Scores, score(m))
		}
		proto.Observe(&rec)
		_ = i
	}
	base := proto.Baselines()
	for i := range n {
		s := event.Series{App: fmt.Sprintf("app-%05d", i), Environment: "production", Feature: "answer", Model: "m1", PromptVersion: "v1"}
		f.series = append(f.series, s)
		for _, b := range base {
			if err := f.e.PinBaseline(s, b.Metric, b.Baseline); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for j := range perWindow {
		for _, s := range f.series {
			rec := event.Scored{EventID: s.App + "-" + strconv.Itoa(j), Series: s}
			for _, m := range metrics {
				rec.Scores = append(rec.Scores, score(m))
			}
			f.recs = append(f.recs, rec)
		}
	}
	return f
}

// feed observes one window's records with timestamps in window w; frac < 1 feeds only the first
// part of them.
func (f *benchFleet) feed(w int, frac float64) {
	start := fleetT0.Add(time.Duration(w) * f.cfg.Window)
	k := int(frac * float64(len(f.recs)))
	step := f.cfg.Window / time.Duration(len(f.recs)+1)
	for i := range f.recs[:k] {
		r := &f.recs[i]
		r.Timestamp = start.Add(time.Duration(i) * step)
		f.e.Observe(r)
	}
}

func (f *benchFleet) advance(w int) []event.Alert {
	return f.e.Advance(fleetT0.Add(time.Duration(w+1)*f.cfg.Window + f.cfg.Grace))
}

// BenchmarkAdvance closes one window of 2000 series (6000 quality series: two checks and a
// measure, 100 events each) per operation: every window test of every signal.
func BenchmarkAdvance(b *testing.B) {
	const n, perWindow = 2000, 100
	f := newBenchFleet(b, n, perWindow, []string{"refusal", "json_valid", "length"})
	w := 0
	f.feed(w, 1)
	f.advance(w)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		w++
		f.feed(w, 1)
		b.StartTimer()
		f.advance(w)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/series")
}

// BenchmarkObserveFleet observes records of 2000 series with two checks and a measure each,
// closing a window every 100 records per series.
func BenchmarkObserveFleet(b *testing.B) {
	const n, perWindow = 2000, 100
	f := newBenchFleet(b, n, perWindow, []string{"refusal", "json_valid", "length"})
	f.feed(0, 1)
	f.advance(0)
	b.ReportAllocs()
	i, w := 0, 1
	start := fleetT0.Add(time.Minute)
	step := f.cfg.Window / time.Duration(len(f.recs)+1)
	for b.Loop() {
		r := &f.recs[i]
		r.Timestamp = start.Add(time.Duration(i) * step)
		f.e.Observe(r)
		i++
		if i == len(f.recs) {
			b.StopTimer()
			f.advance(w)
			w++
			start = start.Add(f.cfg.Window)
			i = 0
			b.StartTimer()
		}
	}
}

// BenchmarkMemoryPerSeries reports the heap held per quality series in steady state (baseline
// pinned, one window closed and kept, the next one half full) for a check with labels and for a
// measure, at the default configuration, with windows of 400 events (all kept in the sample) and
// of 1500 (samples full).
func BenchmarkMemoryPerSeries(b *testing.B) {
	for _, c := range []struct {
		metric    string
		perWindow int
	}{{"refusal", 400}, {"length", 400}, {"length", 1500}} {
		b.Run(fmt.Sprintf("%s/%d", c.metric, c.perWindow), func(b *testing.B) {
			const n = 1000
			metric, perWindow := c.metric, c.perWindow
			var perSeries float64
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				f := newBenchFleet(b, n, perWindow, []string{metric})
				f.feed(0, 1)
				f.advance(0)
				f.feed(1, 0.5)
				f.recs = nil // the records are the benchmark's, not the engine's
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSeries = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(f.e)
			}
			b.ReportMetric(perSeries, "B/series")
		})
	}
}

// BenchmarkEncodeSnapshot encodes the state of 200 series (600 quality series) with pinned
// baselines, a closed window and a half-full one, into a kept buffer, as a partition's
// checkpoint does.
func BenchmarkEncodeSnapshot(b *testing.B) {
	const n, perWindow = 200, 100
	f := newBenchFleet(b, n, perWindow, []string{"refusal", "json_valid", "length"})
	for w := range 30 { // past the baseline's observations
		f.feed(w, 1)
		f.advance(w)
	}
	f.feed(30, 0.5)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := f.e.EncodeSnapshot(&buf, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/snapshot")
}
