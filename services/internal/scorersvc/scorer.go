// Package scorersvc is the scorer service: it consumes EVENTS, runs the checks and publishes one
// scored record per event on SCORED.
package scorersvc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the scorer's own configuration.
type Config struct {
	Workers      int           `envconfig:"SCORER_WORKERS" default:"0" desc:"concurrent scoring loops per replica (0: one per CPU)"`
	BatchSize    int           `envconfig:"SCORER_BATCH_SIZE" default:"256" desc:"events scored per batch"`
	MaxWait      time.Duration `envconfig:"SCORER_MAX_WAIT" default:"100ms" desc:"longest wait to fill a batch"`
	AckWait      time.Duration `envconfig:"SCORER_ACK_WAIT" default:"30s" desc:"time before an unacknowledged event is redelivered"`
	ContractsDir string        `envconfig:"SCORER_CONTRACTS_DIR" desc:"directory of JSON Schemas for structured outputs; the file name (without .json) is the contract name events give in output_schema"`
	AdminAddr    string        `envconfig:"SCORER_ADMIN_ADDR" default:":9102" desc:"listen address of the scorer's /metrics, /healthz and /readyz"`
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("VIGIL_SCORER_BATCH_SIZE=%d: want 1 to 10000", c.BatchSize))
	}
	if c.Workers < 0 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("VIGIL_SCORER_WORKERS=%d: want 0 (one per CPU) to 256", c.Workers))
	}
	if c.MaxWait <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_SCORER_MAX_WAIT=%v: must be positive", c.MaxWait))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_SCORER_ACK_WAIT=%v: want at least 1s", c.AckWait))
	}
	return errors.Join(errs...)
}

// Durable is the consumer all scorer replicas share.
const Durable = "scorer"

// Scorer is the scorer component.
type Scorer struct {
	*stream.Source[*event.Event]
}

// New builds the scorer. contracts may be nil; ContractsDir is loaded into it.
func New(ctx context.Context, d app.Deps, cfg Config, contracts *scoring.Contracts) (*Scorer, error) {
	if contracts == nil {
		contracts = scoring.NewContracts()
	}
	if cfg.ContractsDir != "" {
		if err := contracts.LoadDir(cfg.ContractsDir); err != nil {
			return nil, fmt.Errorf("load VIGIL_SCORER_CONTRACTS_DIR: %w", err)
		}
	}
	sc, err := scoring.New(scoring.Options{Contracts: contracts})
	if err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: stream.Events, Durable: Durable, FilterSubjects: []string{stream.EventsRoot + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 4 * workers * cfg.BatchSize,
	})
	if err != nil {
		return nil, err
	}
	st := &stage{d: d, scorer: sc, partitions: d.Common.Streams.Partitions}
	src := stream.NewSource(stream.SourceConfig{Stage: "scorer", BatchSize: cfg.BatchSize, MaxWait: cfg.MaxWait, PoisonDeliveries: 10, Workers: workers},
		d.JS, cons, stream.EventDecoder(event.Decoder{MaxBytes: d.Common.Streams.MaxEvent}), st, d.Log, d.Metrics)
	return &Scorer{Source: src}, nil
}

type stage struct {
	d          app.Deps
	scorer     *scoring.Scorer
	partitions int
}

var _ stream.Stage[*event.Event] = (*stage)(nil)

// Process scores each event and publishes the records; the source acks the events only after
// JetStream stored every record.
func (s *stage) Process(ctx context.Context, events []*event.Event) error {
	msgs := make([]*nats.Msg, len(events))
	var scores []event.Score
	for i, ev := range events {
		scores = s.scorer.Score(ev, scores[:0])
		series := ev.Series()
		rec := event.Scored{
			EventID: ev.EventID, Timestamp: ev.Timestamp, Series: series, Stage: ev.Stage,
			Source: scoring.Source, RulesVersion: scoring.RulesVersion, Scores: scores,
		}
		data, err := event.Marshal(&rec)
		if err != nil {
			return stream.Permanent(err)
		}
		msgs[i] = stream.NewMsg(stream.ScoredSubject(series.FeatureKey(), s.partitions),
			"scored:"+ev.EventID+":"+rec.Source+":"+rec.RulesVersion, data)
	}
	return stream.PublishAll(ctx, s.d.JS, msgs)
}
