package driftsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestEvalAlertSurvivesAHandOver: a partition whose eval alert is pending is checkpointed with
// its yardstick and the pins it applied; the replica that takes it over continues the episode, so
// the next bad window fires it (a fresh yardstick would only go pending again).
func TestEvalAlertSurvivesAHandOver(t *testing.T) {
	ns := testkit.NATS(t)
	d := NewTestDeps(t, ns.ClientURL(), 1)
	js := d.JS
	cfg := ConfigForTest("a", 10*time.Second, 300*time.Millisecond)
	cfg.LeaseTTL, cfg.EvalMargin, cfg.MetricsMaxSeries = 2*time.Second, 0.05, 10
	ctx := context.Background()
	kv, err := OpenBaselines(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	acc := &drift.Acceptance{RunID: "run-1", App: "shop", Feature: "f0", PromptVersion: "v1", AcceptedAt: time.Now(),
		Metrics: []drift.AcceptedMetric{{Metric: "truncated", Kind: event.KindCheck, N: 100, PassRate: 0.98}}}
	if err := PutAcceptance(ctx, kv, acc); err != nil {
		t.Fatal(err)
	}
	s := event.Series{App: "shop", Environment: "prod", Feature: "f0", Model: "m", PromptVersion: "v1"}
	rng := rand.New(rand.NewPCG(2, 3))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	publish := func(from, to int) {
		var msgs []*nats.Msg
		for i := from; i < to; i++ {
			rec := event.Scored{EventID: fmt.Sprintf("e-%d", i), Timestamp: t0.Add(time.Duration(i) * 20 * time.Millisecond), Series: s,
				Source: "checks", RulesVersion: "r1", Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: rng.Float64() >= 0.3}}}
			body, _ := event.Marshal(&rec)
			msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(s.FeatureKey(), 1), "scored:"+rec.EventID, body))
		}
		if err := stream.PublishAll(ctx, js, msgs); err != nil {
			t.Fatal(err)
		}
	}
	evalAlerts := func() []event.Alert {
		var out []event.Alert
		for _, a := range StoredAlerts(t, js) {
			if a.Labels["alertname"] == drift.EvalAlertName {
				out = append(out, *a.Alert)
			}
		}
		return out
	}

	a, err := New(ctx, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	publish(0, 550) // window 0 (500 records) closes: pending
	testkit.Eventually(t, 15*time.Second, func() bool { return len(evalAlerts()) == 1 }, "no pending eval alert")
	if err := PutPin(ctx, kv, &drift.Pin{ID: "pin-1", Match: drift.Match{App: "shop", Feature: "f0"}, Current: true, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	entry, err := a.state.Get(ctx, leaseKey(0))
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	var st extState
	if err := json.Unmarshal(entry.Value(), &cp); err != nil || json.Unmarshal(cp.Ext, &st) != nil {
		t.Fatalf("checkpoint %s: %v", entry.Value(), err)
	}
	if len(st.Pins) != 1 || len(st.Yardstick) == 0 {
		t.Fatalf("checkpoint ext = %s, want the applied pin and the yardstick", cp.Ext)
	}

	cfg.ReplicaID = "b"
	b, err := New(ctx, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(ctx) })
	publish(550, 1000) // window 1 (records 500-999) closes: the episode continues and fires
	var got []event.Alert
	testkit.Eventually(t, 20*time.Second, func() bool { got = evalAlerts(); return len(got) >= 2 }, "no firing eval alert after the hand-over")
	if got[0].State != event.StatePending || got[1].State != event.StateFiring || got[1].Previous != event.StatePending ||
		got[1].Sequence != 2 || got[1].Labels["eval_run"] != "run-1" || !got[1].Evidence.WindowStart.Equal(t0.Add(10*time.Second)) {
		t.Errorf("eval alerts = %s %s (seq %d), want pending then firing (seq 2) of run-1", got[0].State, got[1].State, got[1].Sequence)
	}
}
