package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestBaselinesTables: records and acceptances land in their tables, a re-inserted record
// collapses in the views, and the current view keeps the newest baseline per series.
func TestBaselinesTables(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	s := event.Series{App: "shop", Environment: "production", Feature: "checkout", Model: "gpt-x", PromptVersion: "v2"}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	auto := &drift.Record{Series: s, Metric: "truncated", Source: drift.SourceAuto, Origin: s, PinnedAt: t0, From: t0.Add(-time.Hour),
		To: t0, N: 2000, Failures: 40, FailureRate: 0.02}
	op := &drift.Record{Series: s, Metric: "truncated", Source: drift.SourceOperator, Origin: s, PinnedAt: t0.Add(time.Hour),
		N: 500, Failures: 5, FailureRate: 0.01}
	for _, batch := range [][]*drift.Record{{auto}, {auto, nil, op}} { // auto twice: a re-published record; nil: a deleted key
		if err := store.InsertBaselines(ctx, conn, batch); err != nil {
			t.Fatal(err)
		}
	}
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM v_baselines WHERE app = 'shop'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("v_baselines rows = %d, %v; want 2 (the repeated record collapses)", n, err)
	}
	var source string
	var rate float64
	var cur uint64
	if err := conn.QueryRow(ctx, `SELECT source, failure_rate, n FROM v_baselines_current WHERE app = 'shop' AND metric = 'truncated'`).
		Scan(&source, &rate, &cur); err != nil || source != "operator" || rate != 0.01 || cur != 500 {
		t.Fatalf("v_baselines_current = %s %v %d, %v; want the operator baseline", source, rate, cur, err)
	}

	acc := &drift.Acceptance{RunID: "run-1", Dataset: "golden", DatasetVersion: 3, App: "shop", Feature: "checkout", PromptVersion: "v2",
		AcceptedAt: t0, Metrics: []drift.AcceptedMetric{{Metric: "truncated", Kind: event.KindCheck, N: 120, PassRate: 0.98}}}
	if err := store.InsertAcceptance(ctx, conn, acc); err != nil {
		t.Fatal(err)
	}
	acc2 := *acc
	acc2.RunID, acc2.AcceptedAt = "run-2", t0.Add(time.Minute)
	if err := store.InsertAcceptance(ctx, conn, &acc2); err != nil {
		t.Fatal(err)
	}
	var run string
	var rates []float64
	if err := conn.QueryRow(ctx, `SELECT run_id, metric_pass_rates FROM v_eval_acceptances WHERE app = 'shop' AND prompt_version = 'v2'`).
		Scan(&run, &rates); err != nil || run != "run-2" || len(rates) != 1 || rates[0] != 0.98 {
		t.Fatalf("v_eval_acceptances = %s %v, %v; want run-2", run, rates, err)
	}
}

// TestBaselinesFromScores: a time range of stored live scores becomes one operator baseline per
// series and metric, with counts, moments, a sample and labels; eval scores and scores outside
// the range are left out.
func TestBaselinesFromScores(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	live := event.Series{App: "shop", Environment: "production", Feature: "checkout", Model: "gpt-x", PromptVersion: "v2"}
	evalS := live
	evalS.Environment = "eval"
	var recs []*event.Scored
	for i := range 200 {
		s := live
		if i%10 == 9 {
			s = evalS
		}
		label := ""
		if i%4 == 0 {
			label = "length"
		}
		recs = append(recs, &event.Scored{EventID: fmt.Sprintf("e%d", i), Timestamp: t0.Add(time.Duration(i) * time.Second), Series: s,
			Source: scoring.Source, RulesVersion: "r1", Scores: []event.Score{
				{Metric: "truncated", Kind: event.KindCheck, Pass: i%4 != 0, Label: label},
				{Metric: "length", Kind: event.KindMeasure, Value: float64(i % 10), Pass: true},
			}})
	}
	if err := store.InsertScores(ctx, conn, recs); err != nil {
		t.Fatal(err)
	}
	got, err := store.BaselinesFromScores(ctx, conn, drift.Match{App: "shop", Feature: "checkout"}, t0, t0.Add(100*time.Second), 1000, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d baselines, want 2 (length and truncated of the live series)", len(got))
	}
	length, trunc := got[0].Baseline, got[1].Baseline
	// Events 0..99 of which 90 are live (every tenth is eval).
	if got[0].Metric != "length" || length.N != 90 || length.Values != 90 || len(length.Sample) != 90 || length.Mean != 4 {
		t.Errorf("length baseline = n %d values %d sample %d mean %v", length.N, length.Values, len(length.Sample), length.Mean)
	}
	if trunc.N != 90 || trunc.Failures != 25 || trunc.Labelled != 25 || len(trunc.Labels) != 1 || trunc.Values != 0 {
		t.Errorf("truncated baseline = %+v", trunc)
	}
	e := drift.NewEngine(drift.DefaultConfig())
	for _, sb := range got {
		if err := e.PinBaseline(sb.Series, sb.Metric, sb.Baseline); err != nil {
			t.Errorf("PinBaseline(%s): %v", sb.Metric, err)
		}
	}
}
