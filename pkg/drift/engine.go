package drift

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Stats are an Engine's counters since it was created (Restore does not carry them over).
type Stats struct {
	// Series is the number of quality series (series labels plus metric) tracked.
	Series int
	// Observed is the number of records passed to Observe.
	Observed uint64
	// Late is the number of records not (entirely) added because their window had already closed
	// (or their timestamp lies outside the years 1824–2116 that window arithmetic supports).
	Late uint64
	// Evaluations is the number of (series, metric, signal, window) evaluations run.
	Evaluations uint64
	// InsufficientData is the number of (series, metric, signal, window) evaluations skipped because
	// the window held fewer than MinSamples observations of the signal.
	InsufficientData uint64
}

// Engine keeps per-series baselines, windows, online detectors and alert states. It does no I/O,
// starts no goroutines and never reads the clock: time comes from record timestamps and from the
// watermark given to Advance. An Engine is not safe for concurrent use; its owner serialises calls.
type Engine struct {
	cfg      Config
	groups   map[event.Series]*group
	tracks   []*track // every track; sorted by key before it is walked in order
	unsorted bool
	families map[familyKey]*Baseline // latest pinned baseline per family
	closed   int64                   // index of the newest window closed by Advance, valid once advanced
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
		families: make(map[familyKey]*Baseline),
		groups:   make(map[event.Series]*group),
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

func familyOf(k seriesKey) familyKey {
	return familyKey{k.series.App, k.series.Environment, k.series.Feature, k.metric}
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

// group holds the quality series (one per metric) of one event.Series, and the size of their
// Bonferroni family.
type group struct {
	tracks []*track // in order of creation; a series has a handful of metrics
	tests  int      // p-value tests per window over all metrics of the series
}

// find returns the track of metric, or nil.
func (g *group) find(metric string) *track {
	for _, t := range g.tracks {
		if t.key.metric == metric {
			return t
		}
	}
	return nil
}

// lookup returns the track of (s, metric), or nil.
func (e *Engine) lookup(s event.Series, metric string) *track {
	if g, ok := e.groups[s]; ok {
		return g.find(metric)
	}
	return nil
}

// track is one quality series.
type track struct {
	key   seriesKey
	group *group
	rng   uint64 // sampling state (baseline reservoir, crowded window cells), seeded from the key

	seen     int    // observations counted towards warm-up and baseline
	building *accum // baseline under construction until pinned; nil when empty or pinned

	base *Baseline // nil until pinned or inherited; frozen, shared with inheritors
	d    derived

	rateCUSUM  bernoulliCUSUM
	valueCUSUM cusum
	sticky     [numSignals]alarm // alarms of the current pending/firing episode (see evaluate)

	lastClosed int64        // newest window index already closed for this track
	open       []window     // open windows, ascending idx
	prev       closedWindow // most recently closed window, for PinCurrent
	// Labels of a retired window, reused by the next one.
	spareLabels []labelCount

	// Together, so that they share one word: a track of every series is in memory.
	inherited bool
	hasClosed bool
	hasPrev   bool

	alerts [numSignals]alertState
}

// Observe adds the scores of rec to their series: to the warm-up, to the baseline until it is
// pinned, then to the window of rec.Timestamp and to the online detectors. A record whose window has
// already closed is counted as late and not added. Observe ignores a nil record and does not retain
// rec (it keeps its strings).
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
	late := false
	g := e.groups[rec.Series] // one hash per record; metrics are found by a short scan
	for i := range rec.Scores {
		s := &rec.Scores[i]
		var t *track
		if g != nil {
			t = g.find(s.Metric)
		}
		if t == nil {
			t = e.track(rec.Series, s.Metric)
			g = t.group
		}
		if t.base != nil && t.hasClosed && idx <= t.lastClosed {
			// Only a restored track can be ahead of the engine's watermark.
			late = true
			continue
		}
		t.observe(e, idx, ns, rec.EventID, s)
	}
	if late {
		e.stats.Late++
	}
}

// track returns the track of (series, metric), creating it (and inheriting a baseline) if needed.
func (e *Engine) track(s event.Series, metric string) *track {
	if t := e.lookup(s, metric); t != nil {
		return t
	}
	k := seriesKey{series: s, metric: metric}
	t := e.newTrack(k)
	t.lastClosed, t.hasClosed = e.closed, e.advanced
	if b, ok := e.families[familyOf(k)]; ok {
		e.setBaseline(t, b, true)
	}
	return t
}

// newTrack registers an empty track for k.
func (e *Engine) newTrack(k seriesKey) *track {
	g, ok := e.groups[k.series]
	if !ok {
		g = &group{}
		e.groups[k.series] = g
	}
	t := &track{key: k, group: g, rng: seed(k)}
	g.tracks = append(g.tracks, t)
	e.tracks = append(e.tracks, t)
	e.unsorted = true
	return t
}

// seed derives a track's generator state from its key, so that sampling does not depend on the
// order in which tracks were created.
func seed(k seriesKey) uint64 {
	h := fnv.New64a()
	for _, s := range []string{k.series.App, k.series.Environment, k.series.Feature, k.series.Model, k.series.PromptVersion, k.metric} {
		h.Write([]byte(s))
		h.Write([]byte{0xff})
	}
	return h.Sum64()
}

func (e *Engine) sortTracks() {
	if e.unsorted {
		slices.SortFunc(e.tracks, func(a, b *track) int { return compareKeys(a.key, b.key) })
		e.unsorted = false
	}
}

func (t *track) observe(e *Engine, idx, ns int64, eventID string, s *event.Score) {
	cfg := &e.cfg
	fail := !s.Pass
	hasValue := usableValue(s)
	if t.base == nil {
		t.seen++
		if t.seen <= cfg.WarmUp {
			return
		}
		if t.building == nil {
			t.building = &accum{}
		}
		b := t.building
		b.add(ns, fail, hasValue, true, s.Value, s.Label, eventID, cfg, &t.rng)
		if b.n >= int64(cfg.BaselineSize) {
			base := e.freeze(b, t.key, SourceAuto, time.Unix(0, ns).UTC())
			t.building = nil
			e.setBaseline(t, base, false)
		}
		return
	}
	w := t.window(idx)
	w.acc.add(ns, fail, hasValue, false, s.Value, s.Label, eventID, cfg, &t.rng)
	if fail {
		w.failEx.add(eventID, cfg.MaxExamples)
	}
	if s.Label != "" && w.newEx.n < cfg.MaxExamples && t.d.signals[signalLabel] && !t.base.knows(s.Label) {
		w.newEx.add(eventID, cfg.MaxExamples)
	}
	if hit, peak := t.rateCUSUM.add(fail, &t.d.rate); hit {
		w.alarm[signalRate] = alarm{on: true, dir: 1, peak: peak}
	}
	if hasValue && t.d.signals[signalValue] {
		q, p := cellLayout(t.base, &t.d)
		w.cells = addValue(w.cells, s.Value, 1, t.base.Quantiles, t.base.BinEdges, q, p, &t.rng)
		w.high.add(eventID, s.Value, cfg.MaxExamples)
		w.low.add(eventID, -s.Value, cfg.MaxExamples)
		// Clamped so that a wild value cannot make the statistic infinite.
		z := min(max((s.Value-t.base.Mean)/t.d.scale, -1e6), 1e6)
		if dir, peak := t.valueCUSUM.add(z, cfg.ValueCUSUMSlack, cfg.ValueCUSUMThreshold); dir != 0 {
			w.alarm[signalValue] = alarm{on: true, dir: dir, peak: peak}
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
	t.open = slices.Insert(t.open, i, window{idx: idx, acc: accum{labels: t.spareLabels}})
	t.spareLabels = nil
	return &t.open[i]
}

// retire makes the just-closed window w the track's previous window and keeps the labels of the
// one it replaces for reuse.
func (t *track) retire(w *window) {
	if t.hasPrev {
		a := &t.prev.acc
		a.reset()
		t.spareLabels = a.labels
	}
	t.prev, t.hasPrev = closedWindow{idx: w.idx, acc: w.acc, cells: w.cells}, true
}

// closedWindow is what a track keeps of its most recently closed window: its counts and cells,
// without the examples and alarms only its evaluation needed.
type closedWindow struct {
	idx   int64
	acc   accum
	cells []byte
}

// Advance closes every window whose end + Grace is at or before watermark, in every series, and
// evaluates it. It returns the alert transitions and re-sends those evaluations produce, ordered by
// window end, then series labels and metric, then signal ("rate", "value", "label"). A watermark that
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
	e.sortTracks()
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
	if t.hasClosed && t.lastClosed >= k {
		return out // a restored track ahead of this engine
	}
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
		t.retire(w)
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

// skip closes count consecutive empty windows starting at index first.
func (e *Engine) skip(t *track, first, count int64, out []event.Alert) []event.Alert {
	for sig := range numSignals {
		if !t.d.signals[sig] {
			continue
		}
		e.stats.InsufficientData += uint64(count)
		out = e.insufficient(t, sig, first, count, out)
	}
	return out
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
