package drift

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// fleetSeries is the synthetic traffic of one series in the fleet tests: a "refusal" check failing
// with probability fail (its failures labelled from a fixed mix) and a "length" measure, normal or
// log-normal, that fails above a limit.
type fleetSeries struct {
	series    event.Series
	n         int     // events per window
	fail      float64 // failure probability of "refusal"
	mean, sd  float64 // of "length" (of its logarithm when logNormal)
	logNormal bool
	limit     float64
	rng       *rand.Rand
	ids       int
	// Labels of refusal failures: "refusal" with probability 0.7, else "policy", unless newLabel
	// is set, which then takes that share.
	newLabel float64
}

var fleetT0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// feed observes the series' events of window w.
func (f *fleetSeries) feed(e *Engine, cfg *Config, w int) {
	start := fleetT0.Add(time.Duration(w) * cfg.Window)
	step := cfg.Window / time.Duration(f.n)
	scores := make([]event.Score, 2)
	for j := range f.n {
		f.ids++
		rc := event.Score{Metric: "refusal", Kind: event.KindCheck, Pass: f.rng.Float64() >= f.fail}
		if !rc.Pass {
			switch u := f.rng.Float64(); {
			case u < f.newLabel:
				rc.Label = "code_fence"
			case u < f.newLabel+(1-f.newLabel)*0.7:
				rc.Label = "refusal"
			default:
				rc.Label = "policy"
			}
		}
		v := f.mean + f.sd*f.rng.NormFloat64()
		if f.logNormal {
			v = math.Exp(v)
		}
		scores[0] = rc
		scores[1] = event.Score{Metric: "length", Kind: event.KindMeasure, Value: v, Pass: v < f.limit}
		e.Observe(&event.Scored{
			EventID:   f.series.App + "-" + strconv.Itoa(f.ids),
			Timestamp: start.Add(time.Duration(j) * step),
			Series:    f.series,
			Scores:    scores,
		})
	}
}

// newFleet returns count stable series with failure rates uniform in [failMin, failMax), windows of
// 150–399 events, and length distributions of varied location and spread, half of them log-normal.
func newFleet(seed uint64, first, count int, failMin, failMax float64) []*fleetSeries {
	out := make([]*fleetSeries, count)
	for i := range out {
		idx := first + i
		rng := rand.New(rand.NewPCG(seed, uint64(idx)))
		f := &fleetSeries{
			series: event.Series{App: fmt.Sprintf("app-%04d", idx), Environment: "production", Feature: "answer", Model: "m1", PromptVersion: "v1"},
			n:      150 + rng.IntN(250),
			fail:   failMin + (failMax-failMin)*rng.Float64(),
			rng:    rng,
		}
		if idx%2 == 0 {
			f.mean = 100 + 400*rng.Float64()
			f.sd = f.mean * (0.05 + 0.3*rng.Float64())
			f.limit = f.mean + 2.5*f.sd
		} else {
			f.logNormal = true
			f.mean, f.sd = 5+rng.Float64(), 0.2+0.5*rng.Float64()
			f.limit = math.Exp(f.mean + 2.5*f.sd)
		}
		out[i] = f
	}
	return out
}

// fleetCounts are the transitions a run produced.
type fleetCounts struct {
	firing, pending int
	evaluations     uint64
	firstFiring     []string
}

// runFleet drives count series for windows windows, split over engines run in parallel (the series
// are independent, so the split does not change any result).
func runFleet(tb testing.TB, cfg Config, seed uint64, count, windows int, failMin, failMax float64) fleetCounts {
	tb.Helper()
	const shards = 4
	results := make([]fleetCounts, shards)
	var wg sync.WaitGroup
	for sh := range shards {
		wg.Go(func() {
			lo, hi := sh*count/shards, (sh+1)*count/shards
			fleet := newFleet(seed, lo, hi-lo, failMin, failMax)
			e := NewEngine(cfg)
			r := &results[sh]
			for w := range windows {
				for _, f := range fleet {
					f.feed(e, &cfg, w)
				}
				for _, a := range e.Advance(fleetT0.Add(time.Duration(w+1)*cfg.Window + cfg.Grace)) {
					switch a.State {
					case event.StateFiring:
						if !a.Resend {
							r.firing++
							r.firstFiring = append(r.firstFiring, a.Summary)
						}
					case event.StatePending:
						r.pending++
					}
				}
			}
			r.evaluations = e.Stats().Evaluations
		})
	}
	wg.Wait()
	var total fleetCounts
	for _, r := range results {
		total.firing += r.firing
		total.pending += r.pending
		total.evaluations += r.evaluations
		total.firstFiring = append(total.firstFiring, r.firstFiring...)
	}
	return total
}

