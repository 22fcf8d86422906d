package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
)

func float(v float64) *float64 { return &v }

// publishFeedback publishes each feedback on its app's subject with its id as Nats-Msg-Id.
func publishFeedback(t *testing.T, h *harness, feedback []*event.Feedback) {
	t.Helper()
	msgs := make([]*nats.Msg, 0, len(feedback))
	for _, f := range feedback {
		data, err := event.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.FeedbackSubject(f.App), f.FeedbackID, data))
	}
	if err := stream.PublishAll(context.Background(), h.deps.JS, msgs); err != nil {
		t.Fatalf("publish feedback: %v", err)
	}
}

// TestFeedbackStoredAndScoredOnce sends events, then feedback about some of them (two about one
// call, a copy past de-duplication, one for another app), and checks that each feedback is in
// v_feedback and its score row in v_scores exactly once, beside the calls' own score rows.
func TestFeedbackStoredAndScoredOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)

	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	var events []*event.Event
	for i := 0; i < 20; i++ {
		events = append(events, makeEvent(rng, "checkout", i, -1, t0))
	}
	publishEvents(t, h.deps.JS, events)
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores WHERE source = 'checks'") == 20
	}, "v_scores covers %d events, want 20", count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores WHERE source = 'checks'"))
	checksRows := count(t, h.conn, "SELECT count() FROM v_scores WHERE source = 'checks'")

	// The client copies the series labels from the call.
	about := func(id string, ev *event.Event, f event.Feedback) *event.Feedback {
		f.FeedbackID, f.EventID, f.Timestamp = id, ev.EventID, ev.Timestamp.Add(30*time.Second)
		f.App, f.Environment, f.Feature, f.Model, f.PromptVersion = ev.App, ev.Environment, ev.Feature, ev.Model, ev.PromptVersion
		return &f
	}
	feedback := []*event.Feedback{
		about("fb-1", events[0], event.Feedback{Kind: event.FeedbackThumbs, Value: float(0), Comment: "wrong date"}),
		about("fb-2", events[0], event.Feedback{Kind: event.FeedbackRating, Value: float(2), ScaleMin: float(1), ScaleMax: float(5)}),
		about("fb-3", events[1], event.Feedback{Kind: event.FeedbackThumbs, Value: float(1)}),
		about("gt-4", events[2], event.Feedback{Kind: event.FeedbackLabel, Label: "shipping", Predicted: "returns", Source: event.FeedbackSourceGroundTruth}),
		about("fb-5", events[3], event.Feedback{Kind: event.FeedbackCorrection, Correction: "It ships tomorrow.", Source: event.FeedbackSourceReviewer}),
		about("gt-6", events[4], event.Feedback{Kind: event.FeedbackLabel, Label: "shipping"}), // stored, not scored
	}
	publishFeedback(t, h, feedback)
	publishFeedback(t, h, feedback[:1]) // a retry inside the de-duplication window
	// A retry after the window: a second message with the same feedback_id.
	copyBody, err := event.Marshal(feedback[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.deps.JS.PublishMsg(ctx, stream.NewMsg(stream.FeedbackSubject("shop"), "fb-1-late-retry", copyBody)); err != nil {
		t.Fatal(err)
	}
	// Another app's feedback on shop's subject.
	foreign := strings.Replace(string(copyBody), `"app":"shop"`, `"app":"bank"`, 1)
	foreign = strings.Replace(foreign, `"fb-1"`, `"fb-bank"`, 1)
	if _, err := h.deps.JS.PublishMsg(ctx, stream.NewMsg(stream.FeedbackSubject("shop"), "fb-bank", []byte(foreign))); err != nil {
		t.Fatal(err)
	}

	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT count() FROM v_feedback") >= 6 &&
			count(t, h.conn, "SELECT count() FROM v_scores WHERE source = 'feedback'") >= 5
	}, "v_feedback holds %d rows (want 6), v_scores %d feedback rows (want 5)",
		count(t, h.conn, "SELECT count() FROM v_feedback"), count(t, h.conn, "SELECT count() FROM v_scores WHERE source = 'feedback'"))
	// The DLQ entry shows that every message on FEEDBACK was handled; then nothing more may arrive.
	var reason string
	testkit.Eventually(t, 30*time.Second, func() bool {
		reason = deadLetters(t, h.deps.JS)[foreign]
		return reason != ""
	}, "another app's feedback was not dead-lettered")
	if !strings.Contains(reason, "differs from the subject's app") {
		t.Errorf("dead letter reason = %q, want it to name the app mismatch", reason)
	}
	if n := count(t, h.conn, "SELECT count() FROM v_feedback WHERE app = 'bank' OR feedback_id = 'fb-bank'"); n != 0 {
		t.Errorf("another app's feedback stored: %d rows", n)
	}
	waitWritersIdle(t, h)

	rows, err := h.conn.Query(ctx, "SELECT feedback_id, event_id, kind, prompt_version, source FROM v_feedback ORDER BY feedback_id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, ev, kind, version, source string
		if err := rows.Scan(&id, &ev, &kind, &version, &source); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{id, ev, kind, version, source}, " "))
	}
	rows.Close()
	want := []string{
		"fb-1 checkout-00000 thumbs v1 user", "fb-2 checkout-00000 rating v1 user", "fb-3 checkout-00001 thumbs v1 user",
		"fb-5 checkout-00003 correction v1 reviewer", "gt-4 checkout-00002 label v1 ground_truth",
		"gt-6 checkout-00004 label v1 user", // no source given: the end user
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v_feedback (-want +got):\n%s", diff)
	}

	rows, err = h.conn.Query(ctx, `SELECT event_id, rules_version, metric, value, pass, prompt_version FROM v_scores
		WHERE source = 'feedback' ORDER BY rules_version`)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for rows.Next() {
		var ev, version, metric, prompt string
		var value float64
		var pass uint8
		if err := rows.Scan(&ev, &version, &metric, &value, &pass, &prompt); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %g %d %s", ev, version, metric, value, pass, prompt))
	}
	rows.Close()
	want = []string{
		"checkout-00000 fb-1 " + scorersvc.MetricThumbsUp + " 0 0 v1",
		"checkout-00000 fb-2 " + scorersvc.MetricRating + " 0.25 0 v1",
		"checkout-00001 fb-3 " + scorersvc.MetricThumbsUp + " 1 1 v1",
		"checkout-00003 fb-5 " + scorersvc.MetricCorrection + " 0 0 v1",
		"checkout-00002 gt-4 " + scorersvc.MetricLabelMatch + " 0 0 v1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v_scores rows of source feedback (-want +got):\n%s", diff)
	}
	// The calls' own score rows are untouched: as many as before, checks only.
	if n := count(t, h.conn, "SELECT count() FROM v_scores WHERE source = 'checks'"); n != checksRows {
		t.Errorf("check rows in v_scores = %d after feedback, want %d as before", n, checksRows)
	}
	if n := count(t, h.conn, "SELECT count() FROM scores WHERE event_id = 'checkout-00000'"); n != 3 {
		t.Errorf("scores rows of checkout-00000 = %d, want 3 (its checks and two feedbacks)", n)
	}
}

