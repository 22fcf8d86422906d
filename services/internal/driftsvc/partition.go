package driftsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// checkpoint is what the state bucket holds for a partition under its own key. The engine's
// state is in Chunks values under "<key>.<generation>.<i>": one value must stay below the
// server's largest message (1 MiB by default), and a partition of thousands of series is bigger.
// Each checkpoint writes a new generation of chunks before the header that names it, so a reader
// always finds a header and chunks of the same moment.
type checkpoint struct {
	Sequence   uint64    `json:"sequence"` // last SCORED sequence reflected in the state
	Watermark  time.Time `json:"watermark"`
	Generation uint64    `json:"generation"`
	Chunks     int       `json:"chunks"`
	// Ext is the state of the baseline extension: yardstick windows and pins applied (baselines.go).
	Ext json.RawMessage `json:"ext,omitempty"`
	// VolumeChunks is the number of values holding the silence detector's state (volume.go).
	VolumeChunks int `json:"volume_chunks,omitempty"`
}

// maxChunk bounds one state value, well below NATS's default maximum payload.
const maxChunk = 512 << 10

// partition runs one partition's engine: it replays SCORED from the sequence after its
// checkpoint, publishes alerts before it checkpoints, and checkpoints every interval.
type partition struct {
	n      int
	m      *Manager
	engine *drift.Engine

	seq       uint64
	from      uint64 // the first sequence read, fixed before the partition runs
	gen       uint64 // generation of the last checkpoint
	watermark time.Time
	counted   drift.Stats // the engine's stats last added to the replica's record counters
	lastSeen  time.Time
	saved     time.Time
	outbox    []event.Alert
	// reader decodes each message into the memory of the one before: records are applied and
	// dropped, and their strings are copies, since the engine keeps series labels as keys.
	// Scores' reasons are not decoded: nothing in drift reads them.
	reader stream.ScoredReader
	ext    *partitionExt
	volume *drift.Volume // nil when silence alerts are off

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // guards the fields above against shutdown
}

func startPartition(ctx context.Context, m *Manager, n int) (*partition, error) {
	p := &partition{n: n, m: m, engine: drift.NewEngine(m.cfg.Detector()), done: make(chan struct{}),
		reader: stream.ScoredReader{DropReasons: true}}
	entry, err := m.state.Get(ctx, leaseKey(n))
	var saved json.RawMessage
	var volGen uint64
	var volChunks int
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, fmt.Errorf("read checkpoint of partition %d: %w", n, err)
	default:
		var cp checkpoint
		if err := json.Unmarshal(entry.Value(), &cp); err != nil {
			return nil, fmt.Errorf("decode checkpoint of partition %d: %w", n, err)
		}
		for i := 0; i < cp.Chunks; i++ {
			chunk, err := m.state.Get(ctx, chunkKey(n, cp.Generation, i))
			if err != nil {
				return nil, fmt.Errorf("read checkpoint chunk %d of partition %d: %w", i, n, err)
			}
			if err := p.engine.Restore(chunk.Value()); err != nil {
				return nil, fmt.Errorf("restore partition %d: %w", n, err)
			}
		}
		p.seq, p.watermark, p.gen = cp.Sequence, cp.Watermark, cp.Generation
		saved, volGen, volChunks = cp.Ext, cp.Generation, cp.VolumeChunks
	}
	if p.volume, err = loadVolume(ctx, m, n, volGen, volChunks); err != nil {
		return nil, err
	}
	if p.ext, err = newPartitionExt(p, saved); err != nil {
		return nil, err
	}
	keys, pins, accs := m.baselines.snapshot()
	p.ext.sync(ctx, keys, pins, accs)
	msgs, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	p.cancel, p.lastSeen, p.from = cancel, time.Now(), p.seq+1
	p.saved = time.Now().Add(-checkpointPhase(n, m.partitions, m.cfg.CheckpointInterval))
	go p.run(runCtx, msgs)
	return p, nil
}

// read starts reading the partition in order after the last record applied. An ordered
// consumer's Fetch would replace its consumer on the server at every call, a delete and a create
// for each partition four times a second even with no traffic; Messages keeps one until a gap.
func (p *partition) read(ctx context.Context) (jetstream.MessagesContext, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{stream.ScoredPartitionSubject(p.n)}}
	if p.seq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, p.seq+1
	}
	cons, err := p.m.d.JS.OrderedConsumer(ctx, stream.Scored, cfg)
	if err != nil {
		return nil, fmt.Errorf("read partition %d: %w", p.n, err)
	}
	// Bounded: packed records make a message up to 256 KiB, every partition reads at once, and
	// past 64 MiB pending the client would drop messages. A partition holds at most readAhead
	// messages, each request at most fetchBytes; a bound in bytes alone would make the client
	// keep a million-slot channel per partition, which the collector scans.
	msgs, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(readAhead(p.m.d.NC), fetchBytes(p.m.d.NC)))
	if err != nil {
		return nil, fmt.Errorf("read partition %d: %w", p.n, err)
	}
	return msgs, nil
}

