package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// Baseline table names.
const (
	TableBaselines       = "baselines"
	TableEvalAcceptances = "eval_acceptances"
)

const insertBaselines = `INSERT INTO baselines (app, environment, feature, model, prompt_version, metric, source,
	origin_model, origin_prompt_version, pinned_at, window_from, window_to, n, failures, failure_rate, values_n,
	mean, stddev, labelled, recorded_at, revision)`

// InsertBaselines writes one baselines row per record; nil records (a deleted key) are skipped.
// Rows of the same baseline collapse in the views, so a retried or re-published record is
// harmless.
func InsertBaselines(ctx context.Context, conn driver.Conn, recs []*drift.Record) error {
	recs = slices.DeleteFunc(slices.Clone(recs), func(r *drift.Record) bool { return r == nil })
	if len(recs) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertBaselines)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableBaselines, err)
	}
	defer batch.Abort()
	// Rows of one batch are in the order their baselines were pinned: the revision keeps it.
	now, rev := time.Now().UTC(), revision()
	for i, r := range recs {
		s := r.Series
		if err := batch.Append(s.App, s.Environment, s.Feature, s.Model, s.PromptVersion, r.Metric, r.Source,
			r.Origin.Model, r.Origin.PromptVersion, dateTime(r.PinnedAt), dateTime(r.From), dateTime(r.To),
			uint64(max(r.N, 0)), uint64(max(r.Failures, 0)), finiteOr0(r.FailureRate), uint64(max(r.Values, 0)),
			finiteOr0(r.Mean), finiteOr0(r.Stddev), uint64(max(r.Labelled, 0)), now, rev+uint64(i)); err != nil {
			return fmt.Errorf("append baseline of %s %s to %s: %w", s.Key(), r.Metric, TableBaselines, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(recs), TableBaselines, err)
	}
	return nil
}

// BaselineKey identifies a baselines row for the writer's redelivery check ("" for nil).
func BaselineKey(r *drift.Record) string {
	if r == nil {
		return ""
	}
	return r.ID()
}

// dateTime clamps t into the range a DateTime column holds (1970–2105); the zero time becomes
// the epoch.
func dateTime(t time.Time) time.Time {
	switch {
	case t.Before(time.Unix(0, 0)):
		return time.Unix(0, 0).UTC()
	case t.After(time.Unix(4294967295, 0)):
		return time.Unix(4294967295, 0).UTC()
	}
	return t.UTC()
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

const insertAcceptances = `INSERT INTO eval_acceptances (app, feature, prompt_version, model, run_id, dataset,
	dataset_version, metric_names, metric_n, metric_pass_rates, metric_means, accepted_at, accepted_by, revision)`

// InsertAcceptance records that a run became the expected quality of its version.
func InsertAcceptance(ctx context.Context, conn driver.Conn, a *drift.Acceptance) error {
	n := len(a.Metrics)
	names, counts, rates, means := make([]string, n), make([]uint64, n), make([]float64, n), make([]float64, n)
	for i, m := range a.Metrics {
		names[i], counts[i], rates[i], means[i] = m.Metric, uint64(max(m.N, 0)), m.PassRate, finiteOr0(m.Mean)
	}
	batch, err := conn.PrepareBatch(ctx, insertAcceptances)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableEvalAcceptances, err)
	}
	defer batch.Abort()
	if err := batch.Append(a.App, a.Feature, a.PromptVersion, a.Model, a.RunID, a.Dataset, a.DatasetVersion, names, counts,
		rates, means, dateTime(a.AcceptedAt), a.By, revision()); err != nil {
		return fmt.Errorf("append acceptance of run %s to %s: %w", a.RunID, TableEvalAcceptances, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", TableEvalAcceptances, err)
	}
	return nil
}

// maxPinLabels bounds the labels a baseline built from stored scores names; the rest are counted
// together.
const maxPinLabels = 64

