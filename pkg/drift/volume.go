package drift

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Names of the silence alert and its signal.
const (
	SilenceAlertName = "silence"
	VolumeSignal     = "volume"
	volumeMetric     = "events"
	detPoisson       = "poisson_volume"
)

// Expectation sources of a volume series, as Evidence.BaselineSource.
const (
	VolumeRecent    = "recent"      // the series' recent rate (an exponentially weighted mean)
	VolumeHourOfDay = "hour_of_day" // the series' usual rate at this hour of the day (UTC)
)

// VolumeConfig parameterises a Volume tracker. Start from DefaultVolumeConfig.
type VolumeConfig struct {
	// Window is the counting window on event time, aligned to multiples of Window since the Unix
	// epoch. It must divide an hour for the hour-of-day profile to be used.
	Window time.Duration
	// Grace is how long after its end a window stays open. Windows close when the watermark passed
	// to Advance reaches end + Grace; the drift service advances an idle partition by the clock,
	// so Grace also absorbs the pipeline's delay between an event and its scored record.
	Grace time.Duration
	// Source, when not empty, is the only event.Scored.Source counted, so that the extra records of
	// a judge or of user feedback do not count an event twice.
	Source string
	// MinHistory is the number of windows a series must have been counted (with traffic) before it
	// is evaluated. Default 60.
	MinHistory int
	// HalfLife is the half-life, in windows, of the series' recent rate. Default 60: it follows the
	// daily rise and fall of traffic but not a collapse within a few windows.
	HalfLife int
	// HourDays is the number of days of history an hour-of-day bucket needs before it is used. The
	// expected count is then the lower of the recent rate and the bucket's, so that a quiet hour
	// seen on earlier days is not taken for a collapse. Default 3.
	HourDays int
	// MaxRatio is the largest share of the expected count a window may hold and still count as
	// collapsed. Default 0.2 (an 80% drop).
	MaxRatio float64
	// Alpha is the level of the Poisson test on the current run of collapsed windows: its count must
	// have a lower tail below Alpha given the expected count of those windows. Default 1e-6: with
	// one-minute windows a series has 1440 a day.
	Alpha float64
	// PendingWindows, ResolveWindows and ResendWindows are as in Config. Defaults 1, 2 and 10.
	PendingWindows int
	ResolveWindows int
	ResendWindows  int
	// RetireAfter is how long a series may go without events before it is forgotten (its alert, if
	// active, resolves with a summary saying so). Default 7 days.
	RetireAfter time.Duration
}

// DefaultVolumeConfig returns the configuration vigil runs silence detection with.
func DefaultVolumeConfig() VolumeConfig {
	return VolumeConfig{
		Window: time.Minute, Grace: time.Minute, MinHistory: 60, HalfLife: 60, HourDays: 3,
		MaxRatio: 0.2, Alpha: 1e-6, PendingWindows: 1, ResolveWindows: 2, ResendWindows: 10,
		RetireAfter: 7 * 24 * time.Hour,
	}
}

// Validate reports every invalid field at once, each error naming the field and its value.
func (c VolumeConfig) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("drift: volume %s = %v: must be %s", field, value, want))
	}
	if c.Window <= 0 {
		bad("Window", c.Window, "positive")
	}
	if c.Grace < 0 {
		bad("Grace", c.Grace, "zero or positive")
	}
	if c.MinHistory < 1 {
		bad("MinHistory", c.MinHistory, "at least 1")
	}
	if c.HalfLife < 1 {
		bad("HalfLife", c.HalfLife, "at least 1")
	}
	if c.HourDays < 0 {
		bad("HourDays", c.HourDays, "zero (no hour-of-day profile) or positive")
	}
	if !(c.MaxRatio > 0 && c.MaxRatio < 1) {
		bad("MaxRatio", c.MaxRatio, "in (0, 1)")
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		bad("Alpha", c.Alpha, "in (0, 1)")
	}
	if c.PendingWindows < 0 {
		bad("PendingWindows", c.PendingWindows, "zero or positive")
	}
	if c.ResolveWindows < 1 {
		bad("ResolveWindows", c.ResolveWindows, "at least 1")
	}
	if c.ResendWindows < 0 {
		bad("ResendWindows", c.ResendWindows, "zero (no re-sends) or positive")
	}
	if c.Window > 0 && c.RetireAfter < 2*c.Window {
		bad("RetireAfter", c.RetireAfter, "at least two windows")
	}
	return errors.Join(errs...)
}