// batchWait is how long a partition waits for records before it lets time move its windows.
const batchWait = 250 * time.Millisecond

func (p *partition) run(ctx context.Context, msgs jetstream.MessagesContext) {
	defer close(p.done)
	defer func() {
		if msgs != nil {
			msgs.Stop()
		}
	}()
	log := p.m.d.Log.With("partition", p.n)
	for ctx.Err() == nil {
		p.mu.Lock()
		got, err := p.applyBatch(ctx, msgs)
		if err != nil {
			p.mu.Unlock()
			msgs.Stop()
			msgs = p.reread(ctx, log, err)
			continue
		}
		if got > 0 {
			p.lastSeen = time.Now()
			p.counted = p.m.records.add(p.engine, p.counted)
		} else if !p.watermark.IsZero() {
			// Traffic paused: let wall time close windows, so alerts fire and resolve anyway.
			if quiet := time.Since(p.lastSeen); quiet > p.m.cfg.Grace {
				p.advance(p.watermark.Add(quiet))
			}
		}
		p.tickVolume(got > 0)
		// An error once ctx ended is the stop itself: shutdown publishes and checkpoints last.
		if err := p.publishLocked(ctx); err != nil {
			if ctx.Err() == nil {
				log.Warn("publish alerts; will retry", "err", err)
			}
		} else if time.Since(p.saved) >= p.m.cfg.CheckpointInterval {
			if err := p.checkpointLocked(ctx); err != nil && ctx.Err() == nil {
				log.Warn("checkpoint drift partition; will retry", "err", err)
			}
		}
		p.ext.maybePublish(ctx)
		p.mu.Unlock()
	}
}

// applyBatch applies up to the configured batch of messages, those that arrive within batchWait,
// closing windows as it goes. An error means msgs can give no more: it is stopped, or the
// connection closed.
func (p *partition) applyBatch(ctx context.Context, msgs jetstream.MessagesContext) (int, error) {
	deadline := time.Now().Add(batchWait)
	got := 0
	for got < p.m.cfg.BatchSize {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		msg, err := msgs.Next(jetstream.NextMaxWait(wait))
		if errors.Is(err, nats.ErrTimeout) {
			break
		}
		if err != nil {
			return got, err
		}
		got++
		p.apply(ctx, msg)
		// Close windows as the watermark passes them, not once per batch: a batch read behind a
		// backlog spans several windows, and each track kept them all open, so drift held more
		// state while catching up than at steady speed. Lateness then no longer depends on where
		// a batch happened to end.
		p.advance(p.watermark)
	}
	return got, nil
}

// reread starts reading again after err ended the last reader, pausing between attempts; nil
// when ctx ends first.
func (p *partition) reread(ctx context.Context, log *slog.Logger, err error) jetstream.MessagesContext {
	for {
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("read scored records; reading again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(batchWait):
		}
		msgs, rerr := p.read(ctx)
		if rerr == nil {
			return msgs
		}
		err = rerr
	}
}

// apply feeds one message's records to the engine, dead-lettering what does not decode.
func (p *partition) apply(ctx context.Context, msg jetstream.Msg) {
	d, ok := stream.DeliveryOf(msg)
	if !ok {
		return
	}
	p.seq = d.StreamSeq
	recs, err := p.reader.Read(msg)
	if err != nil {
		if dl, derr := stream.DeadLetter("drift", msg, err.Error()); derr == nil {
			if _, perr := p.m.d.JS.PublishMsg(ctx, dl); perr != nil {
				p.m.d.Log.Error("dead-letter a scored record", "err", perr, "reason", err)
			}
		}
		return
	}
	for i := range recs {
		rec := &recs[i]
		p.engine.Observe(rec)
		p.ext.observe(rec)
		p.observeVolume(rec)
		if rec.Timestamp.After(p.watermark) {
			p.watermark = rec.Timestamp
		}
	}
}

// fetchBytes bounds one request of a partition for messages: 4 MiB, or room for the largest
// message the server accepts.
func fetchBytes(nc *nats.Conn) int {
	if nc == nil {
		return 4 << 20
	}
	return max(4<<20, int(nc.MaxPayload())+64<<10)
}

// readAhead is how many messages a partition reads ahead: a fetch's worth of packed messages.
func readAhead(nc *nats.Conn) int {
	return max(2, fetchBytes(nc)/stream.MaxScoredMessage)
}

