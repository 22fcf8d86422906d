package drift

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// How a baseline was made: Baseline.Source.
const (
	// SourceAuto: pinned by the engine from the first BaselineSize observations of the series after
	// WarmUp.
	SourceAuto = "auto"
	// SourceOperator: pinned by PinBaseline or PinCurrent.
	SourceOperator = "operator"
	// SourceInherited: the baseline of another prompt_version or model of the same app,
	// environment, feature and metric, adopted by a series that appeared after it was pinned.
	SourceInherited = "inherited"
)

// Errors of the baseline operations.
var (
	// ErrUnknownSeries: the engine has never seen the series and metric.
	ErrUnknownSeries = errors.New("drift: unknown series")
	// ErrTooFewObservations: there are fewer than MinSamples observations to pin.
	ErrTooFewObservations = errors.New("drift: too few observations to pin")
)

// Baseline is the frozen reference a quality series is compared with. It is a plain value: it
// encodes to JSON (and back) without loss, so it can be stored (ClickHouse, a key-value bucket),
// listed, edited by an operator and pinned again. An engine never modifies a baseline it has
// pinned; Baselines returns copies.
type Baseline struct {
	// Series and Metric identify the series whose observations the baseline holds: for an
	// inherited baseline, the previous prompt_version or model.
	Series event.Series `json:"series"`
	Metric string       `json:"metric"`
	// Source is how it was made: SourceAuto, SourceOperator or SourceInherited.
	Source string `json:"source"`
	// PinnedAt is when it was pinned, in event time: the timestamp of the observation that completed
	// an automatic baseline, of the newest observation in one pinned by PinCurrent, or as given to
	// PinBaseline (the end of the engine's newest closed window when zero).
	PinnedAt time.Time `json:"pinned_at"`
	// From and To are the event times of its earliest and latest observation (zero when unknown).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`

	// N is the number of observations, Failures those that did not pass.
	N        int64 `json:"n"`
	Failures int64 `json:"failures"`

	// Values is the number of finite values (of measures); Mean and Variance (unbiased) are their
	// moments.
	Values   int64   `json:"values"`
	Mean     float64 `json:"mean"`
	Variance float64 `json:"variance"`
	// Sample is a uniform sample of at most Config.SampleSize of the values, in ascending order, at
	// float32 precision: what the KS test and the Wasserstein distance compare windows with.
	Sample []float32 `json:"sample"`
	// BinEdges are the inner edges of the frozen quantile bins of Sample (at most PSIBins bins;
	// fewer when values tie), strictly increasing; bin i holds the values with exactly i edges below
	// them. BinCounts counts Sample per bin. PinBaseline derives missing edges from Sample and
	// always recounts BinCounts.
	BinEdges  []float64 `json:"bin_edges"`
	BinCounts []int64   `json:"bin_counts"`

	// Labelled is the number of observations with a label; Labels counts them per label (at most
	// MaxCategories, most frequent first) and OtherLabels those whose label found no room.
	Labelled    int64        `json:"labelled"`
	Labels      []LabelCount `json:"labels"`
	OtherLabels int64        `json:"other_labels"`
}

// LabelCount is the number of baseline observations that carried one label.
type LabelCount struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// SeriesBaseline is the baseline a series and metric is compared with.
type SeriesBaseline struct {
	Series   event.Series `json:"series"`
	Metric   string       `json:"metric"`
	Baseline Baseline     `json:"baseline"`
}

// FailureRate returns Failures / N (0 for an empty baseline).
func (b *Baseline) FailureRate() float64 {
	if b.N <= 0 {
		return 0
	}
	return float64(b.Failures) / float64(b.N)
}

// knows reports whether label is among b's counted labels.
func (b *Baseline) knows(label string) bool {
	for _, l := range b.Labels {
		if l.Label == label {
			return true
		}
	}
	return false
}

// clone returns a deep copy of b.
func (b *Baseline) clone() Baseline {
	c := *b
	c.Sample = slices.Clone(b.Sample)
	c.BinEdges = slices.Clone(b.BinEdges)
	c.BinCounts = slices.Clone(b.BinCounts)
	c.Labels = slices.Clone(b.Labels)
	return c
}

