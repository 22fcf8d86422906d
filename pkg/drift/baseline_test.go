package drift

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigilhq/vigil/pkg/event"
)

// TestBaselines: automatic, inherited and operator baselines are listed with their provenance, and
// survive a JSON round trip and being pinned into another engine.
func TestBaselines(t *testing.T) {
	cfg := smallConfig()
	s := newSim(t, cfg, 90)
	v1, v2 := series("shop", "v1"), series("shop", "v2")
	for w := range 3 {
		s.window(w, stream{series: v1, n: 200, fail: 0.1, measure: true, mean: 50, sd: 5, limit: 60,
			labels: []string{"refusal", "policy"}, weights: []float64{3, 1}})
	}
	for w := 3; w < 5; w++ {
		s.window(w, stream{series: v2, n: 200, fail: 0.1, measure: true, mean: 50, sd: 5, limit: 60})
	}
	got := s.e.Baselines()
	if len(got) != 4 {
		t.Fatalf("Baselines() has %d entries, want 4 (v1 and v2 × refusal and length)", len(got))
	}
	byKey := map[string]SeriesBaseline{}
	for _, sb := range got {
		byKey[sb.Series.PromptVersion+"/"+sb.Metric] = sb
	}
	auto := byKey["v1/refusal"].Baseline
	if auto.Source != SourceAuto || auto.N != 500 || auto.Series != v1 || auto.Metric != "refusal" {
		t.Errorf("v1 refusal baseline = %s n=%d from %+v %s, want auto n=500 from v1", auto.Source, auto.N, auto.Series, auto.Metric)
	}
	if auto.Labelled != auto.Failures || len(auto.Labels) != 2 || auto.Labels[0].Label != "refusal" {
		t.Errorf("v1 refusal labels = %d labelled of %d failures, %+v; want every failure labelled, refusal first", auto.Labelled, auto.Failures, auto.Labels)
	}
	if !auto.PinnedAt.Equal(auto.To) || auto.From.After(auto.To) || !auto.From.Equal(t0) {
		t.Errorf("v1 times: from %v to %v pinned %v", auto.From, auto.To, auto.PinnedAt)
	}
	length := byKey["v1/length"].Baseline
	if length.Values != 500 || length.SampleN != 500 || len(length.Sample) != 0 || len(length.Quantiles) != QuantilePoints ||
		len(length.BinEdges) != cfg.PSIBins-1 || sum(length.BinCounts) != 500 {
		t.Errorf("v1 length: %d values, sample of %d summarised in %d quantiles (%d kept), %d edges, bins %v",
			length.Values, length.SampleN, len(length.Quantiles), len(length.Sample), len(length.BinEdges), length.BinCounts)
	}
	if d := length.Mean - 50; d > 1 || d < -1 {
		t.Errorf("v1 length mean = %v, want about 50", length.Mean)
	}
	inh := byKey["v2/refusal"]
	if inh.Series != v2 || inh.Baseline.Source != SourceInherited || inh.Baseline.Series != v1 || inh.Baseline.N != auto.N {
		t.Errorf("v2 refusal = %+v, want v1's baseline marked inherited", inh)
	}

	data, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back []SeriesBaseline
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(got, back, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("JSON round trip changed baselines:\n%s", diff)
	}
	// A service restarting from stored baselines pins them again and lists the same.
	e := NewEngine(cfg)
	for _, sb := range back {
		if err := e.PinBaseline(sb.Series, sb.Metric, sb.Baseline); err != nil {
			t.Fatalf("PinBaseline(%s %s): %v", sb.Series.Key(), sb.Metric, err)
		}
	}
	if diff := gocmp.Diff(got, e.Baselines(), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("re-pinned baselines differ:\n%s", diff)
	}
	// And a new version inherits the re-pinned automatic baseline.
	v3 := series("shop", "v3")
	e.Observe(&event.Scored{EventID: "x", Timestamp: t0, Series: v3, Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Pass: true}}})
	for _, sb := range e.Baselines() {
		if sb.Series == v3 && (sb.Baseline.Source != SourceInherited || sb.Baseline.Series != v1) {
			t.Errorf("v3 inherits %+v, want v1's baseline", sb.Baseline)
		}
	}
}

