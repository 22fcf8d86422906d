package drift

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// feedEngine gives window w of series s n records with the "truncated" check failing with
// probability fail, and advances past the window.
func feedEngine(e *Engine, cfg Config, rng *rand.Rand, s event.Series, w, n int, fail float64) []event.Alert {
	start := yt0.Add(time.Duration(w) * cfg.Window)
	for i := range n {
		e.Observe(&event.Scored{EventID: "x", Timestamp: start.Add(time.Duration(i) * cfg.Window / time.Duration(n+1)), Series: s,
			Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: rng.Float64() >= fail}}})
	}
	return e.Advance(start.Add(cfg.Window + cfg.Grace))
}

// TestBaselineLogAndPins: automatic, inherited and operator baselines are each reported once by
// BaselineLog; a current pin re-pins every matching series; an explicit pin replaces one.
func TestBaselineLogAndPins(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BaselineSize = 200
	e := NewEngine(cfg)
	rng := rand.New(rand.NewPCG(1, 1))
	var log BaselineLog
	v1, v2 := liveSeries("v1"), liveSeries("v2")
	feedEngine(e, cfg, rng, v1, 0, 300, 0.02)
	recs := log.Changes(e)
	if len(recs) != 1 || recs[0].Source != SourceAuto || recs[0].N != 200 || recs[0].Series != v1 || recs[0].Origin != v1 {
		t.Fatalf("after v1's first window: %+v, want one automatic record of 200", recs)
	}
	if again := log.Changes(e); len(again) != 0 {
		t.Fatalf("second Changes without a new pin: %+v, want none", again)
	}
	feedEngine(e, cfg, rng, v2, 1, 300, 0.02)
	recs = log.Changes(e)
	if len(recs) != 1 || recs[0].Source != SourceInherited || recs[0].Series != v2 || recs[0].Origin != v1 {
		t.Fatalf("after v2 appears: %+v, want v2 inheriting v1", recs)
	}

	pinned, err := e.ApplyPin(&Pin{ID: "p1", Match: Match{App: "shop", Feature: "checkout"}, Current: true, RequestedAt: yt0})
	if err != nil || len(pinned) != 2 {
		t.Fatalf("ApplyPin(current) = %d baselines, %v; want both versions", len(pinned), err)
	}
	recs = log.Changes(e)
	if len(recs) != 2 || recs[0].Source != SourceOperator || recs[1].Source != SourceOperator || recs[1].Origin != v2 {
		t.Fatalf("after the current pin: %+v, want two operator records, each of its own series", recs)
	}

	explicit := Baseline{N: 1000, Failures: 10, PinnedAt: yt0}
	p := &Pin{ID: "p2", Match: Match{App: "shop", Environment: "production", Feature: "checkout", Model: "gpt-x", PromptVersion: "v2",
		Metric: "truncated"}, Baseline: &explicit, RequestedAt: yt0}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ApplyPin(p); err != nil {
		t.Fatal(err)
	}
	recs = log.Changes(e)
	if len(recs) != 1 || recs[0].N != 1000 || recs[0].FailureRate != 0.01 || recs[0].Source != SourceOperator {
		t.Fatalf("after the explicit pin: %+v", recs)
	}
	if recs[0].ID() == (&Record{Series: v2, Metric: "truncated", Source: SourceOperator, N: 999}).ID() {
		t.Error("records of different baselines share an id")
	}

	var q []Quality
	e.EachQuality(func(x *Quality) { q = append(q, *x) })
	if len(q) != 2 || !q[0].HasBaseline || !q[0].HasWindow {
		t.Fatalf("EachQuality = %+v, want two series with a baseline and a window", q)
	}

	// Too few observations: reported, naming the series.
	e2 := NewEngine(cfg)
	feedEngine(e2, cfg, rng, v1, 0, 10, 0)
	if _, err := e2.ApplyPin(&Pin{ID: "p3", Match: Match{App: "shop", Feature: "checkout"}, Current: true, RequestedAt: yt0}); err == nil ||
		!strings.Contains(err.Error(), "too few") {
		t.Errorf("ApplyPin on 10 observations: %v, want too few observations", err)
	}
}

func TestPinValidate(t *testing.T) {
	tests := []struct {
		pin  Pin
		want []string
	}{
		{Pin{}, []string{"id", "match.app", "match.feature", "baseline", "requested_at"}},
		{Pin{ID: "x", Match: Match{App: "a", Feature: "f"}, Current: true, Baseline: &Baseline{N: 1}, RequestedAt: yt0}, []string{"must be empty"}},
		{Pin{ID: "x", Match: Match{App: "a", Feature: "f"}, Baseline: &Baseline{N: 0}, RequestedAt: yt0}, []string{"match", "N = 0"}},
	}
	for _, tc := range tests {
		err := tc.pin.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Validate(%+v) = %v, want %q", tc.pin, err, w)
			}
		}
	}
}

// FuzzDecodeStored checks the decoders of what the baselines bucket holds: no panic, a decoded
// value encodes and decodes to itself, and nothing encoding/json rejects is accepted.
func FuzzDecodeStored(f *testing.F) {
	pin, _ := json.Marshal(Pin{ID: "p", Match: Match{App: "a", Feature: "f"}, Current: true, RequestedAt: yt0})
	acc, _ := json.Marshal(acceptance("run-1", 0.9))
	rec, _ := json.Marshal(Record{Series: liveSeries("v1"), Metric: "m", Source: SourceAuto, N: 3, Failures: 1})
	for _, s := range [][]byte{pin, acc, rec, []byte(`{}`), []byte(`{"id":"p","extra":1}`), []byte(`[]`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		stdOK := json.Unmarshal(data, &obj) == nil
		check := func(name string, v any, err error, redo func([]byte) (any, error)) {
			if err != nil {
				return
			}
			if !stdOK {
				t.Fatalf("%s accepted %q, which encoding/json rejects", name, data)
			}
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s: re-encode: %v", name, err)
			}
			back, err := redo(enc)
			if err != nil {
				t.Fatalf("%s: decode of the re-encoded %s: %v", name, enc, err)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(enc) {
				t.Fatalf("%s round trip: %s, then %s", name, enc, again)
			}
		}
		p, err := DecodePin(data)
		check("DecodePin", p, err, func(b []byte) (any, error) { return DecodePin(b) })
		a, err := DecodeAcceptance(data)
		check("DecodeAcceptance", a, err, func(b []byte) (any, error) { return DecodeAcceptance(b) })
		r, err := DecodeRecord(data)
		check("DecodeRecord", r, err, func(b []byte) (any, error) { return DecodeRecord(b) })
	})
}

// BenchmarkQualityWalk measures what the drift service does once a second per partition on top of
// the engine's work: BaselineLog.Changes (nothing new) and EachQuality, over 10,000 series.
func BenchmarkQualityWalk(b *testing.B) {
	cfg := DefaultConfig()
	cfg.BaselineSize = 1
	e := NewEngine(cfg)
	for i := range 10_000 {
		s := liveSeries("v1")
		s.Feature = "f" + strconv.Itoa(i)
		e.Observe(&event.Scored{EventID: "x", Timestamp: yt0, Series: s,
			Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: true}}})
	}
	var log BaselineLog
	if n := len(log.Changes(e)); n != 10_000 {
		b.Fatalf("Changes = %d records, want 10000", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if len(log.Changes(e)) != 0 {
			b.Fatal("unchanged baselines reported again")
		}
		n := 0
		e.EachQuality(func(*Quality) { n++ })
	}
}
