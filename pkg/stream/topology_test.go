package stream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// Every service sets up the streams at start, so on a cluster several create the same stream at
// once. The server answers only one of two identical creates that race, so setup must not
// wait forever on the other: each round must finish for every service within the deadline.
func TestSetupRacesOnACluster(t *testing.T) {
	urls := testkit.NATSCluster(t)
	clients := make([]jetstream.JetStream, 3)
	for i, u := range urls {
		nc, err := nats.Connect(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if clients[i], err = jetstream.New(nc); err != nil {
			t.Fatal(err)
		}
	}
	limits := stream.Limits{Replicas: 3, MaxAge: time.Hour, Duplicates: time.Minute, FileStore: true}
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var wg sync.WaitGroup
		errs := make([]error, len(clients))
		for i, js := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := stream.EnsureStreams(ctx, js, limits); err != nil {
					errs[i] = fmt.Errorf("streams: %w", err)
					return
				}
				_, errs[i] = stream.EnsureConsumer(ctx, js, stream.ConsumerConfig{
					Stream: stream.Events, Durable: "shared", FilterSubjects: []string{stream.EventsRoot + ".>"},
					AckWait: time.Minute, MaxAckPending: 1000,
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, client on node %d: %v", round, i, err)
			}
		}
		for _, cfg := range stream.Topology(limits) {
			if err := clients[0].DeleteStream(ctx, cfg.Name); err != nil {
				t.Fatalf("round %d: delete %s: %v", round, cfg.Name, err)
			}
		}
		cancel()
	}
}
