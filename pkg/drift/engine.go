// Package drift detects quality regressions in scored model calls. An Engine keeps, for every
// quality series (app, environment, feature, model, prompt_version and metric), a pinned baseline
// and tumbling event-time windows; when the watermark closes a window it compares the window with
// the baseline and runs a Prometheus/Alertmanager-style alert state machine, returning the
// transitions (and re-sends of firing alerts) as event.Alert values.
//
// # Signals and detectors
//
// Every score contributes to the "rate" signal, the failure rate (1 - pass), tested with a one-sided
// pooled two-proportion z-test (detector "two_proportion_z"): only an increase alerts. Scores of kind
// event.KindMeasure also contribute to the "mean" signal, the mean of Value, tested with a two-sided
// Welch z-test (detector "welch_z"); non-finite values are left out of the mean. A window's signal
// is true when its p-value is below Alpha divided by the number of signals of the series
// (Bonferroni), its effect reaches the configured floor and it holds at least MinSamples
// observations; with fewer it is insufficient_data and changes no alert counter. The mean detector
// measures the effect as |mean - baseline mean| / baseline stddev, with the stddev floored at 0.01
// (or 1% of |baseline mean| when larger) so that a constant baseline does not alert on a tiny,
// noise-free shift; the same floor enters the baseline variance of the z statistic.
//
// # Baselines
//
// A series' first BaselineSize observations after WarmUp (in the order Observe sees them) are pinned
// and frozen. A series that appears after another series of the same (app, environment, feature,
// metric) has pinned its baseline (a new prompt_version or model of the same feature) inherits the
// most recently pinned such baseline at once and is evaluated against it from its first event, so a
// version change that degrades quality alerts as a regression. An inherited baseline is kept: the
// new version never pins its own, which would make a regression its own reference.
//
// # Alerts
//
// Each (series, metric, signal) has an alert that moves inactive → pending (first true window) →
// firing (after PendingWindows further consecutive true windows) → resolved (after ResolveWindows
// consecutive false windows; a false window while pending resolves at once with Previous "pending").
// The first transition has Previous "inactive". Every transition increments the alert's Sequence;
// AlertID is "<fingerprint>-<sequence>", and the n-th re-send of a firing alert (every ResendWindows
// closed windows, insufficient ones included) is "<fingerprint>-<sequence>-r<n>". Ids depend only on
// the records and watermarks, so a replica replaying them emits the same ids. Severity is "critical"
// when the effect reaches three times its (non-zero) floor in any true window since the alert went
// pending, else "warning"; it does not drop before the alert resolves, so a resolve travels the same
// route. Signals are named "rate" and "mean", detectors "two_proportion_z" and "welch_z", and
// Evidence.BaselineSource is "pinned" or "inherited".
package drift

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Stats are an Engine's counters since it was created.
type Stats struct {
	// Series is the number of quality series (series labels plus metric) tracked.
	Series int
	// Observed is the number of records passed to Observe.
	Observed uint64
	// Late is the number of records not added because their window had already closed (or their
	// timestamp lies outside the years 1824–2116 that window arithmetic supports).
	Late uint64
	// Evaluations is the number of (series, metric, signal, window) tests run.
	Evaluations uint64
	// InsufficientData is the number of (series, metric, signal, window) evaluations skipped because
	// the window held fewer than MinSamples observations of the signal.
	InsufficientData uint64
}

// Engine keeps per-series baselines, windows and alert states. It does no I/O, starts no goroutines
// and never reads the clock: time comes from record timestamps and from the watermark given to
// Advance. An Engine is not safe for concurrent use; its owner serialises calls.
type Engine struct {
	cfg      Config
	series   map[seriesKey]*track
	tracks   []*track // every track; sorted by key before Advance walks it
	unsorted bool
	families map[familyKey]*baseline // most recently pinned baseline per family
	closed   int64                   // index of the newest closed window, valid once advanced
	advanced bool
	stats    Stats
}

// NewEngine returns an Engine with no series. cfg must pass Validate: an invalid configuration is a
// programming error and NewEngine panics with Validate's error, like regexp.MustCompile.
func NewEngine(cfg Config) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Engine{
		cfg:      cfg,
		series:   make(map[seriesKey]*track),
		families: make(map[familyKey]*baseline),
	}
}

// Stats returns a copy of the engine's counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Series = len(e.tracks)
	return s
}

type seriesKey struct {
	series event.Series
	metric string
}

type familyKey struct {
	app, environment, feature, metric string
}

func compareKeys(a, b seriesKey) int {
	return cmp.Or(
		cmp.Compare(a.series.App, b.series.App),
		cmp.Compare(a.series.Environment, b.series.Environment),
		cmp.Compare(a.series.Feature, b.series.Feature),
		cmp.Compare(a.series.Model, b.series.Model),
		cmp.Compare(a.series.PromptVersion, b.series.PromptVersion),
		cmp.Compare(a.metric, b.metric),
	)
}