// VolumeKey identifies a volume series: the events of one stage of one feature. Scored records
// are partitioned by feature, so every volume series lives in exactly one drift partition, counted
// from the records that partition already reads. An application that stops altogether raises one
// silence alert per feature and stage; they share the app label, by which receivers group them.
type VolumeKey struct {
	App         string `json:"app"`
	Environment string `json:"environment"`
	Feature     string `json:"feature"`
	Stage       string `json:"stage,omitempty"`
}

func compareVolumeKeys(a, b VolumeKey) int {
	return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Environment, b.Environment),
		cmp.Compare(a.Feature, b.Feature), cmp.Compare(a.Stage, b.Stage))
}

// VolumeStats are a Volume tracker's counters since it was created.
type VolumeStats struct {
	Series      int    // volume series tracked
	Observed    uint64 // records counted
	Late        uint64 // records whose window had already closed
	Evaluations uint64 // (series, window) evaluations against an expected count
	Retired     uint64 // series forgotten after RetireAfter without events
}

// Volume detects silence: a feature (or stage) whose event rate collapses or stops, compared with
// its own recent rate and, once a few days of history exist, its usual rate at that hour of the
// day. Since a silent series produces no records, its windows are closed by the watermark given to
// Advance, which the caller derives from a clock when no records arrive. Like Engine it does no
// I/O, reads no clock and is not safe for concurrent use.
//
// A window is collapsed when it holds at most MaxRatio of its expected count. Collapsed windows in
// a row form a run, and the run's window is true when the Poisson probability of so few events
// given the run's expected count is below Alpha: a busy series alerts on its first silent window, a
// series of one event a minute after about fourteen (e^-14 ≈ 10^-6). Alerts follow the Engine's
// lifecycle (pending, firing after PendingWindows further true windows, resolved after
// ResolveWindows windows that are not collapsed, re-sent every ResendWindows windows while firing)
// and ids ("<fingerprint>-<sequence>"). The rate is learnt only from windows that are neither
// suspect nor under an active alert, so a silence never teaches the series to expect silence; the
// hour-of-day profile learns every window, so a drop that recurs daily stops alerting after
// HourDays days, and a lasting change of level after about a week.
type Volume struct {
	cfg      VolumeConfig
	tracks   map[VolumeKey]*volTrack
	closed   int64
	advanced bool
	stats    VolumeStats
}

// volTrack is one volume series.
type volTrack struct {
	key        VolumeKey
	open       []volWindow // ascending idx
	lastClosed int64
	hasClosed  bool
	lastIdx    int64 // window of the newest event
	lastID     string

	history int     // windows learnt
	rate    float64 // exponentially weighted mean of events per window
	hours   [24]hourRate

	runStart    int64
	runWindows  int
	runObserved int64
	runExpected float64

	alert alertState
}

type volWindow struct {
	idx int64
	n   int64
}

// hourRate is the usual count of a window at one hour of the day.
type hourRate struct {
	Mean float64 `json:"m"`
	N    int     `json:"n"` // windows learnt
}

// NewVolume returns an empty tracker. cfg must pass Validate; NewVolume panics otherwise.
func NewVolume(cfg VolumeConfig) *Volume {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Volume{cfg: cfg, tracks: map[VolumeKey]*volTrack{}}
}

// Stats returns a copy of the tracker's counters.
func (v *Volume) Stats() VolumeStats {
	s := v.stats
	s.Series = len(v.tracks)
	return s
}

// Observe counts rec in the window of its timestamp. Records of another Source, nil records and
// records whose window has closed (counted as late) are not counted.
func (v *Volume) Observe(rec *event.Scored) {
	if rec == nil || v.cfg.Source != "" && rec.Source != v.cfg.Source {
		return
	}
	ns, ok := unixNanos(rec.Timestamp)
	if !ok {
		v.stats.Late++
		return
	}
	idx := floorDiv(ns, int64(v.cfg.Window))
	if v.advanced && idx <= v.closed {
		v.stats.Late++
		return
	}
	k := VolumeKey{rec.Series.App, rec.Series.Environment, rec.Series.Feature, rec.Stage}
	t := v.tracks[k]
	if t == nil {
		t = &volTrack{key: k, lastClosed: v.closed, hasClosed: v.advanced, lastIdx: idx}
		v.tracks[k] = t
	}
	if t.hasClosed && idx <= t.lastClosed {
		v.stats.Late++ // a restored track ahead of this tracker
		return
	}
	v.stats.Observed++
	if idx >= t.lastIdx {
		t.lastIdx, t.lastID = idx, rec.EventID
	}
	i := len(t.open)
	for i > 0 && t.open[i-1].idx > idx {
		i--
	}
	if i > 0 && t.open[i-1].idx == idx {
		t.open[i-1].n++
		return
	}
	t.open = slices.Insert(t.open, i, volWindow{idx: idx, n: 1})
}

