package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/proto"
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

// InsertModelCalls writes one model_calls row per event in a single INSERT, sent in blocks of
// blockRows rows. An error means the outcome is unknown (a failed or cancelled insert may still
// have landed); the tables tolerate a retry.
func InsertModelCalls(ctx context.Context, conn driver.Conn, events []*event.Event) error {
	return insertModelCallsWith(ctx, conn, events, nil)
}

func insertModelCallsWith(ctx context.Context, conn driver.Conn, events []*event.Event, buffers *columnBuffers) error {
	if len(events) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertModelCalls)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableModelCalls, err)
	}
	defer batch.Abort()
	defer buffers.reclaim()
	events = modelCallsInKeyOrder(events)
	block, err := newModelCallsBlock(batch, min(len(events), blockRows), buffers)
	if err != nil {
		return err
	}
	return sendInBlocks(batch, TableModelCalls, events, block.fill)
}

// sendInBlocks fills batch with rows blockRows at a time, sending each block as it is filled,
// and ends the insert.
func sendInBlocks[T any](batch driver.Batch, table string, rows []T, fill func([]T) error) error {
	for block := range slices.Chunk(rows, blockRows) {
		if err := fill(block); err != nil {
			return err
		}
		if err := batch.Flush(); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// blockRows is how many rows an insert sends per block. ClickHouse squashes the blocks of one
// INSERT into one part, so parts stay as large as the batch, while the client encodes,
// compresses and keeps in memory one block at a time. Each connection keeps its encode and
// compress buffers at the largest block it sent: with whole batches of 10,000 events of 1.5 KB
// as one block, the writer's connections kept about 80 MB.
const blockRows = 1000

// modelCallsBlock fills the columns of a model_calls insert one block at a time, in arrays
// made once per insert. The block is filled column by column: appending row by row boxes every
// value of every row.
type modelCallsBlock struct {
	batch                    driver.Batch
	text                     [modelCallsColumns][]string
	strs                     [modelCallsColumns]*proto.ColStr
	times                    []time.Time
	latency, ttft, cost      []float64
	inTokens, outTokens      []uint64
	keyOffsets, valueOffsets *proto.ColUInt64
	attrKeys, attrValues     *proto.ColStr
}

func newModelCallsBlock(batch driver.Batch, rows int, buffers *columnBuffers) (*modelCallsBlock, error) {
	b := &modelCallsBlock{batch: batch}
	columns := batch.Columns()
	// String columns share one array.
	all := make([]string, len(modelCallsText)*rows)
	for i, c := range modelCallsText {
		b.text[c] = all[i*rows : (i+1)*rows : (i+1)*rows]
		col, err := protoColumn[proto.ColStr](columns[c])
		if err != nil {
			return nil, fmt.Errorf("fill column %d of %s: %w", c, TableModelCalls, err)
		}
		buffers.lend(col)
		b.strs[c] = col
	}
	b.times = make([]time.Time, rows)
	b.latency, b.ttft, b.cost = make([]float64, rows), make([]float64, rows), make([]float64, rows)
	b.inTokens, b.outTokens = make([]uint64, rows), make([]uint64, rows)
	var err error
	if b.keyOffsets, b.attrKeys, err = arrayColumn[proto.ColStr](columns[30]); err != nil {
		return nil, fmt.Errorf("append attributes to %s: %w", TableModelCalls, err)
	}
	if b.valueOffsets, b.attrValues, err = arrayColumn[proto.ColStr](columns[31]); err != nil {
		return nil, fmt.Errorf("append attributes to %s: %w", TableModelCalls, err)
	}
	return b, nil
}

// fill appends one block of events; the block must be empty (new, or flushed).
func (b *modelCallsBlock) fill(events []*event.Event) error {
	n := len(events)
	text := &b.text
	attributes := uint64(0) // array offsets count from the start of the block
	for i, ev := range events {
		s := ev.Series()
		messages, err := jsonOrEmpty(ev.Messages, len(ev.Messages))
		if err != nil {
			return err
		}
		passages, err := jsonOrEmpty(ev.Context, len(ev.Context))
		if err != nil {
			return err
		}
		text[0][i], b.times[i], text[2][i], text[3][i], text[4][i], text[5][i] = ev.EventID, ev.Timestamp, s.App, s.Environment, s.Feature, ev.Stage
		text[6][i], text[7][i], text[8][i], text[9][i], text[10][i] = ev.TraceID, ev.SpanID, ev.ParentSpanID, ev.Provider, ev.Model
		text[11][i], text[12][i], text[13][i], text[14][i], text[15][i] = ev.PromptID, s.PromptVersion, ev.Input, messages, ev.Output
		text[16][i], text[17][i], text[18][i], text[19][i] = ev.SystemInstructions, ev.Expected, passages, ev.OutputSchema
		b.latency[i], b.ttft[i], b.inTokens[i], b.outTokens[i], b.cost[i] = ev.LatencyMS, ev.TTFTMS, uint64(ev.InputTokens), uint64(ev.OutputTokens), ev.CostUSD
		text[25][i], text[26][i], text[27][i], text[28][i], text[29][i] = ev.FinishReason, ev.Status, ev.Error, ev.UserID, ev.SessionID
		keys, values := sortedPairs(ev.Attributes)
		b.attrKeys.AppendArr(keys)
		b.attrValues.AppendArr(values)
		attributes += uint64(len(keys))
		*b.keyOffsets, *b.valueOffsets = append(*b.keyOffsets, attributes), append(*b.valueOffsets, attributes)
	}
	for _, c := range modelCallsText {
		appendStrs(b.strs[c], text[c][:n])
	}
	columns := [modelCallsColumns]any{1: b.times[:n], 20: b.latency[:n], 21: b.ttft[:n], 22: b.inTokens[:n], 23: b.outTokens[:n], 24: b.cost[:n]}
	for c, values := range columns {
		if values == nil {
			continue // the text columns and the attribute arrays, appended above
		}
		if err := b.batch.Column(c).Append(values); err != nil {
			return fmt.Errorf("append column %d of %d rows to %s: %w", c, n, TableModelCalls, err)
		}
	}
	return nil
}

// modelCallsColumns is the number of columns insertModelCalls names; modelCallsText are the
// positions of its String columns.
const modelCallsColumns = 32

var modelCallsText = [...]int{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 25, 26, 27, 28, 29}

// InsertScores writes one scores row per scored record, its checks as parallel arrays, and adds
// the records to the quality_5m rollup.
func InsertScores(ctx context.Context, conn driver.Conn, records []*event.Scored) error {
	return insertScoresWith(ctx, conn, records, nil)
}

func insertScoresWith(ctx context.Context, conn driver.Conn, records []*event.Scored, buffers *columnBuffers) error {
	if len(records) == 0 {
		return nil
	}
	records = scoresInKeyOrder(records)
	// The rollup first: should the scores insert fail after it, the records come again and the
	// rollup counts them twice (it is documented as approximate), never not at all.
	if err := insertQualityRollup(ctx, conn, records); err != nil {
		return err
	}
	batch, err := conn.PrepareBatch(ctx, insertScores)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableScores, err)
	}
	defer batch.Abort()
	defer buffers.reclaim()
	block := newScoresBlock(batch, min(len(records), blockRows), buffers)
	return sendInBlocks(batch, TableScores, records, block.fill)
}