var fleets = flag.Int("drift.fleets", 1, "number of seeded 1000-series fleets TestFleetFalseFirings runs")

// TestFleetFalseFirings: 1000 stable series (failure rates 1–20%, 150–400 events a window, normal
// and log-normal measures, labelled failures) run for 64 windows, at least 50 of them evaluated
// after the 2000-observation baselines, must fire no alert. Pending transitions are reported: each
// resolves at the next window. Under the race detector the fleet is cut to a tenth. With
// -drift.fleets=N it runs N fleets (seeds 1..N) and requires fewer than one false firing per
// 100 000 series-windows over all of them.
func TestFleetFalseFirings(t *testing.T) {
	t.Parallel()
	count := 1000
	if raceEnabled || testing.Short() {
		count = 100
	}
	const windows = 64
	var total fleetCounts
	for seed := 1; seed <= *fleets; seed++ {
		got := runFleet(t, DefaultConfig(), uint64(seed), count, windows, 0.01, 0.20)
		t.Logf("seed %d: %d series × %d windows: %d evaluations, %d pending, %d firing", seed, count, windows, got.evaluations, got.pending, got.firing)
		for _, s := range got.firstFiring {
			t.Logf("seed %d fired: %s", seed, s)
		}
		// 2 metrics, 3 signals at least ("label" needs 50 labelled baseline observations), over at
		// least 50 evaluated windows.
		if min := uint64(count * 3 * 50); got.evaluations < min {
			t.Errorf("seed %d: %d evaluations, want at least %d", seed, got.evaluations, min)
		}
		total.firing += got.firing
		total.pending += got.pending
	}
	if *fleets == 1 {
		if total.firing != 0 {
			t.Errorf("stable traffic fired %d alerts, want 0", total.firing)
		}
		return
	}
	seriesWindows := float64(*fleets * count * 50)
	t.Logf("%d fleets: %d firing, %d pending in at least %.0f series-windows", *fleets, total.firing, total.pending, seriesWindows)
	if float64(total.firing) >= seriesWindows/100_000 {
		t.Errorf("%d false firings in %.0f series-windows, want fewer than 1 per 100 000", total.firing, seriesWindows)
	}
}

// delays runs series of the given traffic through a stable phase and a regression that starts at
// window start, applied by regress, and returns for each series the window, counted from start,
// at which its first alert of signal fired (-1 when none did by window start+horizon-1).
func delays(cfg Config, seed uint64, count, n int, fail float64, start, horizon int, signal string, regress func(*fleetSeries)) []int {
	fleet := newFleet(seed, 0, count, fail, fail)
	e := NewEngine(cfg)
	out := make([]int, count)
	for i := range out {
		fleet[i].n = n
		out[i] = -1
	}
	byApp := map[string]int{}
	for i, f := range fleet {
		byApp[f.series.App] = i
	}
	for w := range start + horizon {
		if w == start {
			for _, f := range fleet {
				regress(f)
			}
		}
		for _, f := range fleet {
			f.feed(e, &cfg, w)
		}
		for _, a := range e.Advance(fleetT0.Add(time.Duration(w+1)*cfg.Window + cfg.Grace)) {
			i := byApp[a.Labels["app"]]
			if a.State == event.StateFiring && a.Labels["signal"] == signal && out[i] < 0 {
				out[i] = w - start
			}
		}
	}
	return out
}