// waitWritersIdle waits until the writer's feedback and score consumers have nothing pending,
// so that a copy on its way cannot land after the test's reads.
func waitWritersIdle(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct{ stream, durable string }{
		{stream.Feedback, "writer-feedback"}, {stream.Feedback, scorersvc.DurableFeedback}, {stream.Scored, "writer-scored"},
	} {
		testkit.Eventually(t, 30*time.Second, func() bool {
			cons, err := h.deps.JS.Consumer(ctx, c.stream, c.durable)
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		}, "consumer %s on %s still has messages pending", c.durable, c.stream)
	}
}

// TestThumbsDownRiseFiresAlert shows drift watching feedback like any score: when the thumbs-down
// rate of a new prompt version rises from 5% to 40%, feedback_thumbs_up fires against the
// previous version's baseline.
func TestThumbsDownRiseFiresAlert(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)

	rng := rand.New(rand.NewPCG(7, 8))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	var feedback []*event.Feedback
	for i := 0; i < 2000; i++ {
		version, downRate := "v1", 0.05
		if i >= 1000 {
			version, downRate = "v2", 0.40
		}
		value := 1.0
		if rng.Float64() < downRate {
			value = 0
		}
		feedback = append(feedback, &event.Feedback{FeedbackID: fmt.Sprintf("fb-%05d", i), EventID: fmt.Sprintf("ev-%05d", i),
			Timestamp: t0.Add(time.Duration(i) * 20 * time.Millisecond), App: "shop", Environment: "test", Feature: "assistant",
			Model: "gpt-x", PromptVersion: version, Kind: event.FeedbackThumbs, Value: float(value)})
	}
	publishFeedback(t, h, feedback)

	firing := "SELECT count() FROM v_alerts WHERE state = 'firing' AND resend = 0"
	testkit.Eventually(t, 60*time.Second, func() bool { return count(t, h.conn, firing) >= 1 }, "no firing alert in v_alerts")
	var metric, baselineVersion, currentVersion string
	if err := h.conn.QueryRow(ctx, `SELECT metric, baseline_prompt_version, prompt_version FROM v_alerts
		WHERE state = 'firing' AND resend = 0`).Scan(&metric, &baselineVersion, &currentVersion); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{scorersvc.MetricThumbsUp, "v1", "v2"}, []string{metric, baselineVersion, currentVersion}); diff != "" {
		t.Errorf("firing alert (-want +got):\n%s", diff)
	}
	// The alert may fire before the writer stored the last feedback.
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, h.conn, "SELECT count() FROM v_feedback") == 2000 },
		"v_feedback holds %d rows, want 2000", count(t, h.conn, "SELECT count() FROM v_feedback"))
}
