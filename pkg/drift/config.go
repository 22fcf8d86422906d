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
// the result with Validate.
type Config struct {
	// Window is the length of the evaluation window on event time. Windows are tumbling and aligned
	// to multiples of Window since the Unix epoch, so every series shares the same boundaries.
	Window time.Duration
	// Grace is how long after its end a window stays open: a window closes when the watermark passed
	// to Advance reaches its end + Grace. Events for a closed window are counted as late, not added.
	Grace time.Duration
	// BaselineSize is the number of observations of a quality series (after WarmUp) that are pinned
	// and frozen as its baseline.
	BaselineSize int
	// WarmUp is the number of observations of a quality series skipped before its baseline starts.
	WarmUp int
	// MinSamples is the minimum number of observations of a signal in a window for the window to be
	// evaluated; windows with fewer are insufficient_data and never change an alert's counters.
	MinSamples int
	// Alpha is the family-wise significance level of one window of a quality series. It is
	// Bonferroni-corrected by the number of signals tracked for the series (1 for checks, 2 for
	// measures).
	Alpha float64
	// MinRateEffect is the absolute failure-rate increase (window minus baseline, e.g. 0.05 for five
	// percentage points) a rate alert requires in addition to significance.
	MinRateEffect float64
	// MinMeanEffect is the standardised mean shift |mean - baseline mean| / baseline stddev a mean
	// alert requires in addition to significance.
	MinMeanEffect float64
	// PendingWindows is the number of further consecutive true windows an alert spends pending before
	// it fires: 1 fires on the second true window, 0 fires on the first (no pending transition).
	PendingWindows int
	// ResolveWindows is the number of consecutive false windows after which a firing alert resolves
	// (hysteresis against flapping).
	ResolveWindows int
	// ResendWindows is the number of closed windows between re-sends of a firing alert; 0 disables
	// re-sends.
	ResendWindows int
	// MaxExamples is the number of example event ids carried in an alert's evidence, at most 5.
	MaxExamples int
}

// DefaultConfig returns the configuration vigil runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Window:         time.Minute,
		Grace:          10 * time.Second,
		BaselineSize:   500,
		WarmUp:         0,
		MinSamples:     50,
		Alpha:          0.001,
		MinRateEffect:  0.05,
		MinMeanEffect:  0.5,
		PendingWindows: 1,
		ResolveWindows: 2,
		ResendWindows:  10,
		MaxExamples:    5,
	}
}

// Validate reports every invalid field at once (joined with errors.Join), each error naming the field
// and its value. It returns nil for a usable configuration.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("drift: %s = %v: must be %s", field, value, want))
	}
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
	return errors.Join(errs...)
}
