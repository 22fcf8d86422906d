package drift

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

var yt0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func acceptance(run string, passRate float64) *Acceptance {
	return &Acceptance{RunID: run, Dataset: "golden", DatasetVersion: 1, App: "shop", Feature: "checkout", PromptVersion: "v2",
		AcceptedAt: yt0, Metrics: []AcceptedMetric{
			{Metric: "truncated", Kind: event.KindCheck, N: 200, PassRate: passRate},
			{Metric: "json_valid", Kind: event.KindCheck, N: 200, PassRate: 1},
		}}
}

// yardWindow feeds window w with n records of series s whose "truncated" check passes with
// probability pass (json_valid always passes), then advances past the window.
func feedYard(y *Yardstick, rng *rand.Rand, s event.Series, w, n int, pass float64, window time.Duration) []event.Alert {
	start := yt0.Add(time.Duration(w) * window)
	for i := range n {
		y.Observe(&event.Scored{
			EventID: fmt.Sprintf("e-%d-%d", w, i), Timestamp: start.Add(time.Duration(i) * window / time.Duration(n+1)), Series: s,
			Scores: []event.Score{
				{Metric: "truncated", Kind: event.KindCheck, Value: 0, Pass: rng.Float64() < pass},
				{Metric: "json_valid", Kind: event.KindCheck, Value: 1, Pass: true},
			},
		})
	}
	return y.Advance(start.Add(window + y.cfg.Grace))
}

func liveSeries(pv string) event.Series {
	return event.Series{App: "shop", Environment: "production", Feature: "checkout", Model: "gpt-x", PromptVersion: pv}
}

// TestYardstickFiresBelowTheAcceptedRun: live traffic of the accepted version that passes 75%
// against a run that passed 97% fires on its second window (pending, then firing), names the run
// in labels, evidence and summary, and resolves after ResolveWindows windows back at the
// accepted level.
func TestYardstickFiresBelowTheAcceptedRun(t *testing.T) {
	cfg := DefaultConfig()
	y := NewYardstick(cfg, 0.05)
	y.SetAcceptances([]*Acceptance{acceptance("run-1", 0.97)})
	rng := rand.New(rand.NewPCG(1, 2))
	s := liveSeries("v2")
	var got []event.Alert
	for w := range 3 {
		got = append(got, feedYard(y, rng, s, w, 300, 0.97, cfg.Window)...)
	}
	if len(got) != 0 {
		t.Fatalf("traffic at the accepted level raised %d alerts, first: %s", len(got), got[0].Summary)
	}
	for w := 3; w < 5; w++ {
		got = append(got, feedYard(y, rng, s, w, 300, 0.75, cfg.Window)...)
	}
	if len(got) != 2 || got[0].State != event.StatePending || got[1].State != event.StateFiring {
		t.Fatalf("after two bad windows got %s, want pending then firing", states(got))
	}
	f := got[1]
	if f.Labels["eval_run"] != "run-1" || f.Labels["alertname"] != EvalAlertName || f.Labels["metric"] != "truncated" ||
		f.Labels["signal"] != EvalSignal {
		t.Errorf("firing labels = %v", f.Labels)
	}
	if f.Evidence.BaselineSource != SourceEval || f.Evidence.Baseline.Value != 0.97 || f.Evidence.Baseline.N != 200 ||
		f.Evidence.Current.N != 300 || f.Evidence.Detector != detOneSampleZ || f.Evidence.PValue >= cfg.Alpha/2 {
		t.Errorf("firing evidence = %+v", f.Evidence)
	}
	if !strings.Contains(f.Summary, "run-1") || !strings.Contains(f.Summary, "fell from 97.0%") {
		t.Errorf("summary %q does not name the run and its pass rate", f.Summary)
	}
	if len(f.Evidence.ExampleEventIDs) == 0 || f.Severity != event.SeverityCritical {
		t.Errorf("examples %v severity %s: want failing events and critical (a 22-point drop is over three margins)", f.Evidence.ExampleEventIDs, f.Severity)
	}
	got = nil
	for w := 5; w < 8; w++ {
		got = append(got, feedYard(y, rng, s, w, 300, 0.97, cfg.Window)...)
	}
	if len(got) != 1 || got[0].State != event.StateResolved || got[0].Fingerprint != f.Fingerprint {
		t.Fatalf("back at the accepted level: got %s, want one resolve", states(got))
	}
}

func states(as []event.Alert) string {
	var b []string
	for _, a := range as {
		b = append(b, a.State+"("+a.Labels["metric"]+")")
	}
	return fmt.Sprint(b)
}

