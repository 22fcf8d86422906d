package drift

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// maxExamples bounds Config.MaxExamples; windows keep their example ids in fixed arrays of this size
// so that Observe does not allocate.
const maxExamples = 5

// Config parameterises an Engine. The zero value is not usable: start from DefaultConfig and check
// the result with Validate. The package comment explains how the detectors combine.
type Config struct {
	// Window is the length of the evaluation window on event time. Windows are tumbling and aligned
	// to multiples of Window since the Unix epoch, so every series shares the same boundaries.
	Window time.Duration
	// Grace is how long after its end a window stays open: a window closes when the watermark passed
	// to Advance reaches its end + Grace. Events for a closed window are counted as late, not added.
	Grace time.Duration
	// BaselineSize is the number of observations of a quality series (after WarmUp) that are pinned
	// and frozen as its baseline. Default 2000: every window is compared with the same baseline, so
	// its sampling error is shared by all of them (see BaselineZ).
	BaselineSize int
	// WarmUp is the number of observations of a quality series skipped before its baseline starts.
	WarmUp int
	// MinSamples is the minimum number of observations of a signal in a window for the window to be
	// evaluated; windows with fewer are insufficient_data and never change an alert's counters. A
	// baseline needs this many labelled observations for its series to have a "label" signal.
	MinSamples int
	// Alpha is the family-wise significance level of one window of one series (app, environment,
	// feature, model, prompt_version): it is Bonferroni-divided by the number of p-value tests run on
	// the series' windows over all of its metrics (per metric: the rate z-test; for measures the Welch
	// z-test, the KS test and the chi-square test on the PSI bins; with a label signal its chi-square
	// test). Default 1e-5: with one-minute windows a series runs 1440 windows a day, and pending
	// transitions are published like any other, so the level must stay quiet across thousands of
	// series; large regressions remain far beyond it, and the online detectors accumulate small ones.
	Alpha float64
	// MinRateEffect is how far a window's failure rate must exceed the Wilson upper bound (at
	// BaselineZ) of its baseline's failure rate for the rate signal to be true, e.g. 0.05 for five
	// percentage points. Default 0.01: with 0.05 a refusal rate rising from 2% to 6% (about 3.3
	// points above the bound) never fired (TestDetectionTable); the exact binomial check on the
	// z-test and the Bernoulli CUSUM keep stable traffic quiet (TestDetectionFalseAlarms,
	// TestFleetFalseFirings).
	MinRateEffect float64
	// MinMeanEffect is the standardised mean shift |mean - baseline mean| / baseline stddev that the
	// Welch z-test and the CUSUM require.
	MinMeanEffect float64
	// PendingWindows is the number of further true windows an alert spends pending before it fires:
	// 1 fires on the second true window, 0 fires on the first (no pending transition). The window
	// that fires must be firm (for the rate signal: its online detector has alarmed).
	PendingWindows int
	// ResolveWindows is the number of consecutive false windows after which a firing alert resolves
	// (hysteresis against flapping).
	ResolveWindows int
	// ResendWindows is the number of closed windows between re-sends of a firing alert; 0 disables
	// re-sends.
	ResendWindows int
	// MaxExamples is the number of example event ids carried in an alert's evidence, at most 5.
	MaxExamples int

	// BaselineZ is the standard-normal quantile of the Wilson upper confidence bound of a baseline's
	// failure rate. That bound, not the rate itself, is the Bernoulli CUSUM's in-control rate and the
	// base of MinRateEffect, so an unluckily low baseline cannot make every later window look worse.
	// Default 2 (one-sided 97.7%); 0 uses the observed rate.
	BaselineZ float64
	// RateCUSUMShift is the failure-rate increase the Bernoulli CUSUM is tuned to detect: its
	// out-of-control rate is the reference plus this, or plus half the reference when that is more.
	// Default 0.04: tuned to 0.10 it took about 1000 events on average (up to 7000) to alarm on 2% →
	// 6%, against about 600 (up to 2800) at 0.04, the information bound at an average run length of
	// 10^7 events (TestDetectionTable). Its in-control drift stays negative up to about half of it
	// above the reference.
	RateCUSUMShift float64
	// RateCUSUMThreshold is the Bernoulli CUSUM's decision interval h (in nats of log-likelihood
	// ratio). Default 9.
	RateCUSUMThreshold float64
	// ValueCUSUMSlack is the value CUSUM's allowance k in baseline standard deviations. Default 0.25,
	// tuned to a half-σ shift.
	ValueCUSUMSlack float64
	// ValueCUSUMThreshold is the value CUSUM's decision interval h in baseline standard deviations.
	// Default 29: an average run length of about 10^7 observations on stable normal data (river's
	// k = 0.5, h = 5 alarmed every 470), and a half-σ shift alarms after about 125 observations,
	// the information bound at that run length (TestDetectionTable, TestDetectionFalseAlarms).
	ValueCUSUMThreshold float64
	// SampleSize is the number of values a baseline is summarised from when it is pinned (a
	// uniform sample, of which it keeps QuantilePoints quantiles and its PSI bin counts), and the
	// most values PinCurrent draws from each window's cells (windows keep no values). Default 1000.
	SampleSize int
	// LargeBaseline is the baseline size (values, or labelled observations) above which the distance
	// names the detector rather than the test: Wasserstein rather than KS, Jensen–Shannon rather
	// than chi-square (Evidently's switch). Default 1000.
	LargeBaseline int
	// WassersteinThreshold is the Wasserstein distance, in baseline standard deviations, that the
	// KS/Wasserstein detector requires. Default 0.1 (Evidently's).
	WassersteinThreshold float64
	// PSIBins is the number of quantile bins frozen from a baseline's sample for PSI. Default 10.
	PSIBins int
	// PSIThreshold is the population stability index the PSI detector requires. Default 0.2.
	PSIThreshold float64
	// JSThreshold is the Jensen–Shannon distance (base 2) the label detector requires. Default 0.1.
	JSThreshold float64
	// MaxCategories is the number of distinct labels a baseline or window counts by name; further
	// labels are counted together. Default 16.
	MaxCategories int
}