// freeze turns an accumulator into a pinned baseline.
func (e *Engine) freeze(a *accum, k seriesKey, source string, pinnedAt time.Time) *Baseline {
	b := &Baseline{
		Series: k.series, Metric: k.metric, Source: source, PinnedAt: pinnedAt,
		N: a.n, Failures: a.failures,
		Values: a.values.n, Mean: a.values.mean, Variance: a.values.variance(),
		Sample:   slices.Clone(a.sample),
		Labelled: a.labelled, OtherLabels: a.other,
	}
	if a.n > 0 {
		b.From, b.To = time.Unix(0, a.from).UTC(), time.Unix(0, a.to).UTC()
	}
	slices.Sort(b.Sample)
	b.BinEdges = quantileEdges(b.Sample, e.cfg.PSIBins)
	b.BinCounts = binCounts(b.Sample, b.BinEdges)
	b.Labels = make([]LabelCount, len(a.labels))
	for i, l := range a.labels {
		b.Labels[i] = LabelCount{Label: l.label, Count: l.n}
	}
	sortLabels(b.Labels)
	return b
}

// binCounts counts a sorted sample into the bins of edges; nil for an empty sample.
func binCounts(sorted []float32, edges []float64) []int64 {
	if len(sorted) == 0 {
		return nil
	}
	c := make([]int64, len(edges)+1)
	countBins(sorted, edges, c)
	return c
}

func sortLabels(ls []LabelCount) {
	slices.SortFunc(ls, func(a, b LabelCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Label, b.Label))
	})
}

// prepare validates b and returns the engine's own frozen copy of it, as pinned for (s, metric) by
// an operator: Source defaults to SourceOperator, Series and Metric to s and metric, PinnedAt to
// the end of the newest closed window; see normalize for the rest.
func (e *Engine) prepare(b Baseline, s event.Series, metric string) (*Baseline, error) {
	if err := checkBaseline(&b); err != nil {
		return nil, err
	}
	c := e.normalize(&b)
	if c.Source == "" {
		c.Source = SourceOperator
	}
	if c.Series == (event.Series{}) && c.Metric == "" {
		c.Series, c.Metric = s, metric
	}
	if c.PinnedAt.IsZero() && e.advanced {
		_, c.PinnedAt = e.windowBounds(e.closed)
	}
	return c, nil
}

// checkBaseline reports every inconsistency of b at once.
func checkBaseline(b *Baseline) error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("drift: baseline %s = %v: must be %s", field, value, want))
	}
	switch b.Source {
	case "", SourceAuto, SourceOperator, SourceInherited:
	default:
		bad("Source", fmt.Sprintf("%q", b.Source), "auto, operator or inherited")
	}
	if b.N < 1 {
		bad("N", b.N, "at least 1")
	}
	if b.Failures < 0 || b.Failures > b.N {
		bad("Failures", b.Failures, "in [0, N]")
	}
	if b.Values < 0 || b.Values > b.N {
		bad("Values", b.Values, "in [0, N]")
	}
	if !(math.Abs(b.Mean) <= maxValue) {
		bad("Mean", b.Mean, "finite")
	}
	if !(b.Variance >= 0) || math.IsInf(b.Variance, 1) {
		bad("Variance", b.Variance, "finite and zero or positive")
	}
	if int64(len(b.Sample)) > b.Values {
		bad("len(Sample)", len(b.Sample), "at most Values")
	}
	for i, v := range b.Sample {
		if !(math.Abs(float64(v)) <= maxValue) {
			bad(fmt.Sprintf("Sample[%d]", i), v, "finite")
			break
		}
	}
	if len(b.BinEdges) > maxColumns-1 {
		bad("len(BinEdges)", len(b.BinEdges), fmt.Sprintf("at most %d", maxColumns-1))
	}
	for i, v := range b.BinEdges {
		if !(math.Abs(v) <= maxValue) || i > 0 && !(v > b.BinEdges[i-1]) {
			bad(fmt.Sprintf("BinEdges[%d]", i), v, "finite and above the previous edge")
			break
		}
	}
	if b.Labelled < 0 || b.Labelled > b.N {
		bad("Labelled", b.Labelled, "in [0, N]")
	}
	if b.OtherLabels < 0 {
		bad("OtherLabels", b.OtherLabels, "zero or positive")
	}
	total := b.OtherLabels
	seen := make(map[string]bool, len(b.Labels))
	for i, l := range b.Labels {
		if l.Label == "" || seen[l.Label] {
			bad(fmt.Sprintf("Labels[%d].Label", i), fmt.Sprintf("%q", l.Label), "non-empty and unique")
		}
		seen[l.Label] = true
		if l.Count < 0 {
			bad(fmt.Sprintf("Labels[%d].Count", i), l.Count, "zero or positive")
		}
		total += l.Count
	}
	if total != b.Labelled {
		bad("Labelled", b.Labelled, fmt.Sprintf("the sum of the label counts and OtherLabels (%d)", total))
	}
	return errors.Join(errs...)
}

