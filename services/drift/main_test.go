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
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/servicetest"
)

func TestDriftConsumesAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	svc := servicetest.Start(t, run, "VIGIL_DRIFT_ADMIN_ADDR", map[string]string{"VIGIL_NATS_URL": ns.ClientURL()})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	msgs := make([]*nats.Msg, 100)
	for i := range msgs {
		body := fmt.Sprintf(`{"event_id":"e%d","timestamp":"%s","series":{"app":"shop","environment":"p","feature":"f","model":"m","prompt_version":"v1"},"source":"checks","rules_version":"r","scores":[{"metric":"non_empty","kind":"check","value":1,"pass":true}]}`,
			i, time.Now().UTC().Format(time.RFC3339))
		msgs[i] = stream.NewMsg(stream.ScoredRoot+".0", fmt.Sprintf("s%d", i), []byte(body))
	}
	msgs = append(msgs, stream.NewMsg(stream.ScoredRoot+".0", "bad", []byte(`{"event_id":"x"}`)))
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, stream.Scored, driftsvc.Durable)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, "drift did not consume and settle all records")
	svc.CheckProbes(t, "vigil_stream_batch_duration_seconds")
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	dlq, _ := js.Stream(ctx, stream.DLQ)
	info, _ := dlq.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("DLQ holds %d messages, want the 1 malformed record", info.State.Msgs)
	}
}
