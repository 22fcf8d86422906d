package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// StreamMessages reads every message the named stream holds, oldest first.
func StreamMessages(t testing.TB, js jetstream.JetStream, name string) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("open stream %s: %v", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("read stream %s: %v", name, err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("read stream %s: %v", name, err)
	}
	out := make([]jetstream.Msg, 0, info.State.Msgs)
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read stream %s: %v", name, err)
		}
		out = append(out, m)
	}
	return out
}

// ScoredRecords reads every record on SCORED, unpacking packed messages, oldest first.
func ScoredRecords(t testing.TB, js jetstream.JetStream) []event.Scored {
	t.Helper()
	decode := stream.ScoredDecoder(false)
	var out []event.Scored
	for _, m := range StreamMessages(t, js, stream.Scored) {
		recs, err := decode(m)
		if err != nil {
			t.Fatalf("decode a %s message: %v", stream.Scored, err)
		}
		out = append(out, recs...)
	}
	return out
}