// normalize returns a frozen copy of a checked baseline in the engine's terms: Sample sorted and
// thinned to SampleSize, bin edges derived when missing, BinCounts recounted, Labels ordered and
// those beyond MaxCategories folded into OtherLabels.
func (e *Engine) normalize(b *Baseline) *Baseline {
	c := b.clone()
	slices.Sort(c.Sample)
	if len(c.Sample) > e.cfg.SampleSize {
		c.Sample = systematic(c.Sample, e.cfg.SampleSize)
	}
	if len(c.BinEdges) == 0 {
		c.BinEdges = quantileEdges(c.Sample, e.cfg.PSIBins)
	}
	c.BinCounts = binCounts(c.Sample, c.BinEdges)
	sortLabels(c.Labels)
	if len(c.Labels) > e.cfg.MaxCategories {
		for _, l := range c.Labels[e.cfg.MaxCategories:] {
			c.OtherLabels += l.Count
		}
		c.Labels = c.Labels[:e.cfg.MaxCategories]
	}
	return &c
}

// PinBaseline makes b the baseline of (series, metric), creating the series if the engine has not
// seen it. It is how an operator pins a baseline, and how a service reloads stored ones (a stored
// baseline keeps its Source: pin baselines in the order they were made, or rely on PinnedAt, see
// below). b is validated (every problem reported at once, nothing changed on error) and copied; see
// Baseline for the defaults it fills in.
//
// Pinning resets what was learned against the previous baseline: a baseline under construction is
// dropped, the online detectors restart from zero and forget their alarms. The alert state machines
// are kept, so sequences (and alert ids) continue and a pending or firing alert resolves by the
// usual rules once windows stop differing from the new baseline. Windows still open are evaluated
// against the new baseline when they close.
//
// Unless b's Source is SourceInherited, b also becomes the baseline that new prompt versions or
// models of the same app, environment, feature and metric inherit, provided no baseline of that
// family has a later PinnedAt.
func (e *Engine) PinBaseline(series event.Series, metric string, b Baseline) error {
	nb, err := e.prepare(b, series, metric)
	if err != nil {
		return err
	}
	t := e.track(series, metric)
	t.building = accum{}
	e.setBaseline(t, nb, nb.Source == SourceInherited)
	return nil
}

