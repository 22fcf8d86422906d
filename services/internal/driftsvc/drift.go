// Package driftsvc is the drift service: it consumes SCORED, keeps each series' statistics
// against its baseline and publishes alert transitions on ALERTS.
package driftsvc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the drift service's configuration; the detector parameters map onto drift.Config.
type Config struct {
	Window         time.Duration `envconfig:"DRIFT_WINDOW" default:"1m" desc:"evaluation window on event time"`
	Grace          time.Duration `envconfig:"DRIFT_GRACE" default:"10s" desc:"how long a window waits for late events before it is evaluated"`
	BaselineSize   int           `envconfig:"DRIFT_BASELINE_SIZE" default:"500" desc:"events of a new series pinned as its baseline"`
	WarmUp         int           `envconfig:"DRIFT_WARM_UP" default:"0" desc:"events of a new series skipped before its baseline starts"`
	MinSamples     int           `envconfig:"DRIFT_MIN_SAMPLES" default:"50" desc:"events a window needs before it is evaluated (fewer: insufficient_data)"`
	Alpha          float64       `envconfig:"DRIFT_ALPHA" default:"0.001" desc:"significance per window and series, Bonferroni-corrected over its signals"`
	MinRateEffect  float64       `envconfig:"DRIFT_MIN_RATE_EFFECT" default:"0.05" desc:"failure-rate increase an alert needs besides significance (0.05 = 5 points)"`
	MinMeanEffect  float64       `envconfig:"DRIFT_MIN_MEAN_EFFECT" default:"0.5" desc:"mean shift in baseline standard deviations an alert needs"`
	PendingWindows int           `envconfig:"DRIFT_PENDING_WINDOWS" default:"1" desc:"further true windows an alert stays pending before it fires"`
	ResolveWindows int           `envconfig:"DRIFT_RESOLVE_WINDOWS" default:"2" desc:"consecutive healthy windows before a firing alert resolves"`
	ResendWindows  int           `envconfig:"DRIFT_RESEND_WINDOWS" default:"10" desc:"windows between re-sends of a firing alert (0: never)"`
	BatchSize      int           `envconfig:"DRIFT_BATCH_SIZE" default:"1000" desc:"scored records handled per batch"`
	AckWait        time.Duration `envconfig:"DRIFT_ACK_WAIT" default:"30s" desc:"time before an unacknowledged record is redelivered"`
	AdminAddr      string        `envconfig:"DRIFT_ADMIN_ADDR" default:":9103" desc:"listen address of the drift service's /metrics, /healthz and /readyz"`
}

// Detector returns the drift engine configuration.
func (c Config) Detector() drift.Config {
	d := drift.DefaultConfig()
	d.Window, d.Grace, d.BaselineSize, d.WarmUp, d.MinSamples = c.Window, c.Grace, c.BaselineSize, c.WarmUp, c.MinSamples
	d.Alpha, d.MinRateEffect, d.MinMeanEffect = c.Alpha, c.MinRateEffect, c.MinMeanEffect
	d.PendingWindows, d.ResolveWindows, d.ResendWindows = c.PendingWindows, c.ResolveWindows, c.ResendWindows
	return d
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Detector().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_*: %w", err))
	}
	if c.BatchSize < 1 || c.BatchSize > 50000 {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_BATCH_SIZE=%d: want 1 to 50000", c.BatchSize))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_ACK_WAIT=%v: want at least 1s", c.AckWait))
	}
	return errors.Join(errs...)
}

// Durable is the drift service's consumer of SCORED.
const Durable = "drift"

