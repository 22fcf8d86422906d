package stream_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func scoredRecords(n, features int, reason string) []event.Scored {
	recs := make([]event.Scored, n)
	for i := range recs {
		recs[i] = event.Scored{
			EventID: fmt.Sprintf("e%04d", i), Timestamp: time.Unix(1700000000+int64(i), 0).UTC(),
			Series: event.Series{App: "shop", Environment: "prod", Feature: fmt.Sprintf("f%d", i%features), Model: "m"},
			Source: "checks", RulesVersion: "builtin-3",
			Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Value: 1, Pass: true, Reason: reason}},
		}
	}
	return recs
}

func featureKey(r *event.Scored) string { return r.Series.FeatureKey() }

func TestPackScoredRoundTrip(t *testing.T) {
	const partitions = 4
	tests := []struct {
		name         string
		n, features  int
		reason       string
		minMessages  int
		maxMessages  int
		splitsAtSize bool
	}{
		{"one record", 1, 1, "", 1, 1, false},
		{"a batch over a few features", 256, 5, "", 1, partitions, false},
		// 40 records of ~20 KB in one partition pass MaxScoredMessage several times over.
		{"large records split", 40, 1, strings.Repeat("x", 20<<10), 4, 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			recs := scoredRecords(tt.n, tt.features, tt.reason)
			msgs, err := stream.PackScored(recs, partitions, featureKey)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) < tt.minMessages || len(msgs) > tt.maxMessages {
				t.Fatalf("%d records packed into %d messages, want %d to %d", tt.n, len(msgs), tt.minMessages, tt.maxMessages)
			}
			// Publishing twice, as a retried batch does, stores each message once.
			for range 2 {
				if err := stream.PublishAll(context.Background(), e.js, msgs); err != nil {
					t.Fatal(err)
				}
			}
			stored := testkit.StreamMessages(t, e.js, stream.Scored)
			if len(stored) != len(msgs) {
				t.Fatalf("SCORED holds %d messages after publishing %d twice", len(stored), len(msgs))
			}
			for _, alias := range []bool{false, true} {
				decode := stream.ScoredDecoder(alias)
				var got []event.Scored
				lastSeen := map[string]int{} // feature → index of its last record seen
				for _, m := range stored {
					if enc := m.Headers().Get(stream.EncodingHeader); enc != stream.EncodingSnappy {
						t.Fatalf("packed message with %s %q, want %s", stream.EncodingHeader, enc, stream.EncodingSnappy)
					}
					body, err := s2.Decode(nil, m.Data())
					if err != nil {
						t.Fatal(err)
					}
					if tt.splitsAtSize && len(body) > stream.MaxScoredMessage {
						t.Errorf("message of %d bytes, above %d", len(body), stream.MaxScoredMessage)
					}
					batch, err := decode(m)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range batch {
						if want := stream.ScoredSubject(featureKey(&r), partitions); m.Subject() != want {
							t.Errorf("record %s on %s, want %s", r.EventID, m.Subject(), want)
						}
						var i int
						fmt.Sscanf(r.EventID, "e%d", &i)
						if prev, ok := lastSeen[r.Series.Feature]; ok && prev > i {
							t.Errorf("record %s of %s after record %d: order within a partition lost", r.EventID, r.Series.Feature, prev)
						}
						lastSeen[r.Series.Feature] = i
					}
					got = append(got, batch...)
				}
				if len(got) != len(recs) {
					t.Fatalf("alias %v: read back %d records, want %d", alias, len(got), len(recs))
				}
				byID := map[string]event.Scored{}
				for _, r := range got {
					byID[r.EventID] = r
				}
				for _, r := range recs {
					g := byID[r.EventID]
					if g.Series != r.Series || !g.Timestamp.Equal(r.Timestamp) || len(g.Scores) != 1 || g.Scores[0] != r.Scores[0] {
						t.Fatalf("alias %v: record %s read back as %+v, want %+v", alias, r.EventID, g, r)
					}
				}
			}
		})
	}
}

