package drift

import (
	"math"
	"math/bits"
	"slices"

	"github.com/vigilhq/vigil/pkg/event"
)

// maxValue bounds the magnitude of a value that enters the "value" signal. Larger values are left
// out like non-finite ones: no quality score is that large, and the bound keeps squares, sums and the
// float32 samples finite.
const maxValue = 1e30

// usableValue reports whether a score's value enters the "value" signal: a measure with a finite
// value within ±maxValue.
func usableValue(s *event.Score) bool {
	return s.Kind == event.KindMeasure && s.Value >= -maxValue && s.Value <= maxValue // false for NaN
}

// accum accumulates the observations of one quality series: the baseline under construction, and
// every window. All of its state is bounded: the sample (kept only while building a baseline; a
// window counts its values into cells instead) holds at most Config.SampleSize values and labels at
// most Config.MaxCategories entries.
type accum struct {
	n        int64 // observations
	failures int64 // observations that did not pass
	values   moments
	sample   []float32 // uniform reservoir sample of the values (Vitter's algorithm R); a baseline's only
	labelled int64     // observations with a label
	labels   []labelCount
	other    int64 // labelled observations whose label found no room in labels
	from, to int64 // event time (Unix ns) of the earliest and latest observation, when n > 0
}

// labelCount counts one label, with the first event that carried it.
type labelCount struct {
	label   string
	n       int64
	example string
}

// add adds one observation. value is used only when hasValue (and sampled only when sample: a
// window counts its values into cells instead); label only when non-empty.
func (a *accum) add(ts int64, fail, hasValue, sample bool, value float64, label, eventID string, cfg *Config, rng *uint64) {
	if a.n == 0 || ts < a.from {
		a.from = ts
	}
	if a.n == 0 || ts > a.to {
		a.to = ts
	}
	a.n++
	if fail {
		a.failures++
	}
	if hasValue {
		a.values.add(value)
		switch {
		case !sample:
		case len(a.sample) < cfg.SampleSize:
			a.sample = append(a.sample, float32(value))
		default:
			if j := randN(rng, uint64(a.values.n)); j < uint64(len(a.sample)) {
				a.sample[j] = float32(value)
			}
		}
	}
	if label != "" {
		a.labelled++
		for i := range a.labels {
			if a.labels[i].label == label {
				a.labels[i].n++
				return
			}
		}
		if len(a.labels) < cfg.MaxCategories {
			a.labels = append(a.labels, labelCount{label: label, n: 1, example: eventID})
			return
		}
		a.other++
	}
}

// reset empties a, keeping the capacity of its slices for reuse.
func (a *accum) reset() {
	clear(a.labels) // drop the strings
	*a = accum{sample: a.sample[:0], labels: a.labels[:0]}
}

// merge adds b to a. When the samples together exceed capacity, each contributes in proportion to
// the values it stands for, by systematic sampling of its sorted values, so the merged sample keeps
// the shape of both.
func (a *accum) merge(b *accum, cfg *Config) {
	if b.n == 0 {
		return
	}
	if a.n == 0 || b.from < a.from {
		a.from = b.from
	}
	if a.n == 0 || b.to > a.to {
		a.to = b.to
	}
	a.n += b.n
	a.failures += b.failures
	na, nb := a.values.n, b.values.n
	a.values.merge(b.values)
	if len(a.sample)+len(b.sample) <= cfg.SampleSize {
		a.sample = append(a.sample, b.sample...)
	} else {
		ka := int(math.Round(float64(cfg.SampleSize) * float64(na) / float64(na+nb)))
		ka = min(ka, len(a.sample))
		kb := min(cfg.SampleSize-ka, len(b.sample))
		merged := append(systematic(a.sample, ka), systematic(b.sample, kb)...)
		a.sample = merged
	}
	a.labelled += b.labelled
	a.other += b.other
	for _, l := range b.labels {
		i := slices.IndexFunc(a.labels, func(x labelCount) bool { return x.label == l.label })
		switch {
		case i >= 0:
			a.labels[i].n += l.n
		case len(a.labels) < cfg.MaxCategories:
			a.labels = append(a.labels, l)
		default:
			a.other += l.n
		}
	}
}

// systematic returns k values of xs, evenly spaced through its sorted order, in a new slice.
func systematic(xs []float32, k int) []float32 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if k >= len(s) {
		return s
	}
	out := make([]float32, k)
	for i := range out {
		out[i] = s[int((float64(i)+0.5)*float64(len(s))/float64(k))]
	}
	return out
}

// randN returns a pseudo-random integer in [0, n) from the splitmix64 generator whose state is
// *state (Steele, Lea & Flood 2014). The state lives in each track and travels with its snapshot,
// so reservoir sampling is reproducible.
func randN(state *uint64, n uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	hi, _ := bits.Mul64(z, n)
	return hi
}

// window accumulates one tumbling window of one quality series. Its acc keeps no sample: the
// values are counted into cells (see cells.go).
type window struct {
	idx    int64 // start = idx * Config.Window since the Unix epoch
	acc    accum
	cells  []byte            // the values in the cells of the track's baseline; nil before the first
	failEx examples          // first failing events
	newEx  examples          // first events whose label the baseline does not know
	high   extremes          // events with the highest values
	low    extremes          // events with the lowest values
	alarm  [numSignals]alarm // online detector alarms raised by this window's observations
}

// alarm records an online detector crossing its threshold.
type alarm struct {
	on   bool
	dir  int8    // +1 up, -1 down (value signal); +1 for the rate
	peak float64 // the statistic when it crossed
}

// examples keeps the first few event ids offered to it.
type examples struct {
	ids [maxExamples]string
	n   int
}

func (x *examples) add(id string, limit int) {
	if x.n < limit {
		x.ids[x.n] = id
		x.n++
	}
}

// extremes keeps the events with the largest (or, with sign -1, smallest) values.
type extremes struct {
	ids  [maxExamples]string
	vals [maxExamples]float64 // sign-adjusted: larger is more extreme
	n    int
}

func (x *extremes) add(id string, v float64, limit int) {
	if x.n < limit {
		x.ids[x.n], x.vals[x.n] = id, v
		x.n++
		return
	}
	w := 0
	for i := 1; i < x.n; i++ {
		if x.vals[i] < x.vals[w] {
			w = i
		}
	}
	if x.n > 0 && v > x.vals[w] {
		x.ids[w], x.vals[w] = id, v
	}
}

// sorted returns the kept ids, most extreme first, in a new slice.
func (x *extremes) sorted() []string {
	idx := make([]int, x.n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x.vals[a] > x.vals[b]:
			return -1
		case x.vals[a] < x.vals[b]:
			return 1
		}
		return 0
	})
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = x.ids[j]
	}
	return out
}
