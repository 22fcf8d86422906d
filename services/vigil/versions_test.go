package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// versionsTraffic stores n live calls of one version, spread evenly from from to to, each
// scored refusal (failing for the first fails) and length_chars.
func versionsTraffic(t *testing.T, conn driver.Conn, app, env, feature, prompt, model string, from, to time.Time, n, fails int) {
	t.Helper()
	var events []*event.Event
	var records []*event.Scored
	for i := range n {
		ts := from.Add(time.Duration(i) * to.Sub(from) / time.Duration(n))
		ev := &event.Event{EventID: fmt.Sprintf("%s-%s-%s-%s-%03d-%d", app, feature, prompt, model, i, from.Unix()), Timestamp: ts,
			App: app, Environment: env, Feature: feature, PromptVersion: prompt, Model: model, Input: "q", Output: "a"}
		events = append(events, ev)
		records = append(records, &event.Scored{EventID: ev.EventID, Timestamp: ts, Series: ev.Series(), Source: "checks",
			RulesVersion: "r1", Scores: []event.Score{
				{Metric: "refusal", Kind: event.KindCheck, Value: 0, Pass: i >= fails},
				{Metric: "length_chars", Kind: event.KindMeasure, Value: 120, Pass: true}}})
	}
	ctx := context.Background()
	if err := store.InsertModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertScores(ctx, conn, records); err != nil {
		t.Fatal(err)
	}
}

func storeEvalRun(t *testing.T, conn driver.Conn, id, prompt string, started time.Time, refusalPass float64) {
	t.Helper()
	r := &eval.Run{ID: id, Dataset: "shop-faq", Version: 1, App: "shop", Feature: "faq", PromptVersion: prompt, Model: "m",
		Target: "outputs", StartedAt: started, FinishedAt: started.Add(time.Minute), Status: eval.StatusDone, Cases: 30,
		Summary: eval.Summary{Results: 30, Metrics: []eval.MetricSummary{
			{Metric: "length_chars", Kind: event.KindMeasure, N: 30, Mean: 118, PassRate: 1},
			{Metric: "refusal", Kind: event.KindCheck, N: 30, PassRate: refusalPass}}}}
	if err := store.InsertRun(context.Background(), conn, r); err != nil {
		t.Fatal(err)
	}
}

