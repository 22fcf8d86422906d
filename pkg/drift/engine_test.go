package drift

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilhq/vigil/pkg/event"
)

// t0 is aligned to every window length the tests use.
var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// stream is the synthetic traffic of one series in one window.
type stream struct {
	series event.Series
	n      int     // records in the window
	fail   float64 // failure probability of the "refusal" check
	// The "length" measure, present when measure is set: Normal(mean, sd), passing below limit
	// (always passing when limit is 0).
	measure     bool
	mean, sd    float64
	limit       float64
	skipRefusal bool // records carry no "refusal" score
	// Labels of failing "refusal" scores, drawn with the given weights (no label when empty).
	labels  []string
	weights []float64
}

// sim drives an Engine window by window with seeded traffic.
type sim struct {
	tb  testing.TB
	cfg Config
	e   *Engine
	rng *rand.Rand
	ids int
}

// smallConfig is DefaultConfig with a 500-observation baseline, so that state-machine tests reach
// their evaluated windows quickly.
func smallConfig() Config {
	c := DefaultConfig()
	c.BaselineSize = 500
	return c
}

func newSim(tb testing.TB, cfg Config, seed uint64) *sim {
	tb.Helper()
	return &sim{tb: tb, cfg: cfg, e: NewEngine(cfg), rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

func (s *sim) start(w int) time.Time { return t0.Add(time.Duration(w) * s.cfg.Window) }
func (s *sim) end(w int) time.Time   { return s.start(w + 1) }

// feed observes the records of window w for each stream, interleaving streams event by event.
func (s *sim) feed(w int, streams ...stream) {
	maxN := 0
	for _, st := range streams {
		maxN = max(maxN, st.n)
	}
	for j := range maxN {
		for _, st := range streams {
			if j >= st.n {
				continue
			}
			s.ids++
			rec := &event.Scored{
				EventID:   "ev-" + strconv.Itoa(s.ids),
				Timestamp: s.start(w).Add(time.Duration(j) * s.cfg.Window / time.Duration(st.n)),
				Series:    st.series,
			}
			if !st.skipRefusal {
				sc := event.Score{Metric: "refusal", Kind: event.KindCheck, Pass: s.rng.Float64() >= st.fail}
				if !sc.Pass && len(st.labels) > 0 {
					sc.Label = pick(s.rng, st.labels, st.weights)
				}
				rec.Scores = append(rec.Scores, sc)
			}
			if st.measure {
				v := st.mean + st.sd*s.rng.NormFloat64()
				rec.Scores = append(rec.Scores, event.Score{
					Metric: "length", Kind: event.KindMeasure, Value: v, Pass: st.limit == 0 || v < st.limit,
				})
			}
			s.e.Observe(rec)
		}
	}
}

// pick draws one of labels with the given weights.
func pick(rng *rand.Rand, labels []string, weights []float64) string {
	var total float64
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return labels[i]
		}
		x -= w
	}
	return labels[len(labels)-1]
}

// window feeds window w and closes it.
func (s *sim) window(w int, streams ...stream) []event.Alert {
	s.feed(w, streams...)
	return s.e.Advance(s.end(w).Add(s.cfg.Grace))
}

func series(app, prompt string) event.Series {
	return event.Series{
		App: app, Environment: "production", Feature: "product-summary", Model: "gpt-4o", PromptVersion: prompt,
	}
}

// brief is the part of an alert a state-machine test compares.
type brief struct {
	ID       string
	State    string
	Previous string
	Resend   bool
	At       time.Time
	Metric   string
	Signal   string
}

func briefs(alerts []event.Alert) []brief {
	out := make([]brief, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, brief{a.AlertID, a.State, a.Previous, a.Resend, a.At, a.Labels["metric"], a.Labels["signal"]})
	}
	return out
}

func labelsOf(s event.Series, metric, signal string) map[string]string {
	return map[string]string{
		"alertname": "quality_drift", "app": s.App, "environment": s.Environment, "feature": s.Feature,
		"model": s.Model, "prompt_version": s.PromptVersion, "metric": metric, "signal": signal,
	}
}

