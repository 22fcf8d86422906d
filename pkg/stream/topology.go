// Package stream owns vigil's JetStream topology and the plumbing every stage shares: publishing
// with de-duplication, pull consumers that settle a batch only after its results are durable, and
// the dead-letter stream.
package stream

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream names.
const (
	Events = "EVENTS"
	Scored = "SCORED"
	Alerts = "ALERTS"
	DLQ    = "DLQ"
	// Feedback has a stream of its own: its de-duplication window then holds feedback ids only,
	// so a feedback id equal to some event id is never dropped as a copy of that event.
	Feedback = "FEEDBACK"
)

// Subject roots; a full subject adds tokens (see the *Subject functions).
const (
	EventsRoot   = "vigil.events"
	ScoredRoot   = "vigil.scored"
	AlertsRoot   = "vigil.alerts"
	DLQRoot      = "vigil.dlq"
	FeedbackRoot = "vigil.feedback"
)

// EventsSubject is where app publishes its events.
func EventsSubject(app string) string { return EventsRoot + "." + app }

// FeedbackSubject is where app publishes feedback about its model calls.
func FeedbackSubject(app string) string { return FeedbackRoot + "." + app }

// AlertSubject is where an alert of app with severity is published.
func AlertSubject(app, severity string) string { return AlertsRoot + "." + app + "." + severity }

// DLQSubject is where stage dead-letters messages.
func DLQSubject(stage string) string { return DLQRoot + "." + stage }

// ScoredSubject is the subject of a scored record whose partition key is key (the feature:
// event.Series.FeatureKey), spread over partitions by an FNV-1a hash so that one feature always
// lands in one partition.
func ScoredSubject(key string, partitions int) string {
	return fmt.Sprintf("%s.%d", ScoredRoot, Partition(key, partitions))
}

// ScoredPartitionSubject is the subject of one partition of SCORED.
func ScoredPartitionSubject(partition int) string { return fmt.Sprintf("%s.%d", ScoredRoot, partition) }

// Partition maps a series key to one of n partitions.
func Partition(seriesKey string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(seriesKey))
	return int(h.Sum32() % uint32(n))
}

// Limits bound what the streams keep. With DiscardNew, a full stream refuses new messages (the
// publisher gets an error and can retry) instead of silently dropping old, unprocessed ones.
type Limits struct {
	Replicas   int
	MaxAge     time.Duration
	MaxBytes   int64
	Duplicates time.Duration
	FileStore  bool
}

// Topology describes every stream vigil uses.
func Topology(l Limits) []jetstream.StreamConfig {
	storage := jetstream.MemoryStorage
	if l.FileStore {
		storage = jetstream.FileStorage
	}
	maxBytes := l.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	base := func(name, root, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{root + ".>"},
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardNew,
			MaxAge:      l.MaxAge,
			MaxBytes:    maxBytes,
			Duplicates:  l.Duplicates,
			Replicas:    max(l.Replicas, 1),
			Storage:     storage,
		}
	}
	dlq := base(DLQ, DLQRoot, "vigil: messages a stage could not process, with the reason in headers")
	// Dead letters are rare and the same input may be rejected by two stages: a long
	// de-duplication window keeps one copy at a small memory cost.
	dlq.Duplicates = 24 * time.Hour
	dlq.MaxAge = max(l.MaxAge, 7*24*time.Hour)
	return []jetstream.StreamConfig{
		base(Events, EventsRoot, "vigil: model-call events published by applications"),
		base(Scored, ScoredRoot, "vigil: scores per event, partitioned by series"),
		base(Alerts, AlertsRoot, "vigil: drift alert transitions"),
		base(Feedback, FeedbackRoot, "vigil: user feedback and late ground-truth labels about model calls"),
		dlq,
	}
}

// EnsureStreams creates every stream or updates it to the given limits. It is idempotent and
// safe to call from every service at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, l Limits) error {
	for _, cfg := range Topology(l) {
		_, err := askAgainIfUnanswered(ctx, func(ctx context.Context) (jetstream.Stream, error) {
			return js.CreateOrUpdateStream(ctx, cfg)
		})
		if err != nil {
			return fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// ConsumerConfig describes a durable pull consumer of one stage.
type ConsumerConfig struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	AckWait        time.Duration
	MaxDeliver     int
	MaxAckPending  int
}

// EnsureConsumer creates or updates a durable pull consumer with explicit acks.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, c ConsumerConfig) (jetstream.Consumer, error) {
	if c.Durable == "" || c.Stream == "" {
		return nil, errors.New("stream: consumer needs a stream and a durable name")
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       c.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    c.MaxDeliver,
		MaxAckPending: c.MaxAckPending,
	}
	if len(c.FilterSubjects) == 1 {
		cfg.FilterSubject = c.FilterSubjects[0]
	} else {
		cfg.FilterSubjects = c.FilterSubjects
	}
	cons, err := askAgainIfUnanswered(ctx, func(ctx context.Context) (jetstream.Consumer, error) {
		return js.CreateOrUpdateConsumer(ctx, c.Stream, cfg)
	})
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s on %s: %w", c.Durable, c.Stream, err)
	}
	return cons, nil
}

// setupRequestWait bounds one unanswered setup request. A JetStream cluster answers only one of
// two identical creates that race (every service sets up the topology at start), and the other
// client would wait out its whole deadline.
const setupRequestWait = 4 * time.Second

// askAgainIfUnanswered repeats an idempotent create-or-update whose answer does not come within
// setupRequestWait, until ctx ends: the repeat finds the object made and is answered at once.
func askAgainIfUnanswered[T any](ctx context.Context, request func(context.Context) (T, error)) (T, error) {
	for {
		rctx, cancel := context.WithTimeout(ctx, setupRequestWait)
		v, err := request(rctx)
		cancel()
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		if err == nil || !unanswered || ctx.Err() != nil {
			return v, err
		}
	}
}