// baseline is a frozen reference sample of one quality series. Once pinned it is never modified and
// may be shared by the series that inherit it.
type baseline struct {
	origin   event.Series // the series whose observations it holds
	n        int64        // observations
	failures int64        // observations that did not pass
	values   moments      // finite values of measure observations
}

// window accumulates one tumbling window of one quality series.
type window struct {
	idx      int64 // start = idx * Config.Window since the Unix epoch
	n        int64
	failures int64
	values   moments
	failEx   [maxExamples]string // first failing events
	nFailEx  int
	valEx    [maxExamples]string // first events with a value
	nValEx   int
}

// track is one quality series.
type track struct {
	key        seriesKey
	seen       int       // observations counted towards warm-up and baseline
	building   baseline  // baseline under construction until pinned
	base       *baseline // nil until pinned or inherited
	inherited  bool
	lastClosed int64 // newest window index already closed for this track
	hasClosed  bool
	open       []window // open windows, ascending idx
	alerts     [numSignals]alertState
}

// Observe adds the scores of rec to their series: to the warm-up, to the baseline until it is
// pinned, then to the window of rec.Timestamp. A record whose window has already closed is counted
// as late and not added. Observe ignores a nil record and does not retain rec (it keeps its strings).
func (e *Engine) Observe(rec *event.Scored) {
	if rec == nil {
		return
	}
	e.stats.Observed++
	ns, ok := unixNanos(rec.Timestamp)
	if !ok {
		e.stats.Late++
		return
	}
	idx := floorDiv(ns, int64(e.cfg.Window))
	if e.advanced && idx <= e.closed {
		e.stats.Late++
		return
	}
	for i := range rec.Scores {
		s := &rec.Scores[i]
		e.track(rec.Series, s.Metric).observe(e, idx, rec.EventID, s)
	}
}

// track returns the track of (series, metric), creating it (and inheriting a baseline) if needed.
func (e *Engine) track(s event.Series, metric string) *track {
	k := seriesKey{series: s, metric: metric}
	if t, ok := e.series[k]; ok {
		return t
	}
	t := &track{key: k, lastClosed: e.closed, hasClosed: e.advanced}
	if b, ok := e.families[familyOf(k)]; ok {
		t.base = b
		t.inherited = true
	}
	e.series[k] = t
	e.tracks = append(e.tracks, t)
	e.unsorted = true
	return t
}

func familyOf(k seriesKey) familyKey {
	return familyKey{k.series.App, k.series.Environment, k.series.Feature, k.metric}
}

func (t *track) observe(e *Engine, idx int64, eventID string, s *event.Score) {
	cfg := &e.cfg
	fail := !s.Pass
	hasValue := s.Kind == event.KindMeasure && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0)
	if t.base == nil {
		t.seen++
		if t.seen <= cfg.WarmUp {
			return
		}
		b := &t.building
		b.n++
		if fail {
			b.failures++
		}
		if hasValue {
			b.values.add(s.Value)
		}
		if b.n >= int64(cfg.BaselineSize) {
			pinned := *b
			pinned.origin = t.key.series
			t.base = &pinned
			t.building = baseline{}
			e.families[familyOf(t.key)] = t.base
		}
		return
	}
	w := t.window(idx)
	w.n++
	if fail {
		w.failures++
		if w.nFailEx < cfg.MaxExamples {
			w.failEx[w.nFailEx] = eventID
			w.nFailEx++
		}
	}
	if hasValue {
		w.values.add(s.Value)
		if w.nValEx < cfg.MaxExamples {
			w.valEx[w.nValEx] = eventID
			w.nValEx++
		}
	}
}

// window returns the open window idx, opening it in order if needed.
func (t *track) window(idx int64) *window {
	i := len(t.open)
	for i > 0 && t.open[i-1].idx > idx {
		i--
	}
	if i > 0 && t.open[i-1].idx == idx {
		return &t.open[i-1]
	}
	t.open = slices.Insert(t.open, i, window{idx: idx})
	return &t.open[i]
}

// Advance closes every window whose end + Grace is at or before watermark, in every series, and
// evaluates it. It returns the alert transitions and re-sends those evaluations produce, ordered by
// window end, then series labels and metric, then signal ("rate" before "mean"). A watermark that
// does not move past the previous one closes nothing and returns nil. Empty windows are evaluated as
// insufficient_data without being visited one by one, so a long gap costs the same as a short one.
func (e *Engine) Advance(watermark time.Time) []event.Alert {
	ns, ok := unixNanos(watermark)
	if !ok || ns < math.MinInt64+int64(e.cfg.Grace) {
		return nil
	}
	k := floorDiv(ns-int64(e.cfg.Grace), int64(e.cfg.Window)) - 1
	if e.advanced && k <= e.closed {
		return nil
	}
	e.closed, e.advanced = k, true
	if e.unsorted {
		slices.SortFunc(e.tracks, func(a, b *track) int { return compareKeys(a.key, b.key) })
		e.unsorted = false
	}
	var out []event.Alert
	for _, t := range e.tracks {
		out = e.closeThrough(t, k, out)
	}
	// Tracks were walked in key order and each emits in window order, so a stable sort on time
	// yields (window end, series, signal).
	slices.SortStableFunc(out, func(a, b event.Alert) int { return a.At.Compare(b.At) })
	return out
}

