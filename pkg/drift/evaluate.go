package drift

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

// Detector names, as they appear in event.Evidence.Detector.
const (
	detTwoProportionZ = "two_proportion_z"
	detBernoulliCUSUM = "bernoulli_cusum"
	detWelchZ         = "welch_z"
	detCUSUM          = "cusum"
	detKS             = "ks"
	detWasserstein    = "wasserstein"
	detPSI            = "psi"
	detChiSquare      = "chi_square"
	detJensenShannon  = "jensen_shannon"
)

// result is one signal's evaluation of one window.
type result struct {
	detector           string
	stat, threshold, p float64
	base, cur          float64 // baseline and window value (failure rate, mean, or a label's share)
	baseN, curN        int64
	effect, floor      float64 // effect size of the named detector and the floor it must reach
	cond               bool    // the window is true for the alert
	calm               bool    // the window is back on the baseline's side of the reference
	firm               bool    // cond, and the signal's agreement rule holds: the window may fire
	dir                int8    // direction of the change: +1 up, -1 down, 0 none
	category           string  // label signal: the label whose share moved most
	unseen             bool    // label signal: that label is not among the baseline's
	// What the summary and the examples are made of, formatted only when an alert is emitted.
	window *window
	more   moreStats
}

// moreStats are the statistics of a signal's other detectors, for the summary.
type moreStats struct {
	ref           float64 // rate: the Wilson upper bound
	shift         float64 // value: standardised mean shift
	ks, pKS, wn   float64 // value: KS D, its p-value, Wasserstein/σ
	psi, pPSI     float64 // value: PSI and the p-value of its chi-square test
	hasKS, hasPSI bool
	js, chi, pChi float64 // label
	df            int
}

// detail formats the statistics of r's signal for the summary.
func (r *result) detail(sig signal) string {
	m := &r.more
	switch sig {
	case signalRate:
		return "reference " + formatPercent(m.ref)
	case signalValue:
		var b strings.Builder
		b.WriteString("shift " + formatSigned(m.shift) + "σ")
		if m.hasKS {
			b.WriteString(", KS D " + formatValue(m.ks) + " (p " + formatP(m.pKS) + "), Wasserstein " + formatValue(m.wn) + "σ")
		}
		if m.hasPSI {
			b.WriteString(", PSI " + formatValue(m.psi) + " (p " + formatP(m.pPSI) + ")")
		}
		return b.String()
	}
	return "Jensen-Shannon " + formatValue(m.js) + ", chi-square " + formatValue(m.chi) + " (df " + strconv.Itoa(m.df) + ", p " + formatP(m.pChi) + ")"
}

// examples returns the example event ids of r's window, in a new slice: failing events (rate); the
// most extreme values in the direction of the shift (value); events whose label the baseline never
// saw when such a label moved most, else the first event of each label whose share rose, the
// largest rise first (label).
func (r *result) examples(sig signal, b *Baseline, limit int) []string {
	w := r.window
	switch sig {
	case signalRate:
		return slices.Clone(w.failEx.ids[:w.failEx.n])
	case signalValue:
		if r.dir >= 0 {
			return w.high.sorted()
		}
		return w.low.sorted()
	}
	if r.unseen && w.newEx.n > 0 {
		return slices.Clone(w.newEx.ids[:w.newEx.n])
	}
	type rise struct {
		example string
		by      float64
	}
	var rises []rise
	nw := float64(w.acc.labelled)
	for _, l := range w.acc.labels {
		base := 0.0
		for _, x := range b.Labels {
			if x.Label == l.label {
				base = float64(x.Count) / float64(b.Labelled)
			}
		}
		if by := float64(l.n)/nw - base; by > 0 {
			rises = append(rises, rise{l.example, by})
		}
	}
	slices.SortStableFunc(rises, func(a, b rise) int { return cmp.Compare(b.by, a.by) })
	out := make([]string, 0, min(len(rises), limit))
	for _, x := range rises[:min(len(rises), limit)] {
		out = append(out, x.example)
	}
	return out
}

func (r *result) severity() string {
	if r.floor > 0 && r.effect >= 3*r.floor {
		return event.SeverityCritical
	}
	return event.SeverityWarning
}