func TestScoredDecoderRejects(t *testing.T) {
	e := setup(t)
	recs := scoredRecords(3, 1, "")
	packed, err := stream.PackScored(recs, 1, featureKey)
	if err != nil {
		t.Fatal(err)
	}
	packedMsg := func(id, records, encoding string, body []byte) *nats.Msg {
		m := stream.NewMsg(stream.ScoredPartitionSubject(0), id, body)
		m.Header.Set(stream.RecordsHeader, records)
		if encoding != "" {
			m.Header.Set(stream.EncodingHeader, encoding)
		}
		return m
	}
	plain, err := s2.Decode(nil, packed[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	single, _ := event.Marshal(&recs[0])
	msgs := []*nats.Msg{
		packedMsg("wrong-count", "2", stream.EncodingSnappy, packed[0].Data),
		stream.NewMsg(stream.ScoredPartitionSubject(0), "single", single),
		stream.NewMsg(stream.ScoredPartitionSubject(0), "bad-single", []byte(`{"event_id":"x"}`)),
		packedMsg("plain", "3", "", plain), // as producers before compression wrote them
		packedMsg("not-snappy", "3", stream.EncodingSnappy, plain),
		packedMsg("unknown-encoding", "3", "gzip", packed[0].Data),
		// A Snappy block begins with its decoded length: this one claims a gigabyte.
		packedMsg("bomb", "3", stream.EncodingSnappy, append(binary.AppendUvarint(nil, 1<<30), 0, 0, 0)),
	}
	if err := stream.PublishAll(context.Background(), e.js, msgs); err != nil {
		t.Fatal(err)
	}
	stored := testkit.StreamMessages(t, e.js, stream.Scored)
	for name, decode := range scoredDecoders() {
		t.Run(name, func(t *testing.T) {
			if _, err := decode(stored[0]); err == nil || !strings.HasPrefix(err.Error(), "records: holds 3 records") {
				t.Errorf("count mismatch: %v, want records: holds 3 records ...", err)
			}
			if got, err := decode(stored[1]); err != nil || len(got) != 1 || got[0].EventID != recs[0].EventID {
				t.Errorf("a single record without the header: %v, %v", got, err)
			}
			if _, err := decode(stored[2]); err == nil || !strings.Contains(err.Error(), "timestamp") {
				t.Errorf("an invalid single record: %v, want an error naming timestamp", err)
			}
			if got, err := decode(stored[3]); err != nil || len(got) != 3 {
				t.Errorf("a packed message without compression: %d records, %v; want 3", len(got), err)
			}
			for i, want := range map[int]string{
				4: "body: is not Snappy-compressed as the Vigil-Encoding header says",
				5: `Vigil-Encoding: "gzip" is not an encoding`,
				6: "body: claims to expand to 1073741824 bytes",
			} {
				if _, err := decode(stored[i]); err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("message %s: %v, want %s...", stored[i].Headers().Get("Nats-Msg-Id"), err, want)
				}
			}
		})
	}
}

// scoredDecoders are the ways to decode SCORED messages, each giving a message's records; they
// must agree on every message.
func scoredDecoders() map[string]stream.DecodeFunc[[]event.Scored] {
	pool := stream.NewScoredPool(1 << 20)
	return map[string]stream.DecodeFunc[[]event.Scored]{
		"ScoredDecoder": stream.ScoredDecoder(false),
		"ScoredReader":  new(stream.ScoredReader).Read,
		"ScoredPool": func(m jetstream.Msg) ([]event.Scored, error) {
			s, err := pool.Decode(m)
			if err != nil {
				return nil, err
			}
			return s.Records, nil
		},
	}
}

// TestScoredPackerReusesNothingVisible: a packer that packed other batches before, of other
// sizes and partitions, packs the next one exactly as a fresh PackScored does.
func TestScoredPackerReusesNothingVisible(t *testing.T) {
	const partitions = 4
	var k stream.ScoredPacker
	// A large partition first, then small ones: a buffer reused within a call would be
	// overwritten by the later, smaller messages.
	skewed := append(scoredRecords(200, 1, ""), scoredRecords(6, 3, "small")...)
	for j := range skewed[200:] {
		skewed[200+j].Series.Feature = fmt.Sprintf("small-%d", j%3)
	}
	batches := [][]event.Scored{
		scoredRecords(256, 5, ""),
		scoredRecords(40, 1, strings.Repeat("x", 20<<10)), // splits at MaxScoredMessage
		skewed,
		scoredRecords(3, 2, "short"),
		nil,
		scoredRecords(300, 7, "again"),
	}
	for i, recs := range batches {
		for j := range recs {
			recs[j].EventID = fmt.Sprintf("b%d-%s", i, recs[j].EventID) // ids differ between batches
		}
		got, err := k.Pack(recs, partitions, featureKey)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stream.PackScored(recs, partitions, featureKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("batch %d: %d messages, want %d", i, len(got), len(want))
		}
		// Every record comes back out of the messages, once.
		var ids []string
		for m, msg := range got {
			body, err := stream.DecodedBody(msg.Header, msg.Data)
			if err != nil {
				t.Fatalf("batch %d message %d: %v", i, m, err)
			}
			out, err := event.DecodeScoredBatch(body, false, 0)
			if err != nil {
				t.Fatalf("batch %d message %d: %v", i, m, err)
			}
			for _, r := range out {
				ids = append(ids, r.EventID)
			}
		}
		var wantIDs []string
		for _, r := range recs {
			wantIDs = append(wantIDs, r.EventID)
		}
		slices.Sort(ids)
		slices.Sort(wantIDs)
		if !slices.Equal(ids, wantIDs) {
			t.Errorf("batch %d: the messages hold %d records, want the %d packed", i, len(ids), len(wantIDs))
		}
		for m := range want {
			if got[m].Subject != want[m].Subject || string(got[m].Data) != string(want[m].Data) ||
				fmt.Sprint(got[m].Header) != fmt.Sprint(want[m].Header) {
				t.Errorf("batch %d message %d: %s %v (%d bytes), want %s %v (%d bytes)", i, m,
					got[m].Subject, got[m].Header, len(got[m].Data), want[m].Subject, want[m].Header, len(want[m].Data))
			}
		}
	}
}

// TestScoredReuseDecodesAsFresh: a ScoredReader and a ScoredPool decode every message as a
// fresh decoder does although each reuses the memory of the messages before: batches with long
// reasons come before batches without, so a field left over from reused memory would show.
func TestScoredReuseDecodesAsFresh(t *testing.T) {
	e := setup(t)
	var msgs []*nats.Msg
	for i, batch := range [][]event.Scored{
		scoredRecords(256, 5, strings.Repeat("long reason ", 50)),
		scoredRecords(100, 3, ""),
		scoredRecords(40, 1, strings.Repeat("x", 20<<10)), // splits at MaxScoredMessage
		scoredRecords(300, 7, ""),
	} {
		for j := range batch {
			batch[j].EventID = fmt.Sprintf("b%d-%s", i, batch[j].EventID)
		}
		packed, err := stream.PackScored(batch, 4, featureKey)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, packed...)
	}
	if err := stream.PublishAll(context.Background(), e.js, msgs); err != nil {
		t.Fatal(err)
	}
	stored := testkit.StreamMessages(t, e.js, stream.Scored)
	fresh := stream.ScoredDecoder(false)
	want := make([][]event.Scored, len(stored))
	for i, m := range stored {
		recs, err := fresh(m)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = recs
	}

	var reader stream.ScoredReader
	for i, m := range stored {
		got, err := reader.Read(m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Fatalf("ScoredReader, message %d (-fresh +reader):\n%s", i, diff)
		}
	}

	// The pool's messages are all held at once, as the writer holds a batch, then released and
	// decoded again in the opposite order from the memory given back.
	pool := stream.NewScoredPool(64 << 20)
	held := make([]*stream.PooledScored, len(stored))
	for _, order := range [][]int{ascending(len(stored)), descending(len(stored))} {
		for _, i := range order {
			s, err := pool.Decode(stored[i])
			if err != nil {
				t.Fatal(err)
			}
			held[i] = s
		}
		for i, s := range held {
			if diff := cmp.Diff(want[i], s.Records); diff != "" {
				t.Fatalf("ScoredPool, message %d (-fresh +pool):\n%s", i, diff)
			}
		}
		for _, s := range held {
			s.Release()
			s.Release() // a second release must not hand the memory out twice
		}
	}

	// Memory given back serves the next message: decoding one then allocates next to nothing,
	// where a fresh aliasing decoder allocates its body, records and scores.
	pooled := testing.AllocsPerRun(20, func() {
		s, err := pool.Decode(stored[0])
		if err != nil {
			t.Fatal(err)
		}
		s.Release()
	})
	aliasing := stream.ScoredDecoder(true)
	allocating := testing.AllocsPerRun(20, func() {
		if _, err := aliasing(stored[0]); err != nil {
			t.Fatal(err)
		}
	})
	if pooled > 1 || allocating < 3 {
		t.Errorf("allocations per message: %v from the pool, %v fresh; want at most 1 and at least 3", pooled, allocating)
	}

	// A small message takes the memory a small one gave back, not the large one's, which the
	// next large message would then have to allocate again. Both hold records of one kind, as
	// in real traffic, where a body's size tells how many scores it holds.
	var small, large jetstream.Msg
	for i, m := range stored {
		if want[i][0].Scores[0].Reason != "" {
			continue
		}
		if small == nil || len(m.Data()) < len(small.Data()) {
			small = m
		}
		if large == nil || len(m.Data()) > len(large.Data()) {
			large = m
		}
	}
	// A pool with room for exactly the two keeps both only if each message gets back the memory
	// of its size: handed the small one's memory, the large message grows it past the room left.
	decode := func(p *stream.ScoredPool, m jetstream.Msg) *stream.PooledScored {
		s, err := p.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sizes := stream.NewScoredPool(0)
	tight := stream.NewScoredPool(stream.PooledSize(decode(sizes, small)) + stream.PooledSize(decode(sizes, large)))
	mixed := testing.AllocsPerRun(20, func() {
		s, l := decode(tight, small), decode(tight, large)
		s.Release()
		l.Release() // given back last: a pool that ignores size hands it to the small message
	})
	if mixed > 2*pooled {
		t.Errorf("a small and a large message decoded from the pool: %v allocations, want at most %v", mixed, 2*pooled)
	}
}

func ascending(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

func descending(n int) []int {
	order := ascending(n)
	slices.Reverse(order)
	return order
}
