package drift

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/vigilhq/vigil/pkg/event"
)

// step is one call in a recorded stream: a record to observe, or a watermark to advance to.
type step struct {
	rec       *event.Scored
	watermark time.Time
}

// scenario returns a stream that exercises every part of the engine's state: baselines under
// construction, an inherited baseline (v2 of "shop"), rate, value and label regressions that fire,
// re-send and resolve, insufficient windows with re-sends, and open windows that span a watermark.
func scenario(cfg Config) []step {
	rng := rand.New(rand.NewPCG(42, 7))
	var steps []step
	ids := 0
	shopV1, shopV2 := series("shop", "v1"), series("shop", "v2")
	bank := series("bank", "v1")
	for w := range 40 {
		start := t0.Add(time.Duration(w) * cfg.Window)
		type traffic struct {
			s               event.Series
			n               int
			fail, codeFence float64
			mean            float64
		}
		var tr []traffic
		if w < 14 {
			tr = append(tr, traffic{shopV1, 400, 0.15, 0, 100})
		} else {
			v2 := traffic{shopV2, 400, 0.15, 0, 100}
			if w >= 18 && w < 26 {
				v2.fail, v2.mean = 0.35, 125 // a worse version: rate and value regress
			}
			if w >= 22 && w < 30 {
				v2.codeFence = 0.5
			}
			tr = append(tr, v2)
		}
		b := traffic{bank, 150, 0.05, 0, 40}
		switch {
		case w >= 20 && w < 24:
			b.fail = 0.4
		case w >= 24 && w < 30:
			b.n = 20 // insufficient: a firing alert is re-sent, not resolved
		}
		tr = append(tr, b)
		for _, x := range tr {
			for j := range x.n {
				ids++
				ts := start.Add(time.Duration(j) * cfg.Window / time.Duration(x.n))
				if j%17 == 3 && w > 0 {
					ts = ts.Add(-cfg.Window) // late but within grace, or too late
				}
				fail := rng.Float64() < x.fail
				label := ""
				if fail {
					label = "refusal"
					if rng.Float64() < x.codeFence {
						label = "code_fence"
					} else if rng.Float64() < 0.3 {
						label = "policy"
					}
				}
				v := x.mean + 10*rng.NormFloat64()
				steps = append(steps, step{rec: &event.Scored{
					EventID: "e" + strconv.Itoa(ids), Timestamp: ts, Series: x.s,
					Scores: []event.Score{
						{Metric: "refusal", Kind: event.KindCheck, Pass: !fail, Label: label},
						{Metric: "length", Kind: event.KindMeasure, Value: v, Pass: v < 140},
					},
				}})
				if j == x.n/2 && x.s == b.s {
					// Watermarks arrive mid-window too: the previous window closes after its grace.
					steps = append(steps, step{watermark: start.Add(cfg.Grace)})
				}
			}
		}
		steps = append(steps, step{watermark: start.Add(cfg.Window + cfg.Grace/2)})
	}
	return steps
}

func snapshotConfig() Config {
	cfg := smallConfig()
	cfg.ResendWindows = 3
	return cfg
}

// play runs steps on e and returns the alerts.
func play(e *Engine, steps []step) []event.Alert {
	var out []event.Alert
	for _, s := range steps {
		if s.rec != nil {
			e.Observe(s.rec)
		} else {
			out = append(out, e.Advance(s.watermark)...)
		}
	}
	return out
}