// evaluate closes one window that received observations. Alarms its observations raised join the
// track's current episode first; after each signal's alert has stepped, the episode's alarm is
// dropped when the alert is inactive and the window is calm (back on the baseline's side of the
// reference), or when a firing alert has just resolved.
func (e *Engine) evaluate(t *track, w *window, out []event.Alert) []event.Alert {
	for sig := range numSignals {
		if w.alarm[sig].on {
			t.sticky[sig] = w.alarm[sig]
		}
	}
	alpha := e.cfg.Alpha / float64(max(1, t.group.tests))
	for sig := range numSignals {
		if !t.d.signals[sig] {
			continue
		}
		if w.count(sig) < int64(e.cfg.MinSamples) {
			e.stats.InsufficientData++
			out = e.insufficient(t, sig, w.idx, 1, out)
			continue
		}
		e.stats.Evaluations++
		var r result
		switch sig {
		case signalRate:
			r = e.rateTest(t, w, alpha)
		case signalValue:
			r = e.valueTest(t, w, alpha)
		default:
			r = e.labelTest(t, w, alpha)
		}
		was := t.alerts[sig].state
		out = e.step(t, sig, &r, w, out)
		if a := &t.alerts[sig]; a.inactive() && (r.calm || was == event.StateFiring) {
			t.sticky[sig] = alarm{}
		}
	}
	return out
}

// count returns the observations of sig in the window.
func (w *window) count(sig signal) int64 {
	switch sig {
	case signalValue:
		return w.acc.values.n
	case signalLabel:
		return w.acc.labelled
	}
	return w.acc.n
}

// rateTest evaluates the failure rate. The window is true when its rate exceeds the baseline's
// Wilson upper bound by at least MinRateEffect and either the one-sided two-proportion z-test is
// significant or the Bernoulli CUSUM has alarmed in this episode; it is firm only in the second case.
func (e *Engine) rateTest(t *track, w *window, alpha float64) result {
	b := t.base
	p1 := float64(w.acc.failures) / float64(w.acc.n)
	z := twoProportionZ(b.Failures, b.N, w.acc.failures, w.acc.n)
	r := result{
		detector:  detTwoProportionZ,
		stat:      z,
		threshold: zCritical(alpha),
		p:         upperTail(z),
		base:      b.FailureRate(),
		cur:       p1,
		baseN:     b.N,
		curN:      w.acc.n,
		effect:    p1 - t.d.rateRef,
		floor:     e.cfg.MinRateEffect,
		dir:       1,
		window:    w,
		more:      moreStats{ref: t.d.rateRef},
	}
	past := r.effect >= r.floor
	r.calm = r.effect <= 0
	zHit := past && r.p < alpha
	if zHit {
		// The normal approximation is far too bold when a window expects a failure or two (rates
		// under 1%: it took 5 failures in 173 events against a 0.6% reference for 10^-6 evidence,
		// TestFleetFalseFirings), so the window's count must also be improbable under an exact
		// binomial at the reference.
		if pb := binomialUpperTail(w.acc.failures, w.acc.n, t.d.rateRef); pb >= alpha {
			zHit = false
			r.p = max(r.p, pb)
		}
	}
	s := t.sticky[signalRate]
	cusumHit := past && s.on
	r.cond = zHit || cusumHit
	r.firm = cusumHit
	if cusumHit && !zHit {
		r.detector, r.stat, r.threshold, r.p = detBernoulliCUSUM, s.peak, e.cfg.RateCUSUMThreshold, 0
	}
	return r
}

