package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestDatasetRoundTrip(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	cases := []eval.Case{
		{ID: "b", Input: "second in the file, first by id", Tags: []string{"json"}, OutputSchema: "order"},
		{ID: "a", Messages: []event.Message{{Role: "user", Content: "hi"}}, Expected: "hello",
			Context: []event.Passage{{ID: "p1", Text: "t"}}, SystemInstructions: "be brief"},
	}
	hash, err := eval.Hash(cases)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for v := uint32(1); v <= 2; v++ {
		info := store.DatasetInfo{Name: "faq", Version: v, Cases: uint32(len(cases)), Hash: hash, Source: "faq.jsonl", CreatedAt: created}
		for range 2 { // a retried insert
			if err := store.InsertDataset(ctx, conn, info, cases); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := store.DatasetCases(ctx, conn, "faq", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cases, got); diff != "" {
		t.Errorf("DatasetCases (-stored +read):\n%s", diff)
	}
	latest, err := store.Dataset(ctx, conn, "faq", 0)
	if err != nil || latest.Version != 2 || latest.Hash != hash || !latest.CreatedAt.Equal(created) {
		t.Errorf("Dataset(faq, latest) = %+v, %v; want version 2 with hash %s", latest, err, hash)
	}
	if _, err := store.Dataset(ctx, conn, "faq", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Dataset(faq@3) = %v, want ErrNotFound", err)
	}
	all, err := store.Datasets(ctx, conn, "")
	if err != nil || len(all) != 2 {
		t.Errorf("Datasets() = %d versions, %v; want 2", len(all), err)
	}
}

func TestRunsAndResults(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	started := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	run := &eval.Run{ID: "run-1", Dataset: "faq", Version: 1, App: "shop", Feature: "faq", PromptVersion: "v1",
		Model: "m", Target: "openai", Params: `{"base_url":"http://x"}`, StartedAt: started, Status: eval.StatusRunning, Cases: 3}
	if err := store.InsertRun(ctx, conn, run); err != nil {
		t.Fatal(err)
	}
	pass := []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true},
		{Metric: "length_chars", Kind: event.KindMeasure, Value: 5, Pass: true}}
	fail := []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 0, Pass: false, Label: "empty", Reason: "no text"},
		{Metric: "length_chars", Kind: event.KindMeasure, Value: 0, Pass: false}}
	at := started.Add(time.Minute)
	first := []eval.Result{
		{CaseID: "a", Output: "hello", Scores: pass, Attempts: 1, FinishedAt: at, Tags: []string{"x"}},
		{CaseID: "b", Output: "", Scores: fail, Attempts: 1, FinishedAt: at},
		{CaseID: "c", Error: "HTTP 503 after 3 attempts", Attempts: 3, FinishedAt: at},
	}
	if err := store.InsertResults(ctx, conn, run, "r1", first); err != nil {
		t.Fatal(err)
	}
	done, err := store.FinishedCases(ctx, conn, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"a": true, "b": true}, done); diff != "" {
		t.Errorf("FinishedCases (-want +got):\n%s", diff)
	}
	// The resumed run retries c; its new row replaces the error.
	retry := []eval.Result{{CaseID: "c", Output: "hi", Scores: pass, Attempts: 1, FinishedAt: at.Add(time.Hour)}}
	if err := store.InsertResults(ctx, conn, run, "r1", retry); err != nil {
		t.Fatal(err)
	}
	run.Status, run.FinishedAt = eval.StatusDone, at.Add(time.Hour)
	results, err := store.Results(ctx, conn, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	run.Summary = eval.Summarize(results)
	if err := store.InsertRun(ctx, conn, run); err != nil {
		t.Fatal(err)
	}
	want := []eval.Result{
		{RunID: "run-1", CaseID: "a", Output: "hello", Scores: pass, Attempts: 1, FinishedAt: at, Tags: []string{"x"}},
		{RunID: "run-1", CaseID: "b", Output: "", Scores: fail, Attempts: 1, FinishedAt: at, Tags: []string{}},
		{RunID: "run-1", CaseID: "c", Output: "hi", Scores: pass, Attempts: 1, FinishedAt: at.Add(time.Hour), Tags: []string{}},
	}
	if diff := cmp.Diff(want, results, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Results (-want +got):\n%s", diff)
	}
	got, err := store.Run(ctx, conn, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != eval.StatusDone || !got.FinishedAt.Equal(run.FinishedAt) || got.Params != run.Params ||
		got.Summary.Results != 3 || len(got.Summary.Metrics) != 2 {
		t.Errorf("Run = %+v, want the done state with its summary", got)
	}
	if runs, err := store.Runs(ctx, conn, store.RunFilter{Dataset: "faq", PromptVersion: "v1", Status: eval.StatusDone}); err != nil || len(runs) != 1 || runs[0].ID != "run-1" {
		t.Errorf("Runs(faq, v1, done) = %v, %v; want run-1", runs, err)
	}
	if _, err := store.Run(ctx, conn, "run-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Run(run-2) = %v, want ErrNotFound", err)
	}

	var rows, history uint64
	var passRate float64
	var status string
	if err := conn.QueryRow(ctx, "SELECT count() FROM v_eval_results WHERE run_id = 'run-1'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 6 {
		t.Errorf("v_eval_results rows = %d, want 6 (3 cases x 2 metrics)", rows)
	}
	if err := conn.QueryRow(ctx, `SELECT count(), any(pass_rate), any(status) FROM v_eval_history
		WHERE dataset = 'faq' AND metric = 'non_empty'`).Scan(&history, &passRate, &status); err != nil {
		t.Fatal(err)
	}
	if history != 1 || fmt.Sprintf("%.3f", passRate) != "0.667" || status != "done" {
		t.Errorf("v_eval_history for non_empty = %d rows, pass rate %v, status %q; want 1, 0.667, done", history, passRate, status)
	}
}