func TestPinBaselineValidation(t *testing.T) {
	valid := Baseline{N: 100, Failures: 5, Values: 3, Mean: 2, Variance: 1, Sample: []float32{3, 1, 2},
		Labelled: 5, Labels: []LabelCount{{"a", 4}}, OtherLabels: 1}
	tests := []struct {
		name   string
		modify func(*Baseline)
		want   []string
	}{
		{"valid", func(*Baseline) {}, nil},
		{"empty", func(b *Baseline) { *b = Baseline{} }, []string{"N = 0"}},
		{"failures", func(b *Baseline) { b.Failures = 101 }, []string{"Failures = 101"}},
		{"values", func(b *Baseline) { b.Values = -1 }, []string{"Values = -1", "len(Sample) = 3"}},
		{"mean", func(b *Baseline) { b.Mean = nan() }, []string{"Mean = NaN"}},
		{"variance", func(b *Baseline) { b.Variance = -1 }, []string{"Variance = -1"}},
		{"sample", func(b *Baseline) { b.Sample[1] = float32(nan()) }, []string{"Sample[1] = NaN"}},
		{"edges", func(b *Baseline) { b.BinEdges = []float64{2, 1} }, []string{"BinEdges[1] = 1"}},
		{"sample size", func(b *Baseline) { b.SampleN = 4 }, []string{"SampleN = 4"}},
		{"quantile order", func(b *Baseline) { b.Quantiles = []float32{2, 1} }, []string{"Quantiles[1] = 1"}},
		{"quantile count", func(b *Baseline) { b.SampleN, b.Quantiles = 1, []float32{1, 2} }, []string{"len(Quantiles) = 2"}},
		{"source", func(b *Baseline) { b.Source = "guess" }, []string{`Source = "guess"`}},
		{"labels", func(b *Baseline) { b.Labels = append(b.Labels, LabelCount{"a", -1}) }, []string{`Labels[1].Label = "a"`, "Labels[1].Count = -1", "Labelled = 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := valid
			b.Sample = append([]float32(nil), valid.Sample...)
			b.Labels = append([]LabelCount(nil), valid.Labels...)
			tt.modify(&b)
			e := NewEngine(smallConfig())
			err := e.PinBaseline(series("shop", "v1"), "m", b)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("PinBaseline = %v, want nil", err)
				}
				got := e.Baselines()[0].Baseline
				if got.Source != SourceOperator || got.Series != series("shop", "v1") || got.Metric != "m" || got.Sample != nil ||
					got.SampleN != 3 || !slices.Equal(got.Quantiles, []float32{1, 2, 3}) || len(got.BinEdges) != 2 || sum(got.BinCounts) != 3 {
					t.Errorf("pinned %+v, want an operator baseline of shop v1 m summarising its sample in sorted quantiles and derived bins", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("PinBaseline = nil, want errors naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), "drift: baseline "+w) {
					t.Errorf("PinBaseline = %q, want it to contain %q", err, w)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tt.want) {
				t.Errorf("PinBaseline = %q: %d errors, want %d", err, n, len(tt.want))
			}
			if st := e.Stats(); st.Series != 0 {
				t.Errorf("a rejected baseline created %d series", st.Series)
			}
		})
	}
}

// TestPinCurrentAcceptsRegression: an operator who accepts a regressed level pins the current
// window; the firing alert then resolves by its usual hysteresis, with its sequence continuing.
func TestPinCurrentAcceptsRegression(t *testing.T) {
	cfg := smallConfig()
	s := newSim(t, cfg, 91)
	sr := series("shop", "v1")
	var alerts []event.Alert
	for w := range 8 {
		fail := 0.02
		if w >= 4 {
			fail = 0.3
		}
		alerts = append(alerts, s.window(w, stream{series: sr, n: 400, fail: fail})...)
	}
	fp := Fingerprint(labelsOf(sr, "refusal", "rate"))
	if len(alerts) != 2 || alerts[1].AlertID != fp+"-2" || alerts[1].State != event.StateFiring {
		t.Fatalf("alerts before the pin: %+v, want pending and firing", briefs(alerts))
	}
	// Half of window 8 arrives, then the operator pins windows 7 and 8 as the new normal.
	s.feed(8, stream{series: sr, n: 200, fail: 0.3})
	b, err := s.e.PinCurrent(sr, "refusal")
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != SourceOperator || b.N != 600 || b.Series != sr || !b.PinnedAt.Equal(b.To) {
		t.Errorf("PinCurrent = %s n=%d %+v pinned %v (to %v), want an operator baseline of 600", b.Source, b.N, b.Series, b.PinnedAt, b.To)
	}
	if r := b.FailureRate(); r < 0.25 || r > 0.35 {
		t.Errorf("pinned failure rate %v, want about 0.3", r)
	}
	var after []event.Alert
	after = append(after, s.e.Advance(s.end(8).Add(cfg.Grace))...)
	for w := 9; w < 12; w++ {
		after = append(after, s.window(w, stream{series: sr, n: 400, fail: 0.3})...)
	}
	want := []brief{
		{fp + "-3", event.StateResolved, event.StateFiring, false, s.end(9), "refusal", "rate"},
	}
	if diff := gocmp.Diff(want, briefs(after)); diff != "" {
		t.Errorf("alerts after the pin (-want +got):\n%s", diff)
	}
	if ev := after[0].Evidence; ev.BaselineSource != "operator" || ev.Baseline.N != 600 {
		t.Errorf("resolved evidence: source %q n=%d, want operator 600", ev.BaselineSource, ev.Baseline.N)
	}
}

func TestPinCurrentErrors(t *testing.T) {
	cfg := smallConfig()
	e := NewEngine(cfg)
	sr := series("shop", "v1")
	if _, err := e.PinCurrent(sr, "refusal"); !errors.Is(err, ErrUnknownSeries) {
		t.Errorf("PinCurrent(unknown) = %v, want ErrUnknownSeries", err)
	}
	obs := func(n int) {
		for i := range n {
			e.Observe(&event.Scored{EventID: "e", Timestamp: t0.Add(time.Duration(i) * time.Millisecond), Series: sr,
				Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Pass: i%10 != 0}}})
		}
	}
	obs(cfg.MinSamples - 1)
	if _, err := e.PinCurrent(sr, "refusal"); !errors.Is(err, ErrTooFewObservations) {
		t.Errorf("PinCurrent(%d observations) = %v, want ErrTooFewObservations", cfg.MinSamples-1, err)
	}
	// While the first baseline is still being built, PinCurrent pins what has been gathered.
	obs(1)
	b, err := e.PinCurrent(sr, "refusal")
	if err != nil || b.N != int64(cfg.MinSamples) || b.Failures != 6 {
		t.Fatalf("PinCurrent = %+v, %v; want %d observations with 6 failures", b, err, cfg.MinSamples)
	}
}

// TestFamilyPrefersLaterPin: a baseline pinned with an earlier PinnedAt does not displace the one
// new versions inherit.
func TestFamilyPrefersLaterPin(t *testing.T) {
	e := NewEngine(smallConfig())
	old := Baseline{N: 100, Failures: 1, PinnedAt: t0}
	newer := Baseline{N: 100, Failures: 9, PinnedAt: t0.Add(time.Hour)}
	if err := e.PinBaseline(series("shop", "v2"), "refusal", newer); err != nil {
		t.Fatal(err)
	}
	if err := e.PinBaseline(series("shop", "v1"), "refusal", old); err != nil {
		t.Fatal(err)
	}
	e.Observe(&event.Scored{EventID: "x", Timestamp: t0, Series: series("shop", "v3"), Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Pass: true}}})
	for _, sb := range e.Baselines() {
		if sb.Series.PromptVersion == "v3" && sb.Baseline.Failures != 9 {
			t.Errorf("v3 inherited %d failures, want the later pin's 9", sb.Baseline.Failures)
		}
	}
}
