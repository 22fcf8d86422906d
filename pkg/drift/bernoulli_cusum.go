package drift

import "math"

// bernoulliCUSUM is the online detector of the "rate" signal: a one-sided Bernoulli CUSUM (the
// log-likelihood-ratio CUSUM of Page 1954 applied to 0/1 outcomes; Reynolds & Stoumbos 1999;
// Montgomery, Introduction to Statistical Quality Control). For every observation x (1 = failed)
//
//	W = x·ln(p1/p0) + (1−x)·ln((1−p1)/(1−p0)),  S = max(0, S + W),
//
// and it alarms when S exceeds h, then starts again from zero (river's detectors reset on the update
// after a detection). It only detects increases of the failure rate.
//
// Parameters (Config): p0 is the Wilson upper confidence bound of the baseline failure rate at
// BaselineZ (default 2) rather than the rate itself, so that an unluckily low baseline does not turn
// the in-control drift of S positive; p1 = p0 + max(RateCUSUMShift, p0/2) (default shift 0.04, the
// size of shift the chart is tuned for); h = RateCUSUMThreshold (default 9). The in-control average
// run length is at least e^h observations (Lorden's bound for likelihood-ratio CUSUMs, about 8 100
// at h = 9) and in practice far more because the reference sits above the true rate: at a 2% rate
// it raised no alarm in 10^7 events (TestDetectionFalseAlarms), and it alarms on 2% → 6% after
// about 430–600 events, the information bound ln(10^7)/KL being 603. The engine's effect floor and
// pending period filter the rest. There is no p-value.
type bernoulliCUSUM struct {
	s float64
}

// bernoulliParams are the per-observation increments and the alarm threshold of a Bernoulli CUSUM.
type bernoulliParams struct {
	fail, pass float64 // ln(p1/p0) and ln((1−p1)/(1−p0))
	h          float64
	on         bool // false when p0 leaves no room for an increase
}

// newBernoulliParams returns the increments for in-control rate p0 and out-of-control rate p1. The
// chart is off (on == false) unless 0 < p0 < p1 < 1.
func newBernoulliParams(p0, p1, h float64) bernoulliParams {
	if !(p0 > 0 && p1 > p0 && p1 < 1) {
		return bernoulliParams{}
	}
	return bernoulliParams{fail: math.Log(p1 / p0), pass: math.Log((1 - p1) / (1 - p0)), h: h, on: true}
}

// add feeds one observation. It reports whether S crossed h, and the value of S that did so; S is
// then reset to zero.
func (c *bernoulliCUSUM) add(fail bool, p *bernoulliParams) (alarm bool, peak float64) {
	if !p.on {
		return false, 0
	}
	if fail {
		c.s += p.fail
	} else {
		c.s += p.pass
	}
	if c.s < 0 {
		c.s = 0
	}
	if c.s > p.h {
		peak, c.s = c.s, 0
		return true, peak
	}
	return false, 0
}