// Advance closes every window whose end + Grace is at or before watermark, in every series,
// counting a window without records as zero, and returns the alert transitions and re-sends,
// ordered by window end, then series. A watermark that does not move past the previous one closes
// nothing.
func (v *Volume) Advance(watermark time.Time) []event.Alert {
	ns, ok := unixNanos(watermark)
	if !ok || ns < math.MinInt64+int64(v.cfg.Grace) {
		return nil
	}
	k := floorDiv(ns-int64(v.cfg.Grace), int64(v.cfg.Window)) - 1
	if v.advanced && k <= v.closed {
		return nil
	}
	v.closed, v.advanced = k, true
	keys := slices.SortedFunc(maps.Keys(v.tracks), compareVolumeKeys)
	retire := int64(v.cfg.RetireAfter / v.cfg.Window)
	var out []event.Alert
	for _, key := range keys {
		t := v.tracks[key]
		if t.hasClosed && t.lastClosed >= k {
			continue // a restored track ahead of this tracker
		}
		next := t.lastClosed + 1
		if !t.hasClosed {
			next = k + 1
			if len(t.open) > 0 {
				next = min(t.open[0].idx, next)
			}
		}
		// Windows further back than RetireAfter cannot change the outcome (the series retires or
		// its run is long past), and skipping them bounds the work of a long gap.
		next = max(next, k-retire)
		for idx := next; idx <= k; idx++ {
			if idx-t.lastIdx >= retire {
				out = v.retire(t, idx, out)
				break
			}
			var n int64
			if len(t.open) > 0 && t.open[0].idx == idx {
				n = t.open[0].n
				t.open = t.open[1:]
			}
			out = v.evaluate(t, idx, n, out)
		}
		t.lastClosed, t.hasClosed = k, true
		if len(t.open) == 0 {
			t.open = nil // let a drained slice's array go
		}
	}
	slices.SortStableFunc(out, func(a, b event.Alert) int { return a.At.Compare(b.At) })
	return out
}

// windowsPerHour returns the windows in an hour, 0 when Window does not divide an hour.
func (v *Volume) windowsPerHour() int {
	if time.Hour%v.cfg.Window != 0 {
		return 0
	}
	return int(time.Hour / v.cfg.Window)
}

// hourOf returns the UTC hour of the day of window idx.
func (v *Volume) hourOf(idx int64) int {
	return time.Unix(0, idx*int64(v.cfg.Window)).UTC().Hour()
}

// expected returns the expected count of window idx and where it comes from.
func (v *Volume) expected(t *volTrack, idx int64) (float64, string) {
	wph := v.windowsPerHour()
	if wph > 0 && v.cfg.HourDays > 0 {
		if h := t.hours[v.hourOf(idx)]; h.N >= v.cfg.HourDays*wph && h.Mean < t.rate {
			return h.Mean, VolumeHourOfDay
		}
	}
	return t.rate, VolumeRecent
}

// learn folds a window's count into the recent rate and, when hour is set, into the rate of its
// hour of the day.
func (v *Volume) learn(t *volTrack, idx, n int64, recent, hour bool) {
	if recent {
		t.history++
		a := max(1/float64(t.history), 1-math.Exp2(-1/float64(v.cfg.HalfLife)))
		t.rate += a * (float64(n) - t.rate)
	}
	if wph := v.windowsPerHour(); hour && wph > 0 {
		// The hour's mean weighs about the last week of that hour.
		h := &t.hours[v.hourOf(idx)]
		h.N++
		h.Mean += max(1/float64(h.N), 1/float64(7*wph)) * (float64(n) - h.Mean)
	}
}

// suspect is the p-value below which a run of collapsed windows is kept out of the recent rate. A
// quiet series sees empty windows often (e^-λ), and leaving all of them out would teach it a rate
// higher than its own.
const suspect = 0.01

