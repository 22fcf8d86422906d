package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
)

// Eval table names.
const (
	TableEvalDatasets = "eval_datasets"
	TableEvalCases    = "eval_cases"
	TableEvalRuns     = "eval_runs"
	TableEvalResults  = "eval_results"
)

// ErrNotFound marks a dataset version or an eval run that is not stored.
var ErrNotFound = errors.New("store: not found")

// DatasetInfo describes one stored dataset version.
type DatasetInfo struct {
	Name    string
	Version uint32
	Cases   uint32
	Hash    string
	// Source says where the cases came from: the file name, or "traffic:<app>/<feature>".
	Source    string
	CreatedAt time.Time
}

const insertEvalCases = `INSERT INTO eval_cases (dataset, version, case_id, position, input, messages,
	expected, context, output_schema, tags, system_instructions)`

const insertEvalDatasets = `INSERT INTO eval_datasets (name, version, cases, content_hash, source, created_at)`

// InsertDataset stores a dataset version: its cases first, then the row that lists the version,
// so a version appears only once its cases are stored. Versions are immutable: callers pick a
// version that is not stored yet. An error means the outcome is unknown; inserting the same
// version again is harmless.
func InsertDataset(ctx context.Context, conn driver.Conn, info DatasetInfo, cases []eval.Case) error {
	batch, err := conn.PrepareBatch(ctx, insertEvalCases)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableEvalCases, err)
	}
	defer batch.Abort()
	for i := range cases {
		c := &cases[i]
		messages, err := eval.EncodeJSON(c.Messages)
		if err != nil {
			return err
		}
		passages, err := eval.EncodeJSON(c.Context)
		if err != nil {
			return err
		}
		tags := c.Tags
		if tags == nil {
			tags = []string{}
		}
		if err := batch.Append(info.Name, info.Version, c.ID, uint32(i), c.Input, messages, c.Expected,
			passages, c.OutputSchema, tags, c.SystemInstructions); err != nil {
			return fmt.Errorf("append case %s to %s: %w", c.ID, TableEvalCases, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(cases), TableEvalCases, err)
	}
	dbatch, err := conn.PrepareBatch(ctx, insertEvalDatasets)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableEvalDatasets, err)
	}
	defer dbatch.Abort()
	if err := dbatch.Append(info.Name, info.Version, info.Cases, info.Hash, info.Source, info.CreatedAt); err != nil {
		return fmt.Errorf("append dataset %s to %s: %w", eval.Ref(info.Name, info.Version), TableEvalDatasets, err)
	}
	if err := dbatch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", TableEvalDatasets, err)
	}
	return nil
}

