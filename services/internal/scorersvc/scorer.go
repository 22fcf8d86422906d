// Package scorersvc is the scorer service: it consumes EVENTS, runs the checks the rules select
// for each event and publishes one scored record per event on SCORED, packed into one message
// per partition per batch. It follows the rules
// document in the vigil_rules key-value bucket and switches to a new one without a restart. It also
// turns each feedback on FEEDBACK into a score row of source feedback (see FeedbackScored).
package scorersvc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the scorer's own configuration.
type Config struct {
	Workers      int           `envconfig:"SCORER_WORKERS" default:"0" desc:"concurrent scoring loops per replica (0: one per CPU)"`
	BatchSize    int           `envconfig:"SCORER_BATCH_SIZE" default:"1000" desc:"events scored per batch (their records are packed per partition into one SCORED message)"`
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

// Scorer is the scorer component: a source of events and a watch on the rules bucket.
type Scorer struct {
	src      *stream.Source[*event.Event]
	feedback *stream.Source[*event.Feedback]
	stage    *stage
	store    *rules.Store

	mu        sync.Mutex
	stopWatch func()
}

// New builds the scorer and creates the rules bucket if it is missing. contracts may be nil;
// ContractsDir is loaded into it. Until Start has read the bucket, events get the default set.
func New(ctx context.Context, d app.Deps, cfg Config, contracts *scoring.Contracts) (*Scorer, error) {
	if contracts == nil {
		contracts = scoring.NewContracts()
	}
	if cfg.ContractsDir != "" {
		if err := contracts.LoadDir(cfg.ContractsDir); err != nil {
			return nil, fmt.Errorf("load VIGIL_SCORER_CONTRACTS_DIR: %w", err)
		}
	}
	defaults, err := rules.Default(contracts)
	if err != nil {
		return nil, err
	}
	store, err := rules.OpenStore(ctx, d.JS)
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
	st := &stage{d: d, contracts: contracts, partitions: d.Common.Streams.Partitions,
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_scorer_rules_updates_total",
			Help: "Rules documents the scorer read from the vigil_rules bucket, by outcome (applied, invalid: kept the previous rules, deleted: back to the default set).",
		}, []string{"outcome"})}
	for _, o := range []string{"applied", "invalid", "deleted"} {
		st.updates.WithLabelValues(o)
	}
	if d.Registry != nil {
		if err := d.Registry.Register(st.updates); err != nil {
			return nil, fmt.Errorf("register scorer metrics: %w", err)
		}
	}
	st.set.Store(defaults)
	src := stream.NewSource(stream.SourceConfig{Stage: "scorer", BatchSize: cfg.BatchSize, MaxWait: cfg.MaxWait, PoisonDeliveries: 10, Workers: workers},
		d.JS, cons, stream.EventDecoder(event.Decoder{MaxBytes: d.Common.Streams.MaxEvent, Alias: true}), st, d.Log, d.Metrics)
	feedback, err := newFeedbackSource(ctx, d, cfg)
	if err != nil {
		return nil, err
	}
	return &Scorer{src: src, feedback: feedback, stage: st, store: store}, nil
}

// Start loads the current rules, then follows the bucket and consumes events and feedback until
// Shutdown.
func (s *Scorer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopWatch == nil {
		stop, err := s.store.Watch(ctx, s.stage.apply)
		if err != nil {
			return err
		}
		s.stopWatch = stop
	}
	if err := s.feedback.Start(ctx); err != nil {
		return err
	}
	return s.src.Start(ctx)
}

// Shutdown drains the sources of events and feedback, then stops following the rules. It is
// idempotent.
func (s *Scorer) Shutdown(ctx context.Context) error {
	err := errors.Join(s.src.Shutdown(ctx), s.feedback.Shutdown(ctx))
	s.mu.Lock()
	stop := s.stopWatch
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	return err
}

// RulesVersion returns the version of the rules document in force (scoring.RulesVersion when
// none is).
func (s *Scorer) RulesVersion() string { return s.stage.set.Load().Version() }

type stage struct {
	d          app.Deps
	contracts  *scoring.Contracts
	partitions int
	// set is swapped whole when the rules change; a batch loads it once.
	set     atomic.Pointer[rules.Set]
	updates *prometheus.CounterVec
	// batches holds the records and scores of a batch between batches: once published they are
	// bytes on the bus, and a fresh 2 MB of scores per 1,000 events would be most of what the
	// scorer allocates.
	batches sync.Pool
}

// scoredBatch is the room one batch's records are built in and packed from.
type scoredBatch struct {
	recs   []event.Scored
	scores []event.Score
	packer stream.ScoredPacker // reused only after every message it packed was acknowledged
}

// apply compiles a change of the rules document and swaps it in. A document that does not
// parse or validate (written by other means than vigil rules apply) is logged and ignored: the
// rules in force stay. A deleted document brings back the default set.
func (s *stage) apply(u rules.Update) {
	if u.Data == nil {
		set, err := rules.Default(s.contracts)
		if err != nil {
			s.d.Log.Error("build default checks", "err", err)
			return
		}
		s.set.Store(set)
		s.updates.WithLabelValues("deleted").Inc()
		s.d.Log.Info("rules deleted: scoring with the default set", "revision", u.Revision, "rules_version", set.Version())
		return
	}
	doc, err := rules.Parse(u.Data)
	var set *rules.Set
	if err == nil {
		set, err = rules.Compile(doc, s.contracts)
	}
	if err != nil {
		s.updates.WithLabelValues("invalid").Inc()
		s.d.Log.Error("ignore invalid rules document; keeping the rules in force", "revision", u.Revision,
			"rules_version", s.set.Load().Version(), "err", err)
		return
	}
	s.set.Store(set)
	s.updates.WithLabelValues("applied").Inc()
	s.d.Log.Info("rules applied", "revision", u.Revision, "rules_version", set.Version(), "rules", len(doc.Rules))
}

var _ stream.Stage[*event.Event] = (*stage)(nil)

// Process scores each event and publishes the records, packed per partition; the source acks
// the events only after JetStream stored every message.
func (s *stage) Process(ctx context.Context, events []*event.Event) error {
	b, _ := s.batches.Get().(*scoredBatch)
	if b == nil {
		b = &scoredBatch{}
	}
	defer func() {
		// Cleared, so that the pool keeps no event's text alive.
		clear(b.recs)
		clear(b.scores[:cap(b.scores)])
		s.batches.Put(b)
	}()
	if cap(b.recs) < len(events) {
		b.recs = make([]event.Scored, len(events))
	}
	recs := b.recs[:len(events)]
	// One array holds every record's scores; a record that outgrows the space left gets its own.
	if cap(b.scores) < 24*len(events) {
		b.scores = make([]event.Score, 0, 24*len(events))
	}
	scores := b.scores[:0]
	set := s.set.Load()
	for i, ev := range events {
		recs[i] = Record(set, ev, scores[len(scores):])
		if n := len(recs[i].Scores); len(scores)+n <= cap(scores) {
			scores = scores[:len(scores)+n]
		}
	}
	msgs, err := b.packer.Pack(recs, s.partitions, featureKey)
	if err != nil {
		return stream.Permanent(err)
	}
	if err := stream.PublishAll(ctx, s.d.JS, msgs); err != nil {
		// An unanswered publish may still be retried by the client from the packer's buffers:
		// they must not be reused for the next batch.
		b.packer = stream.ScoredPacker{}
		return err
	}
	return nil
}

// featureKey partitions score records by feature, so the drift replica that owns a feature sees
// all of its series.
func featureKey(r *event.Scored) string { return r.Series.FeatureKey() }
