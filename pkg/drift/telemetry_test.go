package drift

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// TestLatencyRegressionAlerts: the scorer records latency, tokens and cost as measures
// (scoring.AppendTelemetry). A new prompt version whose calls take 30% longer (log-normal latency,
// median 800 ms) inherits the previous version's baseline, and its latency_ms fires a value alert
// within three windows of 300 events, naming both versions; tokens and cost, unchanged, stay quiet.
func TestLatencyRegressionAlerts(t *testing.T) {
	cfg := DefaultConfig()
	e := NewEngine(cfg)
	rng := rand.New(rand.NewPCG(11, 12))
	ids := 0
	feed := func(w int, prompt string, slow float64) []event.Alert {
		start := t0.Add(time.Duration(w) * cfg.Window)
		for j := range 300 {
			ids++
			ev := &event.Event{
				LatencyMS:    slow * 800 * math.Exp(0.5*rng.NormFloat64()),
				TTFTMS:       150 * math.Exp(0.3*rng.NormFloat64()),
				InputTokens:  int64(400 + rng.IntN(200)),
				OutputTokens: int64(150 + rng.IntN(100)),
			}
			ev.CostUSD = float64(ev.InputTokens)*1e-6 + float64(ev.OutputTokens)*4e-6
			scores := append([]event.Score{{Metric: "non_empty", Kind: event.KindCheck, Pass: true}}, scoring.AppendTelemetry(ev, nil)...)
			e.Observe(&event.Scored{
				EventID:   "e" + strconv.Itoa(ids),
				Timestamp: start.Add(time.Duration(j) * cfg.Window / 300),
				Series:    event.Series{App: "shop", Environment: "production", Feature: "answer", Model: "m1", PromptVersion: prompt},
				Source:    scoring.Source,
				Scores:    scores,
			})
		}
		return e.Advance(start.Add(cfg.Window + cfg.Grace))
	}
	for w := range 12 { // 2000 events pin the baseline, then stable windows
		if got := feed(w, "v1", 1); len(got) > 0 {
			t.Fatalf("window %d: alert on stable telemetry: %s", w, got[0].Summary)
		}
	}
	fired := -1
	for w := 12; w < 18; w++ {
		for _, a := range feed(w, "v2", 1.3) {
			if a.State != event.StateFiring || a.Resend {
				if a.Labels["metric"] != scoring.MetricLatency {
					t.Errorf("window %d: unexpected %s alert on %s: %s", w, a.State, a.Labels["metric"], a.Summary)
				}
				continue
			}
			if a.Labels["metric"] != scoring.MetricLatency || a.Labels["signal"] != "value" {
				t.Errorf("window %d: firing alert on %s/%s, want latency_ms/value: %s", w, a.Labels["metric"], a.Labels["signal"], a.Summary)
				continue
			}
			if fired < 0 {
				fired = w - 12 + 1
				if a.Evidence.Baseline.PromptVersion != "v1" || a.Evidence.Current.PromptVersion != "v2" || a.Evidence.Current.Value <= a.Evidence.Baseline.Value {
					t.Errorf("evidence = %+v, want v1's latency below v2's", a.Evidence)
				}
				t.Logf("latency +30%%: fired at window %d: %s", fired, a.Summary)
			}
		}
	}
	if fired < 1 || fired > 3 {
		t.Errorf("latency regression fired at window %d, want within 3", fired)
	}
}