func TestSampleTrafficStratifiesByOutcome(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	now := time.Now().UTC().Truncate(time.Second)
	var events []*event.Event
	var records []*event.Scored
	for i := range 20 {
		ev := &event.Event{EventID: fmt.Sprintf("ev-%02d", i), Timestamp: now.Add(-time.Duration(i) * time.Minute),
			App: "shop", Feature: "faq", Model: "m", Input: fmt.Sprintf("question %d", i), Output: "answer"}
		if i == 19 {
			ev.Input = "" // nothing to ask: not a case
		}
		events = append(events, ev)
		ok := i%4 != 0 // 5 failing: 0, 4, 8, 12, 16
		records = append(records, &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(),
			Source: "checks", RulesVersion: "r", Scores: []event.Score{
				{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true},
				{Metric: "refusal", Kind: event.KindCheck, Pass: ok}}})
	}
	// A call outside the window, and one of another feature.
	events = append(events,
		&event.Event{EventID: "old", Timestamp: now.Add(-48 * time.Hour), App: "shop", Feature: "faq", Model: "m", Input: "q", Output: "a"},
		&event.Event{EventID: "other", Timestamp: now, App: "shop", Feature: "search", Model: "m", Input: "q", Output: "a"})
	if err := store.InsertModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertScores(ctx, conn, records); err != nil {
		t.Fatal(err)
	}
	sample := store.TrafficSample{App: "shop", Feature: "faq", Since: now.Add(-24 * time.Hour), N: 8, Seed: 7}
	cases, err := store.SampleTraffic(ctx, conn, sample)
	if err != nil {
		t.Fatal(err)
	}
	var failing, passing int
	for _, c := range cases {
		switch {
		case len(c.Tags) == 3 && c.Tags[1] == "traffic:failing" && c.Tags[2] == "failed:refusal":
			failing++
		case len(c.Tags) == 2 && c.Tags[1] == "traffic:passing":
			passing++
		default:
			t.Errorf("case %s has tags %q", c.ID, c.Tags)
		}
		if c.ID == "old" || c.ID == "other" || c.ID == "ev-19" || c.Input == "" {
			t.Errorf("sample holds %s, outside the selection", c.ID)
		}
	}
	if failing != 4 || passing != 4 {
		t.Errorf("sample of 8 = %d failing + %d passing, want 4 + 4", failing, passing)
	}
	again, err := store.SampleTraffic(ctx, conn, sample)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cases, again); diff != "" {
		t.Errorf("the same seed drew another sample (-first +second):\n%s", diff)
	}
	// More than there is: all 5 failing, then every passing one fills in.
	sample.N = 30
	all, err := store.SampleTraffic(ctx, conn, sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 19 {
		t.Errorf("sample of 30 from 19 eligible calls = %d cases, want 19", len(all))
	}
}
