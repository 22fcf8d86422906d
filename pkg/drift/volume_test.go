package drift

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilhq/vigil/pkg/event"
)

// volSim feeds a Volume window by window; the watermark stands for the clock tick of the drift
// service, so silent windows close without any record.
type volSim struct {
	tb  testing.TB
	v   *Volume
	cfg VolumeConfig
	rng *rand.Rand
	ids int
	t0  time.Time
}

func newVolSim(tb testing.TB, cfg VolumeConfig) *volSim {
	return &volSim{tb: tb, v: NewVolume(cfg), cfg: cfg, rng: rand.New(rand.NewPCG(3, 4)), t0: t0}
}

var volKey = VolumeKey{App: "shop", Environment: "production", Feature: "answer", Stage: "generate"}

// window observes n records of key in window w and ticks the clock to the window's close.
func (s *volSim) window(w int, key VolumeKey, n int) []event.Alert {
	start := s.t0.Add(time.Duration(w) * s.cfg.Window)
	for i := range n {
		s.ids++
		s.v.Observe(&event.Scored{
			EventID:   "e" + strconv.Itoa(s.ids),
			Timestamp: start.Add(time.Duration(i) * s.cfg.Window / time.Duration(n+1)),
			Series:    event.Series{App: key.App, Environment: key.Environment, Feature: key.Feature, Model: "m", PromptVersion: "v1"},
			Stage:     key.Stage,
			Source:    "checks",
		})
	}
	return s.v.Advance(start.Add(s.cfg.Window + s.cfg.Grace))
}