// evaluate closes window idx of t, which holds n events.
func (v *Volume) evaluate(t *volTrack, idx, n int64, out []event.Alert) []event.Alert {
	if t.history < v.cfg.MinHistory {
		if n > 0 || t.history > 0 {
			v.learn(t, idx, n, true, true)
		}
		return out
	}
	v.stats.Evaluations++
	exp, src := v.expected(t, idx)
	low := exp > 0 && float64(n) <= v.cfg.MaxRatio*exp
	if low {
		if t.runWindows == 0 {
			t.runStart = idx
		}
		t.runWindows++
		t.runObserved += n
		t.runExpected += exp
	} else {
		t.runWindows, t.runObserved, t.runExpected = 0, 0, 0
	}
	p := 1.0
	if low {
		p = poissonLowerTail(t.runObserved, t.runExpected)
	}
	cond := low && p < v.cfg.Alpha
	sev := event.SeverityWarning
	if cond && t.runObserved == 0 {
		sev = event.SeverityCritical
	}
	r := volResult{n: n, exp: exp, src: src, p: p, cond: cond, severity: sev, idx: idx}
	out = v.step(t, &r, out)
	// The recent rate never learns a suspect run or a window under an alert, so a silence does not
	// teach the series to expect silence. The hour-of-day profile learns every window: that is how
	// a drop that recurs every evening stops alerting after HourDays days, and a lasting change of
	// level after about a week.
	v.learn(t, idx, n, p >= suspect && t.alert.inactive(), true)
	return out
}

// volResult is the evaluation of one window of a volume series.
type volResult struct {
	idx      int64
	n        int64
	exp      float64
	src      string
	p        float64
	cond     bool
	severity string
}

// step feeds one evaluated window into t's alert, with the Engine's state machine.
func (v *Volume) step(t *volTrack, r *volResult, out []event.Alert) []event.Alert {
	a := &t.alert
	_, end := v.bounds(r.idx)
	runStart, _ := v.bounds(t.runStart)
	// A firing alert stays while a run too short to be significant on its own still counts.
	a.advance(windowVerdict{cond: r.cond, hold: t.runWindows > 0, firm: true, severity: r.severity, startsAt: runStart},
		alertWindows{pending: v.cfg.PendingWindows, resolve: v.cfg.ResolveWindows, resend: v.cfg.ResendWindows},
		func(state, prev string, resend bool) {
			out = append(out, v.alert(t, a, state, prev, resend, v.evidence(t, r), v.summary(t, r, state), end))
		})
	return out
}

// retire forgets t at window idx, resolving its active alert.
func (v *Volume) retire(t *volTrack, idx int64, out []event.Alert) []event.Alert {
	v.stats.Retired++
	delete(v.tracks, t.key)
	a := &t.alert
	if a.inactive() {
		return out
	}
	prev := a.state
	a.state = stateInactive
	a.seq++
	_, end := v.bounds(idx)
	r := volResult{idx: idx, src: VolumeRecent, exp: t.rate, p: 1}
	summary := fmt.Sprintf("no events from %s for %s; volume series forgotten", v.where(t), v.cfg.RetireAfter)
	return append(out, v.alert(t, a, event.StateResolved, prev, false, v.evidence(t, &r), summary, end))
}

func (v *Volume) bounds(idx int64) (time.Time, time.Time) {
	start := time.Unix(0, idx*int64(v.cfg.Window)).UTC()
	return start, start.Add(v.cfg.Window)
}

// evidence describes the current run of t at window r.idx: the statistic is the run's event
// count, the threshold MaxRatio of its expected count; Baseline is the expected count of a window
// (N: windows learnt), Current the window's count (N: windows in the run).
func (v *Volume) evidence(t *volTrack, r *volResult) event.Evidence {
	runStart := r.idx
	if t.runWindows > 0 {
		runStart = t.runStart
	}
	start, _ := v.bounds(runStart)
	_, end := v.bounds(r.idx)
	ev := event.Evidence{
		Detector:       detPoisson,
		Signal:         VolumeSignal,
		Statistic:      float64(t.runObserved),
		Threshold:      finite(v.cfg.MaxRatio * t.runExpected),
		PValue:         finite(r.p),
		Baseline:       event.Sample{Value: finite(r.exp), N: int64(t.history)},
		Current:        event.Sample{Value: float64(r.n), N: int64(t.runWindows)},
		BaselineSource: r.src,
		WindowStart:    start,
		WindowEnd:      end,
	}
	if t.lastID != "" {
		ev.ExampleEventIDs = []string{t.lastID} // the newest event before the silence
	}
	return ev
}

