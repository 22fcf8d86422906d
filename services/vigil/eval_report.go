package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/evalreport"
)

// maxHistoryRows bounds the history a report reads: one row per run and metric.
const maxHistoryRows = 20000

func runEvalReport(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("eval report", out)
	against := fs.String("against", "", "run to compare with (A); default: the newest earlier done run of the same dataset version, app and feature; none: no comparison")
	output := fs.String("o", "", "write the report to this file (default eval-report-RUN.html; - for standard output)")
	resamples := fs.Int("resamples", eval.DefaultResamples, "bootstrap resamples")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	level := fs.Float64("level", 0.95, "confidence level of the intervals")
	maxCases := fs.Int("cases", evalreport.DefaultMaxCases, "show at most this many cases with their outputs")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("eval report: give one run id (the run to report on)")
	}
	if *level <= 0 || *level >= 1 || *resamples < 100 || *maxCases < 1 {
		return errors.New("eval report: --level must be in (0, 1), --resamples at least 100 and --cases at least 1")
	}
	_, conn, err := openConfiguredEvalStore(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	run, results, err := loadRun(ctx, conn, pos[0])
	if err != nil {
		return err
	}
	in := evalreport.Input{Run: run, Results: results, MaxCases: *maxCases, Generated: time.Now()}
	againstID := *against
	if againstID == "" {
		if againstID, err = previousRun(ctx, conn, run); err != nil {
			return err
		}
	}
	if againstID != "" && againstID != "none" {
		a, ra, err := loadRun(ctx, conn, againstID)
		if err != nil {
			return err
		}
		c := eval.Compare(ra, results, eval.CompareOptions{Resamples: *resamples, Level: *level, Seed: *seed})
		in.Against, in.AgainstResults, in.Comparison = a, ra, &c
		in.Warnings = coverageWarnings(a, run, c)
	}
	if in.History, err = evalHistory(ctx, conn, run.Dataset); err != nil {
		return err
	}
	var page bytes.Buffer
	if err := evalreport.Render(&page, in); err != nil {
		return err
	}
	dest := *output
	if dest == "-" {
		_, err := out.Write(page.Bytes())
		return err
	}
	if dest == "" {
		dest = "eval-report-" + run.ID + ".html"
	}
	if err := writeFileAtomic(dest, page.Bytes()); err != nil {
		return err
	}
	if in.Against != nil {
		fmt.Fprintf(out, "report of run %s against run %s written to %s\n", run.ID, in.Against.ID, dest)
	} else {
		fmt.Fprintf(out, "report of run %s (no run to compare with) written to %s\n", run.ID, dest)
	}
	return nil
}

// previousRun picks the run a report compares with by default: the newest done run of the same
// dataset version, app and feature that started before run. Start times have whole seconds, so
// runs started in the same second are ordered by when their rows were written (revision).
// "" when there is none.
func previousRun(ctx context.Context, conn driver.Conn, run *eval.Run) (string, error) {
	rows, err := conn.Query(ctx, `SELECT run_id FROM (
		SELECT run_id, min(started_at) AS started, min(revision) AS written, argMax(toString(status), revision) AS state
		FROM eval_runs WHERE dataset = ? AND version = ? AND app = ? AND feature = ?
		GROUP BY run_id
	)
	WHERE state = 'done' AND run_id != ?
		AND (started < ? OR (started = ? AND written < (SELECT min(revision) FROM eval_runs WHERE run_id = ?)))
	ORDER BY started DESC, written DESC LIMIT 1`,
		run.Dataset, run.Version, run.App, run.Feature, run.ID, run.StartedAt, run.StartedAt, run.ID)
	if err != nil {
		return "", fmt.Errorf("find the run before %s: %w", run.ID, err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("find the run before %s: %w", run.ID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("find the run before %s: %w", run.ID, err)
	}
	return id, nil
}

// evalHistory reads v_eval_history for every version of a dataset, oldest run first.
func evalHistory(ctx context.Context, conn driver.Conn, dataset string) ([]evalreport.HistoryPoint, error) {
	rows, err := conn.Query(ctx, `SELECT dataset, version, prompt_version, metric, started_at, run_id, model, status,
		cases, mean_value, pass_rate
	FROM v_eval_history WHERE dataset = ? ORDER BY started_at, run_id, metric LIMIT ?`, dataset, maxHistoryRows)
	if err != nil {
		return nil, fmt.Errorf("read history of dataset %s: %w", dataset, err)
	}
	defer rows.Close()
	var out []evalreport.HistoryPoint
	for rows.Next() {
		var h evalreport.HistoryPoint
		if err := rows.Scan(&h.Dataset, &h.Version, &h.PromptVersion, &h.Metric, &h.StartedAt, &h.RunID, &h.Model,
			&h.Status, &h.Cases, &h.MeanValue, &h.PassRate); err != nil {
			return nil, fmt.Errorf("read history of dataset %s: %w", dataset, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of dataset %s: %w", dataset, err)
	}
	return out, nil
}

// writeFileAtomic writes data to a temporary file next to path and renames it into place, so a
// reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".eval-report-*.html")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
