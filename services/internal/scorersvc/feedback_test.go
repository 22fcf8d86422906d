package scorersvc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

func float(v float64) *float64 { return &v }

func TestFeedbackScored(t *testing.T) {
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	base := event.Feedback{FeedbackID: "fb-1", EventID: "ev-1", Timestamp: ts, App: "shop", Model: "m", PromptVersion: "v2"}
	with := func(f func(*event.Feedback)) *event.Feedback {
		fb := base
		f(&fb)
		return &fb
	}
	tests := []struct {
		name string
		in   *event.Feedback
		want *event.Score // nil: no score row
	}{
		{"thumbs up", with(func(f *event.Feedback) { f.Kind, f.Value = event.FeedbackThumbs, float(1) }),
			&event.Score{Metric: MetricThumbsUp, Kind: event.KindCheck, Value: 1, Pass: true, Label: "user"}},
		{"thumbs down from a reviewer", with(func(f *event.Feedback) {
			f.Kind, f.Value, f.Source = event.FeedbackThumbs, float(0), event.FeedbackSourceReviewer
		}), &event.Score{Metric: MetricThumbsUp, Kind: event.KindCheck, Value: 0, Pass: false, Label: "reviewer"}},
		{"rating 4 of 1..5", with(func(f *event.Feedback) {
			f.Kind, f.Value, f.ScaleMin, f.ScaleMax = event.FeedbackRating, float(4), float(1), float(5)
		}), &event.Score{Metric: MetricRating, Kind: event.KindMeasure, Value: 0.75, Pass: true, Label: "user", Reason: "4 on 1..5"}},
		{"rating 3 of 0..10", with(func(f *event.Feedback) {
			f.Kind, f.Value, f.ScaleMin, f.ScaleMax = event.FeedbackRating, float(3), float(0), float(10)
		}), &event.Score{Metric: MetricRating, Kind: event.KindMeasure, Value: 0.3, Pass: false, Label: "user", Reason: "3 on 0..10"}},
		{"rating at the middle passes", with(func(f *event.Feedback) {
			f.Kind, f.Value, f.ScaleMin, f.ScaleMax = event.FeedbackRating, float(3), float(1), float(5)
		}), &event.Score{Metric: MetricRating, Kind: event.KindMeasure, Value: 0.5, Pass: true, Label: "user", Reason: "3 on 1..5"}},
		{"correction", with(func(f *event.Feedback) { f.Kind, f.Correction = event.FeedbackCorrection, "better" }),
			&event.Score{Metric: MetricCorrection, Kind: event.KindCheck, Value: 0, Pass: false, Label: "user", Reason: "output corrected"}},
		{"label matching the prediction", with(func(f *event.Feedback) {
			f.Kind, f.Label, f.Predicted, f.Source = event.FeedbackLabel, "Fraud", " fraud ", event.FeedbackSourceGroundTruth
		}), &event.Score{Metric: MetricLabelMatch, Kind: event.KindCheck, Value: 1, Pass: true, Label: "Fraud"}},
		{"label differing from the prediction", with(func(f *event.Feedback) {
			f.Kind, f.Label, f.Predicted = event.FeedbackLabel, "fraud", "legit"
		}), &event.Score{Metric: MetricLabelMatch, Kind: event.KindCheck, Value: 0, Pass: false, Label: "fraud",
			Reason: `predicted "legit", ground truth "fraud"`}},
		{"label without a prediction", with(func(f *event.Feedback) { f.Kind, f.Label = event.FeedbackLabel, "fraud" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FeedbackScored(tt.in)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("FeedbackScored(%+v) = %+v, want nil", tt.in, got)
				}
				return
			}
			want := &event.Scored{EventID: "ev-1", Timestamp: ts, Series: tt.in.Series(), Source: FeedbackSource,
				RulesVersion: "fb-1", Scores: []event.Score{*tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FeedbackScored(%s) (-want +got):\n%s", tt.name, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("FeedbackScored(%s) is not a valid scored record: %v", tt.name, err)
			}
		})
	}
}
