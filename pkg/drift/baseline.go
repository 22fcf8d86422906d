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
	// Sample is a uniform sample of the values at float32 precision, as a pin made from stored
	// scores carries it (Pin.Baseline). It is input only: pinning summarises it (at most
	// Config.SampleSize of it, thinned evenly through its sorted order) into SampleN, Quantiles,
	// BinEdges and BinCounts and drops it, so the baselines an engine holds, lists and snapshots
	// have none.
	Sample []float32 `json:"sample,omitempty"`
	// SampleN is the size n of the sample the baseline was summarised from: the baseline sample
	// size of the KS test. Quantiles are k = min(n, QuantilePoints) of its values in ascending
	// order, the one of rank ⌊(i+½)·n/k⌋ for i = 0…k−1 (the whole sample when n ≤ QuantilePoints):
	// the KS test and the Wasserstein distance compare windows with the distribution that puts
	// 1/k on each (see QuantilePoints for the accuracy). Pinning a baseline without a Sample keeps
	// its Quantiles; SampleN defaults to their number.
	SampleN   int64     `json:"sample_n,omitempty"`
	Quantiles []float32 `json:"quantiles,omitempty"`
	// BinEdges are the inner edges of the frozen quantile bins of the sample (at most PSIBins bins;
	// fewer when values tie), strictly increasing; bin i holds the values with exactly i edges below
	// them. BinCounts counts the sample per bin (SampleN in all). Pinning derives missing edges
	// from the Sample (else the Quantiles) and recounts BinCounts from the Sample when there is
	// one; without one it keeps BinCounts that are consistent (one per bin, summing to SampleN) and
	// otherwise estimates them from the Quantiles.
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
	c.Quantiles = slices.Clone(b.Quantiles)
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
		Labelled: a.labelled, OtherLabels: a.other,
	}
	if a.n > 0 {
		b.From, b.To = time.Unix(0, a.from).UTC(), time.Unix(0, a.to).UTC()
	}
	// The accumulator is discarded once frozen: its sample is sorted in place.
	slices.Sort(a.sample)
	b.summarise(a.sample, e.cfg.PSIBins)
	b.Labels = make([]LabelCount, len(a.labels))
	for i, l := range a.labels {
		b.Labels[i] = LabelCount{Label: l.label, Count: l.n}
	}
	sortLabels(b.Labels)
	return b
}

// QuantilePoints is the largest number of Quantiles a pinned baseline keeps: 512 bytes instead of
// the 4 KB of a sample of 1000 values. Against the k-point summary of a sample of n values, the KS
// statistic of any window is within 1/(2k) (0.0039) of its value against the sample itself, exactly
// (the summary's distribution function is ⌈F·k − ½⌉/k where the sample's is F). The Wasserstein
// distance moves by at most the distance between summary and sample, at most (max − min)/k and in
// practice far less: against samples of 1000 and windows of 40 to 1000 values it moved by 0.001σ
// on average (at most 0.005σ) for normal values, 0.006σ (at most 0.025σ) for log-normal ones,
// against a threshold of 0.1σ (TestQuantileSummaryAccuracy). PSI and its chi-square test use the
// bin counts of the whole sample and are unaffected.
//
// Windows keep no values either: each counts its values into k+1 cells between the quantiles and
// into the PSI bins (cells.go), at most 296 bytes at the default PSIBins however large the window.
// Against the summary, the KS statistic from the cells is exact, the sup of |F_window − F_summary|
// being reached at the quantiles, where the cells give F_window; except that values equal to a
// quantile the summary holds only once are counted below it, which can raise D by their share
// (never for continuous scores; a discrete score's atoms, held two or more times, get cells of
// their own). The
// Wasserstein distance spreads each cell's values evenly between its quantiles and is exact beyond
// the summary's range (the cells keep the sum of the distances there): it is within ½·Σ pᵢ·wᵢ of
// the distance to the window's values, pᵢ the window's share in cell i and wᵢ its width, about
// (q_max − q_min)/(2k) for a window like the baseline (0.04σ for normal values); measured against
// samples of 1000 and windows of 40 to 1500 values it moved by 0.0015σ on average (at most 0.009σ)
// for normal values and 0.004σ (at most 0.034σ) for log-normal ones (TestCellsMatchSample). The
// PSI bins are counted exactly. The KS p-value and the chi-square test use every value of the
// window.
const QuantilePoints = 128

