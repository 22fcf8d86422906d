package drift

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// signal is one statistic watched in a quality series.
type signal int

const (
	signalRate  signal = iota // failure rate of every score
	signalValue               // distribution of the values of measure scores
	signalLabel               // mix of the labels of labelled scores
	numSignals
)

func (s signal) String() string {
	switch s {
	case signalValue:
		return "value"
	case signalLabel:
		return "label"
	}
	return "rate"
}

// Label and state values of the alerts this package emits.
const (
	alertName     = "quality_drift"
	stateInactive = "inactive"
	sourcePinned  = "pinned"
)

// alertState is the state machine of one (series, metric, signal) alert.
type alertState struct {
	state     string // stateInactive (or ""), event.StatePending or event.StateFiring
	seq       uint64
	trueRun   int // further consecutive true windows while pending
	falseRun  int // consecutive false windows while firing
	sinceSend int // closed windows since the firing transition or the last re-send
	resends   int // re-sends of the current firing transition
	startsAt  time.Time
	severity  string
	labels    map[string]string
	fp        string
	last      *event.Evidence // newest evaluated evidence while firing, for re-sends
	lastSum   string
}

func (a *alertState) inactive() bool {
	return a.state != event.StatePending && a.state != event.StateFiring
}

// step feeds one evaluated window into the alert of (t, sig).
func (e *Engine) step(t *track, sig signal, r *result, w *window, out []event.Alert) []event.Alert {
	a := &t.alerts[sig]
	start, end := e.windowBounds(w.idx)
	alert := func(state, prev string, resend bool) {
		ev := e.evidence(t, sig, r, start, end)
		out = append(out, e.alert(t, sig, a, state, prev, resend, ev, e.summary(t, sig, r, state), end))
	}
	a.advance(windowVerdict{cond: r.cond, firm: r.firm, severity: r.severity(), startsAt: start},
		alertWindows{pending: e.cfg.PendingWindows, resolve: e.cfg.ResolveWindows, resend: e.cfg.ResendWindows}, alert)
	if a.state == event.StateFiring {
		ev := e.evidence(t, sig, r, start, end)
		a.last, a.lastSum = &ev, e.summary(t, sig, r, event.StateFiring)
	}
	return out
}

// windowVerdict is what one evaluated window tells an alert.
type windowVerdict struct {
	cond     bool      // the window is bad
	hold     bool      // a firing alert stays even though cond is false
	firm     bool      // the evidence is firm enough to fire
	severity string    // of this window
	startsAt time.Time // of the episode, should this window open one
}

// alertWindows are the windows an alert waits: bad ones before firing, good ones before
// resolving, and firing ones between re-sends (zero or less: none).
type alertWindows struct{ pending, resolve, resend int }

// advance moves a through one evaluated window. It calls alert with each transition (resend
// false) and with each re-send of a firing alert that falls due (firing to firing, resend true).
func (a *alertState) advance(v windowVerdict, n alertWindows, alert func(state, prev string, resend bool)) {
	switch a.state {
	case event.StatePending:
		if !v.cond {
			a.state = stateInactive
			a.seq++
			alert(event.StateResolved, event.StatePending, false)
			return
		}
		a.raise(v.severity)
		a.trueRun++
		if a.trueRun >= n.pending && v.firm {
			a.fire()
			alert(event.StateFiring, event.StatePending, false)
		}
	case event.StateFiring:
		if v.cond || v.hold {
			a.raise(v.severity)
			a.falseRun = 0
		} else {
			a.falseRun++
			if a.falseRun >= n.resolve {
				a.resolve()
				alert(event.StateResolved, event.StateFiring, false)
				return
			}
		}
		if a.resendDue(n.resend) {
			alert(event.StateFiring, event.StateFiring, true)
		}
	default:
		if !v.cond {
			return
		}
		a.startsAt = v.startsAt
		a.severity = v.severity
		a.trueRun = 0
		if n.pending == 0 && v.firm {
			a.fire()
			alert(event.StateFiring, stateInactive, false)
			return
		}
		a.state = event.StatePending
		a.seq++
		alert(event.StatePending, stateInactive, false)
	}
}

