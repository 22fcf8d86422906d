package driftsvc

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestSilenceAlertFiresOnClockAndResolves: a feature sends 30 events a minute for 70 minutes and
// stops. No record arrives, so the partition's clock tick (a fake clock; the test never sleeps to
// let time pass) closes the silent windows: a silence alert goes pending and fires, published on
// ALERTS with its id as Nats-Msg-Id. The replica then stops and another takes over from the
// checkpoint, and resolves the same alert once traffic returns.
func TestSilenceAlertFiresOnClockAndResolves(t *testing.T) {
	ns := testkit.NATS(t)
	d := NewTestDeps(t, ns.ClientURL(), 2)
	js := d.JS
	cfg := ConfigForTest("r1", time.Minute, 300*time.Millisecond)
	cfg.LeaseTTL, cfg.SilenceRatio, cfg.SilenceGrace = 2*time.Second, 0.2, time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	setClock := func(t time.Time) { now.Store(&t) }
	setClock(t0)
	m.now = func() time.Time { return *now.Load() }
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	testkit.Eventually(t, 10*time.Second, func() bool { return len(m.Owned()) == 2 }, "partitions not owned: %v", m.Owned())

	s := event.Series{App: "shop", Environment: "prod", Feature: "answer", Model: "m", PromptVersion: "v1"}
	publish := func(from, to int) {
		var msgs []*nats.Msg
		for w := from; w < to; w++ {
			for i := range 30 {
				rec := event.Scored{EventID: fmt.Sprintf("e-%d-%d", w, i), Timestamp: t0.Add(time.Duration(w)*time.Minute + time.Duration(i)*time.Second),
					Series: s, Stage: "generate", Source: "checks", RulesVersion: "r1",
					Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Pass: true}}}
				body, _ := event.Marshal(&rec)
				msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(s.FeatureKey(), 2), "scored:"+rec.EventID, body))
			}
		}
		if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
			t.Fatal(err)
		}
	}
	observed := func() uint64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		var n uint64
		for _, p := range m.owned {
			p.mu.Lock()
			n += p.volume.Stats().Observed
			p.mu.Unlock()
		}
		return n
	}
	publish(0, 70)
	testkit.Eventually(t, 15*time.Second, func() bool { return observed() == 70*30 }, "volume counted %d records, want 2100", observed())

	// Two silent minutes pass on the clock: window 70 goes pending, window 71 fires.
	setClock(t0.Add(72*time.Minute + 2*time.Second))
	var got []*event.Alert
	testkit.Eventually(t, 15*time.Second, func() bool {
		got = silenceAlerts(t, js)
		return len(got) >= 2
	}, "silence alerts on ALERTS: %d, want pending and firing", len(got))
	if got[0].State != event.StatePending || got[1].State != event.StateFiring || got[1].Severity != event.SeverityCritical ||
		got[1].Labels["feature"] != "answer" || got[1].Labels["stage"] != "generate" || got[1].Evidence.Detector != "poisson_volume" {
		t.Fatalf("silence alerts = %+v, %+v; want pending then critical firing for shop/answer stage generate", *got[0], *got[1])
	}

	// The replica stops (checkpointing) and another takes the partitions over: it restores the
	// volume series and resolves the same alert once traffic returns.
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.ReplicaID = "r2"
	m2, err := New(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m2.now = m.now
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Shutdown(context.Background())
	testkit.Eventually(t, 10*time.Second, func() bool { return len(m2.Owned()) == 2 }, "partitions not taken over: %v", m2.Owned())

	// Traffic returns: two healthy windows resolve the alert.
	publish(73, 76)
	testkit.Eventually(t, 15*time.Second, func() bool {
		got = silenceAlerts(t, js)
		return len(got) >= 3
	}, "silence alerts: %d, want a resolved one", len(got))
	if got[2].State != event.StateResolved || got[2].Fingerprint != got[1].Fingerprint || got[2].Sequence != got[1].Sequence+1 {
		t.Errorf("third silence alert = %+v, want the resolution of %s", *got[2], got[1].AlertID)
	}
}

// silenceAlerts reads every silence alert on ALERTS, checking that each message's Nats-Msg-Id is
// its alert id.
func silenceAlerts(t *testing.T, js jetstream.JetStream) []*event.Alert {
	t.Helper()
	var out []*event.Alert
	for _, a := range StoredAlerts(t, js) {
		if a.Labels["alertname"] != "silence" {
			continue
		}
		if a.MsgID != a.AlertID {
			t.Errorf("alert %s published with Nats-Msg-Id %q", a.AlertID, a.MsgID)
		}
		out = append(out, a.Alert)
	}
	return out
}
