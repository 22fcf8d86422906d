package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stage handles a batch and passes its results on. A nil error means every element was handled
// (dead-lettered ones included); the source then acks the batch. A *BatchError names elements
// that failed permanently; an error marked Permanent fails the whole batch for good; any other
// error is transient and the source retries the batch.
type Stage[T any] interface {
	Process(ctx context.Context, batch []T) error
}

// StageFunc adapts a function to Stage.
type StageFunc[T any] func(ctx context.Context, batch []T) error

// Process calls f.
func (f StageFunc[T]) Process(ctx context.Context, batch []T) error { return f(ctx, batch) }

// DecodeFunc turns a message into a stage element. An error dead-letters the message with the
// error text as the reason.
type DecodeFunc[T any] func(msg jetstream.Msg) (T, error)

// SourceConfig tunes a source.
type SourceConfig struct {
	// Stage names the stage in logs, metrics and dead-letter subjects.
	Stage string
	// BatchSize is the most messages handed to Process at once.
	BatchSize int
	// MaxWait is how long a fetch waits to fill a batch: the flush interval of a batching stage.
	MaxWait time.Duration
	// PoisonDeliveries dead-letters a message delivered this many times without an ack: the stage
	// crashed or hung on it repeatedly. 0 disables the check.
	PoisonDeliveries uint64
	// RetryMin and RetryMax bound the exponential backoff between retries of a transient failure.
	RetryMin, RetryMax time.Duration
	// MaxBytes bounds the bytes of one fetch (default 32 MiB), so that a batch of large messages
	// stays within the client's 64 MiB of pending data per subscription: past it the client drops
	// messages as a slow consumer, and they come back only after the ack wait. It is raised to
	// the server's largest message if that is bigger, or such a message could never be fetched.
	MaxBytes int
	// Workers is the number of concurrent fetch-process-settle loops on the consumer (default 1).
	// With more than one, the stage's Process must be safe for concurrent use and batches are no
	// longer handled in stream order.
	Workers int
}

func (c *SourceConfig) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 15 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 32 << 20
	}
}

// Source pulls batches from a durable consumer, decodes them, hands them to a stage and settles
// every message: ack after the stage succeeded, dead-letter on decode failure or permanent error,
// retry in place with backoff on transient errors while keeping the messages' ack deadline alive.
type Source[T any] struct {
	cfg     SourceConfig
	js      jetstream.JetStream
	cons    jetstream.Consumer
	decode  DecodeFunc[T]
	stage   Stage[T]
	log     *slog.Logger
	metrics *Metrics
	release func(T) // takes back memory the decoder lent a value; nil: nothing to take back

	mu       sync.Mutex
	started  bool
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewSource wires a source; nothing runs until Start. metrics may be nil.
func NewSource[T any](cfg SourceConfig, js jetstream.JetStream, cons jetstream.Consumer, decode DecodeFunc[T], stage Stage[T], log *slog.Logger, metrics *Metrics) *Source[T] {
	cfg.defaults()
	if nc := js.Conn(); nc != nil {
		// Room for the largest message the server accepts, with its subject and headers.
		cfg.MaxBytes = max(cfg.MaxBytes, int(nc.MaxPayload())+64<<10)
	}
	return &Source[T]{
		cfg: cfg, js: js, cons: cons, decode: decode, stage: stage,
		log:      log.With("stage", cfg.Stage),
		metrics:  metrics,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// ReleaseSettled makes the source call release with every decoded value once its message is
// settled (acked, dead-lettered or nak'ed), for a decoder that lends values pooled memory.
// Values of a batch abandoned at a hard stop are left to the garbage collector. Call it before
// Start.
func (s *Source[T]) ReleaseSettled(release func(T)) { s.release = release }

// Start runs the consume loop until Shutdown or until ctx is cancelled. Cancelling ctx is a hard
// stop: the batch in hand is abandoned unacknowledged and JetStream redelivers it.
func (s *Source[T]) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stopping:
		return ErrClosed
	default:
	}
	if s.started {
		return fmt.Errorf("stream: source %s already started", s.cfg.Stage)
	}
	s.started = true
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx)
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return nil
}

// Shutdown stops fetching, lets the batch in hand finish (ack included), and waits for the loop
// until ctx ends. It is idempotent and safe without Start.
func (s *Source[T]) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shut down source %s: %w", s.cfg.Stage, ctx.Err())
	}
}

