package drift

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Record describes one baseline a quality series is compared with, without its sample: what the
// drift service publishes for every baseline it pins (automatic, operator or inherited) so that
// operators can list them and ClickHouse keeps their history. It is a plain JSON value a few
// hundred bytes long.
type Record struct {
	// Series and Metric name the quality series compared with the baseline.
	Series event.Series `json:"series"`
	Metric string       `json:"metric"`
	// Source is SourceAuto, SourceOperator or SourceInherited.
	Source string `json:"source"`
	// Origin is the series whose observations the baseline holds: Series itself, or for an
	// inherited baseline the earlier prompt_version or model.
	Origin event.Series `json:"origin"`
	// PinnedAt, From and To are as in Baseline (event time).
	PinnedAt time.Time `json:"pinned_at"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// N observations, Failures of them failed; FailureRate is Failures / N.
	N           int64   `json:"n"`
	Failures    int64   `json:"failures"`
	FailureRate float64 `json:"failure_rate"`
	// Values finite measure values with mean Mean and standard deviation Stddev.
	Values   int64   `json:"values"`
	Mean     float64 `json:"mean"`
	Stddev   float64 `json:"stddev"`
	Labelled int64   `json:"labelled"`
}

// ID identifies the record's baseline: the same baseline of the same series always gets the same
// id, so a re-published record can be de-duplicated.
func (r *Record) ID() string {
	return Fingerprint(map[string]string{
		"app": r.Series.App, "environment": r.Series.Environment, "feature": r.Series.Feature,
		"model": r.Series.Model, "prompt_version": r.Series.PromptVersion, "metric": r.Metric,
		"source": r.Source, "pinned_at": r.PinnedAt.UTC().Format(time.RFC3339Nano),
		"origin": r.Origin.Key(), "n": fmt.Sprint(r.N),
	})
}

// RecordOf summarises the baseline of one series.
func RecordOf(sb *SeriesBaseline) Record {
	b := &sb.Baseline
	return Record{
		Series: sb.Series, Metric: sb.Metric, Source: b.Source, Origin: b.Series,
		PinnedAt: b.PinnedAt, From: b.From, To: b.To,
		N: b.N, Failures: b.Failures, FailureRate: b.FailureRate(),
		Values: b.Values, Mean: b.Mean, Stddev: math.Sqrt(max(b.Variance, 0)), Labelled: b.Labelled,
	}
}

// BaselineLog remembers which baselines of an Engine have been reported, so that Changes returns
// each newly pinned baseline once. It is not safe for concurrent use; its owner serialises calls
// together with the Engine's.
type BaselineLog struct {
	// Keyed by track: a pointer hashes far faster than six strings, and a track replaced by
	// Restore is a new pointer whose baseline is reported again.
	seen map[*track]logged
}

type logged struct {
	base      *Baseline
	inherited bool
}

// Changes returns a Record for every baseline of e pinned (automatically, by an operator or by
// inheritance) since the previous call, ordered by series labels and metric. The first call
// returns every baseline. It walks the series without copying their samples, so calling it every
// few seconds is cheap even for a large engine.
func (l *BaselineLog) Changes(e *Engine) []Record {
	if l.seen == nil || len(l.seen) > 2*len(e.tracks)+64 {
		// Drop the entries of tracks the engine no longer has.
		old := l.seen
		l.seen = make(map[*track]logged, len(e.tracks))
		for _, t := range e.tracks {
			if x, ok := old[t]; ok {
				l.seen[t] = x
			}
		}
	}
	e.sortTracks()
	var out []Record
	for _, t := range e.tracks {
		if t.base == nil {
			continue
		}
		cur := logged{t.base, t.inherited}
		if l.seen[t] == cur {
			continue
		}
		l.seen[t] = cur
		sb := SeriesBaseline{Series: t.key.series, Metric: t.key.metric, Baseline: *t.base}
		if t.inherited {
			sb.Baseline.Source = SourceInherited
		}
		out = append(out, RecordOf(&sb))
	}
	return out
}

// Match selects quality series by their labels; an empty field matches every value. App and
// Feature are required by Validate, so that one request never touches another feature.
type Match struct {
	App           string `json:"app"`
	Environment   string `json:"environment,omitempty"`
	Feature       string `json:"feature"`
	Model         string `json:"model,omitempty"`
	PromptVersion string `json:"prompt_version,omitempty"`
	Metric        string `json:"metric,omitempty"`
}

// Matches reports whether (s, metric) is selected.
func (m *Match) Matches(s event.Series, metric string) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return m.App == s.App && m.Feature == s.Feature && eq(m.Environment, s.Environment) &&
		eq(m.Model, s.Model) && eq(m.PromptVersion, s.PromptVersion) && eq(m.Metric, metric)
}

// Pin is an operator's request to pin baselines, as stored in the baselines bucket: either the
// current windows of every known series that Match selects (Current), or an explicit Baseline for
// the one series and metric that Match names completely (built, for example, from stored scores of
// a time range).
type Pin struct {
	// ID names the request; it is unique per request.
	ID          string    `json:"id"`
	Match       Match     `json:"match"`
	Current     bool      `json:"current,omitempty"`
	Baseline    *Baseline `json:"baseline,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	By          string    `json:"by,omitempty"`
}

