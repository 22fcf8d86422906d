package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
)

// RecordsHeader marks a SCORED message whose body is an event.ScoredBatch and gives the number of
// records in it. A message without it holds one event.Scored, as older producers publish.
const RecordsHeader = "Vigil-Records"

// EncodingHeader gives how a packed SCORED message's body is compressed: "snappy" (the Snappy
// block format, which every language has a decoder for) is the only value. Without it the body
// is plain JSON. Records of one batch repeat their metric names, kinds and labels, so the body
// shrinks about tenfold; the bus then stores, caches and delivers that much less.
const EncodingHeader = "Vigil-Encoding"

// EncodingSnappy is the EncodingHeader value of a Snappy-compressed body.
const EncodingSnappy = "snappy"

// maxDecodedBody bounds what a compressed body may claim to expand to, far above what
// PackScored writes, so that a corrupt or hostile length cannot make a consumer allocate more.
const maxDecodedBody = 16 << 20

// MaxScoredMessage bounds the body of one packed SCORED message, well below NATS's default
// maximum payload of 1 MiB.
const MaxScoredMessage = 256 << 10

// PackScored packs records into SCORED messages: the records of one partition (key gives a
// record's partition key) go together, in order, split only where a body would pass
// MaxScoredMessage. Publishing a message per partition instead of per event lets the bus store
// and deliver a fraction of the messages. A message's Nats-Msg-Id is a hash of the identities of
// its records, so publishing the same records again, as a retried batch does, stores nothing new.
func PackScored(recs []event.Scored, partitions int, key func(*event.Scored) string) ([]*nats.Msg, error) {
	return new(ScoredPacker).Pack(recs, partitions, key)
}

// ScoredPacker packs as PackScored does, keeping its buffers from one call to the next: a
// scorer packs about a megabyte of JSON per batch, which was a tenth of what it allocated. The
// messages a call returns, bodies included, are valid until the next call.
type ScoredPacker struct {
	packs   map[int]*scoredPack
	order   []int // partitions in order of their first record, so the output order is stable
	parts   []int
	scratch []byte
	bodies  [][]byte // compressed bodies, reused in turn
	used    int      // bodies handed out by this call
}

// Pack packs recs; see PackScored.
func (k *ScoredPacker) Pack(recs []event.Scored, partitions int, key func(*event.Scored) string) ([]*nats.Msg, error) {
	if k.packs == nil {
		k.packs = map[int]*scoredPack{}
	}
	// A call that failed encoding a record left its packs half filled.
	for _, p := range k.packs {
		p.n, p.left, p.ids = 0, 0, p.ids[:0]
	}
	k.order, k.used = k.order[:0], 0
	k.parts = slices.Grow(k.parts[:0], len(recs))[:len(recs)]
	for i := range recs {
		part := Partition(key(&recs[i]), partitions)
		k.parts[i] = part
		p := k.packs[part]
		if p == nil {
			p = &scoredPack{partition: part}
			k.packs[part] = p
		}
		if p.left == 0 {
			k.order = append(k.order, part)
		}
		p.left++
	}
	var out []*nats.Msg
	for i := range recs {
		rec := &recs[i]
		var err error
		if k.scratch, err = event.AppendScored(k.scratch[:0], rec); err != nil {
			return nil, err
		}
		p := k.packs[k.parts[i]]
		if p.n > 0 && len(p.body)+len(k.scratch)+3 > MaxScoredMessage {
			out = append(out, p.msg(k.body()))
		}
		p.add(rec, k.scratch)
	}
	for _, part := range k.order {
		out = append(out, k.packs[part].msg(k.body()))
	}
	return out, nil
}

// body returns the next reusable buffer for a compressed body.
func (k *ScoredPacker) body() *[]byte {
	if k.used == len(k.bodies) {
		k.bodies = append(k.bodies, nil)
	}
	k.used++
	return &k.bodies[k.used-1]
}

// scoredPack accumulates the body and identity hash of one partition's next message.
type scoredPack struct {
	partition int
	n         int // records in the body
	left      int // records of the partition not yet added
	body      []byte
	ids       []byte // the records' identities, hashed into the message id
}

