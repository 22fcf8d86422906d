package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/servicetest"
)

func TestScorerServesScoresAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	svc := servicetest.Start(t, run, "VIGIL_SCORER_ADMIN_ADDR", map[string]string{"VIGIL_NATS_URL": ns.ClientURL()})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	const n = 200
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		body := fmt.Sprintf(`{"event_id":"e%d","timestamp":"%s","app":"shop","model":"m","output":"Hello there, your order shipped."}`, i, time.Now().UTC().Format(time.RFC3339))
		msgs[i] = stream.NewMsg(stream.EventsSubject("shop"), fmt.Sprintf("e%d", i), []byte(body))
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	scored, _ := js.Stream(ctx, stream.Scored)
	testkit.Eventually(t, 20*time.Second, func() bool {
		info, err := scored.Info(ctx)
		return err == nil && info.State.Msgs > 0
	}, "the scorer published nothing")
	svc.CheckProbes(t, "vigil_stream_messages_total", "go_goroutines")
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	// Whatever the scorer took before the stop was scored and acked: nothing is left in flight.
	cons, err := js.Consumer(ctx, stream.Events, scorersvc.Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 {
		t.Errorf("after drain %d events are still ack-pending", info.NumAckPending)
	}
	if handled, recs := n-info.NumPending, len(testkit.ScoredRecords(t, js)); uint64(recs) != handled {
		t.Errorf("SCORED holds %d records for %d handled events", recs, handled)
	}
}