// stableFleet returns count stable series: a "refusal" check failing with a probability in
// [failMin, failMax) and a "length" measure with its own mean and spread, failing above mean+2.5sd.
func stableFleet(s *sim, count int, failMin, failMax float64, nMin, nSpan int) []stream {
	streams := make([]stream, count)
	for i := range streams {
		mean := 100 + 400*s.rng.Float64()
		sd := mean * (0.05 + 0.3*s.rng.Float64())
		streams[i] = stream{
			series:  series(fmt.Sprintf("app-%03d", i), "v1"),
			n:       nMin + s.rng.IntN(nSpan),
			fail:    failMin + (failMax-failMin)*s.rng.Float64(),
			measure: true,
			mean:    mean,
			sd:      sd,
			limit:   mean + 2.5*sd,
		}
	}
	return streams
}

// TestNoAlertsOnStableTraffic: 200 series (50 under the race detector) with failure rates of 0.5–3%,
// 300–500 events a window and
// varied length distributions, each stable for 30 windows (the first few build the baselines), must
// not produce a single alert, pending included. TestFleetFalseFirings covers harder traffic.
func TestNoAlertsOnStableTraffic(t *testing.T) {
	t.Parallel()
	s := newSim(t, DefaultConfig(), 1)
	count := 200
	if raceEnabled || testing.Short() {
		count = 50
	}
	streams := stableFleet(s, count, 0.005, 0.03, 300, 200)
	var alerts []event.Alert
	for w := range 30 {
		alerts = append(alerts, s.window(w, streams...)...)
	}
	if len(alerts) != 0 {
		t.Errorf("stable traffic produced %d alerts, want 0; first: %+v", len(alerts), alerts[0])
	}
	st := s.e.Stats()
	// 2 metrics per series; "refusal" has 1 signal, "length" 2. Baselines of 2000 take at most 7
	// windows of 300–500 events.
	if st.Series != 2*count {
		t.Errorf("Stats().Series = %d, want %d", st.Series, 2*count)
	}
	if min := uint64(count * 3 * 22); st.Evaluations < min {
		t.Errorf("Stats().Evaluations = %d, want at least %d", st.Evaluations, min)
	}
	if st.Late != 0 {
		t.Errorf("Stats().Late = %d, want 0", st.Late)
	}
}

