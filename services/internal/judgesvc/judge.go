// Package judgesvc is the judge service: it consumes EVENTS with a durable consumer of its own,
// asks LLM judges about a deterministic sample of the events, and publishes one scored record per
// judged event on SCORED, beside the checks' record. A slow or failing judge endpoint holds up
// only this consumer, never the scorer.
package judgesvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/judge"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the judge service's own configuration; the judges themselves are in the JSON file
// VIGIL_JUDGE_CONFIG names.
type Config struct {
	ConfigFile  string        `envconfig:"JUDGE_CONFIG" desc:"JSON file listing the LLM judges (endpoint, model, rubric, threshold, sample rate, caps); see README, LLM judges"`
	Concurrency int           `envconfig:"JUDGE_CONCURRENCY" default:"8" desc:"judge requests in flight at once per replica"`
	BatchSize   int           `envconfig:"JUDGE_BATCH_SIZE" default:"64" desc:"events fetched and judged per batch"`
	CacheSize   int           `envconfig:"JUDGE_CACHE_SIZE" default:"10000" desc:"judge answers kept in memory by judge version and prompt hash, so a retried batch or a repeated prompt is not paid twice (0: none)"`
	AckWait     time.Duration `envconfig:"JUDGE_ACK_WAIT" default:"60s" desc:"time before an unacknowledged event is redelivered; kept alive while a batch is judged"`
	AdminAddr   string        `envconfig:"JUDGE_ADMIN_ADDR" default:":9106" desc:"listen address of the judge service's /metrics, /healthz and /readyz"`
}

// Validate reports every bad field at once. It reads the judge file and checks that each API key
// variable it names is set; no message shows a key.
func (c Config) Validate() error {
	var errs []error
	if c.ConfigFile == "" {
		errs = append(errs, errors.New("VIGIL_JUDGE_CONFIG: required; name the JSON file of judges (see README, LLM judges)"))
	} else if _, err := judge.LoadFile(c.ConfigFile); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_JUDGE_CONFIG=%q: %w", c.ConfigFile, err))
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("VIGIL_JUDGE_CONCURRENCY=%d: want 1 to 1024", c.Concurrency))
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("VIGIL_JUDGE_BATCH_SIZE=%d: want 1 to 10000", c.BatchSize))
	}
	if c.CacheSize < 0 || c.CacheSize > 10_000_000 {
		errs = append(errs, fmt.Errorf("VIGIL_JUDGE_CACHE_SIZE=%d: want 0 to 10000000", c.CacheSize))
	}
	if c.AckWait < 3*time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_JUDGE_ACK_WAIT=%v: want at least 3s", c.AckWait))
	}
	if c.AdminAddr == "" {
		errs = append(errs, errors.New("VIGIL_JUDGE_ADMIN_ADDR: must not be empty"))
	}
	return errors.Join(errs...)
}

// Durable is the consumer of EVENTS all judge replicas share; it is not the scorer's, so judging
// never holds up the checks.
const Durable = "judge"

// Judge is the judge component.
type Judge struct {
	src       *stream.Source[delivery]
	transport *http.Transport
}

// New builds the judge service from cfg; the judges come from cfg.ConfigFile unless file is given.
func New(ctx context.Context, d app.Deps, cfg Config, file *judge.File) (*Judge, error) {
	if file == nil {
		if cfg.ConfigFile == "" {
			return nil, errors.New("VIGIL_JUDGE_CONFIG: set it to a judge file (see README, LLM judges)")
		}
		var err error
		if file, err = judge.LoadFile(cfg.ConfigFile); err != nil {
			return nil, err
		}
	} else if err := file.Validate(); err != nil {
		return nil, err
	}
	var metrics *judge.Metrics
	if d.Registry != nil {
		var err error
		if metrics, err = judge.NewMetrics(d.Registry); err != nil {
			return nil, err
		}
	}
	concurrency := max(cfg.Concurrency, 1)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = concurrency
	opts := judge.Options{
		Client: &http.Client{Transport: transport}, Cache: judge.NewCache(cfg.CacheSize),
		Metrics: metrics, Log: d.Log,
	}
	st := &stage{
		d: d, version: file.Version(), partitions: d.Common.Streams.Partitions, concurrency: concurrency,
		keepAlive: max(cfg.AckWait/3, 100*time.Millisecond), settled: map[string]*event.Score{},
	}
	for _, j := range file.Judges {
		r, err := judge.New(j, opts)
		if err != nil {
			return nil, err
		}
		st.runners = append(st.runners, r)
		d.Log.Info("judge configured", "judge", j.Name, "metric", j.Metric(), "model", j.Model,
			"endpoint", config.Redact(j.Endpoint), "sample_rate", j.SampleRate, "version", r.Version())
	}
	batch := max(cfg.BatchSize, 1)
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: stream.Events, Durable: Durable, FilterSubjects: []string{stream.EventsRoot + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 2 * batch,
	})
	if err != nil {
		return nil, err
	}
	decode := stream.EventDecoder(event.Decoder{MaxBytes: d.Common.Streams.MaxEvent})
	src := stream.NewSource(stream.SourceConfig{
		Stage: "judge", BatchSize: batch, MaxWait: 200 * time.Millisecond, PoisonDeliveries: 10,
		RetryMax: min(30*time.Second, cfg.AckWait/2),
	}, d.JS, cons, func(m jetstream.Msg) (delivery, error) {
		ev, err := decode(m)
		return delivery{ev: ev, msg: m}, err
	}, st, d.Log, d.Metrics)
	return &Judge{src: src, transport: transport}, nil
}

