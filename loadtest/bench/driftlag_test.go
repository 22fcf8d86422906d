package bench

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// Drift's lag is what its ordered consumers have yet to read; the writer's durable consumer on
// the same stream is followed on its own and must not count.
func TestDriftLagSumsOnlyOrderedConsumers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(testkit.NATS(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.EnsureStreams(ctx, js, stream.Limits{Replicas: 1, MaxAge: time.Hour, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	subjects := []string{stream.ScoredRoot + ".p0", stream.ScoredRoot + ".p1"}
	for i := range 5 {
		if _, err := js.Publish(ctx, subjects[i%2], []byte(`{"records":[]}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, stream.Scored, jetstream.ConsumerConfig{Durable: "writer-scored", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	for _, subject := range subjects {
		if _, err := js.OrderedConsumer(ctx, stream.Scored, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}); err != nil {
			t.Fatal(err)
		}
	}
	scored, err := js.Stream(ctx, stream.Scored)
	if err != nil {
		t.Fatal(err)
	}
	// p0 holds three messages, p1 two; the durable's five are not drift's.
	testkit.Eventually(t, 10*time.Second, func() bool {
		lag, ok := driftLag(ctx, scored)
		return ok && lag == 5
	}, "drift's lag never summed its two ordered consumers' five pending messages")
}
