package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

// CompareOptions configure Compare. Zero values take the defaults.
type CompareOptions struct {
	// Resamples is the number of bootstrap resamples (default DefaultResamples).
	Resamples int
	// Level is the confidence level of the intervals (default 0.95).
	Level float64
	// Seed seeds the bootstrap (default 1).
	Seed uint64
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	if o.Level <= 0 || o.Level >= 1 {
		o.Level = 0.95
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// MetricComparison compares one metric of two runs over the cases both scored with it.
type MetricComparison struct {
	Metric string
	Kind   event.Kind
	// N is the number of cases both runs scored with this metric; the means, pass rates and
	// intervals are over those cases.
	N            int
	MeanA, MeanB float64
	PassA, PassB float64
	// PassDiff is PassB-PassA (pass = 1, fail = 0) with its interval; MeanDiff is MeanB-MeanA.
	PassDiff Interval
	MeanDiff Interval
	// Regressions are the cases that passed in A and fail in B, Fixes the reverse; sorted.
	Regressions []string
	Fixes       []string
	// OnlyA and OnlyB count cases this metric scored in one run only (not compared).
	OnlyA, OnlyB int
	// changes are the shared cases whose value moved, largest move first, with the signed
	// change B-A; Gate reads them for measures gated on their mean.
	changes []caseChange
}

type caseChange struct {
	id    string
	delta float64
}

// Comparison is the result of Compare: one entry per metric either run scored, in name order.
type Comparison struct {
	Metrics []MetricComparison
	// CasesA and CasesB count results, ErrorsA and ErrorsB those that ended in an error.
	CasesA, CasesB   int
	ErrorsA, ErrorsB int
	// Shared counts the cases both runs scored without error.
	Shared    int
	Level     float64
	Resamples int
	Seed      uint64
}

// Compare pairs the results of run A (the baseline) and run B (the candidate) by case id and
// compares every metric: means, pass rates, paired differences with bootstrap intervals, and
// the cases that changed from pass to fail and back. It is deterministic for a given seed.
func Compare(a, b []Result, opts CompareOptions) Comparison {
	opts = opts.withDefaults()
	c := Comparison{CasesA: len(a), CasesB: len(b), Level: opts.Level, Resamples: opts.Resamples, Seed: opts.Seed}
	sa, errA := byMetric(a)
	sb, errB := byMetric(b)
	c.ErrorsA, c.ErrorsB = errA, errB
	okA := scoredCases(a)
	for _, r := range b {
		if r.Error == "" && okA[r.CaseID] {
			c.Shared++
		}
	}
	names := make([]string, 0, len(sa)+len(sb))
	for m := range sa {
		names = append(names, m)
	}
	for m := range sb {
		if _, ok := sa[m]; !ok {
			names = append(names, m)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		c.Metrics = append(c.Metrics, compareMetric(name, sa[name], sb[name], opts))
	}
	return c
}

func compareMetric(name string, a, b map[string]event.Score, opts CompareOptions) MetricComparison {
	mc := MetricComparison{Metric: name}
	ids := make([]string, 0, len(a))
	for id, sc := range a {
		mc.Kind = sc.Kind
		if _, ok := b[id]; ok {
			ids = append(ids, id)
		} else {
			mc.OnlyA++
		}
	}
	for id, sc := range b {
		mc.Kind = cmp.Or(mc.Kind, sc.Kind)
		if _, ok := a[id]; !ok {
			mc.OnlyB++
		}
	}
	slices.Sort(ids) // the bootstrap draws by position: fix the order
	mc.N = len(ids)
	pa, pb := make([]float64, len(ids)), make([]float64, len(ids))
	va, vb := make([]float64, len(ids)), make([]float64, len(ids))
	for i, id := range ids {
		x, y := a[id], b[id]
		va[i], vb[i] = x.Value, y.Value
		pa[i], pb[i] = b2f(x.Pass), b2f(y.Pass)
		switch {
		case x.Pass && !y.Pass:
			mc.Regressions = append(mc.Regressions, id)
		case !x.Pass && y.Pass:
			mc.Fixes = append(mc.Fixes, id)
		}
		if y.Value != x.Value {
			mc.changes = append(mc.changes, caseChange{id: id, delta: y.Value - x.Value})
		}
	}
	mc.MeanA, mc.MeanB, mc.PassA, mc.PassB = mean(va), mean(vb), mean(pa), mean(pb)
	mc.PassDiff = PairedBootstrap(pa, pb, opts.Resamples, opts.Level, metricSeed(opts.Seed, name, "pass"))
	mc.MeanDiff = PairedBootstrap(va, vb, opts.Resamples, opts.Level, metricSeed(opts.Seed, name, "mean"))
	slices.SortStableFunc(mc.changes, func(x, y caseChange) int { return cmp.Compare(math.Abs(y.delta), math.Abs(x.delta)) })
	return mc
}

// byMetric indexes the scores of results without an error: metric → case id → score.
func byMetric(results []Result) (map[string]map[string]event.Score, int) {
	out := map[string]map[string]event.Score{}
	errs := 0
	for _, r := range results {
		if r.Error != "" {
			errs++
			continue
		}
		for _, sc := range r.Scores {
			m := out[sc.Metric]
			if m == nil {
				m = map[string]event.Score{}
				out[sc.Metric] = m
			}
			m[r.CaseID] = sc
		}
	}
	return out, errs
}

func scoredCases(results []Result) map[string]bool {
	ok := make(map[string]bool, len(results))
	for _, r := range results {
		if r.Error == "" {
			ok[r.CaseID] = true
		}
	}
	return ok
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Direction says which way a measure's value improves.
type Direction int

// Directions of measures whose mean the gate watches.
const (
	HigherIsBetter Direction = 1
	LowerIsBetter  Direction = -1
)

// DefaultDirections are the built-in measures whose mean the gate watches by default: scores
// between 0 and 1 whose better direction is clear. Other measures (lengths, counts) are gated
// on their pass rate only, unless GateOptions.Directions names them.
var DefaultDirections = map[string]Direction{
	"bleu":               HigherIsBetter,
	"context_coverage":   HigherIsBetter,
	"levenshtein_ratio":  HigherIsBetter,
	"rouge_l":            HigherIsBetter,
	"token_f1":           HigherIsBetter,
	"repetition":         LowerIsBetter,
	"shouting":           LowerIsBetter,
	"system_prompt_leak": LowerIsBetter,
}

// GateOptions configure Gate.
type GateOptions struct {
	// Margin is the smallest drop that fails the gate: in pass rate (0.02 = 2 points), or in a
	// watched measure's mean, in its own unit.
	Margin float64
	// Directions names the measures whose mean is gated, and which way is better. Nil means
	// DefaultDirections.
	Directions map[string]Direction
	// MaxCases caps the cases named per failing metric (default 20).
	MaxCases int
}

// Failure is one metric the candidate made significantly worse by more than the margin.
type Failure struct {
	Metric string
	// Signal is "pass_rate" or "mean".
	Signal              string
	Baseline, Candidate float64
	// Change is candidate minus baseline, with its interval.
	Change Interval
	// Cases are the cases behind the drop: those that passed in the baseline and fail in the
	// candidate, or for a mean those that moved the wrong way, most first. Omitted counts the
	// ones left out beyond MaxCases.
	Cases   []string
	Omitted int
}

// Verdict is the gate's decision.
type Verdict struct {
	Pass     bool
	Failures []Failure
	Margin   float64
	// Level is the confidence level of the intervals the verdict rests on (1 - alpha).
	Level float64
	// Metrics and Shared are how many metrics and cases were compared.
	Metrics, Shared int
}

// Gate decides whether the candidate (run B of c) may replace the baseline (run A). It fails
// only on a drop that is both significant (the interval at c.Level excludes 0) and larger than
// the margin: in a metric's pass rate, or in the mean of a measure with a known direction. So
// noise, and small real drops within the margin, pass. Compute c with Level = 1 - alpha.
func Gate(c Comparison, opts GateOptions) Verdict {
	dirs := opts.Directions
	if dirs == nil {
		dirs = DefaultDirections
	}
	maxCases := opts.MaxCases
	if maxCases <= 0 {
		maxCases = 20
	}
	v := Verdict{Pass: true, Margin: opts.Margin, Level: c.Level, Metrics: len(c.Metrics), Shared: c.Shared}
	for _, m := range c.Metrics {
		if m.N == 0 {
			continue
		}
		if iv := m.PassDiff; iv.ExcludesZero() && iv.Hi < 0 && -iv.Diff > opts.Margin {
			v.Failures = append(v.Failures, capCases(Failure{Metric: m.Metric, Signal: "pass_rate",
				Baseline: m.PassA, Candidate: m.PassB, Change: iv, Cases: slices.Clone(m.Regressions)}, maxCases))
		}
		d, watched := dirs[m.Metric]
		if !watched || m.Kind != event.KindMeasure {
			continue
		}
		iv := m.MeanDiff
		worse := iv.Hi < 0
		if d == LowerIsBetter {
			worse = iv.Lo > 0
		}
		if iv.ExcludesZero() && worse && -float64(d)*iv.Diff > opts.Margin {
			var cases []string
			for _, ch := range m.changes {
				if float64(d)*ch.delta < 0 {
					cases = append(cases, ch.id)
				}
			}
			v.Failures = append(v.Failures, capCases(Failure{Metric: m.Metric, Signal: "mean",
				Baseline: m.MeanA, Candidate: m.MeanB, Change: iv, Cases: cases}, maxCases))
		}
	}
	v.Pass = len(v.Failures) == 0
	return v
}

func capCases(f Failure, limit int) Failure {
	if len(f.Cases) > limit {
		f.Omitted = len(f.Cases) - limit
		f.Cases = f.Cases[:limit]
	}
	return f
}

// FailedMetrics returns the names of the failing metrics, sorted and without repeats.
func (v Verdict) FailedMetrics() []string {
	var names []string
	for _, f := range v.Failures {
		names = append(names, f.Metric)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// String is the one-line verdict.
func (v Verdict) String() string {
	alpha := 1 - v.Level
	if v.Pass {
		return fmt.Sprintf("PASS: no metric dropped significantly (alpha %.3g) by more than %.3g (%d metrics, %d shared cases)",
			alpha, v.Margin, v.Metrics, v.Shared)
	}
	return fmt.Sprintf("FAIL: %s dropped significantly (alpha %.3g) by more than %.3g (%d metrics, %d shared cases)",
		strings.Join(v.FailedMetrics(), ", "), alpha, v.Margin, v.Metrics, v.Shared)
}