// closeThrough closes t's windows up to and including index k.
func (e *Engine) closeThrough(t *track, k int64, out []event.Alert) []event.Alert {
	if t.base == nil {
		// Still building the baseline: nothing is windowed and nothing is evaluated.
		t.lastClosed, t.hasClosed = k, true
		return out
	}
	next := k + 1
	switch {
	case t.hasClosed:
		next = t.lastClosed + 1
	case len(t.open) > 0:
		next = min(t.open[0].idx, next)
	}
	i := 0
	for ; i < len(t.open) && t.open[i].idx <= k; i++ {
		w := &t.open[i]
		if w.idx > next {
			out = e.skip(t, next, w.idx-next, out)
		}
		out = e.evaluate(t, w, out)
		next = w.idx + 1
	}
	if next <= k {
		out = e.skip(t, next, k-next+1, out)
	}
	n := copy(t.open, t.open[i:])
	clear(t.open[n:])
	t.open = t.open[:n]
	t.lastClosed, t.hasClosed = k, true
	return out
}

// signals returns how many signals t tracks: the rate always, the mean when the baseline has the
// values to compare with.
func (t *track) signals() int {
	if t.base.values.n >= 2 {
		return 2
	}
	return 1
}

// evaluate closes one window that received observations.
func (e *Engine) evaluate(t *track, w *window, out []event.Alert) []event.Alert {
	m := t.signals()
	alpha := e.cfg.Alpha / float64(m)
	for sig := range signal(m) {
		n := w.n
		if sig == signalMean {
			n = w.values.n
		}
		if n < int64(e.cfg.MinSamples) {
			e.stats.InsufficientData++
			out = e.insufficient(t, sig, w.idx, 1, out)
			continue
		}
		e.stats.Evaluations++
		var r result
		if sig == signalRate {
			r = e.rateTest(t.base, w, alpha)
		} else {
			r = e.meanTest(t.base, w, alpha)
		}
		out = e.step(t, sig, &r, w, out)
	}
	return out
}

// skip closes count consecutive empty windows starting at index first.
func (e *Engine) skip(t *track, first, count int64, out []event.Alert) []event.Alert {
	m := t.signals()
	for sig := range signal(m) {
		e.stats.InsufficientData += uint64(count)
		out = e.insufficient(t, sig, first, count, out)
	}
	return out
}

// result is one detector evaluation of one window.
type result struct {
	z, threshold, p float64
	base, cur       float64 // baseline and window value (failure rate or mean)
	baseN, curN     int64
	effect, floor   float64
	cond            bool
}

func (r *result) severity() string {
	if r.floor > 0 && r.effect >= 3*r.floor {
		return event.SeverityCritical
	}
	return event.SeverityWarning
}

func (e *Engine) rateTest(b *baseline, w *window, alpha float64) result {
	p0 := float64(b.failures) / float64(b.n)
	p1 := float64(w.failures) / float64(w.n)
	z := twoProportionZ(b.failures, b.n, w.failures, w.n)
	r := result{
		z:         z,
		threshold: zCritical(alpha),
		p:         upperTail(z),
		base:      p0, cur: p1,
		baseN: b.n, curN: w.n,
		effect: p1 - p0,
		floor:  e.cfg.MinRateEffect,
	}
	r.cond = r.p < alpha && r.effect >= r.floor
	return r
}

func (e *Engine) meanTest(b *baseline, w *window, alpha float64) result {
	mean0, mean1 := b.values.mean, w.values.mean
	scale := math.Max(math.Sqrt(b.values.variance()), meanScaleFloor(mean0))
	z := welchZ(mean0, scale*scale, b.values.n, mean1, w.values.variance(), w.values.n)
	r := result{
		z:         z,
		threshold: zCritical(alpha / 2),
		p:         twoSidedP(z),
		base:      mean0, cur: mean1,
		baseN: b.values.n, curN: w.values.n,
		effect: math.Abs(mean1-mean0) / scale,
		floor:  e.cfg.MinMeanEffect,
	}
	r.cond = r.p < alpha && r.effect >= r.floor
	return r
}

// unixNanos returns t as nanoseconds since the Unix epoch when it lies within ±2^62 ns (about
// 1824–2116), a range in which window arithmetic cannot overflow.
func unixNanos(t time.Time) (int64, bool) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, false
	}
	return t.UnixNano(), true
}

var (
	minTime = time.Unix(0, -1<<62)
	maxTime = time.Unix(0, 1<<62)
)

// floorDiv returns a / b rounded towards negative infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// windowBounds returns the start and end of window idx.
func (e *Engine) windowBounds(idx int64) (time.Time, time.Time) {
	w := int64(e.cfg.Window)
	start := time.Unix(0, idx*w).UTC()
	return start, start.Add(e.cfg.Window)
}