// TestSnapshotRestoreContinues: for every cut point, an engine that plays the first part of a
// stream, is snapshotted and restored into a fresh engine that plays the rest emits exactly the
// alerts (ids, evidence, summaries) of one engine that played the whole stream, and ends with the
// same baselines.
func TestSnapshotRestoreContinues(t *testing.T) {
	t.Parallel()
	cfg := snapshotConfig()
	steps := scenario(cfg)
	whole := NewEngine(cfg)
	want := play(whole, steps)
	signals := map[string]bool{}
	for _, a := range want {
		signals[a.Labels["signal"]+"/"+a.State] = true
	}
	for _, s := range []string{"rate/firing", "rate/resolved", "value/firing", "label/firing", "label/resolved"} {
		if !signals[s] {
			t.Fatalf("scenario produced no %s alert; got %v", s, signals)
		}
	}
	stride := len(steps) / 60
	if raceEnabled || testing.Short() {
		stride = len(steps) / 12
	}
	for cut := 1; cut < len(steps); cut += stride {
		first := NewEngine(cfg)
		got := play(first, steps[:cut])
		data, err := first.Snapshot(nil)
		if err != nil {
			t.Fatalf("cut %d: Snapshot: %v", cut, err)
		}
		second := NewEngine(cfg)
		if err := second.Restore(data); err != nil {
			t.Fatalf("cut %d: Restore: %v", cut, err)
		}
		got = append(got, play(second, steps[cut:])...)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("cut %d of %d: alerts differ (-whole +restored):\n%s", cut, len(steps), diff)
		}
		if diff := gocmp.Diff(whole.Baselines(), second.Baselines()); diff != "" {
			t.Fatalf("cut %d: baselines differ (-whole +restored):\n%s", cut, diff)
		}
	}
}

// TestSnapshotPartitions: the series of one engine, split by a filter into two snapshots restored
// into two engines (one of which already tracks other series and has advanced), continue with the
// alerts of the original engine.
func TestSnapshotPartitions(t *testing.T) {
	t.Parallel()
	cfg := snapshotConfig()
	steps := scenario(cfg)
	want := play(NewEngine(cfg), steps)

	cut := len(steps) / 2
	first := NewEngine(cfg)
	got := play(first, steps[:cut])
	isShop := func(s event.Series) bool { return s.App == "shop" }
	shopData, err := first.Snapshot(isShop)
	if err != nil {
		t.Fatal(err)
	}
	bankData, err := first.Snapshot(func(s event.Series) bool { return !isShop(s) })
	if err != nil {
		t.Fatal(err)
	}

	// "shop" moves to a replica that already owns an unrelated partition.
	other := series("other", "v1")
	shop := NewEngine(cfg)
	for _, s := range steps[:cut] {
		if s.rec != nil {
			r := *s.rec
			r.Series = other
			shop.Observe(&r)
		} else {
			shop.Advance(s.watermark)
		}
	}
	if err := shop.Restore(shopData); err != nil {
		t.Fatal(err)
	}
	bank := NewEngine(cfg)
	if err := bank.Restore(bankData); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps[cut:] {
		switch {
		case s.rec == nil:
			for _, a := range append(shop.Advance(s.watermark), bank.Advance(s.watermark)...) {
				if a.Labels["app"] != "other" {
					got = append(got, a)
				}
			}
		case isShop(s.rec.Series):
			shop.Observe(s.rec)
		default:
			bank.Observe(s.rec)
		}
	}
	order := func(a, b event.Alert) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.AlertID, b.AlertID))
	}
	slices.SortStableFunc(want, order)
	slices.SortStableFunc(got, order)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("alerts differ (-one engine +two partitions):\n%s", diff)
	}
	if n := len(shop.Baselines()); n != 3*2 { // other, shop v1, shop v2 × refusal, length
		t.Errorf("shop engine has %d baselines, want 6", n)
	}
}

func TestSnapshotIsVersionedJSON(t *testing.T) {
	cfg := snapshotConfig()
	e := NewEngine(cfg)
	play(e, scenario(cfg)[:5000])
	data, err := e.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Version != 3 {
		t.Fatalf("snapshot head = %+v, %v; want version 3", head, err)
	}
	// Restoring into the engine it came from replaces every series with itself.
	before := e.Baselines()
	if err := e.Restore(data); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(before, e.Baselines()); diff != "" {
		t.Errorf("baselines changed by restoring its own snapshot:\n%s", diff)
	}
	if again, err := e.Snapshot(nil); err != nil || string(again) != string(data) {
		t.Errorf("snapshot after self-restore differs (err %v)", err)
	}
	if !bytes.HasSuffix(data, []byte("}")) {
		t.Errorf("snapshot ends with %q, want the object's closing brace", data[max(len(data)-8, 0):])
	}
	// Encoding into a buffer in use appends the same bytes after what it holds.
	buf := bytes.NewBufferString("kept")
	if err := e.EncodeSnapshot(buf, nil); err != nil || buf.String() != "kept"+string(data) {
		t.Errorf("EncodeSnapshot into a buffer holding 4 bytes left %d bytes, want 4 + %d (err %v)", buf.Len(), len(data), err)
	}
}