// fire moves the alert to firing as a new transition.
func (a *alertState) fire() {
	a.state = event.StateFiring
	a.seq++
	a.falseRun, a.sinceSend, a.resends = 0, 0, 0
}

// resolve ends a firing alert: the next episode gets a new alert id.
func (a *alertState) resolve() {
	a.state = stateInactive
	a.seq++
	a.last = nil
}

// resendDue counts one more firing window and reports whether a re-send falls due, one every
// `every` windows (zero or less: never).
func (a *alertState) resendDue(every int) bool {
	a.sinceSend++
	if every <= 0 || a.sinceSend < every {
		return false
	}
	a.sinceSend = 0
	a.resends++
	return true
}

// raise keeps the highest severity seen since the alert went pending.
func (a *alertState) raise(sev string) {
	if sev == event.SeverityCritical {
		a.severity = sev
	}
}

// insufficient feeds count consecutive insufficient_data windows, the first with index first, into
// the alert of (t, sig): they neither advance nor reset its counters, but a firing alert keeps being
// re-sent (at most once per call, at the last window where a re-send fell due).
func (e *Engine) insufficient(t *track, sig signal, first, count int64, out []event.Alert) []event.Alert {
	a := &t.alerts[sig]
	if a.state != event.StateFiring || e.cfg.ResendWindows <= 0 || a.last == nil {
		return out
	}
	r := int64(e.cfg.ResendWindows)
	before := int64(a.sinceSend)
	total := before + count
	if total < r {
		a.sinceSend = int(total)
		return out
	}
	due := total / r
	lastDue := first + due*r - before - 1 // index of the window at which the last re-send fell due
	a.sinceSend = int(total - due*r)
	a.resends++
	_, at := e.windowBounds(lastDue)
	ev := *a.last
	ev.ExampleEventIDs = slices.Clone(ev.ExampleEventIDs) // each emitted alert owns its slices
	return append(out, e.alert(t, sig, a, event.StateFiring, event.StateFiring, true, ev, a.lastSum, at))
}

// evidence describes r for the window [start, end) of (t, sig).
func (e *Engine) evidence(t *track, sig signal, r *result, start, end time.Time) event.Evidence {
	src := sourcePinned
	switch {
	case t.inherited:
		src = SourceInherited
	case t.base.Source == SourceOperator:
		src = SourceOperator
	}
	return event.Evidence{
		Detector:  r.detector,
		Signal:    sig.String(),
		Statistic: finite(r.stat),
		Threshold: finite(r.threshold),
		PValue:    finite(r.p),
		Baseline: event.Sample{
			Value:         finite(r.base),
			N:             r.baseN,
			PromptVersion: t.base.Series.PromptVersion,
			Model:         t.base.Series.Model,
		},
		Current: event.Sample{
			Value:         finite(r.cur),
			N:             r.curN,
			PromptVersion: t.key.series.PromptVersion,
			Model:         t.key.series.Model,
		},
		BaselineSource:  src,
		WindowStart:     start,
		WindowEnd:       end,
		ExampleEventIDs: r.examples(sig, t.base, e.cfg.MaxExamples),
	}
}

// finite clamps x into the float64 range (NaN becomes 0), so that evidence always encodes as JSON.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x > math.MaxFloat64:
		return math.MaxFloat64
	case x < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return x
}