// scoresBlock fills the columns of a scores insert one block at a time, its string and time
// arrays made once per insert. The block is filled column by column: appending row by row boxes
// every value, and every element of the metric arrays.
type scoresBlock struct {
	batch   driver.Batch
	buffers *columnBuffers
	text    [scoresColumns][]string
	times   []time.Time
}

func newScoresBlock(batch driver.Batch, rows int, buffers *columnBuffers) *scoresBlock {
	b := &scoresBlock{batch: batch, buffers: buffers, times: make([]time.Time, rows)}
	// Columns in the order of insertScores: string columns share one array.
	all := make([]string, len(scoresText)*rows)
	for i, c := range scoresText {
		b.text[c] = all[i*rows : (i+1)*rows : (i+1)*rows]
	}
	return b
}

// fill appends one block of records; the block must be empty (new, or flushed).
func (b *scoresBlock) fill(records []*event.Scored) error {
	blockColumns := b.batch.Columns()
	if len(blockColumns) != scoresColumns {
		return fmt.Errorf("fill insert into %s: the block has %d columns, want %d", TableScores, len(blockColumns), scoresColumns)
	}
	n := len(records)
	text, times := &b.text, b.times[:n]
	for i, r := range records {
		s := r.Series
		text[0][i], times[i], text[2][i], text[3][i], text[4][i], text[5][i] = r.EventID, r.Timestamp, s.App, s.Environment, s.Feature, r.Stage
		text[6][i], text[7][i], text[8][i], text[9][i] = s.Model, s.PromptVersion, r.Source, r.RulesVersion
	}
	for _, c := range scoresText {
		if err := appendStrings(b.batch, c, text[c][:n], TableScores, b.buffers); err != nil {
			return err
		}
	}
	if err := b.batch.Column(1).Append(times); err != nil {
		return fmt.Errorf("append column 1 of %d rows to %s: %w", n, TableScores, err)
	}
	if err := fillScoreArrays(blockColumns[scoresText[len(scoresText)-1]+1:], records, b.buffers); err != nil {
		return fmt.Errorf("append metric arrays of %d rows to %s: %w", n, TableScores, err)
	}
	return nil
}