// TestRateRegression injects a refusal-rate regression in windows 10–19 and checks the whole life of
// the alert: pending, firing within 3 windows, re-sends, resolve after recovery.
func TestRateRegression(t *testing.T) {
	cfg := smallConfig()
	cfg.ResendWindows = 3
	s := newSim(t, cfg, 2)
	sr := series("demo-shop", "v1")
	var alerts []event.Alert
	for w := range 30 {
		fail := 0.02
		if w >= 10 && w < 20 {
			fail = 0.30
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: fail})...)
	}
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	rate := func(id, state, prev string, resend bool, w int) brief {
		return brief{fp + "-" + id, state, prev, resend, s.end(w), "refusal", "rate"}
	}
	want := []brief{
		rate("1", event.StatePending, "inactive", false, 10),
		rate("2", event.StateFiring, event.StatePending, false, 11),
		rate("2-r1", event.StateFiring, event.StateFiring, true, 14),
		rate("2-r2", event.StateFiring, event.StateFiring, true, 17),
		// Window 20 is the first false window: still firing (hysteresis) and a re-send falls due.
		rate("2-r3", event.StateFiring, event.StateFiring, true, 20),
		rate("3", event.StateResolved, event.StateFiring, false, 21),
	}
	if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
		t.Fatalf("alerts mismatch (-want +got):\n%s", diff)
	}

	firing := alerts[1]
	if firing.Sequence != 2 || !firing.StartsAt.Equal(s.start(10)) || firing.EndsAt != nil {
		t.Errorf("firing: Sequence %d StartsAt %v EndsAt %v, want 2, %v, nil", firing.Sequence, firing.StartsAt, s.start(10), firing.EndsAt)
	}
	if firing.Severity != event.SeverityCritical {
		t.Errorf("firing.Severity = %q, want critical (effect ~0.28 >= 3 x 0.05)", firing.Severity)
	}
	if diff := cmp.Diff(labelsOf(sr, "refusal", "rate"), firing.Labels); diff != "" {
		t.Errorf("firing.Labels mismatch (-want +got):\n%s", diff)
	}
	ev := firing.Evidence
	if ev.Detector != "two_proportion_z" || ev.Signal != "rate" || ev.BaselineSource != "pinned" {
		t.Errorf("evidence = %s/%s/%s, want two_proportion_z/rate/pinned", ev.Detector, ev.Signal, ev.BaselineSource)
	}
	if ev.Baseline.N != int64(cfg.BaselineSize) || ev.Current.N != 200 {
		t.Errorf("evidence N = %d/%d, want %d/200", ev.Baseline.N, ev.Current.N, cfg.BaselineSize)
	}
	if !near(ev.Threshold, zCritical(cfg.Alpha)) || ev.Statistic <= ev.Threshold || ev.PValue >= cfg.Alpha {
		t.Errorf("evidence z %v threshold %v p %v, want z above %v and p below %v", ev.Statistic, ev.Threshold, ev.PValue, zCritical(cfg.Alpha), cfg.Alpha)
	}
	if !ev.WindowStart.Equal(s.start(11)) || !ev.WindowEnd.Equal(s.end(11)) {
		t.Errorf("evidence window %v–%v, want %v–%v", ev.WindowStart, ev.WindowEnd, s.start(11), s.end(11))
	}
	if len(ev.ExampleEventIDs) != cfg.MaxExamples {
		t.Errorf("evidence has %d examples, want %d", len(ev.ExampleEventIDs), cfg.MaxExamples)
	}
	if ev.Baseline.PromptVersion != "v1" || ev.Current.PromptVersion != "v1" || ev.Current.Model != "gpt-4o" {
		t.Errorf("evidence versions %+v / %+v, want v1 and gpt-4o on both", ev.Baseline, ev.Current)
	}
	wantPrefix := "refusal failure rate rose from "
	if !strings.HasPrefix(firing.Summary, wantPrefix) || !strings.Contains(firing.Summary, "(baseline, prompt_version v1, n=500)") ||
		!strings.Contains(firing.Summary, "(n=200) in demo-shop/product-summary; two_proportion_z: ") {
		t.Errorf("firing.Summary = %q, want %q… (baseline, prompt_version v1, n=500) … (n=200) in demo-shop/product-summary; two_proportion_z: …", firing.Summary, wantPrefix)
	}

	resolved := alerts[len(alerts)-1]
	if resolved.EndsAt == nil || !resolved.EndsAt.Equal(s.end(21)) || !resolved.StartsAt.Equal(s.start(10)) {
		t.Errorf("resolved: StartsAt %v EndsAt %v, want %v and %v", resolved.StartsAt, resolved.EndsAt, s.start(10), s.end(21))
	}
	if resolved.Severity != firing.Severity {
		t.Errorf("resolved.Severity = %q, want the firing severity %q", resolved.Severity, firing.Severity)
	}
	if !strings.HasPrefix(resolved.Summary, "refusal failure rate back to ") {
		t.Errorf("resolved.Summary = %q, want it to start with %q", resolved.Summary, "refusal failure rate back to ")
	}
}

func TestPendingResolvesOnFalseWindow(t *testing.T) {
	cfg := smallConfig()
	cfg.PendingWindows = 2
	s := newSim(t, cfg, 3)
	sr := series("shop", "v1")
	var alerts []event.Alert
	for w := range 10 {
		fail := 0.02
		if w == 5 || w == 6 {
			fail = 0.4
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: fail})...)
	}
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	want := []brief{
		{fp + "-1", event.StatePending, "inactive", false, s.end(5), "refusal", "rate"},
		{fp + "-2", event.StateResolved, event.StatePending, false, s.end(7), "refusal", "rate"},
	}
	if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
		t.Errorf("alerts mismatch (-want +got):\n%s", diff)
	}
}

func TestFiresWithoutPending(t *testing.T) {
	cfg := smallConfig()
	cfg.PendingWindows = 0
	cfg.ResolveWindows = 1
	s := newSim(t, cfg, 4)
	sr := series("shop", "v1")
	var alerts []event.Alert
	for w := range 8 {
		fail := 0.02
		if w == 5 {
			fail = 0.4
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: fail})...)
	}
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	want := []brief{
		{fp + "-1", event.StateFiring, "inactive", false, s.end(5), "refusal", "rate"},
		{fp + "-2", event.StateResolved, event.StateFiring, false, s.end(6), "refusal", "rate"},
	}
	if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
		t.Errorf("alerts mismatch (-want +got):\n%s", diff)
	}
}

