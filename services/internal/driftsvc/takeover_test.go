package driftsvc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
)

func deps(t *testing.T, url string) app.Deps {
	t.Helper()
	return driftsvc.NewTestDeps(t, url, 4)
}

func config4(id string) driftsvc.Config {
	cfg := driftsvc.ConfigForTest(id, 10*time.Second, 300*time.Millisecond)
	cfg.LeaseTTL = 2 * time.Second
	return cfg
}

// TestReplicaKilledMidStreamHandsOverItsPartitions runs two drift replicas, kills one without
// any drain mid-stream, and checks that the other continues its series: each real regression
// fires exactly once, and stable features never alert.
func TestReplicaKilledMidStreamHandsOverItsPartitions(t *testing.T) {
	ns := testkit.NATS(t)
	a, b := deps(t, ns.ClientURL()), deps(t, ns.ClientURL())
	ctxA, killA := context.WithCancel(context.Background())
	ma, err := driftsvc.New(ctxA, a, config4("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ma.Start(ctxA); err != nil {
		t.Fatal(err)
	}
	mb, err := driftsvc.New(context.Background(), b, config4("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer mb.Shutdown(context.Background())
	testkit.Eventually(t, 15*time.Second, func() bool { return len(ma.Owned()) == 2 && len(mb.Owned()) == 2 },
		"partitions not shared: a owns %v, b owns %v", ma.Owned(), mb.Owned())

	// Eight features; "f0" and "f5" regress from record 1500 on (truncations 2% → 30%).
	features := []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"}
	regressed := map[string]bool{"f0": true, "f5": true}
	rng := rand.New(rand.NewPCG(9, 9))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	publish := func(from, to int) {
		var msgs []*nats.Msg
		for i := from; i < to; i++ {
			for _, f := range features {
				rate := 0.02
				if regressed[f] && i >= 1500 {
					rate = 0.30
				}
				s := event.Series{App: "shop", Environment: "prod", Feature: f, Model: "m", PromptVersion: "v1"}
				rec := event.Scored{EventID: fmt.Sprintf("%s-%d", f, i), Timestamp: t0.Add(time.Duration(i) * 20 * time.Millisecond),
					Series: s, Source: "checks", RulesVersion: "r1",
					Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: rng.Float64() >= rate}}}
				body, _ := event.Marshal(&rec)
				msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(s.FeatureKey(), 4), "scored:"+rec.EventID, body))
			}
		}
		if err := stream.PublishAll(context.Background(), a.JS, msgs); err != nil {
			t.Fatal(err)
		}
	}
	publish(0, 1800)
	time.Sleep(time.Second) // both replicas work and checkpoint
	killA()                 // no drain, no checkpoint: a's leases lapse after their TTL
	publish(1800, 3000)
	testkit.Eventually(t, 20*time.Second, func() bool { return len(mb.Owned()) == 4 },
		"b never took over a's partitions: owns %v", mb.Owned())

	firing := map[string]int{}
	testkit.Eventually(t, 30*time.Second, func() bool {
		firing = firingByFeature(t, a.JS)
		return len(firing) >= 2
	}, "firing transitions: %v, want f0 and f5", firing)
	time.Sleep(2 * time.Second) // let any duplicate arrive before counting
	firing = firingByFeature(t, a.JS)
	if len(firing) != 2 || firing["f0"] != 1 || firing["f5"] != 1 {
		t.Errorf("firing transitions by feature = %v, want exactly one for f0 and one for f5", firing)
	}
}

// firingByFeature counts the non-resend firing transitions stored on ALERTS.
func firingByFeature(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, a := range driftsvc.StoredAlerts(t, js) {
		if a.State == event.StateFiring && !a.Resend {
			out[a.Labels["feature"]]++
		}
	}
	return out
}