func (p *scoredPack) add(rec *event.Scored, encoded []byte) {
	if p.n == 0 {
		// Size the body for the partition's remaining records, taking this one as typical,
		// so that it is not copied as it grows. A body is compressed into a message of its own,
		// so the room serves the partition's next message too.
		if want := min(MaxScoredMessage, p.left*(len(encoded)+len(encoded)/8+1)+16); cap(p.body) < want {
			p.body = make([]byte, 0, want)
		}
		p.body = append(p.body[:0], `{"records":[`...)
	} else {
		p.body = append(p.body, ',')
	}
	p.body = append(p.body, encoded...)
	p.n++
	p.left--
	// NUL cannot occur in these fields' JSON, so the identities cannot run into each other.
	for _, s := range [...]string{rec.EventID, rec.Source, rec.RulesVersion} {
		p.ids = append(append(p.ids, s...), 0)
	}
}

// msg closes the body, returns it as a message compressed into *dst (grown as needed) and
// leaves p empty for the next one.
func (p *scoredPack) msg(dst *[]byte) *nats.Msg {
	p.body = append(p.body, "]}"...)
	sum := sha256.Sum256(p.ids)
	id := "scored:" + hex.EncodeToString(sum[:16])
	n := s2.MaxEncodedLen(len(p.body))
	*dst = slices.Grow((*dst)[:0], n)[:n]
	// S2's encoder, limited to what Snappy decoders read; it writes into dst, which is large enough.
	m := NewMsg(ScoredPartitionSubject(p.partition), id, s2.EncodeSnappy(*dst, p.body))
	m.Header.Set(RecordsHeader, strconv.Itoa(p.n))
	m.Header.Set(EncodingHeader, EncodingSnappy)
	p.n, p.ids = 0, p.ids[:0]
	return m
}

// ScoredDecoder returns a decoder of SCORED messages: a packed message (RecordsHeader set) yields
// its records, any other message the one record it holds. With alias set the records' strings
// share the message's memory; set it only where the records do not outlive the batch.
func ScoredDecoder(alias bool) DecodeFunc[[]event.Scored] {
	return func(m jetstream.Msg) ([]event.Scored, error) {
		return decodeScoredMsg(m, alias, nil, nil)
	}
}

// decodeScoredMsg decodes a SCORED message, into body and bufs when they are set (see
// event.DecodeScoredBatchInto), into new memory otherwise.
func decodeScoredMsg(m jetstream.Msg, alias bool, body *[]byte, bufs *event.ScoredBuffers) ([]event.Scored, error) {
	data, err := decompressBody(m.Headers().Get(EncodingHeader), m.Data(), body)
	if err != nil {
		return nil, err
	}
	n := m.Headers().Get(RecordsHeader)
	if n == "" {
		rec, err := event.DecodeScored(data)
		if err != nil {
			return nil, err
		}
		recs := []event.Scored{*rec}
		if bufs != nil && bufs.DropReasons {
			event.ClearReasons(recs)
		}
		return recs, nil
	}
	hint, hintErr := strconv.Atoi(n)
	var recs []event.Scored
	if bufs != nil {
		recs, err = event.DecodeScoredBatchInto(bufs, data, alias, hint)
	} else {
		recs, err = event.DecodeScoredBatch(data, alias, hint)
	}
	if err != nil {
		return nil, err
	}
	if hintErr != nil || hint != len(recs) {
		return nil, &event.FieldError{Field: "records", Reason: fmt.Sprintf("holds %d records where the %s header says %s", len(recs), RecordsHeader, n)}
	}
	return recs, nil
}

// ScoredReader decodes SCORED messages one at a time into memory it keeps, for a consumer that
// is done with a message's records before it reads the next, as a drift partition is. The
// records and scores a Read returns are valid until the next Read; their strings are copies and
// may be kept. The zero value is ready to use; a ScoredReader is not safe for concurrent use.
type ScoredReader struct {
	// DropReasons leaves every score's Reason empty (see event.ScoredBuffers.DropReasons).
	DropReasons bool

	body []byte
	bufs event.ScoredBuffers
}

// Read decodes m as ScoredDecoder(false) does.
func (r *ScoredReader) Read(m jetstream.Msg) ([]event.Scored, error) {
	r.bufs.DropReasons = r.DropReasons
	recs, err := decodeScoredMsg(m, false, &r.body, &r.bufs)
	// An outsized message does not pin its memory for the messages after it.
	if cap(r.body)+r.bufs.Size() > maxKeptScored {
		r.body, r.bufs = nil, event.ScoredBuffers{}
	}
	return recs, err
}

// maxKeptScored is the most memory a ScoredReader or a pooled message keeps for the next
// message: a packed message holds at most MaxScoredMessage of JSON, a few hundred records.
const maxKeptScored = 4 << 20