// TestYardstickGating: each rule that must hold before a window counts keeps it from alerting.
func TestYardstickGating(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name   string
		margin float64
		run    float64 // accepted pass rate
		live   float64
		n      int
		series event.Series
	}{
		// Significant at 300 events but only 3 points below: under the 5-point margin.
		{"within the margin", 0.05, 0.99, 0.96, 2000, liveSeries("v2")},
		// Far below, but windows of 40 events are under MinSamples (50).
		{"too few samples", 0.05, 0.97, 0.5, 40, liveSeries("v2")},
		// Another prompt version is not compared with v2's run.
		{"other version", 0.05, 0.97, 0.5, 300, liveSeries("v3")},
		// The eval environment is the run itself, never live traffic.
		{"eval environment", 0.05, 0.97, 0.5, 300, event.Series{App: "shop", Environment: "eval", Feature: "checkout", Model: "gpt-x", PromptVersion: "v2"}},
		// 8 points below 90% in windows of 60 events is not significant at 1e-5/2.
		{"not significant", 0.05, 0.90, 0.82, 60, liveSeries("v2")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := NewYardstick(cfg, tc.margin)
			y.SetAcceptances([]*Acceptance{acceptance("run-1", tc.run)})
			rng := rand.New(rand.NewPCG(3, 4))
			var got []event.Alert
			for w := range 6 {
				got = append(got, feedYard(y, rng, tc.series, w, tc.n, tc.live, cfg.Window)...)
			}
			if len(got) != 0 {
				t.Errorf("got %s, want no alert: %s", states(got), got[0].Summary)
			}
		})
	}
}

// TestYardstickModelSpecificAcceptanceWins: an acceptance for the series' model takes precedence
// over one for every model.
func TestYardstickModelSpecificAcceptanceWins(t *testing.T) {
	cfg := DefaultConfig()
	y := NewYardstick(cfg, 0.05)
	anyModel := acceptance("run-any", 0.70)
	own := acceptance("run-own", 0.97)
	own.Model = "gpt-x"
	y.SetAcceptances([]*Acceptance{anyModel, own})
	rng := rand.New(rand.NewPCG(5, 6))
	var got []event.Alert
	for w := range 2 {
		got = append(got, feedYard(y, rng, liveSeries("v2"), w, 300, 0.72, cfg.Window)...)
	}
	if len(got) != 2 || got[1].Labels["eval_run"] != "run-own" {
		t.Fatalf("got %s (%v), want the gpt-x run to fire", states(got), got)
	}
}

// TestYardstickSnapshotContinues: a yardstick restored from a snapshot in the middle of an
// episode emits the same alerts with the same ids as one that ran through.
func TestYardstickSnapshotContinues(t *testing.T) {
	cfg := DefaultConfig()
	acc := []*Acceptance{acceptance("run-1", 0.97)}
	run := func(restoreAt int) []event.Alert {
		y := NewYardstick(cfg, 0.05)
		y.SetAcceptances(acc)
		rng := rand.New(rand.NewPCG(7, 8))
		var out []event.Alert
		for w := range 6 {
			if w == restoreAt {
				data, err := y.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				y = NewYardstick(cfg, 0.05)
				if err := y.Restore(data); err != nil {
					t.Fatalf("Restore: %v", err)
				}
				y.SetAcceptances(acc)
			}
			pass := 0.97
			if w >= 2 {
				pass = 0.7
			}
			out = append(out, feedYard(y, rng, liveSeries("v2"), w, 300, pass, cfg.Window)...)
		}
		return out
	}
	want, got := run(-1), run(3)
	if len(want) != 2 {
		t.Fatalf("uninterrupted run: %s, want pending and firing", states(want))
	}
	if fmt.Sprint(ids(want)) != fmt.Sprint(ids(got)) {
		t.Errorf("restored ids %v, want %v", ids(got), ids(want))
	}
	if err := NewYardstick(cfg, 0.05).Restore([]byte(`{"version":1,"tracks":[{"series":{},"metric":"m","run":"r","state":"exploded"}]}`)); err == nil ||
		!strings.Contains(err.Error(), "state") {
		t.Errorf("Restore of a bad state: %v, want an error naming the state", err)
	}
}

func ids(as []event.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.AlertID)
	}
	return out
}

// TestYardstickReplacedRunResolves: accepting another run resolves the firing alert of the old one
// at the next Advance, and the new run's alert has another fingerprint.
func TestYardstickReplacedRunResolves(t *testing.T) {
	cfg := DefaultConfig()
	y := NewYardstick(cfg, 0.05)
	y.SetAcceptances([]*Acceptance{acceptance("run-1", 0.97)})
	rng := rand.New(rand.NewPCG(9, 10))
	var got []event.Alert
	for w := range 2 {
		got = append(got, feedYard(y, rng, liveSeries("v2"), w, 300, 0.7, cfg.Window)...)
	}
	if len(got) != 2 {
		t.Fatalf("got %s, want pending and firing", states(got))
	}
	y.SetAcceptances([]*Acceptance{acceptance("run-2", 0.72)})
	got2 := feedYard(y, rng, liveSeries("v2"), 2, 300, 0.7, cfg.Window)
	if len(got2) != 1 || got2[0].State != event.StateResolved || got2[0].Labels["eval_run"] != "run-1" ||
		!strings.Contains(got2[0].Summary, "no longer") {
		t.Fatalf("after accepting run-2: %s, want run-1's alert resolved", states(got2))
	}
}

func TestAcceptanceValidate(t *testing.T) {
	a := &Acceptance{Metrics: []AcceptedMetric{{Metric: "m", N: 0, PassRate: 2}, {Metric: "m", N: 1}}}
	err := a.Validate()
	for _, field := range []string{"run_id", "app", "feature", "prompt_version", "accepted_at", "metrics[0].n", "metrics[0].pass_rate", "metrics[1].metric"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %s", err, field)
		}
	}
	if err := acceptance("r", 0.9).Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}