func (v *Volume) where(t *volTrack) string {
	w := t.key.App + "/" + t.key.Feature + " (" + t.key.Environment
	if t.key.Stage != "" {
		w += ", stage " + t.key.Stage
	}
	return w + ")"
}

// summary is one human sentence about r.
func (v *Volume) summary(t *volTrack, r *volResult, state string) string {
	exp := formatValue(r.exp) + " a window"
	if r.src == VolumeHourOfDay {
		exp += " at this hour"
	}
	if state == event.StateResolved {
		return fmt.Sprintf("events from %s back: %d in the last window against %s expected", v.where(t), r.n, exp)
	}
	since, _ := v.bounds(t.runStart)
	if t.runObserved == 0 {
		return fmt.Sprintf("no events from %s for %d window(s) since %s; %s expected (Poisson p %s)",
			v.where(t), t.runWindows, since.Format(time.RFC3339), exp, formatP(r.p))
	}
	return fmt.Sprintf("event rate of %s collapsed: %d events in %d window(s) since %s against %s expected (%s; Poisson p %s)",
		v.where(t), t.runObserved, t.runWindows, since.Format(time.RFC3339), formatValue(t.runExpected),
		formatPercent(float64(t.runObserved)/t.runExpected), formatP(r.p))
}

// alert builds the emitted form of a transition or re-send.
func (v *Volume) alert(t *volTrack, a *alertState, state, prev string, resend bool, ev event.Evidence, summary string, at time.Time) event.Alert {
	if a.labels == nil {
		a.labels = map[string]string{
			"alertname": SilenceAlertName, "app": t.key.App, "environment": t.key.Environment,
			"feature": t.key.Feature, "metric": volumeMetric, "signal": VolumeSignal,
		}
		if t.key.Stage != "" {
			a.labels["stage"] = t.key.Stage
		}
		a.fp = Fingerprint(a.labels)
	}
	id := a.fp + "-" + strconv.FormatUint(a.seq, 10)
	if resend {
		id += "-r" + strconv.Itoa(a.resends)
	}
	sev := a.severity
	if sev == "" {
		sev = event.SeverityWarning
	}
	al := event.Alert{
		AlertID: id, Fingerprint: a.fp, Sequence: a.seq, State: state, Previous: prev, Resend: resend,
		Severity: sev, Labels: maps.Clone(a.labels), Summary: summary, StartsAt: a.startsAt, At: at, Evidence: ev,
	}
	if state == event.StateResolved {
		end := at
		al.EndsAt = &end
	}
	return al
}

// poissonLowerTail returns P(X ≤ c) for X ~ Poisson(lambda), summing the terms from c down while
// they still change the sum (below the mean they shrink at least geometrically).
func poissonLowerTail(c int64, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 1
	case c < 0:
		return 0
	}
	lg, _ := math.Lgamma(float64(c) + 1)
	term := math.Exp(-lambda + float64(c)*math.Log(lambda) - lg)
	sum := term
	for k := c; k > 0 && term > sum*1e-17; k-- {
		term *= float64(k) / lambda
		sum += term
	}
	return math.Min(sum, 1)
}

// volumeSnapshot is the JSON form of a Volume's state.
type volumeSnapshot struct {
	Version  int           `json:"version"`
	Closed   int64         `json:"closed"`
	Advanced bool          `json:"advanced"`
	Tracks   []volumeTSnap `json:"tracks"`
}

type volumeTSnap struct {
	Key        VolumeKey  `json:"key"`
	Open       [][2]int64 `json:"open,omitempty"` // (window, count)
	LastClosed int64      `json:"last_closed"`
	HasClosed  bool       `json:"has_closed"`
	LastIdx    int64      `json:"last_idx"`
	LastID     string     `json:"last_id,omitempty"`
	History    int        `json:"history"`
	Rate       float64    `json:"rate"`
	Hours      []hourRate `json:"hours,omitempty"`
	Run        [3]float64 `json:"run"` // windows, observed, expected
	RunStart   int64      `json:"run_start"`
	State      string     `json:"state,omitempty"`
	Seq        uint64     `json:"seq,omitempty"`
	Counters   [4]int     `json:"counters"` // trueRun, falseRun, sinceSend, resends
	StartsAt   time.Time  `json:"starts_at"`
	Severity   string     `json:"severity,omitempty"`
}

