package drift

import (
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

// Acceptance makes an eval run the expected quality of one version of a feature: its app,
// feature and prompt_version, and its model unless Model is empty (then every model). It is
// stored in the baselines bucket; a Yardstick compares live traffic of the version with it.
type Acceptance struct {
	RunID          string    `json:"run_id"`
	Dataset        string    `json:"dataset"`
	DatasetVersion uint32    `json:"dataset_version"`
	App            string    `json:"app"`
	Feature        string    `json:"feature"`
	PromptVersion  string    `json:"prompt_version"`
	Model          string    `json:"model,omitempty"`
	AcceptedAt     time.Time `json:"accepted_at"`
	By             string    `json:"by,omitempty"`
	// Metrics are the run's per-metric results, at most one per metric.
	Metrics []AcceptedMetric `json:"metrics"`
}

// AcceptedMetric is one metric of an accepted run: N scored cases, PassRate of them passed, and
// the Mean of their values.
type AcceptedMetric struct {
	Metric   string     `json:"metric"`
	Kind     event.Kind `json:"kind"`
	N        int64      `json:"n"`
	PassRate float64    `json:"pass_rate"`
	Mean     float64    `json:"mean"`
}

// Validate reports every problem of a at once, each naming the field.
func (a *Acceptance) Validate() error {
	var errs []error
	bad := func(field, reason string) { errs = append(errs, fmt.Errorf("acceptance %s: %s", field, reason)) }
	for _, f := range []struct{ name, v string }{{"run_id", a.RunID}, {"app", a.App}, {"feature", a.Feature}, {"prompt_version", a.PromptVersion}} {
		if f.v == "" {
			bad(f.name, "required")
		}
	}
	if a.AcceptedAt.IsZero() {
		bad("accepted_at", "required")
	}
	if len(a.Metrics) == 0 {
		bad("metrics", "at least one required (a run without scores sets no expectation)")
	}
	seen := map[string]bool{}
	for i, m := range a.Metrics {
		if m.Metric == "" || seen[m.Metric] {
			bad(fmt.Sprintf("metrics[%d].metric", i), fmt.Sprintf("%q: must be non-empty and unique", m.Metric))
		}
		seen[m.Metric] = true
		if m.N < 1 {
			bad(fmt.Sprintf("metrics[%d].n", i), fmt.Sprintf("%d: must be at least 1", m.N))
		}
		if !(m.PassRate >= 0 && m.PassRate <= 1) {
			bad(fmt.Sprintf("metrics[%d].pass_rate", i), fmt.Sprintf("%v: must be in [0, 1]", m.PassRate))
		}
		if math.IsNaN(m.Mean) || math.IsInf(m.Mean, 0) {
			bad(fmt.Sprintf("metrics[%d].mean", i), fmt.Sprintf("%v: must be finite", m.Mean))
		}
	}
	return errors.Join(errs...)
}

// Version returns the version the acceptance applies to.
func (a *Acceptance) Version() VersionKey {
	return VersionKey{App: a.App, Feature: a.Feature, PromptVersion: a.PromptVersion, Model: a.Model}
}

// DecodeAcceptance decodes and validates a stored Acceptance. Unknown fields are rejected by name.
func DecodeAcceptance(data []byte) (*Acceptance, error) {
	var a Acceptance
	if err := decodeStrict(data, &a); err != nil {
		return nil, fmt.Errorf("decode acceptance: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// VersionKey is the version of a feature an acceptance applies to; an empty Model stands for
// every model.
type VersionKey struct {
	App, Feature, PromptVersion, Model string
}

// Yardstick labels and evidence values.
const (
	// EvalAlertName is the alertname of the alerts a Yardstick emits.
	EvalAlertName = "eval_regression"
	// SourceEval is the Evidence.BaselineSource of those alerts.
	SourceEval = "eval"
	// EvalSignal is their "signal" label.
	EvalSignal = "eval"
	// detOneSampleZ names the test in the evidence.
	detOneSampleZ = "one_sample_proportion_z"
	// evalEnvironment is the environment of the events eval runs score; they are the yardstick,
	// never the live traffic compared with it.
	evalEnvironment = "eval"
)

// Yardstick compares the live traffic of accepted versions with the eval run accepted for each.
// For every live series (any environment but "eval") of an accepted version and every metric of
// the run, it counts passes in tumbling event-time windows (the Engine's Window and Grace) and,
// when a window closes with at least MinSamples observations, runs the one-sided one-sample
// proportion z-test of the window's pass rate against the run's: z = (p0 − p) / sqrt(p0(1−p0)/n),
// with p0 kept within half an observation of 0 and 1 (a run that passed every case does not make
// failures impossible). The window is true when the test is significant at Alpha divided by the
// number of the run's metrics (Bonferroni) AND the pass rate lies at least Margin below p0. Alerts
// follow the Engine's state machine (PendingWindows, ResolveWindows; insufficient windows change
// nothing) without re-sends. Severity is critical when the drop reaches three margins.
//
// Alert labels are the series labels, metric, signal "eval", alertname "eval_regression" and
// eval_run (the run id), so a newly accepted run starts a new alert; an alert of a run that is no
// longer accepted resolves at the next Advance. Like Engine it does no I/O, and is not safe for
// concurrent use.
type Yardstick struct {
	cfg      Config
	margin   float64
	accepted map[VersionKey]*Acceptance
	tracks   map[yardKey]*yardTrack
	closed   int64
	advanced bool
}

type yardKey struct {
	series event.Series
	metric string
	run    string
}

type yardTrack struct {
	key    yardKey
	open   []yardWindow // ascending idx
	alert  alertState
	retire bool // its run is no longer accepted
}

type yardWindow struct {
	idx         int64
	n, failures int64
	ex          examples
}

// NewYardstick returns a Yardstick with the windows, gating and alert rules of cfg (which must pass
// Validate) and the given margin, in pass-rate points (0.05: five points). It panics on an
// invalid configuration or a margin outside [0, 1), like NewEngine.
func NewYardstick(cfg Config, margin float64) *Yardstick {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if !(margin >= 0 && margin < 1) {
		panic(fmt.Sprintf("drift: yardstick margin %v: must be in [0, 1)", margin))
	}
	return &Yardstick{cfg: cfg, margin: margin, accepted: map[VersionKey]*Acceptance{}, tracks: map[yardKey]*yardTrack{}}
}

// SetAcceptances replaces the accepted runs. Series of a version whose run changed, or that is no
// longer accepted, stop being compared; their active alerts resolve at the next Advance.
func (y *Yardstick) SetAcceptances(list []*Acceptance) {
	y.accepted = make(map[VersionKey]*Acceptance, len(list))
	for _, a := range list {
		y.accepted[a.Version()] = a
	}
	for _, t := range y.tracks {
		a := y.acceptance(t.key.series)
		t.retire = a == nil || a.RunID != t.key.run || a.metric(t.key.metric) == nil
	}
}

// Accepted returns the accepted runs, ordered by version.
func (y *Yardstick) Accepted() []*Acceptance {
	out := slices.Collect(maps.Values(y.accepted))
	slices.SortFunc(out, func(a, b *Acceptance) int {
		ka, kb := a.Version(), b.Version()
		return cmpStrings(ka.App, kb.App, ka.Feature, kb.Feature, ka.PromptVersion, kb.PromptVersion, ka.Model, kb.Model)
	})
	return out
}

func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != pairs[i+1] {
			if pairs[i] < pairs[i+1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// acceptance returns the run accepted for s: the one for its model, else the one for every model.
func (y *Yardstick) acceptance(s event.Series) *Acceptance {
	if len(y.accepted) == 0 {
		return nil
	}
	k := VersionKey{App: s.App, Feature: s.Feature, PromptVersion: s.PromptVersion, Model: s.Model}
	if a, ok := y.accepted[k]; ok {
		return a
	}
	k.Model = ""
	return y.accepted[k]
}

func (a *Acceptance) metric(name string) *AcceptedMetric {
	for i := range a.Metrics {
		if a.Metrics[i].Metric == name {
			return &a.Metrics[i]
		}
	}
	return nil
}

// Observe counts the scores of rec in the windows of its accepted metrics. Records of versions
// without an accepted run, of the eval environment, or of closed windows are ignored.
func (y *Yardstick) Observe(rec *event.Scored) {
	if rec == nil || rec.Series.Environment == evalEnvironment {
		return
	}
	a := y.acceptance(rec.Series)
	if a == nil {
		return
	}
	ns, ok := unixNanos(rec.Timestamp)
	if !ok {
		return
	}
	idx := floorDiv(ns, int64(y.cfg.Window))
	if y.advanced && idx <= y.closed {
		return
	}
	for i := range rec.Scores {
		s := &rec.Scores[i]
		if a.metric(s.Metric) == nil {
			continue
		}
		k := yardKey{series: rec.Series, metric: s.Metric, run: a.RunID}
		t := y.tracks[k]
		if t == nil {
			t = &yardTrack{key: k}
			y.tracks[k] = t
		}
		w := t.window(idx)
		w.n++
		if !s.Pass {
			w.failures++
			w.ex.add(rec.EventID, y.cfg.MaxExamples)
		}
	}
}

func (t *yardTrack) window(idx int64) *yardWindow {
	i := len(t.open)
	for i > 0 && t.open[i-1].idx > idx {
		i--
	}
	if i > 0 && t.open[i-1].idx == idx {
		return &t.open[i-1]
	}
	t.open = slices.Insert(t.open, i, yardWindow{idx: idx})
	return &t.open[i]
}

// Advance closes every window whose end + Grace is at or before watermark and evaluates it. It
// returns the alert transitions, ordered by window end, then series labels and metric.
func (y *Yardstick) Advance(watermark time.Time) []event.Alert {
	ns, ok := unixNanos(watermark)
	if !ok || ns < math.MinInt64+int64(y.cfg.Grace) {
		return nil
	}
	k := floorDiv(ns-int64(y.cfg.Grace), int64(y.cfg.Window)) - 1
	if y.advanced && k <= y.closed {
		return nil
	}
	y.closed, y.advanced = k, true
	keys := slices.SortedFunc(maps.Keys(y.tracks), func(a, b yardKey) int {
		return cmpStrings(a.series.Key(), b.series.Key(), a.metric, b.metric, a.run, b.run)
	})
	var out []event.Alert
	for _, key := range keys {
		t := y.tracks[key]
		a := y.acceptance(key.series)
		if a == nil || a.RunID != key.run || a.metric(key.metric) == nil {
			t.retire = true
		}
		if t.retire {
			if !t.alert.inactive() {
				_, end := y.bounds(k)
				prev := t.alert.state
				t.alert.state = stateInactive
				t.alert.seq++
				sum := fmt.Sprintf("%s/%s %s: eval run %s is no longer the accepted yardstick of prompt_version %s",
					key.series.App, key.series.Feature, key.metric, key.run, key.series.PromptVersion)
				ev := event.Evidence{Detector: detOneSampleZ, Signal: EvalSignal, BaselineSource: SourceEval, WindowStart: end, WindowEnd: end}
				if t.alert.last != nil {
					ev = *t.alert.last
				}
				out = append(out, y.alert(t, event.StateResolved, prev, ev, sum, end))
			}
			delete(y.tracks, key)
			continue
		}
		m := a.metric(key.metric)
		alpha := y.cfg.Alpha / float64(len(a.Metrics))
		i := 0
		for ; i < len(t.open) && t.open[i].idx <= k; i++ {
			out = y.evaluate(t, a, m, &t.open[i], alpha, out)
		}
		t.open = slices.Delete(t.open, 0, i)
		if len(t.open) == 0 && t.alert.inactive() {
			delete(y.tracks, key) // nothing to remember: a new window starts a new track
		}
	}
	slices.SortStableFunc(out, func(a, b event.Alert) int { return a.At.Compare(b.At) })
	return out
}

func (y *Yardstick) bounds(idx int64) (time.Time, time.Time) {
	w := int64(y.cfg.Window)
	start := time.Unix(0, idx*w).UTC()
	return start, start.Add(y.cfg.Window)
}

// yardResult is the evaluation of one window.
type yardResult struct {
	p0, p, z, pValue, threshold, drop float64
	cond                              bool
}

func (y *Yardstick) test(m *AcceptedMetric, w *yardWindow, alpha float64) yardResult {
	n := float64(w.n)
	p := 1 - float64(w.failures)/n
	half := 0.5 / float64(max(m.N, 1))
	p0 := min(max(m.PassRate, half), 1-half)
	z := (p0 - p) / math.Sqrt(p0*(1-p0)/n)
	r := yardResult{p0: m.PassRate, p: p, z: z, pValue: upperTail(z), threshold: zCritical(alpha), drop: m.PassRate - p}
	r.cond = r.pValue < alpha && r.drop >= y.margin
	return r
}

func (y *Yardstick) evaluate(t *yardTrack, a *Acceptance, m *AcceptedMetric, w *yardWindow, alpha float64, out []event.Alert) []event.Alert {
	if w.n < int64(y.cfg.MinSamples) {
		return out
	}
	r := y.test(m, w, alpha)
	start, end := y.bounds(w.idx)
	sev := event.SeverityWarning
	if y.margin > 0 && r.drop >= 3*y.margin || y.margin == 0 && r.drop >= 0.15 {
		sev = event.SeverityCritical
	}
	ev := event.Evidence{
		Detector: detOneSampleZ, Signal: EvalSignal,
		Statistic: finite(r.z), Threshold: finite(r.threshold), PValue: finite(r.pValue),
		Baseline:       event.Sample{Value: r.p0, N: m.N, PromptVersion: a.PromptVersion, Model: a.Model},
		Current:        event.Sample{Value: r.p, N: w.n, PromptVersion: t.key.series.PromptVersion, Model: t.key.series.Model},
		BaselineSource: SourceEval, WindowStart: start, WindowEnd: end,
		ExampleEventIDs: slices.Clone(w.ex.ids[:w.ex.n]),
	}
	s := t.key.series
	summary := func(state string) string {
		if state == event.StateResolved {
			return fmt.Sprintf("%s pass rate back to %s (prompt_version %s, n=%d) against %s in eval run %s (n=%d) in %s/%s",
				t.key.metric, formatPercent(r.p), s.PromptVersion, w.n, formatPercent(r.p0), t.key.run, m.N, s.App, s.Feature)
		}
		return fmt.Sprintf("%s pass rate fell from %s in eval run %s (n=%d) to %s (prompt_version %s, model %s, n=%d) in %s/%s; %s: z %s (p %s), %s points below, margin %s",
			t.key.metric, formatPercent(r.p0), t.key.run, m.N, formatPercent(r.p), s.PromptVersion, s.Model, w.n, s.App, s.Feature,
			detOneSampleZ, formatValue(r.z), formatP(r.pValue), formatValue(r.drop*100), formatValue(y.margin*100))
	}
	al := &t.alert
	emit := func(state, prev string) {
		out = append(out, y.alert(t, state, prev, ev, summary(state), end))
	}
	switch al.state {
	case event.StatePending:
		if !r.cond {
			al.state = stateInactive
			al.seq++
			emit(event.StateResolved, event.StatePending)
			break
		}
		al.raise(sev)
		al.trueRun++
		if al.trueRun >= y.cfg.PendingWindows {
			al.fire()
			emit(event.StateFiring, event.StatePending)
		}
	case event.StateFiring:
		if r.cond {
			al.raise(sev)
			al.falseRun = 0
			break
		}
		al.falseRun++
		if al.falseRun >= y.cfg.ResolveWindows {
			al.state = stateInactive
			al.seq++
			emit(event.StateResolved, event.StateFiring)
		}
	default:
		if !r.cond {
			break
		}
		al.startsAt, al.severity, al.trueRun = start, sev, 0
		if y.cfg.PendingWindows == 0 {
			al.fire()
			emit(event.StateFiring, stateInactive)
			break
		}
		al.state = event.StatePending
		al.seq++
		emit(event.StatePending, stateInactive)
	}
	if al.state == event.StateFiring {
		al.last = &ev
	} else if al.inactive() {
		al.last = nil
	}
	return out
}

func (y *Yardstick) alert(t *yardTrack, state, prev string, ev event.Evidence, summary string, at time.Time) event.Alert {
	a := &t.alert
	if a.labels == nil {
		s := t.key.series
		a.labels = map[string]string{
			"alertname": EvalAlertName, "app": s.App, "environment": s.Environment, "feature": s.Feature,
			"model": s.Model, "prompt_version": s.PromptVersion, "metric": t.key.metric, "signal": EvalSignal,
			"eval_run": t.key.run,
		}
		a.fp = Fingerprint(a.labels)
	}
	sev := a.severity
	if sev == "" {
		sev = event.SeverityWarning
	}
	al := event.Alert{
		AlertID: a.fp + "-" + strconv.FormatUint(a.seq, 10), Fingerprint: a.fp, Sequence: a.seq,
		State: state, Previous: prev, Severity: sev, Labels: maps.Clone(a.labels), Summary: summary,
		StartsAt: a.startsAt, At: at, Evidence: ev,
	}
	if state == event.StateResolved {
		end := at
		al.EndsAt = &end
	}
	return al
}

// Firing returns, for every tracked series of an accepted version, its alert state: 1 pending, 2
// firing (inactive ones are left out).
func (y *Yardstick) Firing() map[YardSeries]int {
	out := map[YardSeries]int{}
	for k, t := range y.tracks {
		switch t.alert.state {
		case event.StatePending:
			out[YardSeries{k.series, k.metric}] = 1
		case event.StateFiring:
			out[YardSeries{k.series, k.metric}] = 2
		}
	}
	return out
}

// YardSeries is a quality series compared with an accepted run.
type YardSeries struct {
	Series event.Series
	Metric string
}

// yardSnapshot is the encoding of a Yardstick's state (accepted runs are not included: they are
// set again from storage).
type yardSnapshot struct {
	Version  int         `json:"version"`
	Closed   int64       `json:"closed,omitzero"`
	Advanced bool        `json:"advanced,omitzero"`
	Tracks   []yardTSnap `json:"tracks,omitzero"`
}

type yardTSnap struct {
	Series  event.Series    `json:"series"`
	Metric  string          `json:"metric"`
	Run     string          `json:"run"`
	Open    []yardWSnap     `json:"open,omitzero"`
	State   string          `json:"state,omitzero"`
	Seq     uint64          `json:"seq,omitzero"`
	True    int             `json:"true_run,omitzero"`
	False   int             `json:"false_run,omitzero"`
	Starts  time.Time       `json:"starts_at,omitzero"`
	Sev     string          `json:"severity,omitzero"`
	Last    *event.Evidence `json:"last,omitempty"`
	Retired bool            `json:"retired,omitzero"`
}

type yardWSnap struct {
	Idx      int64    `json:"idx"`
	N        int64    `json:"n"`
	Failures int64    `json:"failures,omitzero"`
	Examples []string `json:"examples,omitzero"`
}

// Snapshot encodes the windows and alert states, so that a replica taking a partition over
// continues with the same alert ids. Tracks hold counts only (tens of bytes per series).
func (y *Yardstick) Snapshot() ([]byte, error) {
	s := yardSnapshot{Version: 1, Closed: y.closed, Advanced: y.advanced}
	for _, t := range y.tracks {
		ts := yardTSnap{Series: t.key.series, Metric: t.key.metric, Run: t.key.run, State: t.alert.state, Seq: t.alert.seq,
			True: t.alert.trueRun, False: t.alert.falseRun, Starts: t.alert.startsAt, Sev: t.alert.severity, Last: t.alert.last, Retired: t.retire}
		for _, w := range t.open {
			ts.Open = append(ts.Open, yardWSnap{Idx: w.idx, N: w.n, Failures: w.failures, Examples: slices.Clone(w.ex.ids[:w.ex.n])})
		}
		s.Tracks = append(s.Tracks, ts)
	}
	slices.SortFunc(s.Tracks, func(a, b yardTSnap) int {
		return cmpStrings(a.Series.Key(), b.Series.Key(), a.Metric, b.Metric, a.Run, b.Run)
	})
	data, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encode yardstick snapshot: %w", err)
	}
	return data, nil
}

// Restore replaces y's windows and alert states with a Snapshot's. Accepted runs are kept; call
// SetAcceptances afterwards to re-check which tracks still apply. On error y is unchanged.
func (y *Yardstick) Restore(data []byte) error {
	var s yardSnapshot
	if err := decodeStrict(data, &s); err != nil {
		return fmt.Errorf("decode yardstick snapshot: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("decode yardstick snapshot: version %d: want 1", s.Version)
	}
	tracks := make(map[yardKey]*yardTrack, len(s.Tracks))
	for i, ts := range s.Tracks {
		switch ts.State {
		case "", stateInactive, event.StatePending, event.StateFiring:
		default:
			return fmt.Errorf("decode yardstick snapshot: tracks[%d].state %q: must be inactive, pending or firing", i, ts.State)
		}
		k := yardKey{series: ts.Series, metric: ts.Metric, run: ts.Run}
		t := &yardTrack{key: k, retire: ts.Retired, alert: alertState{state: ts.State, seq: ts.Seq, trueRun: ts.True,
			falseRun: ts.False, startsAt: ts.Starts, severity: ts.Sev, last: ts.Last}}
		for j, w := range ts.Open {
			if w.N < 0 || w.Failures < 0 || w.Failures > w.N || len(w.Examples) > maxExamples || j > 0 && w.Idx <= ts.Open[j-1].Idx {
				return fmt.Errorf("decode yardstick snapshot: tracks[%d].open[%d]: inconsistent window", i, j)
			}
			yw := yardWindow{idx: w.Idx, n: w.N, failures: w.Failures}
			yw.ex.n = copy(yw.ex.ids[:], w.Examples)
			t.open = append(t.open, yw)
		}
		tracks[k] = t
	}
	y.tracks, y.closed, y.advanced = tracks, s.Closed, s.Advanced
	return nil
}