// TestRateImprovementDoesNotAlert: the rate test is one-sided.
func TestRateImprovementDoesNotAlert(t *testing.T) {
	s := newSim(t, smallConfig(), 5)
	sr := series("shop", "v1")
	for w := range 10 {
		fail := 0.3
		if w >= 5 {
			fail = 0.01
		}
		if got := s.window(w, stream{series: sr, n: 200, fail: fail}); len(got) != 0 {
			t.Fatalf("window %d: %d alerts for a falling failure rate, want 0: %+v", w, len(got), briefs(got))
		}
	}
}

func TestMeanShift(t *testing.T) {
	tests := []struct {
		name     string
		mean, sd float64 // baseline is Normal(100, 10)
		want     string  // severity of the firing alert; "" for no alert
	}{
		{"no shift", 100, 10, ""},
		{"small shift below effect floor", 102, 10, ""},
		{"variance only", 100, 12, ""},
		{"shift up", 110, 10, event.SeverityWarning},
		{"shift down", 90, 10, event.SeverityWarning},
		{"large shift", 130, 10, event.SeverityCritical},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, smallConfig(), uint64(10+i))
			sr := series("shop", "v1")
			var alerts []event.Alert
			for w := range 8 {
				st := stream{series: sr, n: 200, measure: true, skipRefusal: true, mean: 100, sd: 10}
				if w >= 4 {
					st.mean, st.sd = tt.mean, tt.sd
				}
				alerts = append(alerts, s.window(w, st)...)
			}
			if tt.want == "" {
				if len(alerts) != 0 {
					t.Fatalf("got %d alerts, want none: %+v", len(alerts), briefs(alerts))
				}
				return
			}
			fp := Fingerprint(labelsOf(sr, "length", "value"))
			want := []brief{
				{fp + "-1", event.StatePending, "inactive", false, s.end(4), "length", "value"},
				{fp + "-2", event.StateFiring, event.StatePending, false, s.end(5), "length", "value"},
			}
			if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
				t.Fatalf("alerts mismatch (-want +got):\n%s", diff)
			}
			a := alerts[1]
			if a.Severity != tt.want {
				t.Errorf("Severity = %q, want %q", a.Severity, tt.want)
			}
			ev := a.Evidence
			if ev.Detector != "welch_z" || ev.Signal != "value" || len(ev.ExampleEventIDs) != 5 {
				t.Errorf("evidence %s/%s with %d examples, want welch_z/value with 5", ev.Detector, ev.Signal, len(ev.ExampleEventIDs))
			}
			// Four tests share Alpha (the rate z-test, Welch, KS, chi-square on the PSI bins); the
			// Welch test is two-sided.
			if wantT := zCritical(DefaultConfig().Alpha / 4 / 2); !near(ev.Threshold, wantT) {
				t.Errorf("Threshold = %v, want %v", ev.Threshold, wantT)
			}
			if d := ev.Current.Value - tt.mean; d > 3 || d < -3 {
				t.Errorf("Current.Value = %v, want about %v", ev.Current.Value, tt.mean)
			}
			verb := "rose"
			if tt.mean < 100 {
				verb = "fell"
			}
			if !strings.HasPrefix(a.Summary, "length mean "+verb+" from ") || !strings.Contains(a.Summary, "(baseline, prompt_version v1, n=500) to ") {
				t.Errorf("Summary = %q, want %q… (baseline, prompt_version v1, n=500) to …", a.Summary, "length mean "+verb+" from ")
			}
		})
	}
}

