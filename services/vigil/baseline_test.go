package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/pipelinetest"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func doneRun(id, feature string, passRate float64, t0 time.Time) *eval.Run {
	return &eval.Run{ID: id, Dataset: "golden", Version: 1, App: "shop", Feature: feature, PromptVersion: "v2", Model: "gpt-x",
		Target: "outputs", StartedAt: t0, FinishedAt: t0.Add(time.Minute), Status: eval.StatusDone, Cases: 120,
		Summary: eval.Summary{Results: 120, Metrics: []eval.MetricSummary{{Metric: "truncated", Kind: event.KindCheck, N: 120, Mean: 0, PassRate: passRate}}}}
}

func scalar(t *testing.T, conn driver.Conn, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestEvalAcceptAndBaselines runs the pipeline on a real NATS server and ClickHouse with two
// accepted eval runs (98% of outputs not truncated) and live traffic of both versions: the one
// whose outputs are cut off 30% of the time fires an eval_regression alert naming its run, found
// in v_alerts; the one at the accepted level does not. Along the way the automatic baselines are
// recorded (vigil baseline ls, v_baselines), the quality gauges show the firing eval alert, and
// both kinds of operator pin (current windows, a stored time range) take effect.
func TestEvalAcceptAndBaselines(t *testing.T) {
	ctx := context.Background()
	ns := testkit.NATS(t)
	dsn := ch.Database(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	t.Setenv("VIGIL_CLICKHOUSE_DSN", dsn)
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		t.Fatal(err)
	}
	common.Streams.Partitions = 4
	log := slog.New(slog.DiscardHandler)
	nc, js, err := app.Connect(ctx, common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	conn := testkit.Conn(t, dsn)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)

	bad, good := doneRun("run-20261127-090000-00000a", "checkout", 0.98, t0), doneRun("run-20261127-090000-00000b", "search", 0.98, t0)
	running := doneRun("run-20261127-090000-00000c", "other", 0.9, t0)
	running.Status = eval.StatusRunning
	for _, r := range []*eval.Run{bad, good, running} {
		if err := store.InsertRun(ctx, conn, r); err != nil {
			t.Fatal(err)
		}
	}
	var out syncBuffer
	for _, r := range []*eval.Run{bad, good} {
		if err := dispatch(ctx, []string{"eval", "accept", r.ID}, &out); err != nil {
			t.Fatalf("vigil eval accept %s: %v", r.ID, err)
		}
	}
	if !strings.Contains(out.String(), "accepted "+bad.ID+" as the expected quality of shop/checkout prompt_version v2 (gpt-x): truncated 98.0% (n=120)") {
		t.Errorf("eval accept printed %q", out.String())
	}
	if err := dispatch(ctx, []string{"eval", "accept", running.ID}, &out); err == nil || !strings.Contains(err.Error(), "status running") {
		t.Errorf("eval accept of a running run: %v, want an error naming its status", err)
	}
	if n := scalar(t, conn, `SELECT count() FROM v_eval_acceptances WHERE app = 'shop'`); n != 2 {
		t.Errorf("v_eval_acceptances rows = %d, want 2", n)
	}

	reg := prometheus.NewPedanticRegistry()
	cfg := pipelinetest.Config()
	cfg.Drift.EvalMargin, cfg.Drift.MetricsMaxSeries = 0.05, 1000
	deps := app.Deps{Common: common, Log: log, Registry: reg, NC: nc, JS: js}
	parts, err := pipeline.Components(ctx, deps, cfg, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	pipelinetest.Run(t, parts)

	// 2500 events per feature, 20 ms apart: five 10-second windows of 500.
	rng := rand.New(rand.NewPCG(7, 7))
	var msgs []*nats.Msg
	for i := range 2500 {
		for feature, rate := range map[string]float64{"checkout": 0.30, "search": 0.02} {
			finish := "stop"
			if rng.Float64() < rate {
				finish = "length"
			}
			ev := &event.Event{EventID: fmt.Sprintf("%s-%05d", feature, i), Timestamp: t0.Add(time.Duration(i) * 20 * time.Millisecond),
				App: "shop", Feature: feature, Model: "gpt-x", PromptVersion: "v2", Environment: "test",
				Input: "When will my order arrive?", Output: "The order ships within two business days.", FinishReason: finish,
				LatencyMS: 420, InputTokens: 12, OutputTokens: 20}
			data, err := event.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, stream.NewMsg(stream.EventsSubject("shop"), ev.EventID, data))
		}
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}

	firing := `SELECT count() FROM v_alerts WHERE alertname = 'eval_regression' AND state = 'firing' AND feature = ?
		AND baseline_source = 'eval' AND label_values[indexOf(label_keys, 'eval_run')] = ? AND position(summary, ?) > 0`
	testkit.Eventually(t, 90*time.Second, func() bool { return scalar(t, conn, firing, "checkout", bad.ID, bad.ID) > 0 },
		"no firing eval_regression alert naming %s in v_alerts", bad.ID)
	var summary string
	if err := conn.QueryRow(ctx, `SELECT summary FROM v_alerts WHERE alertname = 'eval_regression' AND state = 'firing' LIMIT 1`).Scan(&summary); err != nil {
		t.Fatal(err)
	}
	t.Logf("firing: %s", summary)
	// Every window of both features has closed once the drift service has evaluated the last one.
	testkit.Eventually(t, 30*time.Second, func() bool {
		return scalar(t, conn, `SELECT count() FROM v_scores WHERE app = 'shop' AND metric = 'truncated'`) == 5000
	}, "scores not all stored")
	time.Sleep(3 * time.Second) // the quiet period closes the last windows
	if n := scalar(t, conn, `SELECT count() FROM v_alerts WHERE alertname = 'eval_regression' AND feature = 'search'`); n != 0 {
		t.Errorf("traffic at the accepted level raised %d eval_regression alerts, want 0", n)
	}
	// The quality gauges refresh every few seconds.
	waitFor(t, 20*time.Second, func() (bool, string) {
		state, ok := gaugeValue(t, reg, "vigil_drift_quality_alert_state",
			map[string]string{"feature": "checkout", "metric": "truncated", "signal": "eval"})
		return ok && state == 2, fmt.Sprintf("vigil_drift_quality_alert_state{feature=checkout,signal=eval} = %v (found %v), want 2 (firing)", state, ok)
	})

	// The automatic baselines are recorded in the bucket (vigil baseline ls) and in ClickHouse.
	waitFor(t, 20*time.Second, func() (bool, string) {
		var ls syncBuffer
		err := dispatch(ctx, []string{"baseline", "ls", "--app", "shop"}, &ls)
		return err == nil && strings.Count(ls.String(), " auto ") >= 2 && strings.Contains(ls.String(), bad.ID),
			fmt.Sprintf("vigil baseline ls: %v\n%s", err, ls.String())
	})
	testkit.Eventually(t, 20*time.Second, func() bool {
		return scalar(t, conn, `SELECT count() FROM v_baselines WHERE app = 'shop' AND source = 'auto' AND metric = 'truncated'`) == 2
	}, "v_baselines lacks the automatic baselines of truncated")

	// Pin the current windows of search, and checkout's stored scores of the whole run.
	if err := dispatch(ctx, []string{"baseline", "pin", "--app", "shop", "--feature", "search", "--current"}, &out); err != nil {
		t.Fatalf("baseline pin --current: %v", err)
	}
	if err := dispatch(ctx, []string{"baseline", "pin", "--app", "shop", "--feature", "checkout", "--metric", "truncated",
		"--from", "2h", "--to", "1m"}, &out); err != nil {
		t.Fatalf("baseline pin --from: %v", err)
	}
	waitFor(t, 30*time.Second, func() (bool, string) {
		var buf syncBuffer
		if err := dispatch(ctx, []string{"baseline", "ls", "--json"}, &buf); err != nil {
			return false, err.Error()
		}
		var doc struct {
			Baselines []drift.Record `json:"baselines"`
		}
		if err := json.Unmarshal([]byte(buf.String()), &doc); err != nil {
			t.Fatalf("baseline ls --json: %v\n%s", err, buf.String())
		}
		ops := map[string]int64{}
		for _, r := range doc.Baselines {
			if r.Source == drift.SourceOperator && r.Metric == "truncated" {
				ops[r.Series.Feature] = r.N
			}
		}
		return ops["checkout"] == 2500 && ops["search"] > 0, fmt.Sprintf("operator baselines of truncated by feature: %v\n%s", ops, buf.String())
	})
	testkit.Eventually(t, 20*time.Second, func() bool {
		return scalar(t, conn, `SELECT count() FROM v_baselines_current WHERE app = 'shop' AND metric = 'truncated' AND source = 'operator'`) == 2
	}, "v_baselines_current does not show the operator baselines")
	if err := dispatch(ctx, []string{"baseline", "pin", "--app", "shop", "--current", "--from", "1h"}, &out); err == nil ||
		!strings.Contains(err.Error(), "--feature") || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("baseline pin without --feature and with --current and --from: %v, want both named", err)
	}
}

// waitFor polls cond until it holds, failing with its latest description after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// gaugeValue returns the value of the gauge of name whose labels include want.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
