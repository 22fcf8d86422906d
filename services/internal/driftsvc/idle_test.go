package driftsvc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestIdlePartitionsKeepTheirConsumers: with no traffic, each owned partition reads SCORED
// through one consumer on the server for as long as it runs. Recreating it for every batch (a
// delete and a create per partition four times a second) kept an idle vigil dev busy.
func TestIdlePartitionsKeepTheirConsumers(t *testing.T) {
	ns := testkit.NATS(t)
	const partitions = 4
	d := NewTestDeps(t, ns.ClientURL(), partitions)
	cfg := ConfigForTest("r1", time.Minute, time.Second)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	startManager(t, d, cfg, partitions)

	scored, err := d.JS.Stream(ctx, stream.Scored)
	if err != nil {
		t.Fatal(err)
	}
	consumers := func() []string {
		var names []string
		list := scored.ConsumerNames(ctx)
		for name := range list.Name() {
			names = append(names, name)
		}
		if err := list.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return names
	}
	before := consumers()
	if len(before) != partitions {
		t.Fatalf("SCORED has consumers %v, want one per partition (%d)", before, partitions)
	}
	time.Sleep(8 * batchWait) // eight batches' worth of waiting for records that do not come
	if after := consumers(); !slices.Equal(before, after) {
		t.Errorf("SCORED's consumers changed while idle: %v, then %v", before, after)
	}
}

// TestCheckpointsSpreadOverTheInterval: the partitions a replica takes at once save their state
// at different moments of the checkpoint interval, not all together.
func TestCheckpointsSpreadOverTheInterval(t *testing.T) {
	ns := testkit.NATS(t)
	const partitions = 4
	const interval = 2 * time.Second
	d := NewTestDeps(t, ns.ClientURL(), partitions)
	cfg := ConfigForTest("r1", time.Minute, interval)
	ctx := context.Background()
	m := startManager(t, d, cfg, partitions)

	// The first checkpoint of each partition, as the server stamped its header.
	first := map[string]time.Time{}
	testkit.Eventually(t, 3*interval, func() bool {
		for n := range partitions {
			if _, ok := first[leaseKey(n)]; ok {
				continue
			}
			if e, err := m.state.Get(ctx, leaseKey(n)); err == nil {
				first[leaseKey(n)] = e.Created()
			}
		}
		return len(first) == partitions
	}, "checkpoints written: %v", first)
	var earliest, latest time.Time
	for _, at := range first {
		if earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
		if at.After(latest) {
			latest = at
		}
	}
	if spread := latest.Sub(earliest); spread < interval/2 {
		t.Errorf("the first checkpoints of %d partitions came within %v of each other, want them spread over the %v interval: %v", partitions, spread, interval, first)
	}
}
