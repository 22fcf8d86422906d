package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// qualityRow is one row of quality_5m summed over its parts.
type qualityRow struct {
	Bucket                                                          time.Time
	App, Environment, Feature, Model, PromptVersion, Source, Metric string
	Events, Failures                                                uint64
	ValueSum                                                        float64
}

func readQuality(t *testing.T, ctx context.Context, dsn, query string) []qualityRow {
	t.Helper()
	rows, err := testkit.Conn(t, dsn).Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []qualityRow
	for rows.Next() {
		var r qualityRow
		if err := rows.Scan(&r.Bucket, &r.App, &r.Environment, &r.Feature, &r.Model, &r.PromptVersion, &r.Source,
			&r.Metric, &r.Events, &r.Failures, &r.ValueSum); err != nil {
			t.Fatal(err)
		}
		r.Bucket = r.Bucket.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQualityRollupSumsEveryScore holds quality_5m to what the scores rows say, computed by
// ClickHouse from the stored arrays: every score counted once in its bucket, series, source and
// metric, across batches, bucket edges and odd values. A rollup also fed by the materialized view
// it replaces would count each score twice.
func TestQualityRollupSumsEveryScore(t *testing.T) {
	ctx := context.Background()
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	edge := time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)
	shop := event.Series{App: "shop", Environment: "prod", Feature: "search", Model: "m1", PromptVersion: "v1"}
	score := func(metric string, value float64, pass bool) event.Score {
		return event.Score{Metric: metric, Kind: event.KindCheck, Value: value, Pass: pass}
	}
	batches := [][]*event.Scored{{
		{EventID: "a", Timestamp: edge.Add(-time.Second), Series: shop, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{score("refusal", 1, true), score("length", 120, true)}},
		{EventID: "b", Timestamp: edge, Series: shop, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{score("refusal", 0, false), score("length", 3, false)}},
		{EventID: "c", Timestamp: edge.Add(299 * time.Second), Series: shop, Source: "checks", RulesVersion: "r2",
			Scores: []event.Score{score("refusal", 1, true), score("refusal", 0.5, false)}},
		{EventID: "d", Timestamp: edge, Series: shop, Source: "judge", RulesVersion: "r1",
			Scores: []event.Score{score("refusal", 0.25, true)}},
		{EventID: "e-none", Timestamp: edge, Series: shop, Source: "checks", RulesVersion: "r1"},
		{EventID: "f", Timestamp: edge.Add(time.Minute), Series: event.Series{App: "bücher", Feature: "検索"},
			Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{score("", math.Inf(1), true), score("tiny", math.SmallestNonzeroFloat64, false), score("nan", math.NaN(), false)}},
	}, {
		// A later batch adds to the rows of the first.
		{EventID: "g", Timestamp: edge.Add(time.Second), Series: shop, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{score("refusal", 1, true), score("length", 0.1+0.2, true)}},
		{EventID: "h", Timestamp: edge.Add(-5 * time.Minute), Series: shop, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{score("refusal", 1, true)}},
	}}
	scores := 0
	for _, b := range batches {
		for _, r := range b {
			scores += len(r.Scores)
		}
		if err := store.InsertScores(ctx, conn, b); err != nil {
			t.Fatal(err)
		}
	}

	const group = ` GROUP BY bucket, app, environment, feature, model, prompt_version, source, metric
		ORDER BY bucket, app, environment, feature, model, prompt_version, source, metric`
	want := readQuality(t, ctx, dsn, `SELECT toStartOfFiveMinute(timestamp) AS bucket, app, environment, feature,
		model, prompt_version, source, metric, count(), countIf(pass = 0), sum(value)
		FROM scores ARRAY JOIN metric_names AS metric, metric_passed AS pass, metric_values AS value`+group)
	got := readQuality(t, ctx, dsn, `SELECT bucket, app, environment, feature, model, prompt_version, source, metric,
		sum(events), sum(failures), sum(value_sum) FROM quality_5m`+group)
	if diff := cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("quality_5m against the scores rows (-want +got):\n%s", diff)
	}
	var total uint64
	for _, r := range got {
		total += r.Events
	}
	if total != uint64(scores) || len(want) != 8 {
		t.Errorf("quality_5m counts %d scores in %d rows, want %d in 8", total, len(want), scores)
	}
}