// ScoredPool decodes SCORED messages into memory it takes back when their records are released,
// for a consumer that holds many messages until it is done with all of them, as the writer does
// until its INSERT has succeeded. The records' strings share that memory. Between batches it
// keeps at most the bytes it was made with; it is safe for concurrent use.
type ScoredPool struct {
	mu       sync.Mutex
	free     []*PooledScored
	kept     int
	maxBytes int
}

// NewScoredPool returns a pool that keeps up to maxBytes of buffers for the next messages.
func NewScoredPool(maxBytes int) *ScoredPool { return &ScoredPool{maxBytes: maxBytes} }

// PooledScored is a SCORED message decoded into a ScoredPool's memory. Its Records, strings
// included, are valid until Release.
type PooledScored struct {
	Records []event.Scored
	pool    *ScoredPool // nil once released, so that a second Release does nothing
	body    []byte
	bufs    event.ScoredBuffers
}

// Decode decodes m as ScoredDecoder(true) does; it is a DecodeFunc.
func (p *ScoredPool) Decode(m jetstream.Msg) (*PooledScored, error) {
	need := 0
	if m.Headers().Get(EncodingHeader) == EncodingSnappy {
		need, _ = s2.DecodedLen(m.Data())
	}
	s := p.get(need)
	recs, err := decodeScoredMsg(m, true, &s.body, &s.bufs)
	if err != nil {
		s.Release()
		return nil, err
	}
	s.Records = recs
	return s, nil
}

// Release gives the message's memory back to its pool; its records must not be read after.
func (s *PooledScored) Release() {
	if s.pool != nil {
		p := s.pool
		s.Records, s.pool = nil, nil
		p.put(s)
	}
}

func (s *PooledScored) size() int { return cap(s.body) + s.bufs.Size() }

// get returns the kept message whose body fits need most closely, or else the largest, so that
// messages of every size find memory of their size instead of growing what a smaller one left.
func (p *ScoredPool) get(need int) *PooledScored {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return &PooledScored{pool: p}
	}
	best := 0
	for i, s := range p.free {
		c, bc := cap(s.body), cap(p.free[best].body)
		if c >= need && (bc < need || c < bc) || bc < need && c > bc {
			best = i
		}
	}
	s := p.free[best]
	last := len(p.free) - 1
	p.free[best], p.free[last] = p.free[last], nil
	p.free = p.free[:last]
	p.kept -= s.size()
	s.pool = p
	return s
}

func (p *ScoredPool) put(s *PooledScored) {
	size := s.size()
	if size > maxKeptScored {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kept+size <= p.maxBytes {
		p.free = append(p.free, s)
		p.kept += size
	}
}

// DecodedBody returns a message's body as its producer wrote it, before compression: the body
// itself unless the EncodingHeader names a compression. For people reading dead letters.
func DecodedBody(h nats.Header, data []byte) ([]byte, error) {
	return decompressBody(h.Get(EncodingHeader), data, nil)
}

// decompressBody returns a body compressed as encoding (an EncodingHeader value) says,
// decompressed into *buf when buf is set (growing it as needed), into new memory otherwise.
func decompressBody(encoding string, data []byte, buf *[]byte) ([]byte, error) {
	switch encoding {
	case "":
		return data, nil
	case EncodingSnappy:
		n, err := s2.DecodedLen(data)
		if err != nil {
			return nil, &event.FieldError{Field: "body", Reason: fmt.Sprintf("is not Snappy-compressed as the %s header says: %v", EncodingHeader, err)}
		}
		if n > maxDecodedBody {
			return nil, &event.FieldError{Field: "body", Reason: fmt.Sprintf("claims to expand to %d bytes, over the %d a packed message may hold", n, maxDecodedBody)}
		}
		var dst []byte
		if buf != nil {
			*buf = slices.Grow((*buf)[:0], n)
			dst = (*buf)[:n]
		} else {
			dst = make([]byte, n)
		}
		// S2's decoder reads Snappy (and S2, which nothing here writes).
		body, err := s2.Decode(dst, data)
		if err != nil {
			return nil, &event.FieldError{Field: "body", Reason: fmt.Sprintf("is not Snappy-compressed as the %s header says: %v", EncodingHeader, err)}
		}
		return body, nil
	default:
		return nil, &event.FieldError{Field: EncodingHeader, Reason: fmt.Sprintf("%q is not an encoding this consumer knows (snappy, or none for plain JSON)", encoding)}
	}
}
