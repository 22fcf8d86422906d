package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

func TestMigrationsMatchSchemas(t *testing.T) {
	files, err := filepath.Glob("../../schemas/clickhouse/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob schemas/clickhouse: %v (found %d)", err, len(files))
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("migrations", filepath.Base(f)))
		if err != nil {
			t.Fatalf("migration %s missing from pkg/store/migrations: run go generate ./store", filepath.Base(f))
		}
		if string(got) != string(want) {
			t.Errorf("pkg/store/migrations/%s differs from schemas/clickhouse; run go generate ./store", filepath.Base(f))
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	dsn := ch.Database(t) // applies once
	opts, err := store.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := store.Migrate(context.Background(), opts, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("Migrate run %d: %v", i+2, err)
		}
	}
	conn := testkit.Conn(t, dsn)
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM schema_migrations FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	migrations, _ := store.Migrations()
	if n != uint64(len(migrations)) {
		t.Errorf("schema_migrations rows = %d, want %d", n, len(migrations))
	}
}

func TestInsertedCopiesReadOnceThroughViews(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ev := &event.Event{EventID: "ev-1", Timestamp: ts, App: "shop", Model: "m", Output: "hi",
		Attributes: map[string]string{"b": "2", "a": "1"}, Context: []event.Passage{{ID: "p1", Text: "t"}}}
	rec := &event.Scored{EventID: "ev-1", Timestamp: ts, Series: ev.Series(), Source: "checks", RulesVersion: "r1",
		Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true},
			{Metric: "length_chars", Kind: event.KindMeasure, Value: 2, Pass: true}}}
	alert := &event.Alert{AlertID: "0123456789abcdef-1", Fingerprint: "0123456789abcdef", Sequence: 1,
		State: event.StateFiring, Previous: event.StatePending, Severity: event.SeverityWarning,
		Labels: map[string]string{"app": "shop", "metric": "refusal"}, At: ts, StartsAt: ts}
	for i := 0; i < 2; i++ { // a redelivered batch inserted twice
		if err := store.InsertModelCalls(ctx, conn, []*event.Event{ev}); err != nil {
			t.Fatal(err)
		}
		if err := store.InsertScores(ctx, conn, []*event.Scored{rec}); err != nil {
			t.Fatal(err)
		}
		if err := store.InsertAlerts(ctx, conn, []*event.Alert{alert}); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]uint64{}
	for _, q := range []string{
		"SELECT count() FROM v_model_calls",
		"SELECT count() FROM v_scores",
		"SELECT count() FROM v_alerts",
	} {
		var n uint64
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		counts[q] = n
	}
	want := map[string]uint64{"SELECT count() FROM v_model_calls": 1, "SELECT count() FROM v_scores": 2, "SELECT count() FROM v_alerts": 1}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("view counts (-want +got):\n%s", diff)
	}
	var keys []string
	var context string
	if err := conn.QueryRow(ctx, "SELECT attribute_keys, context FROM v_model_calls").Scan(&keys, &context); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, keys); diff != "" {
		t.Errorf("attribute_keys (-want +got):\n%s", diff)
	}
	if context != `[{"id":"p1","text":"t"}]` {
		t.Errorf("context = %q", context)
	}

	found, err := store.StoredKeys(ctx, conn, store.TableScores, []string{store.ScoreKey(rec), "ev-2/checks/r1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"ev-1/checks/r1": true}, found); diff != "" {
		t.Errorf("StoredKeys (-want +got):\n%s", diff)
	}
}

