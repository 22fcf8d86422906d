package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
)

// TableQuality is the rollup of quality per 5 minutes, series and metric.
const TableQuality = "quality_5m"

const insertQuality = `INSERT INTO quality_5m (bucket, app, environment, feature, model, prompt_version, source,
	metric, events, failures, value_sum)`

// qualityBucket is the rollup's bucket: toStartOfFiveMinute, which in every zone of whole
// five-minute offsets is the Unix time rounded down to 300 s.
const qualityBucket = 300

// qualityRows are the rows of quality_5m for a batch of scored records, column by column.
type qualityRows struct {
	buckets                                                          []time.Time
	apps, environments, features, models, versions, sources, metrics []string
	events, failures                                                 []uint64
	valueSums                                                        []float64
}

func (q *qualityRows) len() int { return len(q.metrics) }

// rollUpQuality sums records into one row per bucket, series, source and metric, as the
// SummingMergeTree would sum one row per score: events counts the scores, failures those that
// did not pass, value_sum adds their values. Records without scores add nothing.
func rollUpQuality(records []*event.Scored) *qualityRows {
	type seriesKey struct {
		bucket                                                  int64
		app, environment, feature, model, promptVersion, source string
	}
	// Per series a small map by metric: one lookup of the long key per record, not per score.
	series := map[seriesKey]map[string]int{}
	q := &qualityRows{}
	for _, r := range records {
		if len(r.Scores) == 0 {
			continue
		}
		s := r.Series
		unix := r.Timestamp.Unix()
		k := seriesKey{unix - unix%qualityBucket, s.App, s.Environment, s.Feature, s.Model, s.PromptVersion, r.Source}
		rows := series[k]
		if rows == nil {
			rows = map[string]int{}
			series[k] = rows
		}
		for _, sc := range r.Scores {
			i, ok := rows[sc.Metric]
			if !ok {
				i = q.len()
				rows[sc.Metric] = i
				q.buckets = append(q.buckets, time.Unix(k.bucket, 0).UTC())
				q.apps, q.environments = append(q.apps, k.app), append(q.environments, k.environment)
				q.features, q.models = append(q.features, k.feature), append(q.models, k.model)
				q.versions, q.sources = append(q.versions, k.promptVersion), append(q.sources, k.source)
				q.metrics = append(q.metrics, sc.Metric)
				q.events, q.failures, q.valueSums = append(q.events, 0), append(q.failures, 0), append(q.valueSums, 0)
			}
			q.events[i]++
			if !sc.Pass {
				q.failures[i]++
			}
			q.valueSums[i] += sc.Value
		}
	}
	return q
}

// insertQualityRollup adds the records' scores to quality_5m.
func insertQualityRollup(ctx context.Context, conn driver.Conn, records []*event.Scored) error {
	q := rollUpQuality(records)
	if q.len() == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insertQuality)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", TableQuality, err)
	}
	defer batch.Abort()
	for i, values := range []any{q.buckets, q.apps, q.environments, q.features, q.models, q.versions, q.sources,
		q.metrics, q.events, q.failures, q.valueSums} {
		if err := batch.Column(i).Append(values); err != nil {
			return fmt.Errorf("append column %d of %d rows to %s: %w", i, q.len(), TableQuality, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", q.len(), TableQuality, err)
	}
	return nil
}