// DefaultConfig returns the configuration vigil runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Window:         time.Minute,
		Grace:          10 * time.Second,
		BaselineSize:   2000,
		WarmUp:         0,
		MinSamples:     50,
		Alpha:          1e-5,
		MinRateEffect:  0.01,
		MinMeanEffect:  0.5,
		PendingWindows: 1,
		ResolveWindows: 2,
		ResendWindows:  10,
		MaxExamples:    5,

		BaselineZ:            2,
		RateCUSUMShift:       0.04,
		RateCUSUMThreshold:   9,
		ValueCUSUMSlack:      0.25,
		ValueCUSUMThreshold:  29,
		SampleSize:           1000,
		LargeBaseline:        1000,
		WassersteinThreshold: 0.1,
		PSIBins:              10,
		PSIThreshold:         0.2,
		JSThreshold:          0.1,
		MaxCategories:        16,
	}
}

// Validate reports every invalid field at once (joined with errors.Join), each error naming the field
// and its value. It returns nil for a usable configuration.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("drift: %s = %v: must be %s", field, value, want))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if c.Window <= 0 {
		bad("Window", c.Window, "positive")
	}
	if c.Grace < 0 {
		bad("Grace", c.Grace, "zero or positive")
	}
	if c.BaselineSize < 1 {
		bad("BaselineSize", c.BaselineSize, "at least 1")
	}
	if c.WarmUp < 0 {
		bad("WarmUp", c.WarmUp, "zero or positive")
	}
	if c.MinSamples < 1 {
		bad("MinSamples", c.MinSamples, "at least 1")
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		bad("Alpha", c.Alpha, "in (0, 1)")
	}
	if !(c.MinRateEffect >= 0 && c.MinRateEffect < 1) {
		bad("MinRateEffect", c.MinRateEffect, "in [0, 1)")
	}
	if !(c.MinMeanEffect >= 0) || math.IsInf(c.MinMeanEffect, 1) {
		bad("MinMeanEffect", c.MinMeanEffect, "finite and zero or positive")
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
	if c.MaxExamples < 0 || c.MaxExamples > maxExamples {
		bad("MaxExamples", c.MaxExamples, fmt.Sprintf("in [0, %d]", maxExamples))
	}
	if !(c.BaselineZ >= 0 && c.BaselineZ <= 10) {
		bad("BaselineZ", c.BaselineZ, "in [0, 10]")
	}
	if !(c.RateCUSUMShift > 0 && c.RateCUSUMShift < 1) {
		bad("RateCUSUMShift", c.RateCUSUMShift, "in (0, 1)")
	}
	if !(c.RateCUSUMThreshold > 0) || !finite(c.RateCUSUMThreshold) {
		bad("RateCUSUMThreshold", c.RateCUSUMThreshold, "finite and positive")
	}
	if !(c.ValueCUSUMSlack >= 0) || !finite(c.ValueCUSUMSlack) {
		bad("ValueCUSUMSlack", c.ValueCUSUMSlack, "finite and zero or positive")
	}
	if !(c.ValueCUSUMThreshold > 0) || !finite(c.ValueCUSUMThreshold) {
		bad("ValueCUSUMThreshold", c.ValueCUSUMThreshold, "finite and positive")
	}
	if c.SampleSize < 2 || c.SampleSize > 100_000 {
		bad("SampleSize", c.SampleSize, "in [2, 100000]")
	}
	if c.LargeBaseline < 0 {
		bad("LargeBaseline", c.LargeBaseline, "zero or positive")
	}
	if !(c.WassersteinThreshold >= 0) || !finite(c.WassersteinThreshold) {
		bad("WassersteinThreshold", c.WassersteinThreshold, "finite and zero or positive")
	}
	if c.PSIBins < 2 || c.PSIBins > maxColumns-1 {
		bad("PSIBins", c.PSIBins, fmt.Sprintf("in [2, %d]", maxColumns-1))
	}
	if !(c.PSIThreshold >= 0) || !finite(c.PSIThreshold) {
		bad("PSIThreshold", c.PSIThreshold, "finite and zero or positive")
	}
	if !(c.JSThreshold >= 0 && c.JSThreshold <= 1) {
		bad("JSThreshold", c.JSThreshold, "in [0, 1]")
	}
	if c.MaxCategories < 1 || c.MaxCategories > maxColumns-1 {
		bad("MaxCategories", c.MaxCategories, fmt.Sprintf("in [1, %d]", maxColumns-1))
	}
	return errors.Join(errs...)
}