// TestConstantBaseline: a baseline without variance must not turn a noise-free rounding-size shift
// into an alert, but a real shift still alerts.
func TestConstantBaseline(t *testing.T) {
	tests := []struct {
		name  string
		value float64
		alert bool
	}{
		{"same", 1, false},
		{"tiny shift", 1.0001, false},
		// 0.0004 is 0.04 of the floored scale (0.01): below both the mean floor (0.5) and the
		// Wasserstein floor (0.1), although KS sees two disjoint samples.
		{"shift within floor", 1.0004, false},
		{"real shift", 0.9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, smallConfig(), 20)
			sr := series("shop", "v1")
			var alerts []event.Alert
			for w := range 6 {
				st := stream{series: sr, n: 200, measure: true, skipRefusal: true, mean: 1}
				if w >= 3 {
					st.mean = tt.value
				}
				alerts = append(alerts, s.window(w, st)...)
			}
			if got := len(alerts) > 0; got != tt.alert {
				t.Errorf("alerted = %v, want %v: %+v", got, tt.alert, briefs(alerts))
			}
		})
	}
}

// TestInheritedBaseline: a new prompt version of a feature is compared with the pinned baseline of
// the previous one, so a degrading version change alerts and names both versions.
func TestInheritedBaseline(t *testing.T) {
	tests := []struct {
		name  string
		fail  float64
		alert bool
	}{
		{"regression", 0.3, true},
		{"same quality", 0.02, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, smallConfig(), 30)
			v1, v2 := series("demo-shop", "v1"), series("demo-shop", "v2")
			var alerts []event.Alert
			for w := range 4 {
				alerts = append(alerts, s.window(w, stream{series: v1, n: 200, fail: 0.02})...)
			}
			for w := 4; w < 8; w++ {
				alerts = append(alerts, s.window(w, stream{series: v2, n: 200, fail: tt.fail})...)
			}
			if !tt.alert {
				if len(alerts) != 0 {
					t.Fatalf("got %d alerts, want none: %+v", len(alerts), briefs(alerts))
				}
				return
			}
			fp := Fingerprint(labelsOf(v2, "refusal", "rate"))
			want := []brief{
				// v2 is evaluated from its first window, without building a baseline of its own.
				{fp + "-1", event.StatePending, "inactive", false, s.end(4), "refusal", "rate"},
				{fp + "-2", event.StateFiring, event.StatePending, false, s.end(5), "refusal", "rate"},
			}
			if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
				t.Fatalf("alerts mismatch (-want +got):\n%s", diff)
			}
			a := alerts[1]
			ev := a.Evidence
			if ev.BaselineSource != "inherited" {
				t.Errorf("BaselineSource = %q, want inherited", ev.BaselineSource)
			}
			wantBase := event.Sample{Value: ev.Baseline.Value, N: 500, PromptVersion: "v1", Model: "gpt-4o"}
			wantCur := event.Sample{Value: ev.Current.Value, N: 200, PromptVersion: "v2", Model: "gpt-4o"}
			if diff := cmp.Diff(wantBase, ev.Baseline); diff != "" {
				t.Errorf("Baseline mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantCur, ev.Current); diff != "" {
				t.Errorf("Current mismatch (-want +got):\n%s", diff)
			}
			if a.Labels["prompt_version"] != "v2" {
				t.Errorf("Labels[prompt_version] = %q, want v2", a.Labels["prompt_version"])
			}
			for _, part := range []string{"(baseline, prompt_version v1, n=500)", "(prompt_version v2, n=200)"} {
				if !strings.Contains(a.Summary, part) {
					t.Errorf("Summary = %q, want it to contain %q", a.Summary, part)
				}
			}
		})
	}
}

