package main

import (
	"context"
	"encoding/json"
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

func TestDriftConsumesCheckpointsAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	svc := servicetest.Start(t, run, "VIGIL_DRIFT_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_SCORED_PARTITIONS": "2", "VIGIL_DRIFT_CHECKPOINT_INTERVAL": "200ms"})

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
		msgs[i] = stream.NewMsg(stream.ScoredPartitionSubject(0), fmt.Sprintf("s%d", i), []byte(body))
	}
	msgs = append(msgs, stream.NewMsg(stream.ScoredPartitionSubject(0), "bad", []byte(`{"event_id":"x"}`)))
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	state, err := js.KeyValue(ctx, driftsvc.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	// The partition's checkpoint reaches the last record: everything was applied.
	testkit.Eventually(t, 20*time.Second, func() bool {
		e, err := state.Get(ctx, "p0")
		if err != nil {
			return false
		}
		var cp struct{ Sequence uint64 }
		return json.Unmarshal(e.Value(), &cp) == nil && cp.Sequence == 101
	}, "partition 0 never checkpointed sequence 101")
	svc.CheckProbes(t, "vigil_drift_partitions_owned")
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	leases, _ := js.KeyValue(ctx, driftsvc.LeaseBucket)
	if keys, _ := leases.Keys(ctx); len(keys) != 0 {
		t.Errorf("leases left after a graceful stop: %v (they should be handed back)", keys)
	}
	dlq, _ := js.Stream(ctx, stream.DLQ)
	info, _ := dlq.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("DLQ holds %d messages, want the 1 malformed record", info.State.Msgs)
	}
}
