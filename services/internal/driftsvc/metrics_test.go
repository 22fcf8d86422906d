package driftsvc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
)

// qualityEngine returns an engine with `features` series (one "truncated" check each) past their
// baseline and one closed window, and a yardstick with feature f0's v1 accepted.
func qualityEngine(t *testing.T, features int) (*drift.Engine, *drift.Yardstick) {
	t.Helper()
	cfg := drift.DefaultConfig()
	cfg.BaselineSize = 100
	e := drift.NewEngine(cfg)
	y := drift.NewYardstick(cfg, 0.05)
	y.SetAcceptances([]*drift.Acceptance{{RunID: "run-1", App: "shop", Feature: "f0", PromptVersion: "v1", AcceptedAt: time.Now(),
		Metrics: []drift.AcceptedMetric{{Metric: "truncated", Kind: event.KindCheck, N: 50, PassRate: 0.98}}}})
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range 300 {
		for f := range features {
			rec := &event.Scored{EventID: fmt.Sprint(i), Timestamp: t0.Add(time.Duration(i) * 100 * time.Millisecond),
				Series: event.Series{App: "shop", Environment: "prod", Feature: fmt.Sprintf("f%d", f), Model: "m", PromptVersion: "v1"},
				Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: rng.Float64() >= 0.1}}}
			e.Observe(rec)
			y.Observe(rec)
		}
	}
	wm := t0.Add(2 * time.Minute)
	e.Advance(wm)
	y.Advance(wm)
	return e, y
}

// TestQualityMetrics scrapes the registry: each exported series has its window and baseline
// failure ratios and alert states (with the eval signal where a run is accepted), the bound stops
// new series and counts them, and a partition's series disappear when it is removed.
func TestQualityMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	q, err := newQualityMetrics(reg, 2)
	if err != nil {
		t.Fatal(err)
	}
	e, y := qualityEngine(t, 3)
	q.update(0, e, y)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	want := `
# HELP vigil_drift_quality_series Quality series whose gauges this replica exports (at most VIGIL_DRIFT_METRICS_MAX_SERIES).
# TYPE vigil_drift_quality_series gauge
vigil_drift_quality_series 2
# HELP vigil_drift_quality_series_dropped Quality series of this replica's partitions not exported because VIGIL_DRIFT_METRICS_MAX_SERIES was reached.
# TYPE vigil_drift_quality_series_dropped gauge
vigil_drift_quality_series_dropped 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vigil_drift_quality_series", "vigil_drift_quality_series_dropped"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(q.baseFail); n != 2 {
		t.Errorf("baseline failure ratio series = %d, want 2 (the bound)", n)
	}
	// Series f0 and f1 (in engine order) are exported; the alert states cover three signals, and
	// eval for f0 only.
	if n := testutil.CollectAndCount(q.alert); n != 2*3+1 {
		t.Errorf("alert state series = %d, want 7", n)
	}
	f0 := []string{"shop", "prod", "f0", "m", "v1", "truncated"}
	base := testutil.ToFloat64(q.baseFail.WithLabelValues(f0...))
	win := testutil.ToFloat64(q.windowFail.WithLabelValues(f0...))
	if base < 0.03 || base > 0.2 || win < 0.02 || win > 0.25 {
		t.Errorf("f0 baseline %v window %v, want about 0.1", base, win)
	}
	// The eval signal: f0 passes about 90% against an accepted 98%: pending after one window.
	if s := testutil.ToFloat64(q.alert.WithLabelValues(append(f0, "eval")...)); s != 1 {
		t.Errorf("f0 eval alert state = %v, want 1 (pending)", s)
	}

	// A second partition cannot add series while the bound is reached.
	e2, y2 := qualityEngine(t, 1)
	q.update(1, drift.NewEngine(drift.DefaultConfig()), y2)
	q.update(0, e, y) // refresh: same series, nothing new
	if got := testutil.ToFloat64(q.exportedGauge); got != 2 {
		t.Errorf("exported after refresh = %v, want 2", got)
	}
	// A series the engine no longer holds (evicted) is removed at the next refresh.
	q.update(0, drift.NewEngine(drift.DefaultConfig()), y)
	if n := testutil.CollectAndCount(q.baseFail) + testutil.CollectAndCount(q.alert) + testutil.CollectAndCount(q.windowFail); n != 0 {
		t.Errorf("%d series left after the engine dropped them, want 0", n)
	}
	q.update(0, e, y)
	q.remove(0)
	if n := testutil.CollectAndCount(q.baseFail) + testutil.CollectAndCount(q.alert) + testutil.CollectAndCount(q.windowFail); n != 0 {
		t.Errorf("%d series left after the partition was removed, want 0", n)
	}
	if got := testutil.ToFloat64(q.droppedGauge); got != 0 {
		t.Errorf("dropped after removal = %v, want 0", got)
	}
	// With room again, the other partition's series are exported on its next refresh.
	q.update(1, e2, y2)
	if got := testutil.ToFloat64(q.exportedGauge); got != 1 {
		t.Errorf("exported after partition 1 refresh = %v, want 1", got)
	}
}