// Snapshot encodes the state of the series for which keep returns true (all of them when keep is
// nil), with the tracker's watermark: about 1 KB a series once its hour-of-day profile is filled.
// Snapshots of disjoint sets restored one after the other into an empty tracker rebuild it, so a
// large state can be saved in chunks; a replica taking a partition over continues with the same
// windows, rates and alert ids.
func (v *Volume) Snapshot(keep func(VolumeKey) bool) ([]byte, error) {
	s := volumeSnapshot{Version: 1, Closed: v.closed, Advanced: v.advanced, Tracks: []volumeTSnap{}}
	for _, key := range slices.SortedFunc(maps.Keys(v.tracks), compareVolumeKeys) {
		if keep != nil && !keep(key) {
			continue
		}
		t := v.tracks[key]
		a := &t.alert
		ts := volumeTSnap{
			Key: key, LastClosed: t.lastClosed, HasClosed: t.hasClosed, LastIdx: t.lastIdx, LastID: t.lastID,
			History: t.history, Rate: t.rate,
			Run:      [3]float64{float64(t.runWindows), float64(t.runObserved), t.runExpected},
			RunStart: t.runStart, State: a.state, Seq: a.seq,
			Counters: [4]int{a.trueRun, a.falseRun, a.sinceSend, a.resends},
			StartsAt: a.startsAt, Severity: a.severity,
		}
		for _, w := range t.open {
			ts.Open = append(ts.Open, [2]int64{w.idx, w.n})
		}
		if slices.ContainsFunc(t.hours[:], func(h hourRate) bool { return h.N > 0 }) {
			ts.Hours = t.hours[:]
		}
		s.Tracks = append(s.Tracks, ts)
	}
	data, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encode volume snapshot: %w", err)
	}
	return data, nil
}

// Restore adds the series of a Snapshot to v, replacing those of the same key, and moves v's
// watermark to the snapshot's when that is later. On error v is unchanged.
func (v *Volume) Restore(data []byte) error {
	var s volumeSnapshot
	if err := decodeStrict(data, &s); err != nil {
		return fmt.Errorf("decode volume snapshot: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("decode volume snapshot: version %d: want 1", s.Version)
	}
	tracks := make(map[VolumeKey]*volTrack, len(s.Tracks))
	for i, ts := range s.Tracks {
		switch ts.State {
		case "", stateInactive, event.StatePending, event.StateFiring:
		default:
			return fmt.Errorf("decode volume snapshot: tracks[%d].state %q: must be inactive, pending or firing", i, ts.State)
		}
		if len(ts.Hours) != 0 && len(ts.Hours) != 24 {
			return fmt.Errorf("decode volume snapshot: tracks[%d].hours: %d entries, want 24", i, len(ts.Hours))
		}
		if _, dup := tracks[ts.Key]; dup {
			return fmt.Errorf("decode volume snapshot: tracks[%d].key: repeated", i)
		}
		if ts.History < 0 || ts.Run[0] < 0 || ts.Run[1] < 0 || !(ts.Rate >= 0) || math.IsInf(ts.Rate, 0) {
			return fmt.Errorf("decode volume snapshot: tracks[%d]: negative or non-finite counters", i)
		}
		t := &volTrack{
			key: ts.Key, lastClosed: ts.LastClosed, hasClosed: ts.HasClosed, lastIdx: ts.LastIdx, lastID: ts.LastID,
			history: ts.History, rate: ts.Rate,
			runWindows: int(ts.Run[0]), runObserved: int64(ts.Run[1]), runExpected: ts.Run[2], runStart: ts.RunStart,
			alert: alertState{state: ts.State, seq: ts.Seq, trueRun: ts.Counters[0], falseRun: ts.Counters[1],
				sinceSend: ts.Counters[2], resends: ts.Counters[3], startsAt: ts.StartsAt, severity: ts.Severity},
		}
		copy(t.hours[:], ts.Hours)
		for j, w := range ts.Open {
			if w[1] < 0 || j > 0 && w[0] <= ts.Open[j-1][0] {
				return fmt.Errorf("decode volume snapshot: tracks[%d].open[%d]: inconsistent window", i, j)
			}
			t.open = append(t.open, volWindow{idx: w[0], n: w[1]})
		}
		tracks[ts.Key] = t
	}
	maps.Copy(v.tracks, tracks)
	if s.Advanced && (!v.advanced || s.Closed > v.closed) {
		v.closed, v.advanced = s.Closed, true
	}
	return nil
}
