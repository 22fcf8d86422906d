package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
)

// Table names and the stored_keys kinds that identify their rows.
const (
	TableModelCalls = "model_calls"
	TableScores     = "scores"
	TableAlerts     = "alerts"
)

const insertModelCalls = `INSERT INTO model_calls (event_id, timestamp, app, environment, feature, stage,
	trace_id, span_id, parent_span_id, provider, model, prompt_id, prompt_version, input, messages, output,
	system_instructions, expected, context, output_schema, latency_ms, ttft_ms, input_tokens, output_tokens,
	cost_usd, finish_reason, status, error, user_id, session_id, attribute_keys, attribute_values)`

const insertScores = `INSERT INTO scores (event_id, timestamp, app, environment, feature, stage, model,
	prompt_version, source, rules_version, metric_names, metric_kinds, metric_values, metric_passed,
	metric_labels, metric_reasons)`

const insertAlerts = `INSERT INTO alerts (alert_id, fingerprint, sequence, state, previous_state, resend,
	severity, alertname, app, environment, feature, model, prompt_version, metric, signal, summary,
	starts_at, ends_at, at, detector, statistic, threshold, p_value, baseline_value, baseline_n,
	baseline_source, baseline_prompt_version, baseline_model, current_value, current_n, window_start,
	window_end, example_event_ids, label_keys, label_values)`

// InsertModelCalls writes one model_calls row per event in a single INSERT. An error means the
// outcome is unknown (a failed or cancelled Send may still have landed); the tables tolerate a retry.
func InsertModelCalls(ctx context.Context, conn driver.Conn, events []*event.Event) error {
	if len(events) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertModelCalls)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableModelCalls, err)
	}
	defer batch.Abort()
	for _, ev := range events {
		s := ev.Series()
		messages, err := jsonOrEmpty(ev.Messages, len(ev.Messages))
		if err != nil {
			return err
		}
		passages, err := jsonOrEmpty(ev.Context, len(ev.Context))
		if err != nil {
			return err
		}
		keys, values := sortedPairs(ev.Attributes)
		if err := batch.Append(ev.EventID, ev.Timestamp, s.App, s.Environment, s.Feature, ev.Stage,
			ev.TraceID, ev.SpanID, ev.ParentSpanID, ev.Provider, ev.Model, ev.PromptID, s.PromptVersion,
			ev.Input, messages, ev.Output, ev.SystemInstructions, ev.Expected, passages, ev.OutputSchema,
			ev.LatencyMS, ev.TTFTMS, uint64(ev.InputTokens), uint64(ev.OutputTokens), ev.CostUSD,
			ev.FinishReason, ev.Status, ev.Error, ev.UserID, ev.SessionID, keys, values); err != nil {
			return fmt.Errorf("append event %s to %s: %w", ev.EventID, TableModelCalls, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(events), TableModelCalls, err)
	}
	return nil
}

// InsertScores writes one scores row per scored record, its checks as parallel arrays.
func InsertScores(ctx context.Context, conn driver.Conn, records []*event.Scored) error {
	if len(records) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertScores)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableScores, err)
	}
	defer batch.Abort()
	for _, r := range records {
		n := len(r.Scores)
		names, kinds, labels, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		values, passed := make([]float64, n), make([]uint8, n)
		for i, sc := range r.Scores {
			names[i], kinds[i], labels[i], reasons[i], values[i] = sc.Metric, string(sc.Kind), sc.Label, sc.Reason, sc.Value
			if sc.Pass {
				passed[i] = 1
			}
		}
		s := r.Series
		if err := batch.Append(r.EventID, r.Timestamp, s.App, s.Environment, s.Feature, r.Stage, s.Model,
			s.PromptVersion, r.Source, r.RulesVersion, names, kinds, values, passed, labels, reasons); err != nil {
			return fmt.Errorf("append scores of %s to %s: %w", r.EventID, TableScores, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(records), TableScores, err)
	}
	return nil
}

// InsertAlerts writes one alerts row per alert transition or re-send.
func InsertAlerts(ctx context.Context, conn driver.Conn, alerts []*event.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertAlerts)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableAlerts, err)
	}
	defer batch.Abort()
	for _, a := range alerts {
		l, e := a.Labels, a.Evidence
		keys, values := sortedPairs(l)
		examples := e.ExampleEventIDs
		if examples == nil {
			examples = []string{}
		}
		if err := batch.Append(a.AlertID, a.Fingerprint, a.Sequence, a.State, a.Previous, a.Resend,
			a.Severity, l["alertname"], l["app"], l["environment"], l["feature"], l["model"], l["prompt_version"],
			l["metric"], l["signal"], a.Summary, a.StartsAt, a.EndsAt, a.At, e.Detector, e.Statistic, e.Threshold,
			e.PValue, e.Baseline.Value, uint64(e.Baseline.N), e.BaselineSource, e.Baseline.PromptVersion,
			e.Baseline.Model, e.Current.Value, uint64(e.Current.N), e.WindowStart, e.WindowEnd, examples,
			keys, values); err != nil {
			return fmt.Errorf("append alert %s to %s: %w", a.AlertID, TableAlerts, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(alerts), TableAlerts, err)
	}
	return nil
}

// ScoreKey is the identity of a scores row as stored_keys records it.
func ScoreKey(r *event.Scored) string {
	return r.EventID + "/" + r.Source + "/" + r.RulesVersion
}

// StoredKeys returns which of keys are already stored for table (model_calls: event ids; scores:
// ScoreKey; alerts: alert ids). The writer asks only for redelivered messages, the usual copies.
func StoredKeys(ctx context.Context, conn driver.Conn, table string, keys []string) (map[string]bool, error) {
	found := map[string]bool{}
	if len(keys) == 0 {
		return found, nil
	}
	set := make([]any, len(keys))
	for i, k := range keys {
		set[i] = k
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT key FROM stored_keys WHERE kind = ? AND key IN ?",
		table, clickhouse.GroupSet{Value: set})
	if err != nil {
		return nil, fmt.Errorf("look up stored %s keys: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("look up stored %s keys: %w", table, err)
		}
		found[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up stored %s keys: %w", table, err)
	}
	return found, nil
}

func sortedPairs(m map[string]string) (keys, values []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values
}

func jsonOrEmpty(v any, n int) (string, error) {
	if n == 0 {
		return "", nil
	}
	b, err := event.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