// TestFleetDetectionDelay measures how many windows an injected regression takes to fire, counted
// from its first window (0: fired at the close of the first regressed window; with PendingWindows 1
// the earliest possible is 1, so "within three windows" is a delay of at most 2).
//
// A 1σ shift of the mean fires on its second window everywhere. A failure rate 10 points above its
// baseline fires within three windows at base rates up to 5% with 250 or more events a window, and
// up to 10% with 400; with 150 events at 1–5% nearly always. Higher base rates with small windows
// take longer: three windows of 150 events at a 20% base rate hold barely four standard errors of
// evidence, too few to fire reliably without also firing on noise (TestFleetFalseFirings). The
// table of delays is logged.
func TestFleetDetectionDelay(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	count := 40
	if raceEnabled || testing.Short() {
		count = 10
	}
	const horizon = 8
	t.Run("mean 1σ", func(t *testing.T) {
		for _, n := range []int{150, 400} {
			start := cfg.BaselineSize/n + 2
			got := delays(cfg, 7, count, n, 0.05, start, horizon, "value", func(f *fleetSeries) {
				if f.logNormal {
					// 1σ of the log-normal variable itself.
					m, s2 := math.Exp(f.mean+f.sd*f.sd/2), (math.Exp(f.sd*f.sd)-1)*math.Exp(2*f.mean+f.sd*f.sd)
					f.mean = math.Log(m+math.Sqrt(s2)) - f.sd*f.sd/2
				} else {
					f.mean += f.sd
				}
			})
			for i, d := range got {
				if d != 1 {
					t.Errorf("n=%d series %d: 1σ shift fired at window %d, want 1", n, i, d)
				}
			}
		}
	})
	t.Run("rate +10 points", func(t *testing.T) {
		// Required shares of regressions that fire within three windows, by base rate and window size
		// (the measured shares, at 40 series a cell, are in the comment of each row).
		want := map[float64][3]float64{ // 150, 250, 400 events a window
			0.01: {0.9, 0.95, 0.95},  // 95%, 100%, 100%
			0.05: {0.85, 0.95, 0.95}, // 90%, 97%, 100%
			0.10: {0.6, 0.7, 0.95},   // 72%, 82%, 100%
			0.15: {0.3, 0.45, 0.7},   // 40%, 55%, 82%
			0.20: {0.15, 0.35, 0.65}, // 25%, 47%, 78%
		}
		var table strings.Builder
		table.WriteString("base rate / events a window: share fired within 3 windows [delays 0..7, not by 8]\n")
		for _, p0 := range []float64{0.01, 0.05, 0.10, 0.15, 0.20} {
			for j, n := range []int{150, 250, 400} {
				start := cfg.BaselineSize/n + 2
				got := delays(cfg, uint64(1000*p0)+uint64(n), count, n, p0, start, horizon, "rate", func(f *fleetSeries) { f.fail += 0.10 })
				within := 0
				for _, d := range got {
					if d >= 0 && d <= 2 {
						within++
					}
				}
				fmt.Fprintf(&table, "%4.0f%% / %d: %3.0f%% %v\n", 100*p0, n, 100*float64(within)/float64(count), histogram(got, horizon))
				if need := int(math.Floor(want[p0][j] * float64(count))); within < need {
					t.Errorf("base %.0f%%, %d events a window: %d of %d fired within 3 windows, want at least %d; delays %v", 100*p0, n, within, count, need, got)
				}
			}
		}
		t.Log(table.String())
	})
	t.Run("new label", func(t *testing.T) {
		// A fifth of refusal failures start to carry a label the baseline never saw.
		n := 400
		start := cfg.BaselineSize/n + 2
		got := delays(cfg, 9, count, n, 0.15, start, horizon, "label", func(f *fleetSeries) { f.newLabel = 0.3 })
		t.Logf("new label at 30%% of failures, base rate 15%%, %d events a window: %v", n, histogram(got, horizon))
		for i, d := range got {
			if d < 0 || d > 2 {
				t.Errorf("series %d: new label fired at window %d, want within 3", i, d)
			}
		}
	})
}

// histogram counts delays 0..horizon-1 and misses (last).
func histogram(delays []int, horizon int) []int {
	h := make([]int, horizon+1)
	for _, d := range delays {
		if d < 0 {
			d = horizon
		}
		h[d]++
	}
	return h
}
