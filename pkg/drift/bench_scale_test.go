package drift

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// BenchmarkSeries100k holds 100 000 active quality series in one engine at the default
// configuration, each with its own pinned baseline (PinBaseline copies it, as an automatic pin
// would own it), and reports:
//   - B/series: the heap held per series in steady state (baseline summary included; one window
//     closed and kept, the next one half full), measured with runtime.ReadMemStats after GC;
//   - updates/s: scores observed per second, the records arriving in a shuffled order across the
//     series (as interleaved traffic does), window closes included.
//
// "check" is a pass/fail check with labelled failures (3% failing); "measure" a continuous score.
// Each series gets perWindow events a window (one every 1.5 s with one-minute windows): 4 million
// records a window. One operation takes minutes; run it with -benchtime 1x.
func BenchmarkSeries100k(b *testing.B) {
	const n, perWindow = 100_000, 40
	for _, metric := range []string{"refusal", "length"} {
		name := map[string]string{"refusal": "check", "length": "measure"}[metric]
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			rng := rand.New(rand.NewPCG(5, 6))
			score := func() event.Score {
				if metric == "length" {
					v := 100 + 20*rng.NormFloat64()
					return event.Score{Metric: metric, Kind: event.KindMeasure, Value: v, Pass: v < 160}
				}
				s := event.Score{Metric: metric, Kind: event.KindCheck, Pass: rng.Float64() > 0.03}
				if !s.Pass {
					s.Label = []string{"refusal", "policy", "fallback"}[rng.IntN(3)]
				}
				return s
			}
			proto := NewEngine(cfg)
			ps := event.Series{App: "proto", Environment: "p", Feature: "f", Model: "m", PromptVersion: "v"}
			for range cfg.BaselineSize {
				proto.Observe(&event.Scored{EventID: "p", Timestamp: fleetT0, Series: ps, Scores: []event.Score{score()}})
			}
			base := proto.Baselines()[0].Baseline

			// One window's records, shuffled across the series; ids are made once, as a decoder
			// would, and belong to the records.
			series := make([]event.Series, n)
			for i := range series {
				series[i] = event.Series{App: fmt.Sprintf("app-%06d", i), Environment: "production", Feature: "answer", Model: "m1", PromptVersion: "v1"}
			}
			recs := make([]event.Scored, 0, n*perWindow)
			for j := range perWindow {
				for i := range series {
					recs = append(recs, event.Scored{EventID: series[i].App + "-" + strconv.Itoa(j), Series: series[i], Scores: []event.Score{score()}})
				}
			}
			rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			feed := func(e *Engine, w int, frac float64) {
				start := fleetT0.Add(time.Duration(w) * cfg.Window)
				k := int(frac * float64(len(recs)))
				step := cfg.Window / time.Duration(len(recs)+1)
				for i := range recs[:k] {
					recs[i].Timestamp = start.Add(time.Duration(i) * step)
					e.Observe(&recs[i])
				}
			}
			advance := func(e *Engine, w int) { e.Advance(fleetT0.Add(time.Duration(w+1)*cfg.Window + cfg.Grace)) }

			var perSeries, perSecond float64
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				e := NewEngine(cfg)
				for i := range series {
					if err := e.PinBaseline(series[i], metric, base); err != nil {
						b.Fatal(err)
					}
				}
				feed(e, 0, 1)
				advance(e, 0)
				feed(e, 1, 0.5)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSeries = float64(after.HeapAlloc-before.HeapAlloc) / n

				// Throughput: two more full windows, each closed.
				t := time.Now()
				for w := 2; w < 4; w++ {
					feed(e, w, 1)
					advance(e, w)
				}
				perSecond = float64(2*len(recs)) / time.Since(t).Seconds()
				runtime.KeepAlive(e)
			}
			b.ReportMetric(perSeries, "B/series")
			b.ReportMetric(perSecond, "updates/s")
		})
	}
}
