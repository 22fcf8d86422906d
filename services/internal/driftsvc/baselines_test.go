package driftsvc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
)

// TestOperatorPinReachesTheOwner runs a drift replica on a real NATS server: the automatic
// baseline of a new series is recorded in the baselines bucket, and a `--current` pin written to
// the bucket is applied by the replica that owns the series and recorded as an operator baseline.
// A pin whose series has too few observations changes nothing.
func TestOperatorPinReachesTheOwner(t *testing.T) {
	ns := testkit.NATS(t)
	d := deps(t, ns.ClientURL())
	cfg := config4("a")
	cfg.EvalMargin, cfg.MetricsMaxSeries = 0.05, 100
	m, err := driftsvc.New(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	kv, err := driftsvc.OpenBaselines(context.Background(), d.JS)
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(4, 4))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	s := event.Series{App: "shop", Environment: "prod", Feature: "f0", Model: "m", PromptVersion: "v1"}
	var msgs []*nats.Msg
	for i := range 400 {
		rec := event.Scored{EventID: fmt.Sprintf("e-%d", i), Timestamp: t0.Add(time.Duration(i) * 50 * time.Millisecond), Series: s,
			Source: "checks", RulesVersion: "r1", Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: rng.Float64() >= 0.05}}}
		body, _ := event.Marshal(&rec)
		msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(s.FeatureKey(), 4), "scored:"+rec.EventID, body))
	}
	if err := stream.PublishAll(context.Background(), d.JS, msgs); err != nil {
		t.Fatal(err)
	}

	record := func() *drift.Record {
		st, err := driftsvc.ReadBaselines(context.Background(), kv, "shop")
		if err != nil {
			t.Fatal(err)
		}
		for i := range st.Records {
			if st.Records[i].Series == s && st.Records[i].Metric == "truncated" {
				return &st.Records[i]
			}
		}
		return nil
	}
	var got *drift.Record
	testkit.Eventually(t, 15*time.Second, func() bool { got = record(); return got != nil }, "no baseline record of %s", s.Key())
	if got.Source != drift.SourceAuto || got.N != 200 {
		t.Fatalf("first record = %s n=%d, want auto n=200", got.Source, got.N)
	}

	pin := &drift.Pin{ID: "pin-1", Match: drift.Match{App: "shop", Feature: "f0"}, Current: true, RequestedAt: time.Now()}
	if err := driftsvc.PutPin(context.Background(), kv, pin); err != nil {
		t.Fatal(err)
	}
	// A read that misses the record, as one did once on a loaded machine, is a "not yet", not a crash.
	testkit.Eventually(t, 15*time.Second, func() bool { got = record(); return got != nil && got.Source == drift.SourceOperator },
		"record after the pin: %+v, want an operator baseline", got)
	if got.N < 30 || got.N > 200 {
		t.Errorf("operator baseline n = %d, want the current window's observations", got.N)
	}

	// A pin that selects nothing the replica knows is harmless.
	other := &drift.Pin{ID: "pin-2", Match: drift.Match{App: "shop", Feature: "nope"}, Current: true, RequestedAt: time.Now()}
	if err := driftsvc.PutPin(context.Background(), kv, other); err != nil {
		t.Fatal(err)
	}
	// An invalid pin is rejected before it is stored, naming the field.
	if err := driftsvc.PutPin(context.Background(), kv, &drift.Pin{ID: "x", Match: drift.Match{App: "shop"}, Current: true,
		RequestedAt: time.Now()}); err == nil {
		t.Error("PutPin without a feature: nil error")
	}
	time.Sleep(500 * time.Millisecond)
	if again := record(); again == nil || again.Source != drift.SourceOperator || !again.PinnedAt.Equal(got.PinnedAt) {
		t.Errorf("record after an unrelated pin = %+v, want unchanged", again)
	}
}