// BaselinesFromScores builds, from the live checks' scores stored between from and to, one
// operator baseline per quality series that m selects: counts, moments, a sample of up to
// sampleSize values (drawn by a hash of the event id) and label counts. Series with fewer than
// minN scores are left out. The eval environment is never included.
func BaselinesFromScores(ctx context.Context, conn driver.Conn, m drift.Match, from, to time.Time, sampleSize int, minN int64) ([]drift.SeriesBaseline, error) {
	where := `app = ? AND feature = ? AND timestamp >= ? AND timestamp < ? AND source = ? AND environment != 'eval'`
	args := []any{m.App, m.Feature, from, to, scoring.Source}
	for _, f := range []struct{ col, v string }{{"environment", m.Environment}, {"model", m.Model},
		{"prompt_version", m.PromptVersion}, {"metric", m.Metric}} {
		if f.v != "" {
			where += " AND " + f.col + " = ?"
			args = append(args, f.v)
		}
	}
	const usable = `kind = 'measure' AND isFinite(value) AND abs(value) <= 1e30`
	type key struct {
		series event.Series
		metric string
	}
	byKey := map[key]*drift.SeriesBaseline{}
	var order []key
	rows, err := conn.Query(ctx, `SELECT environment, model, prompt_version, metric, count(), countIf(pass = 0),
		countIf(`+usable+`), if(countIf(`+usable+`) > 0, avgIf(value, `+usable+`), 0),
		if(countIf(`+usable+`) > 1, varSampIf(value, `+usable+`), 0), min(timestamp), max(timestamp)
		FROM v_scores WHERE `+where+`
		GROUP BY environment, model, prompt_version, metric
		ORDER BY environment, model, prompt_version, metric`, args...)
	if err != nil {
		return nil, fmt.Errorf("summarise scores of %s/%s: %w", m.App, m.Feature, err)
	}
	defer rows.Close()
	for rows.Next() {
		var env, model, pv, metric string
		var n, failures, values uint64
		var mean, variance float64
		var first, last time.Time
		if err := rows.Scan(&env, &model, &pv, &metric, &n, &failures, &values, &mean, &variance, &first, &last); err != nil {
			return nil, fmt.Errorf("summarise scores of %s/%s: %w", m.App, m.Feature, err)
		}
		if int64(n) < minN {
			continue
		}
		s := event.Series{App: m.App, Environment: env, Feature: m.Feature, Model: model, PromptVersion: pv}
		k := key{s, metric}
		byKey[k] = &drift.SeriesBaseline{Series: s, Metric: metric, Baseline: drift.Baseline{
			Series: s, Metric: metric, Source: drift.SourceOperator, PinnedAt: last.UTC(), From: first.UTC(), To: last.UTC(),
			N: int64(n), Failures: int64(failures), Values: int64(values), Mean: finiteOr0(mean), Variance: max(finiteOr0(variance), 0),
		}}
		order = append(order, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarise scores of %s/%s: %w", m.App, m.Feature, err)
	}
	rows.Close()
	if len(order) == 0 {
		return nil, nil
	}

	samples, err := conn.Query(ctx, `SELECT environment, model, prompt_version, metric, groupArray(?)(toFloat32(value))
		FROM (SELECT environment, model, prompt_version, metric, value FROM v_scores
			WHERE `+where+` AND `+usable+` ORDER BY cityHash64(event_id))
		GROUP BY environment, model, prompt_version, metric`, append([]any{uint64(sampleSize)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("sample scores of %s/%s: %w", m.App, m.Feature, err)
	}
	defer samples.Close()
	for samples.Next() {
		var env, model, pv, metric string
		var vals []float32
		if err := samples.Scan(&env, &model, &pv, &metric, &vals); err != nil {
			return nil, fmt.Errorf("sample scores of %s/%s: %w", m.App, m.Feature, err)
		}
		s := event.Series{App: m.App, Environment: env, Feature: m.Feature, Model: model, PromptVersion: pv}
		if sb := byKey[key{s, metric}]; sb != nil {
			sb.Baseline.Sample = vals
		}
	}
	if err := samples.Err(); err != nil {
		return nil, fmt.Errorf("sample scores of %s/%s: %w", m.App, m.Feature, err)
	}
	samples.Close()

	labels, err := conn.Query(ctx, `SELECT environment, model, prompt_version, metric, label, count() AS c
		FROM v_scores WHERE `+where+` AND label != ''
		GROUP BY environment, model, prompt_version, metric, label ORDER BY c DESC, label`, args...)
	if err != nil {
		return nil, fmt.Errorf("count labels of %s/%s: %w", m.App, m.Feature, err)
	}
	defer labels.Close()
	for labels.Next() {
		var env, model, pv, metric, label string
		var c uint64
		if err := labels.Scan(&env, &model, &pv, &metric, &label, &c); err != nil {
			return nil, fmt.Errorf("count labels of %s/%s: %w", m.App, m.Feature, err)
		}
		s := event.Series{App: m.App, Environment: env, Feature: m.Feature, Model: model, PromptVersion: pv}
		if sb := byKey[key{s, metric}]; sb != nil {
			sb.Baseline.Labels = append(sb.Baseline.Labels, drift.LabelCount{Label: label, Count: int64(c)})
			sb.Baseline.Labelled += int64(c)
		}
	}
	if err := labels.Err(); err != nil {
		return nil, fmt.Errorf("count labels of %s/%s: %w", m.App, m.Feature, err)
	}
	out := make([]drift.SeriesBaseline, 0, len(order))
	for _, k := range order {
		sb := byKey[k]
		// Keep the pin small: the engine counts at most MaxCategories labels by name anyway.
		if ls := sb.Baseline.Labels; len(ls) > maxPinLabels {
			for _, l := range ls[maxPinLabels:] {
				sb.Baseline.OtherLabels += l.Count
			}
			sb.Baseline.Labels = ls[:maxPinLabels]
		}
		out = append(out, *sb)
	}
	return out, nil
}
