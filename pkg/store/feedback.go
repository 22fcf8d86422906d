package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
)

// TableFeedback holds one row per feedback; stored_keys records its rows by feedback_id.
const TableFeedback = "feedback"

const insertFeedback = `INSERT INTO feedback (feedback_id, event_id, timestamp, app, environment, feature, model,
	prompt_version, kind, value, scale_min, scale_max, label, predicted, correction, comment, user_id, source)`

// InsertFeedback writes one feedback row per feedback in a single INSERT, with the series
// defaults and the default source filled in, as the feedback's score row carries them. An error
// means the outcome is unknown; the table and v_feedback tolerate a retry.
func InsertFeedback(ctx context.Context, conn driver.Conn, feedback []*event.Feedback) error {
	if len(feedback) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertFeedback)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableFeedback, err)
	}
	defer batch.Abort()
	for _, f := range feedback {
		s := f.Series()
		if err := batch.Append(f.FeedbackID, f.EventID, f.Timestamp, s.App, s.Environment, s.Feature, s.Model,
			s.PromptVersion, f.Kind, f.Value, f.ScaleMin, f.ScaleMax, f.Label, f.Predicted, f.Correction,
			f.Comment, f.UserID, f.SourceOrDefault()); err != nil {
			return fmt.Errorf("append feedback %s to %s: %w", f.FeedbackID, TableFeedback, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(feedback), TableFeedback, err)
	}
	return nil
}

// FeedbackKey is the identity of a feedback row as stored_keys records it.
func FeedbackKey(f *event.Feedback) string { return f.FeedbackID }