// Validate reports every problem of p at once, each naming the field.
func (p *Pin) Validate() error {
	var errs []error
	bad := func(field, reason string) { errs = append(errs, fmt.Errorf("pin %s: %s", field, reason)) }
	if p.ID == "" {
		bad("id", "required")
	}
	if p.Match.App == "" {
		bad("match.app", "required")
	}
	if p.Match.Feature == "" {
		bad("match.feature", "required")
	}
	switch {
	case p.Current && p.Baseline != nil:
		bad("baseline", "must be empty when current is true (pin one or the other)")
	case !p.Current && p.Baseline == nil:
		bad("baseline", "required unless current is true")
	case p.Baseline != nil:
		m := &p.Match
		if m.Environment == "" || m.Model == "" || m.PromptVersion == "" || m.Metric == "" {
			bad("match", "an explicit baseline needs environment, model, prompt_version and metric")
		}
		if err := checkBaseline(p.Baseline); err != nil {
			errs = append(errs, fmt.Errorf("pin baseline: %w", err))
		}
	}
	if p.RequestedAt.IsZero() {
		bad("requested_at", "required")
	}
	return errors.Join(errs...)
}

// Series returns the series an explicit pin names.
func (p *Pin) Series() event.Series {
	m := &p.Match
	return event.Series{App: m.App, Environment: m.Environment, Feature: m.Feature, Model: m.Model, PromptVersion: m.PromptVersion}
}

// DecodePin decodes and validates a stored Pin. Unknown fields are rejected by name.
func DecodePin(data []byte) (*Pin, error) {
	var p Pin
	if err := decodeStrict(data, &p); err != nil {
		return nil, fmt.Errorf("decode pin: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodeRecord decodes a baseline Record. Unknown fields are rejected by name, and so is a record
// without a series, metric or source.
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := decodeStrict(data, &r); err != nil {
		return nil, fmt.Errorf("decode baseline record: %w", err)
	}
	var errs []error
	if r.Series.App == "" {
		errs = append(errs, errors.New("baseline record series.app: required"))
	}
	if r.Metric == "" {
		errs = append(errs, errors.New("baseline record metric: required"))
	}
	switch r.Source {
	case SourceAuto, SourceOperator, SourceInherited:
	default:
		errs = append(errs, fmt.Errorf("baseline record source %q: must be auto, operator or inherited", r.Source))
	}
	if r.N < 0 || r.Failures < 0 || r.Failures > r.N {
		errs = append(errs, fmt.Errorf("baseline record failures %d of n %d: must be in [0, n]", r.Failures, r.N))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// ApplyPin carries out an operator's pin: PinBaseline of its explicit baseline, or PinCurrent of
// every known series and metric it matches. It returns the baselines pinned; series with too few
// observations are reported in the error (joined) while the others are pinned.
func (e *Engine) ApplyPin(p *Pin) ([]SeriesBaseline, error) {
	if p.Baseline != nil {
		s, metric := p.Series(), p.Match.Metric
		b := *p.Baseline
		b.Source = SourceOperator
		if err := e.PinBaseline(s, metric, b); err != nil {
			return nil, fmt.Errorf("pin %s on %s %s: %w", p.ID, s.Key(), metric, err)
		}
		t := e.lookup(s, metric)
		return []SeriesBaseline{{Series: s, Metric: metric, Baseline: t.base.clone()}}, nil
	}
	e.sortTracks()
	var targets []seriesKey
	for _, t := range e.tracks {
		if p.Match.Matches(t.key.series, t.key.metric) {
			targets = append(targets, t.key)
		}
	}
	var out []SeriesBaseline
	var errs []error
	for _, k := range targets {
		b, err := e.PinCurrent(k.series, k.metric)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, SeriesBaseline{Series: k.series, Metric: k.metric, Baseline: b})
	}
	return out, errors.Join(errs...)
}

// Quality is the state of one quality series for export as metrics.
type Quality struct {
	Series event.Series
	Metric string
	// HasWindow is true once a window with observations has closed; WindowFailureRate and
	// WindowMean (measures only, when HasMean) describe the newest such window.
	HasWindow         bool
	WindowFailureRate float64
	HasMean           bool
	WindowMean        float64
	// HasBaseline is true once the series has a baseline; BaselineFailureRate and BaselineMean
	// describe it.
	HasBaseline         bool
	BaselineFailureRate float64
	BaselineMean        float64
	// Alerts is the alert state of each signal ("rate", "value", "label"): 0 inactive, 1 pending,
	// 2 firing.
	Alerts [3]int
}

// Signals names the signals in the order of Quality.Alerts.
var Signals = [3]string{"rate", "value", "label"}

// EachQuality calls fn for every quality series, in no particular order, without copying
// baselines or samples. fn must not call e.
func (e *Engine) EachQuality(fn func(*Quality)) {
	var q Quality
	for _, t := range e.tracks {
		q = Quality{Series: t.key.series, Metric: t.key.metric}
		if t.hasPrev && t.prev.acc.n > 0 {
			q.HasWindow = true
			q.WindowFailureRate = float64(t.prev.acc.failures) / float64(t.prev.acc.n)
			if t.prev.acc.values.n > 0 {
				q.HasMean, q.WindowMean = true, t.prev.acc.values.mean
			}
		}
		if t.base != nil {
			q.HasBaseline = true
			q.BaselineFailureRate = t.base.FailureRate()
			q.BaselineMean = t.base.Mean
		}
		for i := range t.alerts {
			switch t.alerts[i].state {
			case event.StatePending:
				q.Alerts[i] = 1
			case event.StateFiring:
				q.Alerts[i] = 2
			}
		}
		fn(&q)
	}
}