// A redelivered batch can hold more keys than one query's text may carry (ClickHouse caps it at
// 256 KiB): the lookup still answers for every key, including ones with quotes to escape.
func TestStoredKeysOfALargeBatch(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	keys := make([]string, 20_000) // about 900 KB of keys
	want := map[string]bool{}
	var events []*event.Event
	for i := range keys {
		keys[i] = fmt.Sprintf("ev-%06d-%s", i, strings.Repeat("x", 30))
		if i%5000 == 4999 {
			keys[i] = fmt.Sprintf("ev-%06d-it's-%s", i, strings.Repeat(`\`, 10))
		}
		if i%1000 == 0 || i%5000 == 4999 {
			events = append(events, &event.Event{EventID: keys[i], Timestamp: ts, App: "shop", Model: "m", Output: "hi"})
			want[keys[i]] = true
		}
	}
	if err := store.InsertModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	found, err := store.StoredKeys(ctx, conn, store.TableModelCalls, keys)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("StoredKeys of %d keys (-want +got):\n%s", len(keys), diff)
	}
}

func TestIsPermanent(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	err := conn.Exec(ctx, "SELECT nosuchfn()")
	if !store.IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = false, want true", err)
	}
	opts, _ := store.ParseDSN("clickhouse://127.0.0.1:1/x")
	_, err = store.Open(ctx, opts)
	if err == nil || store.IsPermanent(err) {
		t.Errorf("IsPermanent(connection refused %v) = true, want false", err)
	}
}

func TestDropExpiredKeepsRecentPartitions(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var events []*event.Event
	for _, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		ts := now.Add(-age)
		events = append(events, &event.Event{EventID: ts.Format("20060102"), Timestamp: ts, App: "a", Model: "m", Output: "x"})
	}
	if err := store.InsertModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	dropped, err := store.DropExpired(ctx, conn, store.Retention{store.TableModelCalls: 30 * 24 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"model_calls/20261018", "model_calls/20261027"}
	if diff := cmp.Diff(want, dropped, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	rows, err := conn.Query(ctx, "SELECT event_id FROM v_model_calls ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var left []string
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		left = append(left, id)
	}
	if diff := cmp.Diff([]string{"20261029", "20261127"}, left); diff != "" {
		t.Errorf("rows left (-want +got):\n%s", diff)
	}
}

// TestModelCallsKeepEveryColumn inserts rows whose every field differs from every other, and
// reads each column back: a value written to the wrong column or row shows.
func TestModelCallsKeepEveryColumn(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var events []*event.Event
	for k := range 3 {
		f := func(name string) string { return fmt.Sprintf("%s-%d", name, k) }
		events = append(events, &event.Event{
			EventID: f("id"), Timestamp: ts.Add(time.Duration(k) * time.Second), App: f("app"), Feature: f("feature"),
			Stage: f("stage"), TraceID: f("trace"), SpanID: f("span"), ParentSpanID: f("parent"), Environment: f("env"),
			Provider: f("provider"), Model: f("model"), PromptID: f("prompt"), PromptVersion: f("version"), Input: f("input"),
			// Outputs long enough that their column is reserved before it is filled.
			Messages: []event.Message{{Role: "user", Content: f("message")}}, Output: f("output") + strings.Repeat(".", 100<<10),
			SystemInstructions: f("system"), Expected: f("expected"), Context: []event.Passage{{ID: f("p"), Text: f("passage")}},
			OutputSchema: f("schema"), LatencyMS: 100 + float64(k), TTFTMS: 10 + float64(k), InputTokens: 1000 + int64(k),
			OutputTokens: 2000 + int64(k), CostUSD: 0.5 + float64(k), FinishReason: f("finish"), Status: f("status"),
			Error: f("error"), UserID: f("user"), SessionID: f("session"), Attributes: map[string]string{f("b"): "2", f("a"): "1"},
		})
	}
	if err := store.InsertModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT event_id, timestamp, app, environment, feature, stage, trace_id, span_id,
		parent_span_id, provider, model, prompt_id, prompt_version, input, messages, output, system_instructions,
		expected, context, output_schema, latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd, finish_reason,
		status, error, user_id, session_id, attribute_keys, attribute_values FROM v_model_calls ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var text [24]string
		var at time.Time
		var latency, ttft, cost float64
		var in, out uint64
		var keys, values []string
		p := []any{&text[0], &at}
		for i := 1; i <= 18; i++ {
			p = append(p, &text[i])
		}
		p = append(p, &latency, &ttft, &in, &out, &cost)
		for i := 19; i <= 23; i++ {
			p = append(p, &text[i])
		}
		p = append(p, &keys, &values)
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(text[:24], at.UTC().Format(time.RFC3339), latency, ttft, in, out, cost, keys, values))
	}
	var want []string
	for _, ev := range events {
		s := ev.Series()
		messages, _ := event.Marshal(ev.Messages)
		passages, _ := event.Marshal(ev.Context)
		text := []string{ev.EventID, s.App, s.Environment, s.Feature, ev.Stage, ev.TraceID, ev.SpanID, ev.ParentSpanID,
			ev.Provider, ev.Model, ev.PromptID, s.PromptVersion, ev.Input, string(messages), ev.Output, ev.SystemInstructions,
			ev.Expected, string(passages), ev.OutputSchema, ev.FinishReason, ev.Status, ev.Error, ev.UserID, ev.SessionID}
		k := strings.TrimPrefix(ev.EventID, "id-")
		keys := []string{"a-" + k, "b-" + k} // sorted by key
		want = append(want, fmt.Sprint(text, ev.Timestamp.Format(time.RFC3339), ev.LatencyMS, ev.TTFTMS,
			uint64(ev.InputTokens), uint64(ev.OutputTokens), ev.CostUSD, keys, []string{"1", "2"}))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("model_calls read back (-want +got):\n%s", diff)
	}
}
