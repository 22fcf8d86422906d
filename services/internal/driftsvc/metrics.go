package driftsvc

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/telemetry"
)

// seriesLabels are the labels of every quality gauge.
var seriesLabels = []string{"app", "environment", "feature", "model", "prompt_version", "metric"}

// qualityMetrics exports quality itself: per quality series (series and metric) of the
// partitions this replica owns, its newest window and its baseline, and the state of its alerts.
// At most max quality series are exported per replica (VIGIL_DRIFT_METRICS_MAX_SERIES); one costs
// up to eight time series (two failure ratios, two means for measures, and the alert state of the
// rate, value, label and eval signals). Further series are not exported, and
// vigil_drift_quality_series_dropped counts them. A partition's series are removed when it moves
// to another replica.
type qualityMetrics struct {
	max                  int
	windowFail, baseFail *prometheus.GaugeVec
	windowMean, baseMean *prometheus.GaugeVec
	alert                *prometheus.GaugeVec
	exportedGauge        prometheus.Gauge
	droppedGauge         prometheus.Gauge

	mu       sync.Mutex
	parts    map[int]map[qualityKey]bool // partition → its exported series
	dropped  map[int]int
	exported int
}

type qualityKey struct {
	series event.Series
	metric string
}

func newQualityMetrics(reg prometheus.Registerer, maxSeries int) (*qualityMetrics, error) {
	vec := func(name, help string, extra ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(append([]string{}, seriesLabels...), extra...))
	}
	q := &qualityMetrics{
		max:        maxSeries,
		windowFail: vec("vigil_drift_quality_window_failure_ratio", "Failure rate of the newest closed window with observations, per quality series."),
		baseFail:   vec("vigil_drift_quality_baseline_failure_ratio", "Failure rate of the baseline a quality series is compared with."),
		windowMean: vec("vigil_drift_quality_window_mean", "Mean value of a measure in the newest closed window with values, per quality series."),
		baseMean:   vec("vigil_drift_quality_baseline_mean", "Mean value of a measure in the baseline a quality series is compared with."),
		alert: vec("vigil_drift_quality_alert_state", "Alert state per quality series and signal (rate, value, label, eval): 0 inactive, 1 pending, 2 firing.",
			"signal"),
		exportedGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_drift_quality_series",
			Help: "Quality series whose gauges this replica exports (at most VIGIL_DRIFT_METRICS_MAX_SERIES)."}),
		droppedGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_drift_quality_series_dropped",
			Help: "Quality series of this replica's partitions not exported because VIGIL_DRIFT_METRICS_MAX_SERIES was reached."}),
		parts:   map[int]map[qualityKey]bool{},
		dropped: map[int]int{},
	}
	if reg == nil {
		return q, nil
	}
	var err error
	for _, g := range []**prometheus.GaugeVec{&q.windowFail, &q.baseFail, &q.windowMean, &q.baseMean, &q.alert} {
		if *g, err = telemetry.Register(reg, *g); err != nil {
			return nil, err
		}
	}
	if q.exportedGauge, err = telemetry.Register[prometheus.Gauge](reg, q.exportedGauge); err != nil {
		return nil, err
	}
	if q.droppedGauge, err = telemetry.Register[prometheus.Gauge](reg, q.droppedGauge); err != nil {
		return nil, err
	}
	return q, nil
}

func labelValues(k qualityKey) []string {
	s := k.series
	return []string{s.App, s.Environment, s.Feature, s.Model, s.PromptVersion, k.metric}
}