// Snapshots share the memory their structures are laid out in: encoding another engine's
// larger state in between leaves nothing of it in the next snapshot, not even empty lists.
func TestSnapshotsShareNoState(t *testing.T) {
	cfg := snapshotConfig()
	small, large := NewEngine(cfg), NewEngine(cfg)
	empty := fmt.Sprintf(`{"version":3,"window_ns":%d}`, cfg.Window)
	play(small, scenario(cfg)[:2000])
	play(large, scenario(cfg))
	want, err := small.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := large.Snapshot(nil); err != nil {
			t.Fatal(err)
		}
		if got, err := small.Snapshot(nil); err != nil || string(got) != string(want) {
			t.Fatalf("snapshot after another engine's differs (err %v):\n got %s\nwant %s", err, got, want)
		}
		if _, err := large.Snapshot(nil); err != nil {
			t.Fatal(err)
		}
		if got, err := NewEngine(cfg).Snapshot(nil); err != nil || string(got) != empty {
			t.Fatalf("snapshot of an empty engine after another's = %s (err %v), want %s", got, err, empty)
		}
	}
}

// packedFloats writes the JSON string json.Marshal writes for the same bytes.
func TestPackedFloatsMarshal(t *testing.T) {
	for n := range 8 {
		p := make(packedFloats, n)
		raw := make([]byte, 4*n)
		for i := range p {
			p[i] = float32(i)*1.5 - 2
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(p[i]))
		}
		want, _ := json.Marshal(raw)
		if n == 0 {
			want = []byte("null")
		}
		got, err := p.MarshalJSON()
		if err != nil || string(got) != string(want) {
			t.Errorf("%d floats: MarshalJSON = %s, %v; want %s", n, got, err, want)
		}
	}
}

func TestRestoreErrors(t *testing.T) {
	cfg := snapshotConfig()
	src := NewEngine(cfg)
	play(src, scenario(cfg)[:5000])
	good, err := src.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	track0 := func(m map[string]any) map[string]any { return m["tracks"].([]any)[0].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte("{"), "decode drift snapshot"},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{"version", edit(func(m map[string]any) { m["version"] = 4 }), "version 4"},
		{"window", edit(func(m map[string]any) { m["window_ns"] = 1 }), "window 1ns"},
		{"baseline index", edit(func(m map[string]any) { track0(m)["baseline"] = 99 }), "baseline 99 out of range"},
		{"invalid baseline", edit(func(m map[string]any) { m["baselines"].([]any)[0].(map[string]any)["failures"] = -1 }), "baseline Failures = -1"},
		{"duplicate series", edit(func(m map[string]any) {
			ts := m["tracks"].([]any)
			m["tracks"] = append(ts, ts[0])
		}), "duplicate series"},
		{"alert state", edit(func(m map[string]any) { track0(m)["alerts"].([]any)[0].(map[string]any)["state"] = "exploded" }), `state "exploded"`},
		{"window order", edit(func(m map[string]any) {
			tr := track0(m)
			tr["has_closed"], tr["last_closed"] = true, 1e15
		}), "out of order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(cfg)
			sr := series("keep", "v1")
			e.Observe(&event.Scored{EventID: "k", Timestamp: t0, Series: sr, Scores: []event.Score{{Metric: "m", Kind: event.KindCheck, Pass: true}}})
			err := e.Restore(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore = %v, want an error containing %q", err, tt.want)
			}
			if st := e.Stats(); st.Series != 1 {
				t.Errorf("after a failed Restore the engine has %d series, want 1", st.Series)
			}
		})
	}
}
