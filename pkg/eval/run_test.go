package eval

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestCaseEvent(t *testing.T) {
	run := &Run{ID: "run-1", Dataset: "faq", Version: 2, App: "shop", Feature: "faq", PromptVersion: "v2", Model: "m"}
	c := &Case{ID: "c1", Input: "q", Expected: "e", Context: []event.Passage{{ID: "p", Text: "t"}}, OutputSchema: "order",
		SystemInstructions: "s", Tags: []string{"json"}}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ev := CaseEvent(run, c, Output{Text: "out", FinishReason: "length", LatencyMS: 12, OutputTokens: 3}, at)
	want := &event.Event{EventID: "run-1:c1", Timestamp: at, App: "shop", Feature: "faq", Environment: "eval", Model: "m",
		PromptVersion: "v2", Input: "q", Output: "out", SystemInstructions: "s", Expected: "e", Context: c.Context,
		OutputSchema: "order", LatencyMS: 12, OutputTokens: 3, FinishReason: "length", Status: "ok",
		Attributes: map[string]string{"eval_run": "run-1", "eval_dataset": "faq@2"}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("CaseEvent (-want +got):\n%s", diff)
	}
	if err := ev.Validate(); err != nil {
		t.Errorf("CaseEvent is not a valid event: %v", err)
	}
}

func TestPendingAndSummarize(t *testing.T) {
	cases := []Case{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	got := Pending(cases, map[string]bool{"b": true})
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "c" {
		t.Errorf("Pending = %v, want a and c", got)
	}
	s := Summarize([]Result{
		{CaseID: "a", Scores: []event.Score{check("refusal", true), measure("length_chars", 10, true)}},
		{CaseID: "b", Scores: []event.Score{check("refusal", false), measure("length_chars", 30, false)}},
		{CaseID: "c", Error: "HTTP 500"},
	})
	want := Summary{Results: 3, Errors: 1, Metrics: []MetricSummary{
		{Metric: "length_chars", Kind: event.KindMeasure, N: 2, Mean: 20, PassRate: 0.5},
		{Metric: "refusal", Kind: event.KindCheck, N: 2, Mean: 0.5, PassRate: 0.5},
	}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestRunIDAndProgress(t *testing.T) {
	id := NewRunID(time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC), 0xabcdef12)
	if !regexp.MustCompile(`^run-20261127-101500-[0-9a-f]{6}$`).MatchString(id) {
		t.Errorf("NewRunID = %q", id)
	}
	tests := []struct {
		p    Progress
		want string
	}{
		{Progress{Done: 0, Total: 10}, "0/10 done, 0 errors, 0.0 cases/s, ETA ?"},
		{Progress{Done: 5, Total: 25, Errors: 1, Elapsed: 2 * time.Second}, "5/25 done, 1 errors, 2.5 cases/s, ETA 8s"},
		{Progress{Done: 25, Total: 25, Elapsed: 5 * time.Second}, "25/25 done, 0 errors, 5.0 cases/s, ETA 0s"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