// Datasets lists the stored dataset versions, of one dataset or (name "") of all, by name and
// version.
func Datasets(ctx context.Context, conn driver.Conn, name string) ([]DatasetInfo, error) {
	q := `SELECT name, version, cases, content_hash, source, created_at FROM eval_datasets FINAL`
	var args []any
	if name != "" {
		q += ` WHERE name = ?`
		args = append(args, name)
	}
	rows, err := conn.Query(ctx, q+` ORDER BY name, version`, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", TableEvalDatasets, err)
	}
	defer rows.Close()
	var out []DatasetInfo
	for rows.Next() {
		var d DatasetInfo
		if err := rows.Scan(&d.Name, &d.Version, &d.Cases, &d.Hash, &d.Source, &d.CreatedAt); err != nil {
			return nil, fmt.Errorf("list %s: %w", TableEvalDatasets, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", TableEvalDatasets, err)
	}
	return out, nil
}

// Dataset returns one version of a dataset (version 0: the latest), or ErrNotFound.
func Dataset(ctx context.Context, conn driver.Conn, name string, version uint32) (DatasetInfo, error) {
	all, err := Datasets(ctx, conn, name)
	if err != nil {
		return DatasetInfo{}, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if version == 0 || all[i].Version == version {
			return all[i], nil
		}
	}
	if version == 0 {
		return DatasetInfo{}, fmt.Errorf("dataset %s: %w", name, ErrNotFound)
	}
	return DatasetInfo{}, fmt.Errorf("dataset %s: %w", eval.Ref(name, version), ErrNotFound)
}

// DatasetCases returns the cases of a stored dataset version in file order.
func DatasetCases(ctx context.Context, conn driver.Conn, name string, version uint32) ([]eval.Case, error) {
	rows, err := conn.Query(ctx, `SELECT case_id, input, messages, expected, context, output_schema, tags,
		system_instructions FROM eval_cases FINAL WHERE dataset = ? AND version = ? ORDER BY position`, name, version)
	if err != nil {
		return nil, fmt.Errorf("read cases of %s: %w", eval.Ref(name, version), err)
	}
	defer rows.Close()
	var out []eval.Case
	for rows.Next() {
		var id, input, messages, expected, passages, schema, system string
		var tags []string
		if err := rows.Scan(&id, &input, &messages, &expected, &passages, &schema, &tags, &system); err != nil {
			return nil, fmt.Errorf("read cases of %s: %w", eval.Ref(name, version), err)
		}
		c, err := eval.CaseFromColumns(id, input, messages, expected, passages, schema, tags, system)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cases of %s: %w", eval.Ref(name, version), err)
	}
	return out, nil
}

const insertEvalRuns = `INSERT INTO eval_runs (run_id, dataset, version, app, feature, prompt_version, model,
	target, params, started_at, finished_at, status, cases, summary, revision)`

// InsertRun records the current state of a run. The newest call wins: each row carries a
// revision taken from the clock.
func InsertRun(ctx context.Context, conn driver.Conn, r *eval.Run) error {
	summary, err := json.Marshal(r.Summary)
	if err != nil {
		return fmt.Errorf("encode summary of run %s: %w", r.ID, err)
	}
	var finished *time.Time
	if !r.FinishedAt.IsZero() {
		finished = &r.FinishedAt
	}
	batch, err := conn.PrepareBatch(ctx, insertEvalRuns)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableEvalRuns, err)
	}
	defer batch.Abort()
	if err := batch.Append(r.ID, r.Dataset, r.Version, r.App, r.Feature, r.PromptVersion, r.Model, r.Target,
		r.Params, r.StartedAt, finished, string(r.Status), r.Cases, string(summary), revision()); err != nil {
		return fmt.Errorf("append run %s to %s: %w", r.ID, TableEvalRuns, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", TableEvalRuns, err)
	}
	return nil
}

// Run returns the latest state of a run, or ErrNotFound.
func Run(ctx context.Context, conn driver.Conn, id string) (*eval.Run, error) {
	runs, err := queryRuns(ctx, conn, "run_id = ?", []any{id}, 1)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", id, err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("eval run %s: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

func queryRuns(ctx context.Context, conn driver.Conn, where string, args []any, limit int) ([]*eval.Run, error) {
	rows, err := conn.Query(ctx, `SELECT run_id, dataset, version, app, feature, prompt_version, model, target,
		params, started_at, finished_at, toString(status), cases, summary FROM eval_runs FINAL
		WHERE `+where+` ORDER BY started_at DESC, revision DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*eval.Run
	for rows.Next() {
		var (
			r        eval.Run
			finished *time.Time
			status   string
			summary  string
		)
		if err := rows.Scan(&r.ID, &r.Dataset, &r.Version, &r.App, &r.Feature, &r.PromptVersion, &r.Model, &r.Target,
			&r.Params, &r.StartedAt, &finished, &status, &r.Cases, &summary); err != nil {
			return nil, err
		}
		r.Status = eval.Status(status)
		if finished != nil {
			r.FinishedAt = *finished
		}
		if summary != "" {
			if err := json.Unmarshal([]byte(summary), &r.Summary); err != nil {
				return nil, fmt.Errorf("decode summary of run %s: %w", r.ID, err)
			}
		}
		runs = append(runs, &r)
	}
	return runs, rows.Err()
}

const insertEvalResults = `INSERT INTO eval_results (run_id, case_id, started_at, finished_at, dataset, version,
	app, feature, prompt_version, model, tags, output, latency_ms, attempts, error, source, rules_version,
	metric_names, metric_kinds, metric_values, metric_passed, metric_labels, metric_reasons, revision)`

// InsertResults writes one eval_results row per result of run, its scores as parallel arrays
// with source and rulesVersion. An error means the outcome is unknown; the table tolerates a
// retry.
func InsertResults(ctx context.Context, conn driver.Conn, run *eval.Run, rulesVersion string, results []eval.Result) error {
	if len(results) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertEvalResults)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableEvalResults, err)
	}
	defer batch.Abort()
	rev := revision()
	for _, r := range results {
		n := len(r.Scores)
		names, kinds, labels, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		values, passed := make([]float64, n), make([]uint8, n)
		for i, sc := range r.Scores {
			names[i], kinds[i], labels[i], reasons[i], values[i] = sc.Metric, string(sc.Kind), sc.Label, sc.Reason, sc.Value
			if sc.Pass {
				passed[i] = 1
			}
		}
		tags := r.Tags
		if tags == nil {
			tags = []string{}
		}
		if err := batch.Append(run.ID, r.CaseID, run.StartedAt, r.FinishedAt, run.Dataset, run.Version, run.App,
			run.Feature, run.PromptVersion, run.Model, tags, r.Output, r.LatencyMS, uint32(r.Attempts), r.Error,
			eval.Source, rulesVersion, names, kinds, values, passed, labels, reasons, rev); err != nil {
			return fmt.Errorf("append result %s/%s to %s: %w", run.ID, r.CaseID, TableEvalResults, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(results), TableEvalResults, err)
	}
	return nil
}

// Results returns the stored results of a run, by case id.
func Results(ctx context.Context, conn driver.Conn, runID string) ([]eval.Result, error) {
	rows, err := conn.Query(ctx, `SELECT case_id, tags, output, latency_ms, attempts, error, finished_at,
		metric_names, metric_kinds, metric_values, metric_passed, metric_labels, metric_reasons
		FROM eval_results FINAL WHERE run_id = ? ORDER BY case_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read results of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []eval.Result
	for rows.Next() {
		r := eval.Result{RunID: runID}
		var (
			attempts                     uint32
			names, kinds, labels, reason []string
			values                       []float64
			passed                       []uint8
		)
		if err := rows.Scan(&r.CaseID, &r.Tags, &r.Output, &r.LatencyMS, &attempts, &r.Error, &r.FinishedAt,
			&names, &kinds, &values, &passed, &labels, &reason); err != nil {
			return nil, fmt.Errorf("read results of run %s: %w", runID, err)
		}
		r.Attempts = int(attempts)
		if len(kinds) != len(names) || len(values) != len(names) || len(passed) != len(names) ||
			len(labels) != len(names) || len(reason) != len(names) {
			return nil, fmt.Errorf("read results of run %s: case %s has metric arrays of different lengths", runID, r.CaseID)
		}
		for i := range names {
			r.Scores = append(r.Scores, event.Score{Metric: names[i], Kind: event.Kind(kinds[i]), Value: values[i],
				Pass: passed[i] != 0, Label: labels[i], Reason: reason[i]})
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of run %s: %w", runID, err)
	}
	return out, nil
}

// FinishedCases returns the ids of the cases of a run that have a result without an error: the
// cases a resumed run skips.
func FinishedCases(ctx context.Context, conn driver.Conn, runID string) (map[string]bool, error) {
	rows, err := conn.Query(ctx, `SELECT case_id FROM eval_results FINAL WHERE run_id = ? AND error = ''`, runID)
	if err != nil {
		return nil, fmt.Errorf("read finished cases of run %s: %w", runID, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read finished cases of run %s: %w", runID, err)
		}
		done[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read finished cases of run %s: %w", runID, err)
	}
	return done, nil
}

// TrafficSample selects live model calls to turn into eval cases.
type TrafficSample struct {
	App, Feature string
	Since        time.Time
	// N is how many calls to draw: half from calls with a failed check, half from calls that
	// passed every check; when one side has too few, the other fills in.
	N int
	// Seed picks the sample: the same seed over the same data draws the same calls.
	Seed uint64
}

// SampleTraffic draws calls of app and feature since s.Since from v_model_calls, stratified by
// outcome in v_scores (calls not scored yet are left out), and returns them as cases: the call's
// input, messages, expected answer, context, contract and system instructions, its event id as
// case id, and the tags traffic, traffic:failing or traffic:passing and failed:<metric> for each
// failed check. Failing calls come first.
func SampleTraffic(ctx context.Context, conn driver.Conn, s TrafficSample) ([]eval.Case, error) {
	failing, err := sampleTraffic(ctx, conn, s, true, s.N)
	if err != nil {
		return nil, err
	}
	passing, err := sampleTraffic(ctx, conn, s, false, s.N)
	if err != nil {
		return nil, err
	}
	nf := min(len(failing), s.N/2)
	np := min(len(passing), s.N-nf)
	nf = min(len(failing), s.N-np)
	return append(failing[:nf], passing[:np]...), nil
}

func sampleTraffic(ctx context.Context, conn driver.Conn, s TrafficSample, failed bool, limit int) ([]eval.Case, error) {
	outcome := "length(failed) = 0"
	if failed {
		outcome = "length(failed) > 0"
	}
	rows, err := conn.Query(ctx, `SELECT event_id, input, messages, expected, context, output_schema,
		system_instructions, failed
	FROM (
		SELECT event_id, input, messages, expected, context, output_schema, system_instructions
		FROM v_model_calls
		WHERE app = ? AND feature = ? AND timestamp >= ? AND (input != '' OR messages != '')
	) ANY INNER JOIN (
		SELECT event_id, groupUniqArrayIf(metric, pass = 0) AS failed
		FROM v_scores
		WHERE app = ? AND feature = ? AND timestamp >= ?
		GROUP BY event_id
	) USING event_id
	WHERE `+outcome+`
	ORDER BY cityHash64(event_id, ?), event_id
	LIMIT ?`, s.App, s.Feature, s.Since, s.App, s.Feature, s.Since, s.Seed, limit)
	if err != nil {
		return nil, fmt.Errorf("sample traffic of %s/%s: %w", s.App, s.Feature, err)
	}
	defer rows.Close()
	var out []eval.Case
	for rows.Next() {
		var id, input, messages, expected, passages, schema, system string
		var failedChecks []string
		if err := rows.Scan(&id, &input, &messages, &expected, &passages, &schema, &system, &failedChecks); err != nil {
			return nil, fmt.Errorf("sample traffic of %s/%s: %w", s.App, s.Feature, err)
		}
		tags := []string{"traffic", "traffic:passing"}
		if failed {
			tags[1] = "traffic:failing"
			slices.Sort(failedChecks)
			for _, m := range failedChecks {
				if t := "failed:" + m; eval.ValidTag(t) && len(tags) < 32 {
					tags = append(tags, t)
				}
			}
		}
		c, err := eval.CaseFromColumns(id, input, messages, expected, passages, schema, tags, system)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample traffic of %s/%s: %w", s.App, s.Feature, err)
	}
	return out, nil
}

// revision orders the states of a row: the newest insert wins in FINAL reads.
func revision() uint64 { return uint64(time.Now().UnixNano()) }

// RunFilter selects runs for Runs; empty fields match every run.
type RunFilter struct {
	Dataset       string
	Version       uint32
	App           string
	Feature       string
	PromptVersion string
	Status        eval.Status
	// Limit caps the runs returned (0: 100).
	Limit int
}

// Runs returns the latest state of the runs f selects, newest first (by start, then by the time
// of their last state change).
func Runs(ctx context.Context, conn driver.Conn, f RunFilter) ([]*eval.Run, error) {
	where := "1 = 1"
	var args []any
	for _, c := range []struct {
		col string
		v   any
		set bool
	}{
		{"dataset", f.Dataset, f.Dataset != ""},
		{"version", f.Version, f.Version != 0},
		{"app", f.App, f.App != ""},
		{"feature", f.Feature, f.Feature != ""},
		{"prompt_version", f.PromptVersion, f.PromptVersion != ""},
		{"toString(status)", string(f.Status), f.Status != ""},
	} {
		if c.set {
			where += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	runs, err := queryRuns(ctx, conn, where, args, limit)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", TableEvalRuns, err)
	}
	return runs, nil
}
