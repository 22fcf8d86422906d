package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/store"
)

const versionsUsage = `usage: vigil versions [--app A] [--environment E] [--since 1h] [--baseline-window 1h] [--json]

Which prompt and model versions each app and feature is serving (from v_model_calls), with each
version's share of traffic, its latest eval run, its live pass rate per metric against its
baseline (the accepted eval run of the version, or else the version's earliest window of
traffic), and its open alerts.
`

// Baseline sources of a version's live quality.
const (
	baselineAccepted = "accepted_eval_run"
	baselineEarliest = "earliest_window"
	baselineNone     = "none"
)

// versionsReport is the output of vigil versions; --json prints it as is.
type versionsReport struct {
	Since    time.Time         `json:"since"`
	Until    time.Time         `json:"until"`
	Features []featureVersions `json:"features"`
}

type featureVersions struct {
	App      string          `json:"app"`
	Feature  string          `json:"feature"`
	Events   uint64          `json:"events"`
	Versions []servedVersion `json:"versions"`
}

type servedVersion struct {
	PromptVersion string    `json:"prompt_version"`
	Model         string    `json:"model"`
	Events        uint64    `json:"events"`
	Share         float64   `json:"share"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	// LatestEval is the newest done eval run of the app, feature and prompt version; nil if none.
	LatestEval *evalRunScores `json:"latest_eval"`
	Baseline   baselineInfo   `json:"baseline"`
	Quality    []liveMetric   `json:"quality"`
	Alerts     []openAlert    `json:"open_alerts"`
}

type evalRunScores struct {
	RunID      string               `json:"run_id"`
	Dataset    string               `json:"dataset"`
	Model      string               `json:"model"`
	StartedAt  time.Time            `json:"started_at"`
	Metrics    []eval.MetricSummary `json:"metrics"`
	passByName map[string]float64
}

type baselineInfo struct {
	// Source is accepted_eval_run, earliest_window or none (no score of the version yet).
	Source     string     `json:"source"`
	RunID      string     `json:"run_id,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	From       *time.Time `json:"from,omitempty"`
	To         *time.Time `json:"to,omitempty"`
	// Overlaps says the baseline window reaches into the live window, so the two are not
	// independent (a version younger than --baseline-window is compared with itself).
	Overlaps bool   `json:"overlaps_live_window,omitempty"`
	Note     string `json:"note"`
}

type liveMetric struct {
	Metric   string  `json:"metric"`
	Source   string  `json:"source"`
	N        uint64  `json:"n"`
	PassRate float64 `json:"pass_rate"`
	Mean     float64 `json:"mean"`
	// BaselinePassRate is nil when the baseline has no value for the metric; Change is the live
	// pass rate minus it.
	BaselinePassRate *float64 `json:"baseline_pass_rate"`
	BaselineN        uint64   `json:"baseline_n"`
	Change           *float64 `json:"change"`
	// EvalPassRate is the metric's pass rate in LatestEval, nil if that run did not score it.
	EvalPassRate *float64 `json:"eval_pass_rate"`
}

type openAlert struct {
	State     string    `json:"state"`
	Severity  string    `json:"severity"`
	AlertName string    `json:"alertname"`
	Metric    string    `json:"metric"`
	Summary   string    `json:"summary"`
	StartsAt  time.Time `json:"starts_at"`
}

// versionsQuery selects what vigil versions reports.
type versionsQuery struct {
	App, Environment string
	Since, Until     time.Time
	// Window is the length of a version's earliest window of traffic, its baseline when no eval
	// run of it was accepted.
	Window time.Duration
}