// summarise sets the sample summary of b from a sorted sample: SampleN, Quantiles, and bin edges
// (unless b has them) and counts. It does not keep sorted.
func (b *Baseline) summarise(sorted []float32, bins int) {
	b.Sample = nil
	b.SampleN = int64(len(sorted))
	b.Quantiles = nil
	if len(sorted) > 0 {
		b.Quantiles = systematic(sorted, QuantilePoints)
	}
	if len(b.BinEdges) == 0 {
		b.BinEdges = quantileEdges(sorted, bins)
	}
	b.BinCounts = binCounts(sorted, b.BinEdges)
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
	if b.SampleN < 0 || b.SampleN > 0 && b.SampleN > b.Values {
		bad("SampleN", b.SampleN, "in [0, Values]")
	}
	switch q := int64(len(b.Quantiles)); {
	case q == 0:
	case b.SampleN > 0 && q > b.SampleN:
		bad("len(Quantiles)", q, fmt.Sprintf("at most SampleN (%d)", b.SampleN))
	case q > b.Values:
		bad("len(Quantiles)", q, "at most Values")
	}
	for i, v := range b.Quantiles {
		if !(math.Abs(float64(v)) <= maxValue) || i > 0 && v < b.Quantiles[i-1] {
			bad(fmt.Sprintf("Quantiles[%d]", i), v, "finite and not below the previous quantile")
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

// normalize returns a frozen copy of a checked baseline in the engine's terms: a Sample (thinned to
// SampleSize) replaced by its summary, or else Quantiles kept (thinned to QuantilePoints), bin
// edges derived when missing, BinCounts recounted or estimated unless consistent, Labels ordered and
// those beyond MaxCategories folded into OtherLabels.
func (e *Engine) normalize(b *Baseline) *Baseline {
	c := b.clone()
	if len(c.Sample) > 0 {
		s := c.Sample
		slices.Sort(s)
		if len(s) > e.cfg.SampleSize {
			s = systematic(s, e.cfg.SampleSize)
		}
		c.summarise(s, e.cfg.PSIBins)
	} else {
		if len(c.Quantiles) > QuantilePoints {
			c.Quantiles = systematic(c.Quantiles, QuantilePoints)
		}
		if len(c.Quantiles) == 0 {
			c.Quantiles = nil
		}
		c.SampleN = max(c.SampleN, int64(len(c.Quantiles)))
		if len(c.BinEdges) == 0 {
			c.BinEdges = quantileEdges(c.Quantiles, e.cfg.PSIBins)
		}
		if !consistentCounts(c.BinCounts, len(c.BinEdges)+1, c.SampleN) {
			c.BinCounts = estimateCounts(c.Quantiles, c.BinEdges, c.SampleN)
		}
	}
	sortLabels(c.Labels)
	if len(c.Labels) > e.cfg.MaxCategories {
		for _, l := range c.Labels[e.cfg.MaxCategories:] {
			c.OtherLabels += l.Count
		}
		c.Labels = c.Labels[:e.cfg.MaxCategories]
	}
	return &c
}

// consistentCounts reports whether counts has one non-negative count for each of bins bins,
// summing to n > 0.
func consistentCounts(counts []int64, bins int, n int64) bool {
	if n <= 0 || len(counts) != bins {
		return false
	}
	var s int64
	for _, c := range counts {
		if c < 0 {
			return false
		}
		s += c
	}
	return s == n
}

// estimateCounts estimates the bin counts of a sample of n values from its sorted quantile summary:
// each of the k quantiles stands for n/k values, apportioned by largest remainder so that the
// counts sum to n. It returns nil without quantiles.
func estimateCounts(quantiles []float32, edges []float64, n int64) []int64 {
	k := len(quantiles)
	if k == 0 || n <= 0 {
		return nil
	}
	points := make([]int64, len(edges)+1)
	countBins(quantiles, edges, points)
	counts := make([]int64, len(points))
	rem := make([]int64, len(points))
	left := n
	q, r := n/int64(k), n%int64(k) // p·n/k = p·q + p·r/k, without overflowing p·n
	for i, p := range points {
		counts[i], rem[i] = p*q+p*r/int64(k), p*r%int64(k)
		left -= counts[i]
	}
	for ; left > 0; left-- {
		j := 0
		for i := range rem {
			if rem[i] > rem[j] {
				j = i
			}
		}
		counts[j]++
		rem[j] = -1
	}
	return counts
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
	t.building = nil
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
		if t.building != nil {
			a.merge(t.building, &e.cfg)
		}
	} else {
		// Windows keep no values: each stands in with a sample drawn from its cells.
		q, p := cellLayout(t.base, &t.d)
		add := func(acc *accum, cells []byte) {
			wa := *acc
			wa.sample = cellSample(cells, t.base.Quantiles, t.base.BinEdges, q, p, &acc.values, e.cfg.SampleSize)
			a.merge(&wa, &e.cfg)
		}
		if t.hasPrev {
			add(&t.prev.acc, t.prev.cells)
		}
		for i := range t.open {
			add(&t.open[i].acc, t.open[i].cells)
		}
	}
	if a.n < int64(e.cfg.MinSamples) {
		return Baseline{}, fmt.Errorf("pin current window of %s %s: %d observations: %w", series.Key(), metric, a.n, ErrTooFewObservations)
	}
	b := e.freeze(&a, t.key, SourceOperator, time.Unix(0, a.to).UTC())
	t.building = nil
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
	old, oq, op := t.base, 0, 0
	if old != nil {
		oq, op = cellLayout(old, &t.d)
	}
	t.base, t.inherited = b, inherited
	t.d = e.derive(b)
	t.group.tests += t.d.tests
	if old != b {
		// Windows still open count their values again into the new baseline's cells.
		q, p := cellLayout(b, &t.d)
		re := func(cells []byte, acc *accum) []byte {
			if old == nil {
				return nil
			}
			return recount(cells, old.Quantiles, old.BinEdges, oq, op, &acc.values, b.Quantiles, b.BinEdges, q, p)
		}
		for i := range t.open {
			t.open[i].cells = re(t.open[i].cells, &t.open[i].acc)
		}
		if t.hasPrev {
			t.prev.cells = re(t.prev.cells, &t.prev.acc)
		}
	}
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
	ks      bool    // baseline has quantiles to compare windows with
	bins    bool    // baseline has at least two frozen bins
}

func (e *Engine) derive(b *Baseline) derived {
	cfg := &e.cfg
	d := derived{tests: 1}
	d.signals[signalRate] = true
	// A baseline that saw no failure does not make failures impossible: the reference is at least
	// half an observation.
	d.rateRef = max(wilsonUpper(b.Failures, b.N, cfg.BaselineZ), 0.5/float64(b.N))
	// The chart is tuned to a rise of RateCUSUMShift, or half the reference when that is more.
	// Tuned to +4 points it detects 2% → 6% within about 600 events, near the information bound
	// (TestDetectionTable), but at a 20% base rate it would weigh each failure too little to catch
	// +10 points within three windows of 150 events (TestFleetDetectionDelay).
	p1 := d.rateRef + max(cfg.RateCUSUMShift, d.rateRef/2)
	if p1 >= 1 {
		p1 = (d.rateRef + 1) / 2
	}
	d.rate = newBernoulliParams(d.rateRef, p1, cfg.RateCUSUMThreshold)
	if b.Values >= 2 {
		d.signals[signalValue] = true
		d.scale = math.Max(math.Sqrt(b.Variance), meanScaleFloor(b.Mean))
		d.tests++ // Welch
		if len(b.Quantiles) >= 2 {
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