// Drift is the drift component: a source over SCORED and a ticker that closes windows when
// traffic pauses.
type Drift struct {
	src     *stream.Source[*event.Scored]
	stage   *stage
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

// New builds the drift component.
func New(ctx context.Context, d app.Deps, cfg Config) (*Drift, error) {
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: stream.Scored, Durable: Durable, FilterSubjects: []string{stream.ScoredRoot + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 4 * cfg.BatchSize,
	})
	if err != nil {
		return nil, err
	}
	st := &stage{d: d, engine: drift.NewEngine(cfg.Detector()), grace: cfg.Grace, now: time.Now}
	src := stream.NewSource(stream.SourceConfig{Stage: "drift", BatchSize: cfg.BatchSize, MaxWait: 200 * time.Millisecond, PoisonDeliveries: 10},
		d.JS, cons, stream.ScoredDecoder, st, d.Log, d.Metrics)
	return &Drift{src: src, stage: st, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Start runs the source and the idle ticker.
func (c *Drift) Start(ctx context.Context) error {
	if err := c.src.Start(ctx); err != nil {
		return err
	}
	c.started.Store(true)
	go c.tick(ctx)
	return nil
}

// Shutdown drains the source, stops the ticker, and makes a last attempt to publish held alerts.
func (c *Drift) Shutdown(ctx context.Context) error {
	err := c.src.Shutdown(ctx)
	c.once.Do(func() { close(c.stop) })
	if c.started.Load() {
		select {
		case <-c.done:
		case <-ctx.Done():
			return errors.Join(err, fmt.Errorf("stop drift ticker: %w", ctx.Err()))
		}
	}
	return errors.Join(err, c.stage.flush(ctx))
}

// tick closes windows on wall-clock time while no records arrive, so an alert resolves (or fires)
// even when traffic stops.
func (c *Drift) tick(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := c.stage.idle(ctx); err != nil {
				c.stage.d.Log.Warn("publish alerts; will retry", "err", err)
			}
		case <-c.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

type stage struct {
	d     app.Deps
	grace time.Duration
	now   func() time.Time

	mu        sync.Mutex
	engine    *drift.Engine
	watermark time.Time // newest event time seen
	lastSeen  time.Time // wall time of the newest record
	lastFirst *event.Scored
	outbox    []event.Alert // transitions not yet stored by JetStream
}

var _ stream.Stage[*event.Scored] = (*stage)(nil)

// Process feeds the batch to the engine once (a retried batch is not observed twice), then
// publishes every alert it produced; records are acked only after their alerts are stored.
func (s *stage) Process(ctx context.Context, recs []*event.Scored) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(recs) > 0 && recs[0] != s.lastFirst {
		s.lastFirst = recs[0]
		for _, r := range recs {
			s.engine.Observe(r)
			if r.Timestamp.After(s.watermark) {
				s.watermark = r.Timestamp
			}
		}
		s.lastSeen = s.now()
		s.outbox = append(s.outbox, s.engine.Advance(s.watermark)...)
	}
	return s.publishLocked(ctx)
}

// idle advances the watermark by the wall time elapsed since the last record once that exceeds
// the grace period.
func (s *stage) idle(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.watermark.IsZero() {
		if quiet := s.now().Sub(s.lastSeen); quiet > s.grace {
			s.outbox = append(s.outbox, s.engine.Advance(s.watermark.Add(quiet))...)
		}
	}
	return s.publishLocked(ctx)
}

func (s *stage) flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishLocked(ctx)
}

func (s *stage) publishLocked(ctx context.Context) error {
	if len(s.outbox) == 0 {
		return nil
	}
	msgs := make([]*nats.Msg, len(s.outbox))
	for i := range s.outbox {
		a := &s.outbox[i]
		data, err := event.Marshal(a)
		if err != nil {
			return stream.Permanent(err)
		}
		msgs[i] = stream.NewMsg(stream.AlertSubject(a.Labels["app"], a.Severity), a.AlertID, data)
	}
	if err := stream.PublishAll(ctx, s.d.JS, msgs); err != nil {
		return err
	}
	for _, a := range s.outbox {
		if !a.Resend {
			s.d.Log.Info("alert transition", "alert_id", a.AlertID, "state", a.State, "severity", a.Severity, "summary", a.Summary)
		}
	}
	s.outbox = s.outbox[:0]
	return nil
}