func runVersions(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("versions", out)
	app := fs.String("app", "", "only this app")
	env := fs.String("environment", "", "only this environment (default: every environment but eval)")
	since := fs.String("since", "1h", "report traffic since this long ago (1h, 7d) or this RFC 3339 time")
	window := fs.Duration("baseline-window", time.Hour, "without an accepted eval run, a version's first this long of traffic is its baseline")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() { fmt.Fprint(out, versionsUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var problems []string
	if len(pos) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	now := time.Now().UTC()
	from, err := parseSince(*since, now)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if *window <= 0 {
		problems = append(problems, fmt.Sprintf("--baseline-window %v: want a positive duration", *window))
	}
	if len(problems) > 0 {
		return fmt.Errorf("versions: %s", strings.Join(problems, "; "))
	}
	_, conn, err := openConfiguredEvalStore(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := collectVersions(ctx, conn, versionsQuery{App: *app, Environment: *env, Since: from, Until: now, Window: *window})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printVersions(out, rep, *since)
	return nil
}

// collectVersions gathers the report from ClickHouse: traffic from v_model_calls, live quality
// and baselines from v_scores, eval runs from eval_runs, acceptances from v_eval_acceptances
// (when the schema has it) and alerts from v_alerts.
func collectVersions(ctx context.Context, conn driver.Conn, q versionsQuery) (*versionsReport, error) {
	rep := &versionsReport{Since: q.Since, Until: q.Until, Features: []featureVersions{}}
	filter, fargs := q.filter()
	rows, err := conn.Query(ctx, `SELECT app, feature, prompt_version, model, count(), min(timestamp), max(timestamp)
	FROM v_model_calls WHERE timestamp >= ? AND timestamp <= ?`+filter+`
	GROUP BY app, feature, prompt_version, model
	ORDER BY app, feature, count() DESC, prompt_version, model`, append([]any{q.Since, q.Until}, fargs...)...)
	if err != nil {
		return nil, fmt.Errorf("read versions from v_model_calls: %w", err)
	}
	for rows.Next() {
		var app, feature string
		var v servedVersion
		if err := rows.Scan(&app, &feature, &v.PromptVersion, &v.Model, &v.Events, &v.FirstSeen, &v.LastSeen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read versions from v_model_calls: %w", err)
		}
		v.Quality, v.Alerts = []liveMetric{}, []openAlert{}
		if n := len(rep.Features); n == 0 || rep.Features[n-1].App != app || rep.Features[n-1].Feature != feature {
			rep.Features = append(rep.Features, featureVersions{App: app, Feature: feature})
		}
		f := &rep.Features[len(rep.Features)-1]
		f.Events += v.Events
		f.Versions = append(f.Versions, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read versions from v_model_calls: %w", err)
	}
	if len(rep.Features) == 0 {
		return rep, nil
	}
	live, err := liveQuality(ctx, conn, q)
	if err != nil {
		return nil, err
	}
	alerts, err := openAlerts(ctx, conn, q.App)
	if err != nil {
		return nil, err
	}
	accepted, err := hasTable(ctx, conn, "v_eval_acceptances")
	if err != nil {
		return nil, err
	}
	for fi := range rep.Features {
		f := &rep.Features[fi]
		for vi := range f.Versions {
			v := &f.Versions[vi]
			v.Share = float64(v.Events) / float64(f.Events)
			key := versionKey{f.App, f.Feature, v.PromptVersion, v.Model}
			if a := alerts[key]; a != nil {
				v.Alerts = a
			}
			if v.LatestEval, err = latestEval(ctx, conn, f.App, f.Feature, v.PromptVersion); err != nil {
				return nil, err
			}
			base, info, err := versionBaseline(ctx, conn, q, key, accepted)
			if err != nil {
				return nil, err
			}
			v.Baseline = info
			for _, m := range live[key] {
				if b, ok := base[m.Metric]; ok {
					rate, change := b.PassRate, m.PassRate-b.PassRate
					m.BaselinePassRate, m.BaselineN, m.Change = &rate, b.N, &change
				}
				if v.LatestEval != nil {
					if p, ok := v.LatestEval.passByName[m.Metric]; ok {
						m.EvalPassRate = &p
					}
				}
				v.Quality = append(v.Quality, m)
			}
		}
	}
	return rep, nil
}

type versionKey struct{ app, feature, promptVersion, model string }

// filter returns the SQL conditions (with leading AND) and arguments for app and environment.
// Eval traffic never counts as serving.
func (q versionsQuery) filter() (string, []any) {
	sql := ` AND environment != 'eval'`
	var args []any
	if q.App != "" {
		sql += ` AND app = ?`
		args = append(args, q.App)
	}
	if q.Environment != "" {
		sql += ` AND environment = ?`
		args = append(args, q.Environment)
	}
	return sql, args
}

// liveQuality reads each version's pass rate and mean per metric in the live window from
// v_scores: the live checks and any other live source (judges, feedback), never eval results.
func liveQuality(ctx context.Context, conn driver.Conn, q versionsQuery) (map[versionKey][]liveMetric, error) {
	filter, fargs := q.filter()
	rows, err := conn.Query(ctx, `SELECT app, feature, prompt_version, model, source, metric, count(), avg(pass), avg(value)
	FROM v_scores WHERE timestamp >= ? AND timestamp <= ? AND source != ?`+filter+`
	GROUP BY app, feature, prompt_version, model, source, metric
	ORDER BY app, feature, prompt_version, model, metric, source`, append([]any{q.Since, q.Until, eval.Source}, fargs...)...)
	if err != nil {
		return nil, fmt.Errorf("read live quality from v_scores: %w", err)
	}
	defer rows.Close()
	out := map[versionKey][]liveMetric{}
	for rows.Next() {
		var k versionKey
		var m liveMetric
		if err := rows.Scan(&k.app, &k.feature, &k.promptVersion, &k.model, &m.Source, &m.Metric, &m.N, &m.PassRate, &m.Mean); err != nil {
			return nil, fmt.Errorf("read live quality from v_scores: %w", err)
		}
		out[k] = append(out[k], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read live quality from v_scores: %w", err)
	}
	return out, nil
}

// openAlerts returns the alerts whose latest transition is pending or firing, by version.
func openAlerts(ctx context.Context, conn driver.Conn, app string) (map[versionKey][]openAlert, error) {
	where, args := "", []any{}
	if app != "" {
		where, args = " WHERE app = ?", append(args, app)
	}
	rows, err := conn.Query(ctx, `SELECT app, feature, prompt_version, model, state, severity, alertname, metric, summary, starts_at
	FROM (
		SELECT fingerprint, app, feature, prompt_version, model,
			toString(argMax(state, sequence)) AS state, toString(argMax(severity, sequence)) AS severity,
			argMax(alertname, sequence) AS alertname, argMax(metric, sequence) AS metric,
			argMax(summary, sequence) AS summary, argMax(starts_at, sequence) AS starts_at
		FROM v_alerts`+where+`
		GROUP BY fingerprint, app, feature, prompt_version, model
	)
	WHERE state IN ('pending', 'firing')
	ORDER BY starts_at, fingerprint`, args...)
	if err != nil {
		return nil, fmt.Errorf("read open alerts from v_alerts: %w", err)
	}
	defer rows.Close()
	out := map[versionKey][]openAlert{}
	for rows.Next() {
		var k versionKey
		var a openAlert
		if err := rows.Scan(&k.app, &k.feature, &k.promptVersion, &k.model, &a.State, &a.Severity, &a.AlertName, &a.Metric,
			&a.Summary, &a.StartsAt); err != nil {
			return nil, fmt.Errorf("read open alerts from v_alerts: %w", err)
		}
		out[k] = append(out[k], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read open alerts from v_alerts: %w", err)
	}
	return out, nil
}

func hasTable(ctx context.Context, conn driver.Conn, name string) (bool, error) {
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?`,
		name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up table %s: %w", name, err)
	}
	return n > 0, nil
}

func latestEval(ctx context.Context, conn driver.Conn, app, feature, promptVersion string) (*evalRunScores, error) {
	runs, err := store.Runs(ctx, conn, store.RunFilter{App: app, Feature: feature, PromptVersion: promptVersion,
		Status: eval.StatusDone, Limit: 1})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return runScores(runs[0]), nil
}

func runScores(r *eval.Run) *evalRunScores {
	s := &evalRunScores{RunID: r.ID, Dataset: eval.Ref(r.Dataset, r.Version), Model: r.Model, StartedAt: r.StartedAt,
		Metrics: r.Summary.Metrics, passByName: map[string]float64{}}
	if s.Metrics == nil {
		s.Metrics = []eval.MetricSummary{}
	}
	for _, m := range s.Metrics {
		s.passByName[m.Metric] = m.PassRate
	}
	return s
}

type baselineValue struct {
	PassRate float64
	N        uint64
}

// versionBaseline returns a version's baseline pass rate per metric: the run accepted for it
// (for its model, or for every model), or else its earliest window of live traffic.
func versionBaseline(ctx context.Context, conn driver.Conn, q versionsQuery, k versionKey, acceptances bool) (map[string]baselineValue, baselineInfo, error) {
	if acceptances {
		var runID string
		var at time.Time
		err := conn.QueryRow(ctx, `SELECT run_id, accepted_at FROM v_eval_acceptances
		WHERE app = ? AND feature = ? AND prompt_version = ? AND (model = ? OR model = '')
		ORDER BY model = '', accepted_at DESC LIMIT 1`, k.app, k.feature, k.promptVersion, k.model).Scan(&runID, &at)
		switch {
		case err == nil:
			run, err := store.Run(ctx, conn, runID)
			if err != nil {
				return nil, baselineInfo{}, fmt.Errorf("read accepted run of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
			}
			out := map[string]baselineValue{}
			for _, m := range run.Summary.Metrics {
				out[m.Metric] = baselineValue{PassRate: m.PassRate, N: uint64(m.N)}
			}
			return out, baselineInfo{Source: baselineAccepted, RunID: runID, AcceptedAt: &at,
				Note: fmt.Sprintf("accepted eval run %s (%s, accepted %s)", runID, eval.Ref(run.Dataset, run.Version), at.UTC().Format(time.DateTime))}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, baselineInfo{}, fmt.Errorf("read acceptance of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
		}
	}
	filter, fargs := q.filter()
	var first time.Time
	var n uint64
	args := append([]any{k.app, k.feature, k.promptVersion, k.model, eval.Source}, fargs...)
	if err := conn.QueryRow(ctx, `SELECT min(timestamp), count() FROM v_scores
	WHERE app = ? AND feature = ? AND prompt_version = ? AND model = ? AND source != ?`+filter, args...).Scan(&first, &n); err != nil {
		return nil, baselineInfo{}, fmt.Errorf("find first scores of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
	}
	if n == 0 {
		return nil, baselineInfo{Source: baselineNone, Note: "no accepted eval run and no scored traffic yet"}, nil
	}
	to := first.Add(q.Window)
	if to.After(q.Until) {
		to = q.Until // a version younger than the window: all its traffic so far
	}
	rows, err := conn.Query(ctx, `SELECT metric, count(), avg(pass) FROM v_scores
	WHERE app = ? AND feature = ? AND prompt_version = ? AND model = ? AND source != ?`+filter+`
		AND timestamp >= ? AND timestamp <= ?
	GROUP BY metric`, append(args, first, to)...)
	if err != nil {
		return nil, baselineInfo{}, fmt.Errorf("read baseline window of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
	}
	defer rows.Close()
	out := map[string]baselineValue{}
	for rows.Next() {
		var metric string
		var b baselineValue
		if err := rows.Scan(&metric, &b.N, &b.PassRate); err != nil {
			return nil, baselineInfo{}, fmt.Errorf("read baseline window of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
		}
		// A metric that more than one source reports keeps the larger sample.
		if old, ok := out[metric]; !ok || b.N > old.N {
			out[metric] = b
		}
	}
	if err := rows.Err(); err != nil {
		return nil, baselineInfo{}, fmt.Errorf("read baseline window of %s/%s prompt %s: %w", k.app, k.feature, k.promptVersion, err)
	}
	info := baselineInfo{Source: baselineEarliest, From: &first, To: &to, Overlaps: to.After(q.Since),
		Note: fmt.Sprintf("no accepted eval run: the version's first %s of traffic (%s to %s)", shortDuration(q.Window),
			first.UTC().Format(time.DateTime), to.UTC().Format(time.DateTime))}
	if info.Overlaps {
		info.Note += "; it overlaps the live window, so the comparison is partly with itself"
	}
	return out, info, nil
}

func printVersions(out io.Writer, rep *versionsReport, since string) {
	fmt.Fprintf(out, "versions serving since %s UTC (--since %s)\n", rep.Since.UTC().Format(time.DateTime), since)
	if len(rep.Features) == 0 {
		fmt.Fprintln(out, "no traffic in v_model_calls in that window")
		return
	}
	for _, f := range rep.Features {
		versions := "versions"
		if len(f.Versions) == 1 {
			versions = "version"
		}
		fmt.Fprintf(out, "\n%s / %s: %d events, %d %s\n", f.App, f.Feature, f.Events, len(f.Versions), versions)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  PROMPT\tMODEL\tEVENTS\tSHARE\tLAST EVAL RUN\tLIVE vs BASELINE\tOPEN ALERTS")
		for _, v := range f.Versions {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%.1f%%\t%s\t%s\t%s\n", orDash(v.PromptVersion), orDash(v.Model), v.Events,
				100*v.Share, evalCell(v.LatestEval), qualityCell(v), alertsCell(v.Alerts))
		}
		tw.Flush()
		for _, v := range f.Versions {
			fmt.Fprintf(out, "\n  prompt %s, model %s\n", orDash(v.PromptVersion), orDash(v.Model))
			fmt.Fprintf(out, "    baseline: %s\n", v.Baseline.Note)
			if v.LatestEval != nil {
				fmt.Fprintf(out, "    latest eval: %s (%s, model %s, %s)\n", v.LatestEval.RunID, v.LatestEval.Dataset,
					orDash(v.LatestEval.Model), v.LatestEval.StartedAt.UTC().Format(time.DateTime))
			}
			if len(v.Quality) > 0 {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "    METRIC\tSOURCE\tLIVE N\tLIVE PASS\tBASELINE\tCHANGE\tEVAL PASS")
				for _, m := range v.Quality {
					fmt.Fprintf(tw, "    %s\t%s\t%d\t%.3f\t%s\t%s\t%s\n", m.Metric, m.Source, m.N, m.PassRate, optNum(m.BaselinePassRate, "%.3f"),
						optNum(m.Change, "%+.3f"), optNum(m.EvalPassRate, "%.3f"))
				}
				tw.Flush()
			}
			for _, a := range v.Alerts {
				fmt.Fprintf(out, "    alert %s %s %s (%s) since %s: %s\n", a.State, a.Severity, a.AlertName, a.Metric,
					a.StartsAt.UTC().Format(time.DateTime), a.Summary)
			}
		}
	}
}

// worseBy is the drop in pass rate below the baseline that the table's summary column calls
// worse: the drift service decides significance; this column only points at what to read.
const worseBy = 0.05

func qualityCell(v servedVersion) string {
	var worse []string
	compared := 0
	for _, m := range v.Quality {
		if m.Change == nil {
			continue
		}
		compared++
		if *m.Change < -worseBy {
			worse = append(worse, m.Metric)
		}
	}
	slices.Sort(worse)
	worse = slices.Compact(worse)
	src := map[string]string{baselineAccepted: "vs accepted run", baselineEarliest: "vs earliest window", baselineNone: "no baseline"}[v.Baseline.Source]
	switch {
	case compared == 0:
		return cmp.Or(src, "-") + ": nothing to compare"
	case len(worse) == 0:
		return fmt.Sprintf("ok %s (%d metrics)", src, compared)
	}
	return fmt.Sprintf("%d worse %s: %s", len(worse), src, shorten(strings.Join(worse, ", "), 40))
}

func evalCell(e *evalRunScores) string {
	if e == nil {
		return "-"
	}
	var sum float64
	for _, m := range e.Metrics {
		sum += m.PassRate
	}
	if len(e.Metrics) == 0 {
		return e.RunID
	}
	return fmt.Sprintf("%s (mean pass %.3f)", e.RunID, sum/float64(len(e.Metrics)))
}

func alertsCell(alerts []openAlert) string {
	if len(alerts) == 0 {
		return "-"
	}
	n := map[string]int{}
	for _, a := range alerts {
		n[a.State]++
	}
	var parts []string
	for _, s := range []string{"firing", "pending"} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func optNum(p *float64, format string) string {
	if p == nil || math.IsNaN(*p) {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

func orDash(s string) string { return cmp.Or(s, "-") }

// shortDuration prints 1h instead of 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
