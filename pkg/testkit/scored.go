package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// ScoredRecords reads every record on SCORED, unpacking packed messages, oldest first.
func ScoredRecords(t testing.TB, js jetstream.JetStream) []event.Scored {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream.Scored)
	if err != nil {
		t.Fatalf("open %s: %v", stream.Scored, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("read %s: %v", stream.Scored, err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("read %s: %v", stream.Scored, err)
	}
	decode := stream.ScoredDecoder(false)
	var out []event.Scored
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", stream.Scored, err)
		}
		recs, err := decode(m)
		if err != nil {
			t.Fatalf("decode a %s message: %v", stream.Scored, err)
		}
		out = append(out, recs...)
	}
	return out
}
