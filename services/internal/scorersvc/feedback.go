package scorersvc

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// FeedbackSource is the source of the score rows made from feedback. Their rules_version holds
// the feedback id, so every feedback about a call adds its own row to scores and none replaces
// another, nor the call's other score rows.
const FeedbackSource = "feedback"

// Metrics a feedback is scored as.
const (
	// MetricThumbsUp is 1 for a thumbs up and 0 for a thumbs down (a failure): drift watches
	// the thumbs-down rate.
	MetricThumbsUp = "feedback_thumbs_up"
	// MetricRating is the rating normalized to [0, 1] on its scale; it passes from the middle of
	// the scale up.
	MetricRating = "feedback_rating"
	// MetricCorrection is 0 and failed for every correction: a count of outputs people rewrote.
	MetricCorrection = "feedback_correction"
	// MetricLabelMatch is 1 when the ground-truth label equals the predicted label (compared
	// without surrounding space and case), else 0. A label without a predicted one is stored but
	// not scored.
	MetricLabelMatch = "label_match"
)

// DurableFeedback is the consumer of FEEDBACK all scorer replicas share.
const DurableFeedback = "scorer-feedback"

// FeedbackScored returns the score row of a feedback, or nil when the feedback is only stored
// (a label without a predicted label). The row carries the series labels the feedback gives, its
// timestamp (drift counts feedback when it was given) and the feedback's user-facing source as
// each score's label.
func FeedbackScored(f *event.Feedback) *event.Scored {
	src := f.SourceOrDefault()
	var sc event.Score
	switch f.Kind {
	case event.FeedbackThumbs:
		if f.Value == nil {
			return nil
		}
		sc = event.Score{Metric: MetricThumbsUp, Kind: event.KindCheck, Value: *f.Value, Pass: *f.Value == 1, Label: src}
	case event.FeedbackRating:
		if f.Value == nil || f.ScaleMin == nil || f.ScaleMax == nil || !(*f.ScaleMax > *f.ScaleMin) {
			return nil
		}
		v := (*f.Value - *f.ScaleMin) / (*f.ScaleMax - *f.ScaleMin)
		v = min(max(v, 0), 1)
		sc = event.Score{Metric: MetricRating, Kind: event.KindMeasure, Value: v, Pass: v >= 0.5, Label: src,
			Reason: fmt.Sprintf("%g on %g..%g", *f.Value, *f.ScaleMin, *f.ScaleMax)}
	case event.FeedbackCorrection:
		sc = event.Score{Metric: MetricCorrection, Kind: event.KindCheck, Value: 0, Pass: false, Label: src,
			Reason: "output corrected"}
	case event.FeedbackLabel:
		if f.Predicted == "" {
			return nil
		}
		match := strings.EqualFold(strings.TrimSpace(f.Label), strings.TrimSpace(f.Predicted))
		sc = event.Score{Metric: MetricLabelMatch, Kind: event.KindCheck, Pass: match, Label: f.Label}
		if match {
			sc.Value = 1
		} else {
			sc.Reason = fmt.Sprintf("predicted %.60q, ground truth %.60q", f.Predicted, f.Label)
		}
	default:
		return nil
	}
	return &event.Scored{EventID: f.EventID, Timestamp: f.Timestamp, Series: f.Series(),
		Source: FeedbackSource, RulesVersion: f.FeedbackID, Scores: []event.Score{sc}}
}

// feedbackStage scores feedback and publishes the rows on SCORED, where drift and the writer
// take them like any other score row.
type feedbackStage struct {
	d          app.Deps
	partitions int
}

var _ stream.Stage[*event.Feedback] = (*feedbackStage)(nil)

// Process publishes one score row per scored feedback, each in its own message whose id names
// the feedback: feedback is rare, and a client's retry under a new message id then stores no
// second row while SCORED's de-duplication window lasts. The source acks the feedback only after JetStream stored every row.
func (s *feedbackStage) Process(ctx context.Context, batch []*event.Feedback) error {
	msgs := make([]*nats.Msg, 0, len(batch))
	for _, f := range batch {
		rec := FeedbackScored(f)
		if rec == nil {
			continue
		}
		data, err := event.Marshal(rec)
		if err != nil {
			return stream.Permanent(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(rec.Series.FeatureKey(), s.partitions),
			"scored:"+rec.EventID+":"+rec.Source+":"+rec.RulesVersion, data))
	}
	return stream.PublishAll(ctx, s.d.JS, msgs)
}

// newFeedbackSource builds the scorer's source of feedback: one worker, as feedback is rare
// next to events.
func newFeedbackSource(ctx context.Context, d app.Deps, cfg Config) (*stream.Source[*event.Feedback], error) {
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: stream.Feedback, Durable: DurableFeedback, FilterSubjects: []string{stream.FeedbackRoot + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 4 * cfg.BatchSize,
	})
	if err != nil {
		return nil, err
	}
	st := &feedbackStage{d: d, partitions: d.Common.Streams.Partitions}
	return stream.NewSource(stream.SourceConfig{Stage: DurableFeedback, BatchSize: cfg.BatchSize, MaxWait: cfg.MaxWait, PoisonDeliveries: 10},
		d.JS, cons, stream.FeedbackDecoder, st, d.Log, d.Metrics), nil
}