// TestInheritsMostRecentBaseline: of two pinned baselines of a feature, a new version inherits the
// one pinned last; a series of another feature or metric inherits nothing, and a series that existed
// before any pin builds its own.
func TestInheritsMostRecentBaseline(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BaselineSize = 100
	e := NewEngine(cfg)
	obs := func(s event.Series, metric string, n int) {
		for i := range n {
			e.Observe(&event.Scored{EventID: strconv.Itoa(i), Timestamp: t0, Series: s,
				Scores: []event.Score{{Metric: metric, Kind: event.KindCheck, Pass: true}}})
		}
	}
	a, b, c := series("shop", "v1"), series("shop", "v1"), series("shop", "v2")
	b.Model = "claude"
	other := c
	other.Feature = "search"
	obs(a, "refusal", 1)
	obs(b, "refusal", 1) // before any pin: builds its own baseline
	obs(a, "refusal", 99)
	obs(b, "refusal", 99) // pinned after a's
	obs(c, "refusal", 1)
	obs(other, "refusal", 1)
	obs(a, "json_valid", 1)
	got := map[string]string{}
	for _, tr := range e.tracks {
		src := "none"
		if tr.base != nil {
			src = tr.base.Series.Model + "/" + tr.base.Series.PromptVersion
			if tr.inherited {
				src += " inherited"
			}
		}
		k := tr.key.series
		got[k.Feature+"/"+k.Model+"/"+k.PromptVersion+"/"+tr.key.metric] = src
	}
	want := map[string]string{
		"product-summary/gpt-4o/v1/refusal":    "gpt-4o/v1",
		"product-summary/claude/v1/refusal":    "claude/v1",
		"product-summary/gpt-4o/v2/refusal":    "claude/v1 inherited",
		"search/gpt-4o/v2/refusal":             "none",
		"product-summary/gpt-4o/v1/json_valid": "none",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("baselines mismatch (-want +got):\n%s", diff)
	}
}

func TestInsufficientData(t *testing.T) {
	cfg := smallConfig()
	cfg.ResendWindows = 2
	s := newSim(t, cfg, 40)
	sr := series("shop", "v1")
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	var alerts []event.Alert
	for w := range 4 {
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: 0.02})...)
	}
	before := s.e.Stats()
	// A trickle below MinSamples is never evaluated, however bad it looks.
	for w := 4; w < 8; w++ {
		alerts = append(alerts, s.window(w, stream{series: sr, n: cfg.MinSamples - 1, fail: 1})...)
	}
	if len(alerts) != 0 {
		t.Fatalf("insufficient windows produced alerts: %+v", briefs(alerts))
	}
	st := s.e.Stats()
	if st.InsufficientData-before.InsufficientData != 4 || st.Evaluations != before.Evaluations {
		t.Errorf("Stats() = %+v after %+v, want 4 more insufficient and no more evaluations", st, before)
	}

	// Fire, then starve the series: insufficient windows neither resolve it nor reset its
	// counters, but re-sends continue.
	for w := 8; w < 10; w++ {
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: 0.4})...)
	}
	alerts = append(alerts, s.window(10, stream{series: sr, n: 10, fail: 0})...)
	alerts = append(alerts, s.window(11, stream{series: sr, n: 10, fail: 0})...)
	alerts = append(alerts, s.window(12, stream{series: sr, n: 200, fail: 0.02})...)
	alerts = append(alerts, s.window(13, stream{series: sr, n: 10, fail: 0})...)
	alerts = append(alerts, s.window(14, stream{series: sr, n: 200, fail: 0.02})...)
	want := []brief{
		{fp + "-1", event.StatePending, "inactive", false, s.end(8), "refusal", "rate"},
		{fp + "-2", event.StateFiring, event.StatePending, false, s.end(9), "refusal", "rate"},
		{fp + "-2-r1", event.StateFiring, event.StateFiring, true, s.end(11), "refusal", "rate"},
		{fp + "-2-r2", event.StateFiring, event.StateFiring, true, s.end(13), "refusal", "rate"},
		// Windows 12 and 14 are the two consecutive false windows (13 does not count).
		{fp + "-3", event.StateResolved, event.StateFiring, false, s.end(14), "refusal", "rate"},
	}
	if diff := cmp.Diff(want, briefs(alerts)); diff != "" {
		t.Fatalf("alerts mismatch (-want +got):\n%s", diff)
	}
	// A re-send during insufficient data carries the last evaluated evidence.
	if ev := alerts[2].Evidence; !ev.WindowEnd.Equal(s.end(9)) {
		t.Errorf("re-send evidence window ends %v, want %v (last evaluated window)", ev.WindowEnd, s.end(9))
	}
}