// Start starts consuming events.
func (j *Judge) Start(ctx context.Context) error { return j.src.Start(ctx) }

// Shutdown lets the batch in hand finish (its records published, its events acked) within ctx,
// then closes idle connections to the judge endpoints. It is idempotent and safe without Start.
func (j *Judge) Shutdown(ctx context.Context) error {
	err := j.src.Shutdown(ctx)
	j.transport.CloseIdleConnections()
	return err
}

// delivery is an event with its message, whose ack deadline the stage keeps alive while it waits
// for judges.
type delivery struct {
	ev  *event.Event
	msg jetstream.Msg
}

type stage struct {
	d           app.Deps
	runners     []*judge.Runner
	version     string
	partitions  int
	concurrency int
	keepAlive   time.Duration

	// settled holds, across the retries of a batch, the (event, judge) pairs already decided: a
	// score, or nil for an event the judge skips (not selected, malformed answer, refused
	// request, a cap). A retry asks only about the rest, so nothing is paid or counted twice.
	mu      sync.Mutex
	settled map[string]*event.Score
}

var _ stream.Stage[delivery] = (*stage)(nil)

func pairKey(eventID string, r *judge.Runner) string { return eventID + "\x00" + r.Name() }

// Process judges the batch's events, at most concurrency requests at a time, and publishes one
// record per event that got at least one score. An event a judge cannot score for good (see
// judge.Runner.Score) goes without that judge's score, counted in vigil_judge_calls_total. A
// transient failure of a judge stops new requests to it and fails the batch, which the source
// retries in place with backoff; pairs already settled are kept.
func (s *stage) Process(ctx context.Context, batch []delivery) error {
	stop := s.keepMessagesAlive(batch)
	defer stop()

	type task struct {
		ev  *event.Event
		r   *judge.Runner
		key string
	}
	var tasks []task
	for _, dl := range batch {
		for _, r := range s.runners {
			key := pairKey(dl.ev.EventID, r)
			if s.isSettled(key) {
				continue
			}
			if !r.Select(dl.ev) {
				s.settle(key, nil)
				continue
			}
			tasks = append(tasks, task{ev: dl.ev, r: r, key: key})
		}
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failed   = map[*judge.Runner]error{}
		sem      = make(chan struct{}, s.concurrency)
		canceled bool
	)
	for _, t := range tasks {
		mu.Lock()
		_, down := failed[t.r]
		mu.Unlock()
		if down {
			continue // the endpoint failed this round; the retry asks again
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			canceled = true
		}
		if canceled {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			sc, err := t.r.Score(ctx, t.ev)
			switch {
			case err == nil:
				s.settle(t.key, &sc)
			case judge.Transient(err) || ctx.Err() != nil:
				mu.Lock()
				if _, seen := failed[t.r]; !seen {
					failed[t.r] = err
				}
				mu.Unlock()
			default:
				s.settle(t.key, nil)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		errs := make([]error, 0, len(failed))
		for r, err := range failed {
			errs = append(errs, fmt.Errorf("judge %s: %w", r.Name(), err))
		}
		return errors.Join(errs...)
	}

	msgs := make([]*nats.Msg, 0, len(batch))
	for _, dl := range batch {
		ev := dl.ev
		var scores []event.Score
		s.mu.Lock()
		for _, r := range s.runners {
			if sc := s.settled[pairKey(ev.EventID, r)]; sc != nil {
				scores = append(scores, *sc)
			}
		}
		s.mu.Unlock()
		if len(scores) == 0 {
			continue
		}
		series := ev.Series()
		rec := event.Scored{
			EventID: ev.EventID, Timestamp: ev.Timestamp, Series: series, Stage: ev.Stage,
			Source: judge.Source, RulesVersion: s.version, Scores: scores,
		}
		data, err := event.Marshal(&rec)
		if err != nil {
			s.forget(batch)
			return stream.Permanent(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(series.Key(), s.partitions),
			"scored:"+ev.EventID+":"+judge.Source+":"+s.version, data))
	}
	if err := stream.PublishAll(ctx, s.d.JS, msgs); err != nil {
		return err
	}
	s.forget(batch)
	return nil
}

// forget drops the batch's settled pairs once the batch is done with.
func (s *stage) forget(batch []delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dl := range batch {
		for _, r := range s.runners {
			delete(s.settled, pairKey(dl.ev.EventID, r))
		}
	}
}

func (s *stage) isSettled(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.settled[key]
	return ok
}

func (s *stage) settle(key string, sc *event.Score) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled[key] = sc
}

// keepMessagesAlive tells JetStream every keepAlive that the batch is still being worked on, so a
// slow judge does not let the ack deadline pass; the returned function stops it and waits.
func (s *stage) keepMessagesAlive(batch []delivery) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(s.keepAlive)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, dl := range batch {
					_ = dl.msg.InProgress()
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