func TestVersionsReportsTrafficEvalBaselineAndAlerts(t *testing.T) {
	dsn := ch.Database(t)
	t.Setenv("VIGIL_CLICKHOUSE_DSN", dsn)
	conn := testkit.Conn(t, dsn)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)

	// shop/faq: v1 since 3h (its first hour all good; 20 calls in the last hour, 4 refused),
	// v2 since 50 minutes (60 calls, 12 refused) with an accepted eval run at 0.95.
	versionsTraffic(t, conn, "shop", "production", "faq", "v1", "m", now.Add(-3*time.Hour), now.Add(-2*time.Hour), 30, 0)
	versionsTraffic(t, conn, "shop", "production", "faq", "v1", "m", now.Add(-55*time.Minute), now.Add(-time.Minute), 20, 4)
	versionsTraffic(t, conn, "shop", "production", "faq", "v2", "m", now.Add(-50*time.Minute), now.Add(-time.Minute), 60, 12)
	// shop/search: young, no eval, no acceptance: its baseline window overlaps the live one.
	versionsTraffic(t, conn, "shop", "production", "search", "p1", "m", now.Add(-30*time.Minute), now.Add(-time.Minute), 10, 0)
	// Not serving: eval traffic, another app, and shop traffic from yesterday.
	versionsTraffic(t, conn, "shop", "eval", "faq", "v3", "m", now.Add(-30*time.Minute), now, 5, 0)
	versionsTraffic(t, conn, "billing", "production", "invoice", "b1", "m", now.Add(-30*time.Minute), now, 5, 0)
	versionsTraffic(t, conn, "shop", "production", "faq", "v0", "m", now.Add(-30*time.Hour), now.Add(-25*time.Hour), 5, 0)

	storeEvalRun(t, conn, "run-old-v2", "v2", now.Add(-5*time.Hour), 0.9)
	storeEvalRun(t, conn, "run-new-v2", "v2", now.Add(-4*time.Hour), 0.95)
	batch, err := conn.PrepareBatch(ctx, `INSERT INTO eval_acceptances (app, feature, prompt_version, model, run_id, accepted_at, revision)`)
	if err != nil {
		t.Fatalf("the schema has no eval_acceptances table: %v", err)
	}
	if err := batch.Append("shop", "faq", "v2", "", "run-new-v2", now.Add(-3*time.Hour), uint64(1)); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	alert := func(id, fp string, seq uint64, state, prompt string) *event.Alert {
		return &event.Alert{AlertID: id, Fingerprint: fp, Sequence: seq, State: state, Severity: event.SeverityCritical,
			Labels: map[string]string{"alertname": "QualityRegression", "app": "shop", "feature": "faq", "model": "m",
				"prompt_version": prompt, "metric": "refusal"}, Summary: "refusal rate rose from 5% to 20%",
			StartsAt: now.Add(-20 * time.Minute), At: now.Add(-time.Duration(20-seq) * time.Minute)}
	}
	if err := store.InsertAlerts(ctx, conn, []*event.Alert{
		alert("fa-1", "fa", 1, event.StatePending, "v2"), alert("fa-2", "fa", 2, event.StateFiring, "v2"),
		alert("fb-1", "fb", 1, event.StateFiring, "v1"), alert("fb-2", "fb", 2, event.StateResolved, "v1"),
	}); err != nil {
		t.Fatal(err)
	}

	var out syncBuffer
	if err := dispatch(ctx, []string{"versions", "--app", "shop", "--since", "1h", "--json"}, &out); err != nil {
		t.Fatalf("vigil versions --json: %v\n%s", err, out.String())
	}
	var rep versionsReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("decode versions --json: %v\n%s", err, out.String())
	}
	type row struct {
		feature, prompt string
		events          uint64
		share           string
		baseline, eval  string
		refusal, change string
		alerts          string
	}
	var got []row
	for _, f := range rep.Features {
		for _, v := range f.Versions {
			r := row{feature: f.Feature, prompt: v.PromptVersion, events: v.Events, share: fmt.Sprintf("%.2f", v.Share),
				baseline: v.Baseline.Source, eval: "-", refusal: "-", change: "-"}
			if v.LatestEval != nil {
				r.eval = v.LatestEval.RunID
			}
			for _, m := range v.Quality {
				if m.Metric == "refusal" {
					r.refusal = fmt.Sprintf("%d %.2f", m.N, m.PassRate)
					r.change = optNum(m.Change, "%+.2f")
				}
			}
			for _, a := range v.Alerts {
				r.alerts += a.State + " " + a.Metric
			}
			got = append(got, r)
		}
	}
	want := []row{
		{"faq", "v2", 60, "0.75", baselineAccepted, "run-new-v2", "60 0.80", "-0.15", "firing refusal"},
		{"faq", "v1", 20, "0.25", baselineEarliest, "-", "20 0.80", "-0.20", ""},
		{"search", "p1", 10, "1.00", baselineEarliest, "-", "10 1.00", "+0.00", ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("versions:\n got %v\nwant %v\n%s", got, want, out.String())
	}
	v1 := rep.Features[0].Versions[1]
	if v1.Baseline.Overlaps || v1.Baseline.From == nil || !v1.Baseline.From.Equal(now.Add(-3*time.Hour)) {
		t.Errorf("v1 baseline = %+v, want its first hour from %v, not overlapping", v1.Baseline, now.Add(-3*time.Hour))
	}
	if s := rep.Features[1].Versions[0].Baseline; !s.Overlaps || !strings.Contains(s.Note, "overlaps the live window") {
		t.Errorf("search baseline = %+v, want it flagged as overlapping the live window", s)
	}
	if e := rep.Features[0].Versions[0].LatestEval; e == nil || len(e.Metrics) != 2 {
		t.Errorf("v2 latest eval = %+v, want run-new-v2 with 2 metrics", e)
	}

	// The table says the same for people, baseline kind included.
	out = syncBuffer{}
	if err := dispatch(ctx, []string{"versions", "--since", "1h"}, &out); err != nil {
		t.Fatalf("vigil versions: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Logf("vigil versions --since 1h:\n%s", text)
	for _, want := range []string{
		"shop / faq: 80 events, 2 versions",
		"billing / invoice: 5 events, 1 version",
		"baseline: accepted eval run run-new-v2 (shop-faq@1, accepted ",
		"baseline: no accepted eval run: the version's first 1h of traffic",
		"1 worse vs accepted run: refusal",
		"alert firing critical QualityRegression (refusal)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("vigil versions output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "v0") || strings.Contains(text, "v3") {
		t.Errorf("vigil versions lists old or eval traffic:\n%s", text)
	}
}

func TestVersionsRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"--since", "-1h"}, "--since -1h: want a positive duration"},
		{[]string{"--baseline-window", "0s"}, "--baseline-window 0s: want a positive duration"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var out syncBuffer
		err := runVersions(context.Background(), tc.args, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("vigil versions %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