func (s *Source[T]) run(ctx context.Context) {
	failures := 0
	for {
		select {
		case <-s.stopping:
			return
		case <-ctx.Done():
			return
		default:
		}
		batch, err := s.cons.Fetch(s.cfg.BatchSize, jetstream.FetchMaxWait(s.cfg.MaxWait), jetstream.FetchMaxBytes(s.cfg.MaxBytes))
		if err != nil {
			failures++
			s.log.Warn("fetch from consumer", "err", err, "attempt", failures)
			if !s.sleep(ctx, s.backoff(failures)) {
				return
			}
			continue
		}
		msgs := make([]jetstream.Msg, 0, s.cfg.BatchSize)
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !fetchEnded(err, len(msgs)) {
			failures++
			s.log.Warn("fetch batch", "err", err, "received", len(msgs))
			if len(msgs) == 0 && !s.sleep(ctx, s.backoff(failures)) {
				return
			}
		} else {
			failures = 0
		}
		if len(msgs) > 0 {
			s.handle(ctx, msgs)
		}
	}
}

// fetchEnded reports whether err, which ended a fetch that returned n messages, is just how a
// fetch ends: its wait ran out, or its byte budget or its batch was filled (the server says
// "batch completed" when a fetch with a byte budget got its count). A budget too small for even
// one message is a failure.
func fetchEnded(err error, n int) bool {
	switch {
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, jetstream.ErrBatchCompleted):
		return true
	case errors.Is(err, jetstream.ErrMaxBytesExceeded):
		return n > 0
	}
	return false
}

// handle decodes, processes and settles one fetched batch.
func (s *Source[T]) handle(ctx context.Context, msgs []jetstream.Msg) {
	start := time.Now()
	values := make([]T, 0, len(msgs))
	kept := make([]jetstream.Msg, 0, len(msgs))
	for _, m := range msgs {
		if s.cfg.PoisonDeliveries > 0 {
			if d, ok := DeliveryOf(m); ok && d.Count >= s.cfg.PoisonDeliveries {
				s.deadLetter(ctx, m, fmt.Sprintf("delivered %d times without an ack: the stage keeps failing on it", d.Count))
				continue
			}
		}
		v, err := s.decode(m)
		if err != nil {
			s.deadLetter(ctx, m, err.Error())
			continue
		}
		values = append(values, v)
		kept = append(kept, m)
	}
	for attempt := 1; len(values) > 0; attempt++ {
		err := s.stage.Process(ctx, values)
		var batchErr *BatchError
		switch {
		case err == nil:
			s.ackAll(kept)
		case errors.As(err, &batchErr):
			handled := kept[:0:0]
			for i, m := range kept {
				if ferr, failed := batchErr.Failed[i]; failed {
					s.deadLetter(ctx, m, ferr.Error())
				} else {
					handled = append(handled, m)
				}
			}
			s.ackAll(handled)
		case IsPermanent(err):
			for _, m := range kept {
				s.deadLetter(ctx, m, err.Error())
			}
		case ctx.Err() != nil:
			return // hard stop: JetStream redelivers the unacknowledged batch
		default:
			s.metrics.retried(s.cfg.Stage)
			delay := s.backoff(attempt)
			s.log.Warn("stage failed; retrying the batch", "err", err, "attempt", attempt, "batch", len(values), "retry_in", delay)
			for _, m := range kept {
				_ = m.InProgress() // keep the ack deadline from passing while we retry
			}
			if !s.sleep(ctx, delay) {
				return // shutting down: leave the batch to redelivery
			}
			continue
		}
		break
	}
	if s.release != nil {
		for _, v := range values {
			s.release(v)
		}
	}
	s.metrics.batchDone(s.cfg.Stage, time.Since(start))
}

// ackAll acks msgs and counts them once: a labelled counter costs a lookup per update.
func (s *Source[T]) ackAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			s.log.Warn("ack message", "err", err)
		}
	}
	s.metrics.settled(s.cfg.Stage, outcomeAck, len(msgs))
}

// deadLetter publishes m to the DLQ with the reason and terminates it; if the DLQ cannot take it,
// the message is nak'ed so that it is neither lost nor blocking.
func (s *Source[T]) deadLetter(ctx context.Context, m jetstream.Msg, reason string) {
	dl, err := DeadLetter(s.cfg.Stage, m, reason)
	if err == nil {
		_, err = s.js.PublishMsg(ctx, dl)
	}
	if err != nil {
		s.log.Error("dead-letter message; it will be redelivered", "err", err, "reason", reason)
		_ = m.NakWithDelay(5 * time.Second)
		s.metrics.settled(s.cfg.Stage, outcomeNak, 1)
		return
	}
	if err := m.TermWithReason("dead-lettered"); err != nil {
		s.log.Warn("terminate dead-lettered message", "err", err)
	}
	s.metrics.settled(s.cfg.Stage, outcomeDeadLetter, 1)
}

func (s *Source[T]) backoff(attempt int) time.Duration {
	d := s.cfg.RetryMin
	for i := 1; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}

// sleep waits d, returning false if the source is stopping or ctx ends first.
func (s *Source[T]) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping:
		return false
	case <-ctx.Done():
		return false
	}
}
