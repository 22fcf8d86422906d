package stream_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
)

func TestParseAckSubject(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  stream.Delivery
		ok    bool
	}{
		{"v1", "$JS.ACK.EVENTS.scorer.3.1042.1040.1764300000000000000.7", stream.Delivery{Count: 3, StreamSeq: 1042}, true},
		{"v2", "$JS.ACK._.ACCHASH.EVENTS.scorer.1.9.9.1764300000000000000.0.Xr4", stream.Delivery{Count: 1, StreamSeq: 9}, true},
		{"v2 without the last token", "$JS.ACK.hub.ACCHASH.EVENTS.scorer.2.5.4.1764300000000000000.0", stream.Delivery{Count: 2, StreamSeq: 5}, true},
		{"v2 with more tokens", "$JS.ACK.hub.ACCHASH.EVENTS.scorer.2.5.4.1764300000000000000.0.Xr4.extra", stream.Delivery{Count: 2, StreamSeq: 5}, true},
		{"not an ack subject", "_INBOX.abc.def", stream.Delivery{}, false},
		{"empty", "", stream.Delivery{}, false},
		{"ten tokens", "$JS.ACK.a.b.EVENTS.scorer.2.5.4.1", stream.Delivery{}, false},
		{"eight tokens", "$JS.ACK.EVENTS.scorer.3.1042.1040.1", stream.Delivery{}, false},
		{"count not a number", "$JS.ACK.EVENTS.scorer.x.1042.1040.1764300000000000000.7", stream.Delivery{}, false},
		{"negative sequence", "$JS.ACK.EVENTS.scorer.3.-1.1040.1764300000000000000.7", stream.Delivery{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := stream.ParseAckSubject(tt.reply)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("parseAckSubject(%q) = %+v, %v; want %+v, %v", tt.reply, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// referenceAckSubject parses an ack subject the plain way: split on dots and index.
func referenceAckSubject(reply string) (stream.Delivery, bool) {
	tokens := strings.Split(reply, ".")
	if len(tokens) < 2 || tokens[0] != "$JS" || tokens[1] != "ACK" {
		return stream.Delivery{}, false
	}
	at := 4
	switch {
	case len(tokens) == 9:
	case len(tokens) >= 11:
		at = 6
	default:
		return stream.Delivery{}, false
	}
	count, err1 := strconv.ParseUint(tokens[at], 10, 64)
	seq, err2 := strconv.ParseUint(tokens[at+1], 10, 64)
	if err1 != nil || err2 != nil {
		return stream.Delivery{}, false
	}
	return stream.Delivery{Count: count, StreamSeq: seq}, true
}

func FuzzParseAckSubject(f *testing.F) {
	for _, s := range []string{
		"$JS.ACK.EVENTS.scorer.3.1042.1040.1764300000000000000.7",
		"$JS.ACK._.ACCHASH.EVENTS.scorer.1.9.9.1764300000000000000.0.Xr4",
		"$JS.ACK.a.b.c.d.e.f.g.h.i.j.k",
		"$JS.ACK.........",
		"_INBOX.x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		got, ok := stream.ParseAckSubject(reply)
		want, wantOK := referenceAckSubject(reply)
		if got != want || ok != wantOK {
			t.Fatalf("parseAckSubject(%q) = %+v, %v; the plain split says %+v, %v", reply, got, ok, want, wantOK)
		}
	})
}

// TestDeliveryOfAgreesWithMetadata reads a message delivered twice by a real server both ways.
func TestDeliveryOfAgreesWithMetadata(t *testing.T) {
	e := setup(t)
	publish(t, e.js, "1", "2")
	for delivery := uint64(1); delivery <= 2; delivery++ {
		batch, err := e.cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			got, ok := stream.DeliveryOf(m)
			want := stream.Delivery{Count: md.NumDelivered, StreamSeq: md.Sequence.Stream}
			if !ok || got != want || got.Count != delivery {
				t.Fatalf("delivery %d of %q: DeliveryOf = %+v, %v; Metadata says %+v", delivery, m.Data(), got, ok, want)
			}
			if delivery == 1 {
				_ = m.Nak()
			} else {
				_ = m.Ack()
			}
		}
		if n != 2 {
			t.Fatalf("delivery %d: fetched %d messages, want 2 (err %v)", delivery, n, batch.Error())
		}
	}
}
