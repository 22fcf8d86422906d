package drift

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// snapshotVersion is the version of the encoding Snapshot writes. Restore also reads version 1,
// whose baselines carry their whole sample (it summarises each as pinning does), and versions 1
// and 2, whose windows carry a sample of their values (it counts each into the window's cells).
const snapshotVersion = 3

// Snapshot encodes the complete state of the series for which filter returns true (every series
// when filter is nil): baselines, baselines under construction, open windows, online detectors and
// alert states, and the baselines their families would hand to a new version. It is how a partition
// moves to another replica: Restore on the new owner continues exactly where this engine stopped,
// with the same alert ids. Stats are not included.
//
// The encoding is JSON with a "version" field (currently 3); baseline quantiles (and the sample of
// a baseline under construction) are packed as base64 of little-endian float32s, 5⅓ bytes per
// value, window cells as base64 of their bytes, and zero fields are left out. A check takes a few
// hundred bytes to 2 KB; a measure about 0.7 KB for its baseline's quantiles (once per baseline
// shared by inheritance) and up to 0.4 KB of cells for each of its open and previous windows
// however large they are: about 3 KB for a series with one check and one measure. A caller that must keep each encoded value small (a key-value bucket's maximum
// value size) snapshots the series in groups with filter. Snapshot does not change the engine.
func (e *Engine) Snapshot(filter func(event.Series) bool) ([]byte, error) {
	var buf bytes.Buffer
	if err := e.EncodeSnapshot(&buf, filter); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeSnapshot appends what Snapshot returns to buf, so that a caller that checkpoints often
// can encode into memory it keeps instead of a new copy of the state each time.
func (e *Engine) EncodeSnapshot(buf *bytes.Buffer, filter func(event.Series) bool) error {
	e.sortTracks()
	sc := scratchPool.Get().(*snapshotScratch)
	defer sc.release()
	ref := func(b *Baseline) int {
		if b == nil {
			return -1
		}
		i, ok := sc.index[b]
		if !ok {
			i = len(sc.baselines)
			sc.index[b] = i
			sc.baselines = append(sc.baselines, baselineSnap{Baseline: *b, Quantiles: b.Quantiles})
		}
		return i
	}
	for _, t := range e.tracks {
		if filter != nil && !filter(t.key.series) {
			continue
		}
		sc.tracks = append(sc.tracks, t.snapshot(ref(t.base), sc))
		f := familyOf(t.key)
		if b, ok := e.families[f]; ok && !sc.families[f] {
			sc.families[f] = true
			sc.familySnaps = append(sc.familySnaps, familySnap{f.app, f.environment, f.feature, f.metric, ref(b)})
		}
	}
	s := &snapshotFile{
		Version:  snapshotVersion,
		WindowNS: int64(e.cfg.Window),
		Closed:   e.closed,
		Advanced: e.advanced,
		// Empty lists stay nil, so that they are left out as a fresh engine's are.
		Baselines: nilIfEmpty(sc.baselines),
		Families:  nilIfEmpty(sc.familySnaps),
		Tracks:    nilIfEmpty(sc.tracks),
	}
	if err := json.NewEncoder(buf).Encode(s); err != nil {
		return fmt.Errorf("encode drift snapshot: %w", err)
	}
	buf.Truncate(buf.Len() - 1) // the newline Encode ends with, which Marshal does not write
	return nil
}

// snapshotScratch is the memory EncodeSnapshot lays a snapshot's structures out in before it
// encodes them. A replica checkpoints every partition over and over; building them afresh each
// time was half of what drift allocated. Slices of a track are cut from shared arrays, which
// grow to the largest snapshot encoded with them.
type snapshotScratch struct {
	baselines   []baselineSnap
	familySnaps []familySnap
	tracks      []trackSnap
	index       map[*Baseline]int
	families    map[familyKey]bool
	accums      arena[accumSnap]
	windows     arena[windowSnap]
	alerts      arena[alertSnap]
	alarms      arena[alarmSnap]
	labels      arena[labelSnap]
	extremes    arena[extremeSnap]
}

var scratchPool = sync.Pool{New: func() any {
	return &snapshotScratch{index: map[*Baseline]int{}, families: map[familyKey]bool{}}
}}

// release clears what the snapshot referred to, so that the pool keeps no engine state alive,
// and returns sc to the pool.
func (sc *snapshotScratch) release() {
	sc.baselines = clearAll(sc.baselines)
	sc.familySnaps = clearAll(sc.familySnaps)
	sc.tracks = clearAll(sc.tracks)
	clear(sc.index)
	clear(sc.families)
	sc.accums.reset()
	sc.windows.reset()
	sc.alerts.reset()
	sc.alarms.reset()
	sc.labels.reset()
	sc.extremes.reset()
	scratchPool.Put(sc)
}

// clearAll zeroes s up to its capacity and returns it empty.
func clearAll[T any](s []T) []T {
	clear(s[:cap(s)])
	return s[:0]
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// arena hands out slices of one array; those handed out stay valid when it grows.
type arena[T any] []T

// take returns an empty slice with room for n values.
func (a *arena[T]) take(n int) []T {
	s := *a
	if len(s)+n > cap(s) {
		s = make([]T, 0, max(2*cap(s), n, 64))
	}
	*a = s[:len(s)+n]
	return s[len(s) : len(s) : len(s)+n]
}

// one returns a pointer to a zero value.
func (a *arena[T]) one() *T {
	return &a.take(1)[:1][0]
}

func (a *arena[T]) reset() {
	*a = clearAll(*a)
}

// Restore merges the series of a Snapshot into e: each restored series replaces any series of the
// same labels and metric e already has, and a restored family baseline replaces e's unless e's was
// pinned later. An engine that has not yet advanced adopts the snapshot's newest closed window, so
// it rejects the same late records the snapshotting engine would have; an engine that has advanced
// keeps its own, and each restored series closes its windows as the engine's watermark reaches
// them. The snapshot must come from an engine with the same Window. On error e is unchanged.
func (e *Engine) Restore(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s snapshotFile
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("decode drift snapshot: %w", err)
	}
	if s.Version < 1 || s.Version > snapshotVersion {
		return fmt.Errorf("decode drift snapshot: version %d: want 1 to %d", s.Version, snapshotVersion)
	}
	if s.WindowNS != int64(e.cfg.Window) {
		return fmt.Errorf("decode drift snapshot: window %v: want %v", time.Duration(s.WindowNS), e.cfg.Window)
	}
	baselines := make([]*Baseline, len(s.Baselines))
	for i, bs := range s.Baselines {
		b := bs.Baseline
		b.Sample, b.Quantiles = bs.Sample, bs.Quantiles
		if err := checkBaseline(&b); err != nil {
			return fmt.Errorf("decode drift snapshot: baselines[%d]: %w", i, err)
		}
		baselines[i] = e.normalize(&b)
	}
	lookup := func(i int) (*Baseline, error) {
		if i == -1 {
			return nil, nil
		}
		if i < 0 || i >= len(baselines) {
			return nil, fmt.Errorf("baseline %d out of range", i)
		}
		return baselines[i], nil
	}
	tracks := make([]*track, len(s.Tracks))
	keys := make(map[seriesKey]bool, len(s.Tracks))
	for i := range s.Tracks {
		ts := &s.Tracks[i]
		k := seriesKey{series: ts.Series, metric: ts.Metric}
		if keys[k] {
			return fmt.Errorf("decode drift snapshot: tracks[%d]: duplicate series %s %s", i, k.series.Key(), k.metric)
		}
		keys[k] = true
		b, err := lookup(ts.Baseline)
		if err == nil {
			tracks[i], err = e.restoreTrack(ts, k, b)
		}
		if err != nil {
			return fmt.Errorf("decode drift snapshot: tracks[%d]: %w", i, err)
		}
	}
	fams := make([]*Baseline, len(s.Families))
	for i, f := range s.Families {
		b, err := lookup(f.Baseline)
		if err == nil && b == nil {
			err = errors.New("no baseline")
		}
		if err != nil {
			return fmt.Errorf("decode drift snapshot: families[%d]: %w", i, err)
		}
		fams[i] = b
	}

	// Everything is valid: merge.
	if len(keys) > 0 {
		e.tracks = slices.DeleteFunc(e.tracks, func(t *track) bool {
			if !keys[t.key] {
				return false
			}
			g := t.group
			g.tests -= t.d.tests
			g.tracks = slices.DeleteFunc(g.tracks, func(x *track) bool { return x == t })
			return true
		})
	}
	for _, r := range tracks {
		t := e.newTrack(r.key)
		g := t.group
		*t = *r
		t.group = g
		g.tests += t.d.tests
	}
	for s, g := range e.groups {
		if len(g.tracks) == 0 {
			delete(e.groups, s)
		}
	}
	for i, f := range s.Families {
		e.offerFamily(familyKey{f.App, f.Environment, f.Feature, f.Metric}, fams[i])
	}
	if !e.advanced {
		e.closed, e.advanced = s.Closed, s.Advanced
	}
	return nil
}

// restoreTrack rebuilds a track from its snapshot, validating what later code relies on.
func (e *Engine) restoreTrack(ts *trackSnap, k seriesKey, b *Baseline) (*track, error) {
	t := &track{
		key: k, rng: ts.RNG, seen: ts.Seen,
		rateCUSUM:  bernoulliCUSUM{s: ts.RateCUSUM},
		valueCUSUM: cusum{hi: ts.ValueCUSUM[0], lo: ts.ValueCUSUM[1]},
		lastClosed: ts.LastClosed, hasClosed: ts.HasClosed,
	}
	if ts.Seen < 0 {
		return nil, fmt.Errorf("seen %d: must be zero or positive", ts.Seen)
	}
	if b != nil {
		t.base, t.inherited = b, ts.Inherited
		t.d = e.derive(b)
	} else if ts.Inherited {
		return nil, errors.New("inherited without a baseline")
	}
	var err error
	if ts.Building != nil {
		var a accum
		if a, err = e.restoreAccum(ts.Building); err != nil {
			return nil, fmt.Errorf("building: %w", err)
		}
		if a.n > 0 { // an empty accumulator is not kept: most series have none
			t.building = &a
		}
	}
	if err := restoreAlarms(&t.sticky, ts.Sticky); err != nil {
		return nil, fmt.Errorf("sticky: %w", err)
	}
	for i := range ts.Open {
		w, err := e.restoreWindow(&ts.Open[i], t)
		if err != nil {
			return nil, fmt.Errorf("open[%d]: %w", i, err)
		}
		if i > 0 && w.idx <= t.open[i-1].idx || t.hasClosed && w.idx <= t.lastClosed {
			return nil, fmt.Errorf("open[%d]: window %d out of order", i, w.idx)
		}
		t.open = append(t.open, w)
	}
	if ts.Prev != nil {
		w, err := e.restoreWindow(ts.Prev, t)
		if err != nil {
			return nil, fmt.Errorf("prev: %w", err)
		}
		t.prev = closedWindow{idx: w.idx, acc: w.acc, cells: w.cells} // its examples are not kept
		t.hasPrev = true
	}
	if len(ts.Alerts) > int(numSignals) {
		return nil, fmt.Errorf("%d alerts: want at most %d", len(ts.Alerts), numSignals)
	}
	for i, as := range ts.Alerts {
		switch as.State {
		case "", stateInactive, event.StatePending, event.StateFiring:
		default:
			return nil, fmt.Errorf("alerts[%d]: state %q", i, as.State)
		}
		switch as.Severity {
		case "", event.SeverityWarning, event.SeverityCritical:
		default:
			return nil, fmt.Errorf("alerts[%d]: severity %q", i, as.Severity)
		}
		if as.TrueRun < 0 || as.FalseRun < 0 || as.SinceSend < 0 || as.Resends < 0 {
			return nil, fmt.Errorf("alerts[%d]: negative counter", i)
		}
		t.alerts[i] = alertState{
			state: as.State, seq: as.Seq, trueRun: as.TrueRun, falseRun: as.FalseRun,
			sinceSend: as.SinceSend, resends: as.Resends, startsAt: as.StartsAt, severity: as.Severity,
			last: as.Last, lastSum: as.LastSummary,
		}
	}
	return t, nil
}

func (e *Engine) restoreAccum(s *accumSnap) (accum, error) {
	a := accum{
		n: s.N, failures: s.Failures,
		values:   moments{n: s.Values.N, mean: s.Values.Mean, m2: s.Values.M2},
		sample:   s.Sample,
		labelled: s.Labelled, other: s.Other, from: s.From, to: s.To,
	}
	switch {
	case s.N < 0 || s.Failures < 0 || s.Failures > s.N:
		return a, fmt.Errorf("counts %d/%d", s.Failures, s.N)
	case s.Values.N < 0 || s.Values.N > s.N || int64(len(s.Sample)) > s.Values.N:
		return a, fmt.Errorf("values %d, sample %d", s.Values.N, len(s.Sample))
	case s.Labelled < 0 || s.Other < 0 || s.Labelled > s.N:
		return a, fmt.Errorf("labels %d/%d", s.Labelled, s.Other)
	}
	if len(a.sample) > e.cfg.SampleSize {
		a.sample = systematic(a.sample, e.cfg.SampleSize)
	}
	for _, l := range s.Labels {
		if l.N < 0 {
			return a, fmt.Errorf("label %q count %d", l.Label, l.N)
		}
		if len(a.labels) < e.cfg.MaxCategories {
			a.labels = append(a.labels, labelCount{label: l.Label, n: l.N, example: l.Example})
		} else {
			a.other += l.N
		}
	}
	return a, nil
}

// restoreWindow rebuilds a window of t (whose baseline is restored): a sample of its values (from
// versions 1 and 2) is counted into its cells.
func (e *Engine) restoreWindow(s *windowSnap, t *track) (window, error) {
	w := window{idx: s.Idx}
	var err error
	if w.acc, err = e.restoreAccum(&s.Acc); err != nil {
		return w, err
	}
	q, p := cellLayout(t.base, &t.d)
	if err := checkCells(s.Cells, q, p); err != nil {
		return w, err
	}
	w.cells = s.Cells
	if len(w.acc.sample) > 0 && q+p > 0 {
		for _, v := range w.acc.sample {
			w.cells = addValue(w.cells, float64(v), 1, t.base.Quantiles, t.base.BinEdges, q, p, nil)
		}
	}
	w.acc.sample = nil
	if len(s.FailEx) > maxExamples || len(s.NewEx) > maxExamples || len(s.High) > maxExamples || len(s.Low) > maxExamples {
		return w, errors.New("too many examples")
	}
	w.failEx.n = copy(w.failEx.ids[:], s.FailEx)
	w.newEx.n = copy(w.newEx.ids[:], s.NewEx)
	for i, x := range s.High {
		w.high.ids[i], w.high.vals[i] = x.ID, x.Value
	}
	w.high.n = len(s.High)
	for i, x := range s.Low {
		w.low.ids[i], w.low.vals[i] = x.ID, x.Value
	}
	w.low.n = len(s.Low)
	return w, restoreAlarms(&w.alarm, s.Alarms)
}

func restoreAlarms(dst *[numSignals]alarm, src []alarmSnap) error {
	if len(src) > int(numSignals) {
		return fmt.Errorf("%d alarms: want at most %d", len(src), numSignals)
	}
	for i, a := range src {
		if a.Dir < -1 || a.Dir > 1 {
			return fmt.Errorf("alarm direction %d", a.Dir)
		}
		dst[i] = alarm{on: a.On, dir: a.Dir, peak: a.Peak}
	}
	return nil
}

func (t *track) snapshot(baseline int, sc *snapshotScratch) trackSnap {
	s := trackSnap{
		Series: t.key.series, Metric: t.key.metric, RNG: t.rng, Seen: t.seen,
		Baseline: baseline, Inherited: t.inherited,
		RateCUSUM:  t.rateCUSUM.s,
		ValueCUSUM: [2]float64{t.valueCUSUM.hi, t.valueCUSUM.lo},
		Sticky:     alarmSnaps(&t.sticky, sc),
		LastClosed: t.lastClosed, HasClosed: t.hasClosed,
	}
	if t.base == nil {
		b := sc.accums.one()
		if t.building != nil {
			*b = t.building.snapshot(sc)
		}
		s.Building = b
	}
	if len(t.open) > 0 {
		s.Open = sc.windows.take(len(t.open))
		for i := range t.open {
			s.Open = append(s.Open, t.open[i].snapshot(sc))
		}
	}
	if t.hasPrev {
		p := sc.windows.one()
		*p = windowSnap{Idx: t.prev.idx, Acc: t.prev.acc.snapshot(sc), Cells: t.prev.cells}
		s.Prev = p
	}
	s.Alerts = sc.alerts.take(len(t.alerts))
	for i := range t.alerts {
		a := &t.alerts[i]
		s.Alerts = append(s.Alerts, alertSnap{
			State: a.state, Seq: a.seq, TrueRun: a.trueRun, FalseRun: a.falseRun,
			SinceSend: a.sinceSend, Resends: a.resends, StartsAt: a.startsAt, Severity: a.severity,
			Last: a.last, LastSummary: a.lastSum,
		})
	}
	return s
}

func (a *accum) snapshot(sc *snapshotScratch) accumSnap {
	s := accumSnap{
		N: a.n, Failures: a.failures,
		Values:   momentsSnap{N: a.values.n, Mean: a.values.mean, M2: a.values.m2},
		Sample:   a.sample,
		Labelled: a.labelled, Other: a.other, From: a.from, To: a.to,
	}
	if len(a.labels) > 0 {
		s.Labels = sc.labels.take(len(a.labels))
		for _, l := range a.labels {
			s.Labels = append(s.Labels, labelSnap{Label: l.label, N: l.n, Example: l.example})
		}
	}
	return s
}

func (w *window) snapshot(sc *snapshotScratch) windowSnap {
	s := windowSnap{
		Idx: w.idx, Acc: w.acc.snapshot(sc), Cells: w.cells, FailEx: w.failEx.ids[:w.failEx.n], NewEx: w.newEx.ids[:w.newEx.n],
		Alarms: alarmSnaps(&w.alarm, sc),
	}
	if w.high.n > 0 {
		s.High = sc.extremes.take(w.high.n)
		for i := range w.high.n {
			s.High = append(s.High, extremeSnap{ID: w.high.ids[i], Value: w.high.vals[i]})
		}
	}
	if w.low.n > 0 {
		s.Low = sc.extremes.take(w.low.n)
		for i := range w.low.n {
			s.Low = append(s.Low, extremeSnap{ID: w.low.ids[i], Value: w.low.vals[i]})
		}
	}
	return s
}

func alarmSnaps(a *[numSignals]alarm, sc *snapshotScratch) []alarmSnap {
	if *a == ([numSignals]alarm{}) {
		return nil
	}
	out := sc.alarms.take(len(a))
	for _, x := range a {
		out = append(out, alarmSnap{On: x.on, Dir: x.dir, Peak: x.peak})
	}
	return out
}

// The encoding of a snapshot, version 3. Version 2 differs only in its windows: a packed sample
// (acc.sample) instead of cells; version 1 also in its baselines: a packed sample instead of
// sample_n and quantiles.
type (
	snapshotFile struct {
		Version   int            `json:"version"`
		WindowNS  int64          `json:"window_ns,omitzero"`
		Closed    int64          `json:"closed,omitzero"`
		Advanced  bool           `json:"advanced,omitzero"`
		Baselines []baselineSnap `json:"baselines,omitzero"`
		Families  []familySnap   `json:"families,omitzero"`
		Tracks    []trackSnap    `json:"tracks,omitzero"`
	}
	// baselineSnap is a Baseline with its quantiles (version 1: its sample) packed.
	baselineSnap struct {
		Baseline
		Sample    packedFloats `json:"sample,omitzero"`
		Quantiles packedFloats `json:"quantiles,omitzero"`
	}
	familySnap struct {
		App         string `json:"app,omitzero"`
		Environment string `json:"environment,omitzero"`
		Feature     string `json:"feature,omitzero"`
		Metric      string `json:"metric,omitzero"`
		Baseline    int    `json:"baseline,omitzero"`
	}
	trackSnap struct {
		Series     event.Series `json:"series,omitzero"`
		Metric     string       `json:"metric,omitzero"`
		RNG        uint64       `json:"rng,omitzero"`
		Seen       int          `json:"seen,omitzero"`
		Building   *accumSnap   `json:"building,omitempty"`
		Baseline   int          `json:"baseline,omitzero"` // index into Baselines, -1 for none
		Inherited  bool         `json:"inherited,omitzero"`
		RateCUSUM  float64      `json:"rate_cusum,omitzero"`
		ValueCUSUM [2]float64   `json:"value_cusum,omitzero"`
		Sticky     []alarmSnap  `json:"sticky,omitzero"`
		LastClosed int64        `json:"last_closed,omitzero"`
		HasClosed  bool         `json:"has_closed,omitzero"`
		Open       []windowSnap `json:"open,omitzero"`
		Prev       *windowSnap  `json:"prev,omitempty"`
		Alerts     []alertSnap  `json:"alerts,omitzero"`
	}
	accumSnap struct {
		N        int64        `json:"n,omitzero"`
		Failures int64        `json:"failures,omitzero"`
		Values   momentsSnap  `json:"values,omitzero"`
		Sample   packedFloats `json:"sample,omitzero"`
		Labelled int64        `json:"labelled,omitzero"`
		Labels   []labelSnap  `json:"labels,omitzero"`
		Other    int64        `json:"other,omitzero"`
		From     int64        `json:"from,omitzero"`
		To       int64        `json:"to,omitzero"`
	}
	momentsSnap struct {
		N    int64   `json:"n,omitzero"`
		Mean float64 `json:"mean,omitzero"`
		M2   float64 `json:"m2"`
	}
	labelSnap struct {
		Label   string `json:"label,omitzero"`
		N       int64  `json:"n,omitzero"`
		Example string `json:"example,omitzero"`
	}
	windowSnap struct {
		Idx    int64         `json:"idx,omitzero"`
		Acc    accumSnap     `json:"acc,omitzero"`
		Cells  []byte        `json:"cells,omitzero"` // version 3
		FailEx []string      `json:"fail_examples,omitzero"`
		NewEx  []string      `json:"new_label_examples,omitzero"`
		High   []extremeSnap `json:"high,omitzero"`
		Low    []extremeSnap `json:"low,omitzero"`
		Alarms []alarmSnap   `json:"alarms,omitzero"`
	}
	extremeSnap struct {
		ID    string  `json:"id,omitzero"`
		Value float64 `json:"value,omitzero"`
	}
	alarmSnap struct {
		On   bool    `json:"on,omitzero"`
		Dir  int8    `json:"dir,omitzero"`
		Peak float64 `json:"peak,omitzero"`
	}
	alertSnap struct {
		State       string          `json:"state,omitzero"`
		Seq         uint64          `json:"seq,omitzero"`
		TrueRun     int             `json:"true_run,omitzero"`
		FalseRun    int             `json:"false_run,omitzero"`
		SinceSend   int             `json:"since_send,omitzero"`
		Resends     int             `json:"resends,omitzero"`
		StartsAt    time.Time       `json:"starts_at,omitzero"`
		Severity    string          `json:"severity,omitzero"`
		Last        *event.Evidence `json:"last,omitempty"`
		LastSummary string          `json:"last_summary,omitzero"`
	}
)

// packedFloats encodes as a base64 string of little-endian IEEE 754 float32s: exact, and about half
// the size of decimal numbers.
type packedFloats []float32

func (p packedFloats) MarshalJSON() ([]byte, error) {
	if len(p) == 0 {
		return []byte("null"), nil
	}
	// The JSON string json.Marshal writes for the bytes, written straight into one buffer: three
	// floats are 12 bytes, a multiple of 3, so only the last group can need padding.
	enc := base64.StdEncoding
	out := make([]byte, enc.EncodedLen(4*len(p))+2)
	out[0], out[len(out)-1] = '"', '"'
	dst := out[1:]
	var group [12]byte
	for i := 0; i < len(p); i += 3 {
		n := min(3, len(p)-i)
		for j := range n {
			binary.LittleEndian.PutUint32(group[4*j:], math.Float32bits(p[i+j]))
		}
		enc.Encode(dst, group[:4*n])
		dst = dst[enc.EncodedLen(4*n):]
	}
	return out, nil
}

func (p *packedFloats) UnmarshalJSON(data []byte) error {
	var raw []byte
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw)%4 != 0 {
		return fmt.Errorf("packed floats: %d bytes is not a multiple of 4", len(raw))
	}
	if len(raw) == 0 {
		*p = nil
		return nil
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*p = out
	return nil
}