// PinCurrent pins, as an operator baseline of (series, metric), the observations of its most
// recently closed window and of the windows still open, or, while the series is still building its
// first baseline, what it has gathered so far. It returns a copy of the pinned baseline, or
// ErrUnknownSeries, or ErrTooFewObservations when there are fewer than MinSamples observations. Its
// effects are those of PinBaseline.
func (e *Engine) PinCurrent(series event.Series, metric string) (Baseline, error) {
	t := e.lookup(series, metric)
	if t == nil {
		return Baseline{}, fmt.Errorf("pin current window of %s %s: %w", series.Key(), metric, ErrUnknownSeries)
	}
	var a accum
	if t.base == nil {
		a.merge(&t.building, &e.cfg)
	} else {
		if t.hasPrev {
			a.merge(&t.prev.acc, &e.cfg)
		}
		for i := range t.open {
			a.merge(&t.open[i].acc, &e.cfg)
		}
	}
	if a.n < int64(e.cfg.MinSamples) {
		return Baseline{}, fmt.Errorf("pin current window of %s %s: %d observations: %w", series.Key(), metric, a.n, ErrTooFewObservations)
	}
	b := e.freeze(&a, t.key, SourceOperator, time.Unix(0, a.to).UTC())
	t.building = accum{}
	e.setBaseline(t, b, false)
	return b.clone(), nil
}

// Baselines returns a copy of the baseline of every series and metric that has one, ordered by
// series labels and metric. An inherited baseline is listed under the series that inherited it,
// with Source SourceInherited and the Series it came from.
func (e *Engine) Baselines() []SeriesBaseline {
	e.sortTracks()
	var out []SeriesBaseline
	for _, t := range e.tracks {
		if t.base == nil {
			continue
		}
		b := t.base.clone()
		if t.inherited {
			b.Source = SourceInherited
		}
		out = append(out, SeriesBaseline{Series: t.key.series, Metric: t.key.metric, Baseline: b})
	}
	return out
}

// setBaseline makes b the baseline of t and resets its detectors (see PinBaseline).
func (e *Engine) setBaseline(t *track, b *Baseline, inherited bool) {
	t.group.tests -= t.d.tests
	t.base, t.inherited = b, inherited
	t.d = e.derive(b)
	t.group.tests += t.d.tests
	t.rateCUSUM, t.valueCUSUM = bernoulliCUSUM{}, cusum{}
	t.sticky = [numSignals]alarm{}
	for i := range t.open {
		t.open[i].alarm = [numSignals]alarm{}
	}
	if !inherited {
		e.offerFamily(familyOf(t.key), b)
	}
}

// offerFamily makes b the baseline its family's new series inherit unless the family has one
// pinned later.
func (e *Engine) offerFamily(f familyKey, b *Baseline) {
	if cur, ok := e.families[f]; !ok || !b.PinnedAt.Before(cur.PinnedAt) {
		e.families[f] = b
	}
}

// derived holds what the engine computes once from a track's baseline and the configuration.
type derived struct {
	signals [numSignals]bool
	tests   int     // p-value tests run per window: this track's share of the series' Bonferroni family
	rateRef float64 // Wilson upper bound of the baseline failure rate
	rate    bernoulliParams
	scale   float64 // baseline standard deviation, floored (see meanScaleFloor)
	ks      bool    // baseline has a sample to compare windows with
	bins    bool    // baseline has at least two frozen bins
}

func (e *Engine) derive(b *Baseline) derived {
	cfg := &e.cfg
	d := derived{tests: 1}
	d.signals[signalRate] = true
	// A baseline that saw no failure does not make failures impossible: the reference is at least
	// half an observation.
	d.rateRef = max(wilsonUpper(b.Failures, b.N, cfg.BaselineZ), 0.5/float64(b.N))
	p1 := d.rateRef + cfg.RateCUSUMShift
	if p1 >= 1 {
		p1 = (d.rateRef + 1) / 2
	}
	d.rate = newBernoulliParams(d.rateRef, p1, cfg.RateCUSUMThreshold)
	if b.Values >= 2 {
		d.signals[signalValue] = true
		d.scale = math.Max(math.Sqrt(b.Variance), meanScaleFloor(b.Mean))
		d.tests++ // Welch
		if len(b.Sample) >= 2 {
			d.ks = true
			d.tests++
		}
		if len(b.BinEdges) > 0 && len(b.BinCounts) == len(b.BinEdges)+1 {
			d.bins = true
			d.tests++
		}
	}
	if b.Labelled >= int64(cfg.MinSamples) {
		d.signals[signalLabel] = true
		d.tests++
	}
	return d
}
