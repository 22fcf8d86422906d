package judge

import (
	"fmt"
	"math"
	"testing"
)

func TestSampledRate(t *testing.T) {
	const n = 100_000
	for _, format := range []string{"evt-%d", "01JD%022d", "shop-checkout-%08x"} {
		for _, rate := range []float64{0.001, 0.01, 0.05, 0.1, 0.5, 0.9} {
			kept := 0
			for i := range n {
				if Sampled(fmt.Sprintf(format, i), rate) {
					kept++
				}
			}
			got := float64(kept) / n
			// Within 1 point of the rate, and within 4 standard deviations of a fair coin.
			sigma := math.Sqrt(rate * (1 - rate) / n)
			if math.Abs(got-rate) > 0.01 || math.Abs(got-rate) > 4*sigma {
				t.Errorf("ids %q: Sampled kept %.4f of %d at rate %v (±%.4f allowed)", format, got, n, rate, min(0.01, 4*sigma))
			}
		}
	}
}

func TestSampledIsDeterministicAndNested(t *testing.T) {
	for i := range 10_000 {
		id := fmt.Sprintf("e-%d", i)
		if Sampled(id, 0.3) != Sampled(id, 0.3) {
			t.Fatalf("Sampled(%q, 0.3) differs between calls", id)
		}
		if Sampled(id, 0.1) && !Sampled(id, 0.3) {
			t.Fatalf("Sampled(%q): kept at 0.1 but not at 0.3", id)
		}
	}
	if Sampled("x", 0) || !Sampled("x", 1) || Sampled("x", -1) || !Sampled("x", 2) {
		t.Error("Sampled at rates 0, 1, -1, 2: want never, always, never, always")
	}
	// Pinned values: changing the hash would re-draw every deployment's sample.
	for id, want := range map[string]float64{"e-1": 0.841457208392618, "01JD0000000000000000000042": 0.09685965511899053} {
		if got := unit(id); got != want {
			t.Errorf("unit(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestJudgesDrawOwnSamples(t *testing.T) {
	a, b := Judge{Name: "a", SampleRate: 0.5}, Judge{Name: "b", SampleRate: 0.5}
	both := 0
	const n = 20_000
	for i := range n {
		id := fmt.Sprintf("e-%d", i)
		if a.Sampled(id) && b.Sampled(id) {
			both++
		}
	}
	// Independent samples at 0.5 share about a quarter of the ids.
	if got := float64(both) / n; math.Abs(got-0.25) > 0.02 {
		t.Errorf("judges a and b both sampled %.3f of ids, want about 0.25", got)
	}
}
