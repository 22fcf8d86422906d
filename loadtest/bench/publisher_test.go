package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// connect starts a NATS server for the test and returns a JetStream client of it, with a
// context that bounds the test.
func connect(t *testing.T) (context.Context, jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	nc, err := nats.Connect(testkit.NATS(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, js
}

func TestBurstPublisherStoresEveryEventOnce(t *testing.T) {
	ctx, js := connect(t)
	if err := stream.EnsureStreams(ctx, js, stream.Limits{MaxAge: time.Hour, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	pub, err := newBurstPublisher(js.Conn())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.close()
	templates := loadTemplates(8, 0.05)
	began := time.Now()

	const count = 1200
	acked := map[string]int{}
	for from := 0; from < count; from += burstSize {
		sent := time.Now()
		err := publishBurst(ctx, pub, templates, from, min(burstSize, count-from), func(i int, id string, at time.Time) {
			acked[id]++
			if at.Before(sent) || at.After(time.Now()) {
				t.Errorf("%s acked at %v, outside its burst (sent %v)", id, at, sent)
			}
		})
		if err != nil {
			t.Fatalf("burst from %d: %v", from, err)
		}
	}
	// A repeated burst is acknowledged as duplicates and stored no more.
	if err := publishBurst(ctx, pub, templates, 0, 10, func(i int, id string, _ time.Time) { acked[id]++ }); err != nil {
		t.Fatalf("repeated burst: %v", err)
	}
	if len(acked) != count {
		t.Fatalf("acked %d distinct ids, want %d", len(acked), count)
	}
	info, err := js.Stream(ctx, stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != count {
		t.Fatalf("EVENTS holds %d messages, want %d", n, count)
	}

	// Every stored body is a valid event whose id is the one its header carries.
	cons, err := js.OrderedConsumer(ctx, stream.Events, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range count {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Decoder{}.Decode(m.Data())
		if err != nil {
			t.Fatalf("stored body does not decode: %v", err)
		}
		if id := m.Headers().Get(jetstream.MsgIDHeader); ev.EventID != id || acked[id] == 0 {
			t.Fatalf("stored event %q under Nats-Msg-Id %q (acked %d times)", ev.EventID, id, acked[id])
		}
		// Each event carries the time it was published, so drift windows it as live traffic.
		if ev.Timestamp.Before(began) || ev.Timestamp.After(time.Now()) {
			t.Fatalf("stored event %q stamped %v, outside the test's run (from %v)", ev.EventID, ev.Timestamp, began)
		}
	}
}

func TestBurstPublisherNamesRefusals(t *testing.T) {
	ctx, js := connect(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SMALL", Subjects: []string{"small.>"}, MaxMsgs: 1, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	pub, err := newBurstPublisher(js.Conn())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.close()

	tests := []struct {
		name, subject, id, want string
	}{
		{"stored", "small.a", "1", ""},
		{"stream full", "small.a", "2", "maximum messages exceeded"},
		{"no stream", "nowhere.a", "3", "no stream listens on the subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := pub.publish(tt.subject, tt.id, []byte("x")); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := pub.wait(ctx, func(int, time.Time) { n++ })
			switch {
			case tt.want == "" && (err != nil || n != 1):
				t.Fatalf("wait = %v after %d acks, want one ack", err, n)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("wait = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