// TestLongGap: after a long silence the empty windows are counted, not visited, and a firing alert
// is re-sent once for the gap.
func TestLongGap(t *testing.T) {
	cfg := smallConfig()
	cfg.ResendWindows = 10
	s := newSim(t, cfg, 50)
	sr := series("shop", "v1")
	var alerts []event.Alert
	for w := range 6 {
		fail := 0.02
		if w >= 4 {
			fail = 0.4
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: fail})...)
	}
	before := s.e.Stats()
	const gap = 10_000_000 // about 19 years of one-minute windows
	start := time.Now()
	got := s.e.Advance(s.end(5 + gap).Add(cfg.Grace))
	if d := time.Since(start); d > time.Second {
		t.Errorf("Advance over %d empty windows took %v", gap, d)
	}
	st := s.e.Stats()
	if n := st.InsufficientData - before.InsufficientData; n != gap {
		t.Errorf("InsufficientData grew by %d, want %d", n, gap)
	}
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	// Firing at window 5; re-sends fall due every 10 windows, the last at window 5+gap.
	want := []brief{{fp + "-2-r1", event.StateFiring, event.StateFiring, true, s.end(5 + gap), "refusal", "rate"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("alerts mismatch (-want +got):\n%s", diff)
	}
	// The next window after the gap is evaluated normally.
	if got := s.window(6+gap, stream{series: sr, n: 200, fail: 0.4}); len(got) != 0 {
		t.Errorf("window after the gap: %+v, want no alerts", briefs(got))
	}
	if st2 := s.e.Stats(); st2.Evaluations != st.Evaluations+1 {
		t.Errorf("Evaluations = %d, want %d", st2.Evaluations, st.Evaluations+1)
	}
}

func TestLateEvents(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BaselineSize = 1
	cfg.MinSamples = 1
	e := NewEngine(cfg)
	sr := series("shop", "v1")
	obs := func(id string, ts time.Time) {
		e.Observe(&event.Scored{EventID: id, Timestamp: ts, Series: sr,
			Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Pass: true}}})
	}
	obs("baseline", t0)
	obs("w0", t0.Add(30*time.Second))
	// Window 0 ends at t0+1m; within the grace period it is still open.
	e.Advance(t0.Add(time.Minute + 5*time.Second))
	obs("w0-in-grace", t0.Add(59*time.Second))
	if st := e.Stats(); st.Late != 0 || st.Evaluations != 0 {
		t.Fatalf("Stats() = %+v, want nothing late or evaluated within the grace period", st)
	}
	e.Advance(t0.Add(time.Minute + cfg.Grace))
	if st := e.Stats(); st.Evaluations != 1 {
		t.Fatalf("Stats().Evaluations = %d, want 1", st.Evaluations)
	}
	obs("w0-late", t0.Add(59*time.Second))
	obs("older", t0.Add(-time.Hour))
	obs("w1", t0.Add(time.Minute))
	obs("zero time", time.Time{})
	e.Observe(nil)
	e.Advance(t0.Add(2*time.Minute + cfg.Grace))
	// A watermark that goes back closes nothing.
	if got := e.Advance(t0); got != nil {
		t.Errorf("Advance(earlier watermark) = %+v, want nil", got)
	}
	want := Stats{Series: 1, Observed: 7, Late: 3, Evaluations: 2} // nil is not a record
	if diff := cmp.Diff(want, e.Stats()); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
	// Window 0 held w0 and w0-in-grace, window 1 held w1: the rate test saw 2 then 1 events.
	if got := e.tracks[0].open; len(got) != 0 {
		t.Errorf("open windows after closing: %d, want 0", len(got))
	}
}

func TestWarmUp(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WarmUp = 100
	cfg.BaselineSize = 200
	s := newSim(t, cfg, 60)
	sr := series("shop", "v1")
	// Warm-up failures are skipped: the baseline is the clean traffic that follows.
	s.feed(0, stream{series: sr, n: 100, fail: 1})
	var alerts []event.Alert
	for w := 1; w < 6; w++ {
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: 0.02})...)
	}
	if len(alerts) != 0 {
		t.Fatalf("got alerts %+v, want none", briefs(alerts))
	}
	tr := s.e.tracks[0]
	if tr.base == nil || tr.base.N != 200 || tr.base.Failures > 20 {
		t.Fatalf("baseline = %+v, want 200 observations without the warm-up failures", tr.base)
	}
	if got := s.window(6, stream{series: sr, n: 200, fail: 0.3}); len(got) != 1 || got[0].State != event.StatePending {
		t.Errorf("regression after warm-up: %+v, want one pending alert", briefs(got))
	}
}