// scoresColumns is the number of columns insertScores names; scoresText are the positions of its
// String columns, which the metric arrays follow.
const scoresColumns = 16

var scoresText = [...]int{0, 2, 3, 4, 5, 6, 7, 8, 9}

// appendStrings appends the whole String column c of table, in arrays lent by buffers, room made
// first for its bytes.
func appendStrings(batch driver.Batch, c int, values []string, table string, buffers *columnBuffers) error {
	col, err := protoColumn[proto.ColStr](batch.Columns()[c])
	if err != nil {
		return fmt.Errorf("append column %d of %d rows to %s: %w", c, len(values), table, err)
	}
	buffers.lend(col)
	appendStrs(col, values)
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
// The keys travel in the query's text, which ClickHouse caps at max_query_size (256 KiB by
// default): a redelivered batch of thousands of rows is looked up in several queries.
func StoredKeys(ctx context.Context, conn driver.Conn, table string, keys []string) (map[string]bool, error) {
	found := map[string]bool{}
	for len(keys) > 0 {
		n, size := 0, 0
		for ; n < len(keys); n++ {
			if size += quotedSize(keys[n]); n > 0 && size > storedKeysQueryBytes {
				break
			}
		}
		if err := lookUpStoredKeys(ctx, conn, table, keys[:n], found); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return found, nil
}

// storedKeysQueryBytes bounds the keys of one lookup query, well under the 262,144 bytes of
// ClickHouse's default max_query_size.
const storedKeysQueryBytes = 128 << 10

// quotedSize is what key adds to a query's text: itself with its quotes and backslashes
// escaped, in quotes, and the comma and space after it.
func quotedSize(key string) int {
	return len(key) + strings.Count(key, "'") + strings.Count(key, `\`) + 4
}

func lookUpStoredKeys(ctx context.Context, conn driver.Conn, table string, keys []string, found map[string]bool) error {
	set := make([]any, len(keys))
	for i, k := range keys {
		set[i] = k
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT key FROM stored_keys WHERE kind = ? AND key IN ?",
		table, clickhouse.GroupSet{Value: set})
	if err != nil {
		return fmt.Errorf("look up stored %s keys: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fmt.Errorf("look up stored %s keys: %w", table, err)
		}
		found[k] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up stored %s keys: %w", table, err)
	}
	return nil
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