// valueTest evaluates the values of a measure. The window is true when any of these holds:
// the Welch z-test is significant and the standardised mean shift reaches MinMeanEffect; the CUSUM
// alarmed in this episode in the direction of a shift that reaches MinMeanEffect; the KS test is
// significant and the Wasserstein distance reaches WassersteinThreshold; PSI reaches PSIThreshold and
// the chi-square test on its bins is significant. The first that holds, in this order, names the
// detector. Every true window is firm.
func (e *Engine) valueTest(t *track, w *window, alpha float64) result {
	cfg := &e.cfg
	b := t.base
	v := &w.acc.values
	scale := t.d.scale
	shift := (v.mean - b.Mean) / scale
	r := result{
		detector:  detWelchZ,
		stat:      welchZ(b.Mean, scale*scale, b.Values, v.mean, v.variance(), v.n),
		threshold: zCritical(alpha / 2),
		base:      b.Mean,
		cur:       v.mean,
		baseN:     b.Values,
		curN:      v.n,
		effect:    math.Abs(shift),
		floor:     cfg.MinMeanEffect,
		window:    w,
		more:      moreStats{shift: shift},
	}
	r.p = twoSidedP(r.stat)
	switch {
	case shift > 0:
		r.dir = 1
	case shift < 0:
		r.dir = -1
	}
	welchHit := r.p < alpha && r.effect >= r.floor
	s := t.sticky[signalValue]
	r.calm = !s.on || s.dir != r.dir
	cusumHit := s.on && s.dir == r.dir && r.effect >= r.floor

	var ksHit, psiHit bool
	var d, pKS, wn, ix, pPSI float64
	var qc [QuantilePoints + 1]int64
	var pc [maxColumns]int64
	q, p := cellLayout(b, &t.d)
	m, lo, hi := cellCounts(w.cells, q, p, qc[:], pc[:])
	if q > 0 && m >= 2 {
		// Against the baseline's quantile summary, with the size of the sample it summarises.
		d = ksCells(b.Quantiles, qc[:q], m)
		pKS = ksPValue(d, int(b.SampleN), int(m))
		w1, _ := wassersteinCells(b.Quantiles, qc[:q], m, lo, hi)
		wn = w1 / scale
		ksHit = pKS < alpha && wn >= cfg.WassersteinThreshold
		r.more.ks, r.more.pKS, r.more.wn, r.more.hasKS = d, pKS, wn, true
	}
	if p > 0 && sum(pc[:p]) > 0 {
		c := pc[:p]
		ix = psi(b.BinCounts, c)
		chi, df := chiSquareHomogeneity(b.BinCounts, c)
		pPSI = chiSquareSF(chi, df)
		psiHit = ix >= cfg.PSIThreshold && pPSI < alpha
		r.more.psi, r.more.pPSI, r.more.hasPSI = ix, pPSI, true
	}
	r.cond = welchHit || cusumHit || ksHit || psiHit
	r.firm = r.cond
	switch {
	case welchHit:
	case cusumHit:
		r.detector, r.stat, r.threshold, r.p = detCUSUM, s.peak, cfg.ValueCUSUMThreshold, 0
	case ksHit:
		r.effect, r.floor, r.p = wn, cfg.WassersteinThreshold, pKS
		if b.Values <= int64(cfg.LargeBaseline) {
			r.detector, r.stat, r.threshold = detKS, d, ksCritical(alpha, int(b.SampleN), int(m))
		} else {
			r.detector, r.stat, r.threshold = detWasserstein, wn, cfg.WassersteinThreshold
		}
	case psiHit:
		r.detector, r.stat, r.threshold, r.p = detPSI, ix, cfg.PSIThreshold, pPSI
		r.effect, r.floor = ix, cfg.PSIThreshold
	}
	return r
}

// labelTest evaluates the mix of labels. The window is true when the chi-square test of homogeneity
// against the baseline's label counts (with the unseen bucket) is significant and the
// Jensen–Shannon distance reaches JSThreshold. Every true window is firm.
func (e *Engine) labelTest(t *track, w *window, alpha float64) result {
	cfg := &e.cfg
	b := t.base
	k := len(b.Labels) + 1 // the last column is the unseen bucket
	var bc, wc [maxColumns]int64
	for i, l := range b.Labels {
		bc[i] = l.Count
	}
	bc[k-1] = b.OtherLabels
	wc[k-1] = w.acc.other
	var col [maxColumns]int // column of each window label
	for i, l := range w.acc.labels {
		j := slices.IndexFunc(b.Labels, func(x LabelCount) bool { return x.Label == l.label })
		if j < 0 {
			j = k - 1
		}
		col[i] = j
		wc[j] += l.n
	}
	chi, df := chiSquareHomogeneity(bc[:k], wc[:k])
	p := chiSquareSF(chi, df)
	js := jensenShannon(bc[:k], wc[:k])
	nb, nw := float64(b.Labelled), float64(w.acc.labelled)
	moved := func(j int) float64 { return math.Abs(float64(wc[j])/nw - float64(bc[j])/nb) }
	best := 0
	for j := 1; j < k; j++ {
		if moved(j) > moved(best) {
			best = j
		}
	}
	r := result{
		detector: detChiSquare, stat: chi, threshold: chiSquareCritical(alpha, df), p: p,
		base: float64(bc[best]) / nb, cur: float64(wc[best]) / nw,
		baseN: b.Labelled, curN: w.acc.labelled,
		effect: js, floor: cfg.JSThreshold,
		window: w,
		more:   moreStats{js: js, chi: chi, pChi: p, df: df},
	}
	if b.Labelled > int64(cfg.LargeBaseline) {
		r.detector, r.stat, r.threshold = detJensenShannon, js, cfg.JSThreshold
	}
	r.cond = p < alpha && js >= cfg.JSThreshold
	r.firm = r.cond
	r.dir = 1
	if r.cur < r.base {
		r.dir = -1
	}
	if best < k-1 {
		r.category = b.Labels[best].Label
	} else {
		r.unseen = true
		r.category = "other"
		var top int64
		for i, l := range w.acc.labels {
			if col[i] == k-1 && l.n > top {
				r.category, top = l.label, l.n
			}
		}
	}
	return r
}

func formatSigned(v float64) string {
	if v >= 0 {
		return "+" + formatValue(v)
	}
	return formatValue(v)
}

func formatP(p float64) string {
	if p < 0.001 {
		return strconv.FormatFloat(p, 'e', 1, 64)
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}
