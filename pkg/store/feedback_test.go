package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func float(v float64) *float64 { return &v }

// feedbackRow is a v_feedback row as a test reads it.
type feedbackRow struct {
	FeedbackID, EventID, App, Environment, Feature, Model, PromptVersion, Kind string
	Value, ScaleMin, ScaleMax                                                  *float64
	Label, Predicted, Correction, Comment, UserID, Source                      string
}

func TestInsertFeedbackReadOnceThroughView(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	// Two feedbacks about one call, and a ground-truth label for another.
	down := &event.Feedback{FeedbackID: "fb-1", EventID: "ev-1", Timestamp: ts, App: "shop", Model: "m",
		Kind: event.FeedbackThumbs, Value: float(0), Comment: "wrong date", UserID: "u1"}
	rating := &event.Feedback{FeedbackID: "fb-2", EventID: "ev-1", Timestamp: ts.Add(time.Minute), App: "shop", Model: "m",
		Environment: "staging", Feature: "orders", PromptVersion: "v2", Kind: event.FeedbackRating,
		Value: float(2), ScaleMin: float(1), ScaleMax: float(5), Source: event.FeedbackSourceReviewer}
	label := &event.Feedback{FeedbackID: "gt-1", EventID: "ev-2", Timestamp: ts, App: "shop", Model: "m",
		Kind: event.FeedbackLabel, Label: "fraud", Predicted: "legit", Source: event.FeedbackSourceGroundTruth}
	for i := 0; i < 2; i++ { // a redelivered batch inserted twice
		if err := store.InsertFeedback(ctx, conn, []*event.Feedback{down, rating, label}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.Query(ctx, `SELECT feedback_id, event_id, app, environment, feature, model, prompt_version, kind,
		value, scale_min, scale_max, label, predicted, correction, comment, user_id, source
		FROM v_feedback ORDER BY feedback_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []feedbackRow
	for rows.Next() {
		var r feedbackRow
		if err := rows.Scan(&r.FeedbackID, &r.EventID, &r.App, &r.Environment, &r.Feature, &r.Model, &r.PromptVersion, &r.Kind,
			&r.Value, &r.ScaleMin, &r.ScaleMax, &r.Label, &r.Predicted, &r.Correction, &r.Comment, &r.UserID, &r.Source); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []feedbackRow{
		{FeedbackID: "fb-1", EventID: "ev-1", App: "shop", Environment: "production", Feature: "default", Model: "m",
			PromptVersion: "unversioned", Kind: "thumbs", Value: float(0), Comment: "wrong date", UserID: "u1", Source: "user"},
		{FeedbackID: "fb-2", EventID: "ev-1", App: "shop", Environment: "staging", Feature: "orders", Model: "m",
			PromptVersion: "v2", Kind: "rating", Value: float(2), ScaleMin: float(1), ScaleMax: float(5), Source: "reviewer"},
		{FeedbackID: "gt-1", EventID: "ev-2", App: "shop", Environment: "production", Feature: "default", Model: "m",
			PromptVersion: "unversioned", Kind: "label", Label: "fraud", Predicted: "legit", Source: "ground_truth"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v_feedback after inserting every row twice (-want +got):\n%s", diff)
	}

	found, err := store.StoredKeys(ctx, conn, store.TableFeedback, []string{store.FeedbackKey(down), "fb-9"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"fb-1": true}, found); diff != "" {
		t.Errorf("StoredKeys(feedback) (-want +got):\n%s", diff)
	}

	// Feedback partitions by day, like scores, and expires with its own retention.
	old := &event.Feedback{FeedbackID: "fb-old", EventID: "ev-0", Timestamp: ts.AddDate(0, 0, -40), App: "shop", Model: "m",
		Kind: event.FeedbackThumbs, Value: float(1)}
	if err := store.InsertFeedback(ctx, conn, []*event.Feedback{old}); err != nil {
		t.Fatal(err)
	}
	dropped, err := store.DropExpired(ctx, conn, store.Retention{store.TableFeedback: 30 * 24 * time.Hour}, ts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"feedback/20261018"}, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
}