// update sets the gauges of partition part from its engine and yardstick: series already
// exported are refreshed, new ones are added while the bound allows, and series the engine no
// longer has are removed.
func (q *qualityMetrics) update(part int, e *drift.Engine, y *drift.Yardstick) {
	q.mu.Lock()
	defer q.mu.Unlock()
	old := q.parts[part]
	cur := make(map[qualityKey]bool, len(old))
	eval := y.Firing()
	accepted := y.Accepted()
	dropped := 0
	e.EachQuality(func(x *drift.Quality) {
		k := qualityKey{x.Series, x.Metric}
		if !old[k] {
			if q.exported >= q.max {
				dropped++
				return
			}
			q.exported++
		}
		cur[k] = true
		lv := labelValues(k)
		if x.HasWindow {
			q.windowFail.WithLabelValues(lv...).Set(x.WindowFailureRate)
		}
		if x.HasMean {
			q.windowMean.WithLabelValues(lv...).Set(x.WindowMean)
		}
		if x.HasBaseline {
			q.baseFail.WithLabelValues(lv...).Set(x.BaselineFailureRate)
			if x.HasMean {
				q.baseMean.WithLabelValues(lv...).Set(x.BaselineMean)
			}
		}
		for i, sig := range drift.Signals {
			q.alert.WithLabelValues(append(lv, sig)...).Set(float64(x.Alerts[i]))
		}
		if covered(accepted, x.Series) {
			q.alert.WithLabelValues(append(lv, drift.EvalSignal)...).Set(float64(eval[drift.YardSeries{Series: x.Series, Metric: x.Metric}]))
		} else {
			q.alert.DeleteLabelValues(append(lv, drift.EvalSignal)...)
		}
	})
	for k := range old {
		if !cur[k] {
			q.delete(k)
		}
	}
	q.parts[part] = cur
	q.dropped[part] = dropped
	q.publishCounts()
}

// covered reports whether an accepted run applies to s.
func covered(accepted []*drift.Acceptance, s event.Series) bool {
	for _, a := range accepted {
		if a.App == s.App && a.Feature == s.Feature && a.PromptVersion == s.PromptVersion && (a.Model == "" || a.Model == s.Model) {
			return s.Environment != "eval"
		}
	}
	return false
}

// remove drops every gauge of partition part.
func (q *qualityMetrics) remove(part int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.parts[part] {
		q.delete(k)
	}
	delete(q.parts, part)
	delete(q.dropped, part)
	q.publishCounts()
}

func (q *qualityMetrics) delete(k qualityKey) {
	lv := labelValues(k)
	for _, g := range []*prometheus.GaugeVec{q.windowFail, q.baseFail, q.windowMean, q.baseMean} {
		g.DeleteLabelValues(lv...)
	}
	for _, sig := range append(drift.Signals[:], drift.EvalSignal) {
		q.alert.DeleteLabelValues(append(lv, sig)...)
	}
	q.exported--
}

func (q *qualityMetrics) publishCounts() {
	total := 0
	for _, n := range q.dropped {
		total += n
	}
	q.exportedGauge.Set(float64(q.exported))
	q.droppedGauge.Set(float64(total))
}

// recordCounters count the scored records the partitions applied, and those that came too late
// for their window: a window closes once the newest record's timestamp passes its end by
// VIGIL_DRIFT_GRACE, and a record for it after that changes no statistic. A late share above
// zero means a sender's clock runs behind or records reach drift after the grace.
type recordCounters struct {
	applied, late prometheus.Counter
}

func newRecordCounters(reg prometheus.Registerer) (recordCounters, error) {
	c := recordCounters{
		applied: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_drift_records_total",
			Help: "Scored records the partitions of this replica applied."}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_drift_late_records_total",
			Help: "Scored records that arrived after their window closed (its end plus VIGIL_DRIFT_GRACE) and changed no statistic."}),
	}
	var err error
	if c.applied, err = telemetry.Register(reg, c.applied); err != nil {
		return c, err
	}
	if c.late, err = telemetry.Register(reg, c.late); err != nil {
		return c, err
	}
	return c, nil
}

// add counts what an engine observed since its stats were last, returning its stats now.
func (c recordCounters) add(e *drift.Engine, last drift.Stats) drift.Stats {
	s := e.Stats()
	c.applied.Add(float64(s.Observed - last.Observed))
	c.late.Add(float64(s.Late - last.Late))
	return s
}