// poisson draws a Poisson count (Knuth's method for small means, normal approximation above).
func (s *volSim) poisson(mean float64) int {
	if mean > 60 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*s.rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= s.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

type volBrief struct {
	Window   int
	ID       string
	State    string
	Previous string
	Severity string
	Resend   bool
}

func TestVolumeSilenceLifecycle(t *testing.T) {
	cfg := DefaultVolumeConfig()
	cfg.Source = "checks"
	s := newVolSim(t, cfg)
	for w := range 120 {
		if got := s.window(w, volKey, 100); len(got) > 0 {
			t.Fatalf("window %d: alerts on steady traffic: %v", w, got)
		}
	}
	var got []volBrief
	var first event.Alert
	for w := 120; w < 160; w++ {
		n := 0
		if w >= 150 {
			n = 100 // traffic returns
		}
		for _, a := range s.window(w, volKey, n) {
			if first.AlertID == "" {
				first = a
			}
			got = append(got, volBrief{w, a.AlertID, a.State, a.Previous, a.Severity, a.Resend})
		}
	}
	fp := Fingerprint(map[string]string{"alertname": "silence", "app": "shop", "environment": "production",
		"feature": "answer", "stage": "generate", "metric": "events", "signal": "volume"})
	want := []volBrief{
		{120, fp + "-1", "pending", "inactive", "critical", false},
		{121, fp + "-2", "firing", "pending", "critical", false},
		{131, fp + "-2-r1", "firing", "firing", "critical", true},
		{141, fp + "-2-r2", "firing", "firing", "critical", true},
		{151, fp + "-3", "resolved", "firing", "critical", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("silence transitions (-want +got):\n%s", diff)
	}
	if first.Fingerprint != fp || first.Labels["alertname"] != SilenceAlertName || first.Labels["stage"] != "generate" {
		t.Errorf("first alert = %+v, want fingerprint %s and silence labels", first, fp)
	}
	ev := first.Evidence
	if ev.Detector != "poisson_volume" || ev.Signal != "volume" || ev.Statistic != 0 || ev.Baseline.Value < 95 || ev.Baseline.Value > 105 ||
		ev.PValue > 1e-40 || ev.BaselineSource != VolumeRecent || len(ev.ExampleEventIDs) != 1 {
		t.Errorf("pending evidence = %+v, want poisson_volume with 0 events against about 100", ev)
	}
	if !strings.Contains(first.Summary, "no events from shop/answer (production, stage generate)") {
		t.Errorf("summary %q does not say which feature went silent", first.Summary)
	}
	if want := t0.Add(120 * time.Minute); !first.StartsAt.Equal(want) {
		t.Errorf("StartsAt = %v, want %v (the first silent window)", first.StartsAt, want)
	}
}

// TestVolumeCollapseAndDip: a 90% drop alerts as a warning; a 50% drop does not.
func TestVolumeCollapseAndDip(t *testing.T) {
	for _, c := range []struct {
		name  string
		after int
		want  []string
	}{
		{"collapse to 10%", 10, []string{"pending/warning", "firing/warning", "resolved/warning"}},
		{"dip to 50%", 50, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newVolSim(t, DefaultVolumeConfig())
			var got []string
			for w := range 100 {
				n := 100
				if w >= 80 && w < 90 {
					n = c.after
				}
				for _, a := range s.window(w, volKey, n) {
					got = append(got, a.State+"/"+a.Severity)
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVolumeLowTraffic: two events a window; a stop needs about seven silent windows of evidence
// (e^-14 < 10^-6), so it goes pending then, not on the first silent window.
func TestVolumeLowTraffic(t *testing.T) {
	s := newVolSim(t, DefaultVolumeConfig())
	for w := range 200 {
		s.window(w, volKey, 2)
	}
	pendingAt := -1
	for w := 200; w < 220; w++ {
		for _, a := range s.window(w, volKey, 0) {
			if a.State == event.StatePending && pendingAt < 0 {
				pendingAt = w - 200 + 1
			}
		}
	}
	// The first silent windows are not yet suspect (e^-2 per window) and are learnt, lowering the
	// expected rate a little, so the bound is reached on the seventh or eighth.
	if pendingAt < 7 || pendingAt > 8 {
		t.Errorf("went pending after %d silent windows, want 7 or 8", pendingAt)
	}
}

// TestVolumeStableNoAlerts: Poisson traffic of 1–200 events a window, with a slow daily swing of
// ±50% and window-to-window jitter of ±20% beyond Poisson, raises nothing in 20 000 windows.
func TestVolumeStableNoAlerts(t *testing.T) {
	windows := 20_000
	if raceEnabled || testing.Short() {
		windows = 4000
	}
	for _, mean := range []float64{1, 5, 30, 200} {
		s := newVolSim(t, DefaultVolumeConfig())
		for w := range windows {
			day := 1 + 0.5*math.Sin(2*math.Pi*float64(w)/1440)
			jitter := 1 + 0.2*(2*s.rng.Float64()-1)
			if got := s.window(w, volKey, s.poisson(mean*day*jitter)); len(got) > 0 {
				t.Fatalf("mean %v, window %d: %s", mean, w, got[0].Summary)
			}
		}
		if st := s.v.Stats(); st.Evaluations == 0 {
			t.Errorf("mean %v: no window was evaluated", mean)
		}
	}
}

// TestVolumeHourOfDay: traffic drops from 100 to 4 a window every evening at 20:00 UTC. Before the
// hour-of-day profile holds three days, that drop is a collapse; afterwards it is not, while a
// silence at 10:00 still is.
func TestVolumeHourOfDay(t *testing.T) {
	cfg := DefaultVolumeConfig()
	s := newVolSim(t, cfg)
	perDay := 1440
	alertsByDay := map[int][]string{}
	for w := range 5 * perDay {
		hour := (w % perDay) / 60
		n := 4
		if hour >= 8 && hour < 20 {
			n = 100
		}
		day := w / perDay
		if day == 4 && hour == 10 && w%60 < 15 {
			n = 0 // a real silence
		}
		for _, a := range s.window(w, volKey, s.poisson(float64(n))) {
			if a.State != event.StateResolved && !a.Resend {
				alertsByDay[day] = append(alertsByDay[day], strconv.Itoa(hour)+"h "+a.State)
			}
		}
	}
	if len(alertsByDay[0]) == 0 {
		t.Errorf("day 0: the evening drop did not alert before any hour-of-day history")
	}
	for _, day := range []int{3} {
		if len(alertsByDay[day]) > 0 {
			t.Errorf("day %d: the usual evening drop alerted: %v", day, alertsByDay[day])
		}
	}
	want := []string{"10h pending", "10h firing"}
	if diff := cmp.Diff(want, alertsByDay[4]); diff != "" {
		t.Errorf("day 4 (-want +got):\n%s", diff)
	}
}

// TestVolumeSnapshotRestore: a tracker restored from a snapshot mid-silence emits what the original
// emits, with the same ids.
func TestVolumeSnapshotRestore(t *testing.T) {
	cfg := DefaultVolumeConfig()
	a := newVolSim(t, cfg)
	for w := range 125 {
		a.window(w, volKey, 50)
		a.window(w, VolumeKey{App: "shop", Environment: "production", Feature: "search"}, 0)
	}
	for w := 125; w < 128; w++ {
		a.window(w, volKey, 0)
	}
	data, err := a.v.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := newVolSim(t, cfg)
	b.ids = a.ids
	if err := b.v.Restore(data); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again, err := b.v.Snapshot(nil)
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("Snapshot after Restore differs (err %v):\n%s\n%s", err, data, again)
	}
	for w := 128; w < 160; w++ {
		n := 0
		if w > 140 {
			n = 50
		}
		ga, gb := a.window(w, volKey, n), b.window(w, volKey, n)
		if diff := cmp.Diff(ga, gb); diff != "" {
			t.Fatalf("window %d: restored tracker differs (-original +restored):\n%s", w, diff)
		}
	}
}

func TestVolumeRestoreErrors(t *testing.T) {
	v := NewVolume(DefaultVolumeConfig())
	for _, c := range []struct{ data, want string }{
		{`{`, "decode volume snapshot"},
		{`{"version":2,"tracks":[]}`, "version 2"},
		{`{"version":1,"tracks":[],"extra":1}`, "unknown field"},
		{`{"version":1,"tracks":[{"key":{"app":"a"},"state":"weird"}]}`, `tracks[0].state "weird"`},
		{`{"version":1,"tracks":[{"key":{"app":"a"},"hours":[{"m":1,"n":1}]}]}`, "tracks[0].hours"},
		{`{"version":1,"tracks":[{"key":{"app":"a"}},{"key":{"app":"a"}}]}`, "tracks[1].key: repeated"},
		{`{"version":1,"tracks":[{"key":{"app":"a"},"open":[[5,1],[4,1]]}]}`, "tracks[0].open[1]"},
		{`{"version":1,"tracks":[{"key":{"app":"a"},"history":-1}]}`, "tracks[0]: negative"},
	} {
		err := v.Restore([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Restore(%s) = %v, want an error containing %q", c.data, err, c.want)
		}
	}
}

func FuzzVolumeRestore(f *testing.F) {
	s := newVolSim(f, DefaultVolumeConfig())
	for w := range 70 {
		s.window(w, volKey, 3)
	}
	s.window(70, volKey, 0)
	seed, err := s.v.Snapshot(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version":1,"tracks":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := NewVolume(DefaultVolumeConfig())
		if err := v.Restore(data); err != nil {
			return
		}
		out, err := v.Snapshot(nil)
		if err != nil {
			t.Fatalf("Snapshot after Restore: %v", err)
		}
		w := NewVolume(DefaultVolumeConfig())
		if err := w.Restore(out); err != nil {
			t.Fatalf("Restore(Snapshot()) = %v", err)
		}
		again, _ := w.Snapshot(nil)
		if !bytes.Equal(out, again) {
			t.Fatalf("snapshot does not round-trip:\n%s\n%s", out, again)
		}
		v.Advance(t0.Add(time.Hour)) // restored state must not make Advance panic
	})
}

func TestVolumeIgnoresOtherSourcesAndLate(t *testing.T) {
	cfg := DefaultVolumeConfig()
	cfg.Source = "checks"
	v := NewVolume(cfg)
	rec := event.Scored{EventID: "a", Timestamp: t0, Series: event.Series{App: "a"}, Source: "judge"}
	v.Observe(&rec)
	v.Observe(nil)
	if st := v.Stats(); st.Observed != 0 || st.Series != 0 {
		t.Errorf("after a judge record: %+v, want nothing counted", st)
	}
	rec.Source = "checks"
	v.Observe(&rec)
	v.Advance(t0.Add(5 * time.Minute))
	v.Observe(&rec) // its window has closed
	if st := v.Stats(); st.Observed != 1 || st.Late != 1 || st.Series != 1 {
		t.Errorf("stats = %+v, want 1 observed, 1 late, 1 series", st)
	}
}

func TestVolumeRetire(t *testing.T) {
	cfg := DefaultVolumeConfig()
	cfg.RetireAfter = 3 * time.Hour
	s := newVolSim(t, cfg)
	for w := range 100 {
		s.window(w, volKey, 20)
	}
	var states []string
	for w := 100; w < 300; w++ {
		for _, a := range s.window(w, volKey, 0) {
			if !a.Resend {
				states = append(states, a.State)
			}
		}
	}
	if diff := cmp.Diff([]string{"pending", "firing", "resolved"}, states); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if st := s.v.Stats(); st.Series != 0 || st.Retired != 1 {
		t.Errorf("stats = %+v, want the series retired", st)
	}
}

func TestVolumeConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		modify func(*VolumeConfig)
		want   string
	}{
		{"window", func(c *VolumeConfig) { c.Window = 0 }, "Window = 0s"},
		{"grace", func(c *VolumeConfig) { c.Grace = -1 }, "Grace = -1ns"},
		{"history", func(c *VolumeConfig) { c.MinHistory = 0 }, "MinHistory = 0"},
		{"half-life", func(c *VolumeConfig) { c.HalfLife = 0 }, "HalfLife = 0"},
		{"hour days", func(c *VolumeConfig) { c.HourDays = -1 }, "HourDays = -1"},
		{"ratio", func(c *VolumeConfig) { c.MaxRatio = 1 }, "MaxRatio = 1"},
		{"alpha", func(c *VolumeConfig) { c.Alpha = math.NaN() }, "Alpha = NaN"},
		{"pending", func(c *VolumeConfig) { c.PendingWindows = -1 }, "PendingWindows = -1"},
		{"resolve", func(c *VolumeConfig) { c.ResolveWindows = 0 }, "ResolveWindows = 0"},
		{"resend", func(c *VolumeConfig) { c.ResendWindows = -1 }, "ResendWindows = -1"},
		{"retire", func(c *VolumeConfig) { c.RetireAfter = time.Minute }, "RetireAfter = 1m0s"},
	} {
		cfg := DefaultVolumeConfig()
		c.modify(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if err := DefaultVolumeConfig().Validate(); err != nil {
		t.Errorf("DefaultVolumeConfig().Validate() = %v", err)
	}
}

func TestPoissonLowerTail(t *testing.T) {
	for _, c := range []struct {
		c      int64
		lambda float64
		want   float64
	}{
		{0, 2, math.Exp(-2)},
		{1, 2, 3 * math.Exp(-2)},
		{2, 2, 5 * math.Exp(-2)},
		{0, 0, 1},
		{-1, 3, 0},
		{0, 100, math.Exp(-100)},
		{20, 100, 1.90556e-22}, // P(X ≤ 20 | 100), from the exact sum
	} {
		got := poissonLowerTail(c.c, c.lambda)
		if math.Abs(got-c.want) > 1e-4*c.want && math.Abs(got-c.want) > 1e-300 {
			t.Errorf("poissonLowerTail(%d, %v) = %v, want %v", c.c, c.lambda, got, c.want)
		}
	}
}

// TestVolumeSnapshotChunks: snapshots of disjoint sets of series, restored one after the other,
// rebuild the whole state.
func TestVolumeSnapshotChunks(t *testing.T) {
	s := newVolSim(t, DefaultVolumeConfig())
	keys := []VolumeKey{volKey, {App: "shop", Environment: "production", Feature: "search"}, {App: "blog", Environment: "staging", Feature: "draft"}}
	for w := range 70 {
		for _, k := range keys {
			s.window(w, k, 10)
		}
	}
	whole, err := s.v.Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVolume(DefaultVolumeConfig())
	for i := range 2 {
		part, err := s.v.Snapshot(func(k VolumeKey) bool { return (k.App == "shop") == (i == 0) })
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Restore(part); err != nil {
			t.Fatalf("Restore chunk %d: %v", i, err)
		}
	}
	again, err := v.Snapshot(nil)
	if err != nil || !bytes.Equal(whole, again) {
		t.Errorf("state rebuilt from chunks differs (err %v):\n%s\n%s", err, whole, again)
	}
}