// TestDeterministic: two engines fed the same records emit identical alerts, ids included, and
// several series alerting in the same window come out in label order.
func TestDeterministic(t *testing.T) {
	run := func() []event.Alert {
		cfg := smallConfig()
		cfg.ResendWindows = 2
		s := newSim(t, cfg, 70)
		var out []event.Alert
		for w := range 12 {
			var streams []stream
			for _, app := range []string{"zeta", "alpha", "mid"} {
				st := stream{series: series(app, "v1"), n: 200, fail: 0.02, measure: true, mean: 50, sd: 5, limit: 60}
				if w >= 6 {
					st.fail, st.mean = 0.3, 60
				}
				streams = append(streams, st)
			}
			out = append(out, s.window(w, streams...)...)
		}
		return out
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("runs differ (-first +second):\n%s", diff)
	}
	if len(a) == 0 {
		t.Fatal("no alerts, want regressions in three series")
	}
	seen := map[string]bool{}
	for i, al := range a {
		if seen[al.AlertID] {
			t.Errorf("AlertID %q emitted twice", al.AlertID)
		}
		seen[al.AlertID] = true
		if want := Fingerprint(al.Labels); al.Fingerprint != want {
			t.Errorf("Fingerprint = %q, want Fingerprint(labels) = %q", al.Fingerprint, want)
		}
		if !strings.HasPrefix(al.AlertID, al.Fingerprint+"-") {
			t.Errorf("AlertID %q does not start with its fingerprint %q", al.AlertID, al.Fingerprint)
		}
		if i == 0 {
			continue
		}
		p := a[i-1]
		if c := p.At.Compare(al.At); c > 0 || c == 0 && p.Labels["app"]+p.Labels["metric"] > al.Labels["app"]+al.Labels["metric"] {
			t.Errorf("alert %d (%s %s/%s) sorts before alert %d (%s %s/%s)", i, al.At, al.Labels["app"], al.Labels["metric"], i-1, p.At, p.Labels["app"], p.Labels["metric"])
		}
	}
	if a[0].Labels["app"] != "alpha" {
		t.Errorf("first alert is for %q, want alpha", a[0].Labels["app"])
	}
}

// TestAlertsDoNotAlias: emitted alerts own their maps and slices.
func TestAlertsDoNotAlias(t *testing.T) {
	cfg := smallConfig()
	cfg.ResendWindows = 1
	s := newSim(t, cfg, 80)
	sr := series("shop", "v1")
	var alerts []event.Alert
	for w := range 8 {
		fail := 0.02
		if w >= 4 {
			fail = 0.4
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 200, fail: fail})...)
	}
	if len(alerts) < 3 {
		t.Fatalf("got %d alerts, want at least 3", len(alerts))
	}
	alerts[0].Labels["app"] = "mutated"
	alerts[1].Evidence.ExampleEventIDs[0] = "mutated"
	for _, a := range alerts[2:] {
		if a.Labels["app"] != "shop" || a.Evidence.ExampleEventIDs[0] == "mutated" {
			t.Fatalf("mutating one alert changed another: %+v", a)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	cfg := DefaultConfig()
	e := NewEngine(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	const nSeries = 1000
	recs := make([]event.Scored, 4096)
	for i := range recs {
		recs[i] = event.Scored{
			EventID: fmt.Sprintf("ev-%d", i),
			Series:  series(fmt.Sprintf("app-%d", i%nSeries), "v1"),
			Scores: []event.Score{
				{Metric: "refusal", Kind: event.KindCheck, Pass: rng.Float64() > 0.05},
				{Metric: "json_valid", Kind: event.KindCheck, Pass: rng.Float64() > 0.02},
				{Metric: "length", Kind: event.KindMeasure, Value: 100 + 20*rng.NormFloat64(), Pass: true},
			},
		}
	}
	// Pin every baseline first so the benchmark measures the windowed path.
	for i := range cfg.BaselineSize * nSeries / len(recs) * 2 {
		r := &recs[i%len(recs)]
		r.Timestamp = t0
		e.Observe(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := &recs[i%len(recs)]
		r.Timestamp = t0.Add(time.Duration(i) * time.Millisecond)
		e.Observe(r)
		if i%60_000 == 59_999 {
			e.Advance(r.Timestamp)
		}
	}
}