// publishLocked stores the pending alerts on ALERTS; their ids are deterministic, so a replay
// after a takeover publishes duplicates that JetStream drops.
func (p *partition) publishLocked(ctx context.Context) error {
	if len(p.outbox) == 0 {
		return nil
	}
	msgs := make([]*nats.Msg, len(p.outbox))
	for i := range p.outbox {
		a := &p.outbox[i]
		data, err := event.Marshal(a)
		if err != nil {
			return err
		}
		msgs[i] = stream.NewMsg(stream.AlertSubject(a.Labels["app"], a.Severity), a.AlertID, data)
	}
	if err := stream.PublishAll(ctx, p.m.d.JS, msgs); err != nil {
		return err
	}
	for _, a := range p.outbox {
		if !a.Resend {
			p.m.d.Log.Info("alert transition", "alert_id", a.AlertID, "state", a.State, "severity", a.Severity, "summary", a.Summary)
		}
	}
	p.outbox = p.outbox[:0]
	return nil
}

// checkpointLocked saves the engine and the sequence it reflects. Alerts are published first, so
// a checkpoint never claims a transition that was not sent.
func (p *partition) checkpointLocked(ctx context.Context) error {
	if err := p.publishLocked(ctx); err != nil {
		return err
	}
	chunks, err := p.snapshotChunks()
	defer releaseChunks(chunks)
	if err != nil {
		return err
	}
	gen := p.gen + 1
	for i, c := range chunks {
		if _, err := p.m.state.Put(ctx, chunkKey(p.n, gen, i), c.Bytes()); err != nil {
			return fmt.Errorf("save checkpoint chunk %d of partition %d: %w", i, p.n, err)
		}
	}
	ext, err := p.ext.state()
	if err != nil {
		return err
	}
	volChunks, err := p.saveVolume(ctx, gen)
	if err != nil {
		return err
	}
	data, err := json.Marshal(checkpoint{Sequence: p.seq, Watermark: p.watermark, Generation: gen, Chunks: len(chunks), Ext: ext, VolumeChunks: volChunks})
	if err != nil {
		return err
	}
	if _, err := p.m.state.Put(ctx, leaseKey(p.n), data); err != nil {
		return fmt.Errorf("save checkpoint of partition %d: %w", p.n, err)
	}
	p.gen, p.saved = gen, time.Now()
	return nil
}

// checkpointPhase spreads the partitions' checkpoints over the interval instead of letting every
// partition a replica took at once encode and put its state at the same moment: together they
// held that much more memory at the peak, and the connection's write buffer kept the size of all
// their puts at once.
func checkpointPhase(n, partitions int, interval time.Duration) time.Duration {
	return interval * time.Duration(n) / time.Duration(max(partitions, 1))
}

// snapshotChunks splits the engine's state by a hash of the series into values of at most
// maxChunk bytes (a single series larger than that still gets a value of its own). The buffers
// are lent from chunkBuffers; releaseChunks takes them back.
func (p *partition) snapshotChunks() ([]*bytes.Buffer, error) {
	for k := 1; ; k *= 2 {
		chunks := make([]*bytes.Buffer, 0, k)
		fits := true
		for i := 0; i < k; i++ {
			buf := chunkBuffers.Get().(*bytes.Buffer)
			chunks = append(chunks, buf)
			err := p.engine.EncodeSnapshot(buf, func(s event.Series) bool { return k == 1 || stream.Partition(s.Key(), k) == i })
			if err != nil {
				return chunks, err
			}
			if buf.Len() > maxChunk && k < 1<<12 {
				fits = false
				break
			}
		}
		if fits {
			return chunks, nil
		}
		releaseChunks(chunks)
	}
}

// chunkBuffers keeps the buffers checkpoints encode into. Partitions checkpoint at spread
// phases, so a replica needs about one partition's state of them; a new copy of the encoded
// state at every checkpoint was a sixth of what drift allocated at full speed.
var chunkBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func releaseChunks(chunks []*bytes.Buffer) {
	for _, b := range chunks {
		b.Reset()
		chunkBuffers.Put(b)
	}
}

// chunkKey alternates between two slots, so the keys of a partition stay bounded while a new
// checkpoint never overwrites the chunks the current header names.
func chunkKey(n int, gen uint64, i int) string { return fmt.Sprintf("%s.%d.%d", leaseKey(n), gen%2, i) }

// shutdown stops reading and saves a final checkpoint.
func (p *partition) shutdown(ctx context.Context) error {
	p.cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("stop drift partition %d: %w", p.n, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.ext.close()
	return p.checkpointLocked(context.WithoutCancel(ctx))
}

// abandon stops reading without a checkpoint: the lease was lost or the process is being killed.
func (p *partition) abandon() {
	p.cancel()
	<-p.done
	p.ext.close()
}