// alert builds the emitted form of a transition or re-send of a.
func (e *Engine) alert(t *track, sig signal, a *alertState, state, prev string, resend bool, ev event.Evidence, summary string, at time.Time) event.Alert {
	if a.labels == nil {
		s := t.key.series
		a.labels = map[string]string{
			"alertname":      alertName,
			"app":            s.App,
			"environment":    s.Environment,
			"feature":        s.Feature,
			"model":          s.Model,
			"prompt_version": s.PromptVersion,
			"metric":         t.key.metric,
			"signal":         sig.String(),
		}
		a.fp = Fingerprint(a.labels)
	}
	id := a.fp + "-" + strconv.FormatUint(a.seq, 10)
	if resend {
		id += "-r" + strconv.Itoa(a.resends)
	}
	al := event.Alert{
		AlertID:     id,
		Fingerprint: a.fp,
		Sequence:    a.seq,
		State:       state,
		Previous:    prev,
		Resend:      resend,
		Severity:    a.severity,
		Labels:      maps.Clone(a.labels),
		Summary:     summary,
		StartsAt:    a.startsAt,
		At:          at,
		Evidence:    ev,
	}
	if state == event.StateResolved {
		end := at
		al.EndsAt = &end
	}
	return al
}

// summary is one human sentence about r.
func (e *Engine) summary(t *track, sig signal, r *result, state string) string {
	s := t.key.series
	o := t.base.Series
	var base strings.Builder
	base.WriteString("baseline")
	if o.Model != s.Model {
		base.WriteString(", model " + o.Model)
	}
	base.WriteString(", prompt_version " + o.PromptVersion)
	base.WriteString(", n=" + strconv.FormatInt(r.baseN, 10))
	var cur strings.Builder
	if o.Model != s.Model {
		cur.WriteString("model " + s.Model + ", ")
	}
	if o.PromptVersion != s.PromptVersion {
		cur.WriteString("prompt_version " + s.PromptVersion + ", ")
	}
	cur.WriteString("n=" + strconv.FormatInt(r.curN, 10))
	where := s.App + "/" + s.Feature

	metric := t.key.metric
	var what string
	format := formatValue
	switch sig {
	case signalRate:
		what, format = metric+" failure rate", formatPercent
	case signalValue:
		what = metric + " mean"
		switch r.detector {
		case detKS, detWasserstein, detPSI:
			what = metric + " distribution (mean)"
		}
	case signalLabel:
		name := strconv.Quote(r.category)
		if r.unseen {
			name += " (not in the baseline)"
		}
		what, format = metric+" label "+name+" share", formatPercent
	}
	if state == event.StateResolved {
		return fmt.Sprintf("%s back to %s (%s) against %s (%s) in %s",
			what, format(r.cur), cur.String(), format(r.base), base.String(), where)
	}
	verb := "rose"
	switch {
	case r.cur < r.base:
		verb = "fell"
	case r.cur == r.base:
		verb = "stayed"
	}
	if sig == signalValue && r.detector != detWelchZ && r.detector != detCUSUM {
		verb = "changed; mean " + verb
	}
	return fmt.Sprintf("%s %s from %s (%s) to %s (%s) in %s; %s: %s",
		what, verb, format(r.base), base.String(), format(r.cur), cur.String(), where, r.detector, r.detail(sig))
}

func formatPercent(v float64) string {
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

func formatValue(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case abs >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// Fingerprint returns the Alertmanager/Prometheus fingerprint of a label set: FNV-1a 64 over the
// label names in sorted order, each followed by the byte 0xFF, its value and another 0xFF, rendered as
// 16 lowercase hex digits. It equals model.LabelSet.Fingerprint().String() for the same labels (an
// empty or nil set gives the FNV offset basis, "cbf29ce484222325").
func Fingerprint(labels map[string]string) string {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
		sep      = 0xff
	)
	h := uint64(offset64)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime64
		}
		h ^= sep
		h *= prime64
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		add(k)
		add(labels[k])
	}
	const digits = "0123456789abcdef"
	var buf [16]byte
	for i := 15; i >= 0; i-- {
		buf[i] = digits[h&0xf]
		h >>= 4
	}
	return string(buf[:])
}
