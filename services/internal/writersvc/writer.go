// Package writersvc is the writer service: it consumes EVENTS, SCORED, ALERTS and FEEDBACK and
// batch-inserts them into ClickHouse, acking a batch only after its INSERT succeeded.
package writersvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/redact"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/telemetry"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the writer's configuration.
type Config struct {
	BatchSize     int           `envconfig:"WRITER_BATCH_SIZE" default:"20000" desc:"rows per INSERT at most (events and scores; alerts use a tenth)"`
	FlushInterval time.Duration `envconfig:"WRITER_FLUSH_INTERVAL" default:"1s" desc:"longest wait to fill a batch before inserting what arrived"`
	AckWait       time.Duration `envconfig:"WRITER_ACK_WAIT" default:"60s" desc:"time before an unacknowledged message is redelivered; kept alive while an insert is retried"`
	AdminAddr     string        `envconfig:"WRITER_ADMIN_ADDR" default:":9104" desc:"listen address of the writer's /metrics, /healthz and /readyz"`
	Redact        string        `envconfig:"WRITER_REDACT" default:"mask" desc:"what happens to e-mails, phone numbers, cards, IBANs, national identity numbers and secrets in stored text: mask, hash or off, per app as default=mask,shop=hash"`

	RetainEvents      time.Duration `envconfig:"WRITER_RETAIN_EVENTS" default:"720h" desc:"how long model_calls keeps events (whole days are dropped; 0: forever)"`
	RetainScores      time.Duration `envconfig:"WRITER_RETAIN_SCORES" default:"2160h" desc:"how long scores keeps score rows (0: forever)"`
	RetainAlerts      time.Duration `envconfig:"WRITER_RETAIN_ALERTS" default:"8760h" desc:"how long alerts keeps transitions (whole months; 0: forever)"`
	RetainRollup      time.Duration `envconfig:"WRITER_RETAIN_ROLLUP" default:"8760h" desc:"how long quality_5m keeps its rollup (whole months; 0: forever)"`
	RetentionInterval time.Duration `envconfig:"WRITER_RETENTION_INTERVAL" default:"1h" desc:"how often expired partitions are dropped (0: never)"`
}

// Retention returns the per-table retention; stored_keys lives as long as the rows it indexes.
func (c Config) Retention() store.Retention {
	keys := max(c.RetainEvents, c.RetainScores, c.RetainAlerts)
	if c.RetainEvents == 0 || c.RetainScores == 0 || c.RetainAlerts == 0 {
		keys = 0
	}
	return store.Retention{
		store.TableModelCalls: c.RetainEvents, store.TableScores: c.RetainScores, store.TableAlerts: c.RetainAlerts,
		store.TableQuality: c.RetainRollup, "stored_keys": keys,
		// Feedback lives as long as the score rows made from it.
		store.TableFeedback: c.RetainScores,
	}
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 10 || c.BatchSize > 100000 {
		errs = append(errs, fmt.Errorf("VIGIL_WRITER_BATCH_SIZE=%d: want 10 to 100000", c.BatchSize))
	}
	if c.FlushInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("VIGIL_WRITER_FLUSH_INTERVAL=%v: want at least 10ms", c.FlushInterval))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_WRITER_ACK_WAIT=%v: want at least 1s", c.AckWait))
	}
	if _, err := redact.ParsePolicy(c.Redact); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_WRITER_REDACT=%q: %w", c.Redact, err))
	}
	for name, d := range map[string]time.Duration{"RETAIN_EVENTS": c.RetainEvents, "RETAIN_SCORES": c.RetainScores,
		"RETAIN_ALERTS": c.RetainAlerts, "RETAIN_ROLLUP": c.RetainRollup, "RETENTION_INTERVAL": c.RetentionInterval} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("VIGIL_WRITER_%s=%v: must not be negative", name, d))
		} else if d > 0 && d < time.Minute && name != "RETENTION_INTERVAL" {
			errs = append(errs, fmt.Errorf("VIGIL_WRITER_%s=%v: want at least 24h (partitions are whole days) or 0", name, d))
		}
	}
	return errors.Join(errs...)
}

// Durable consumer names of the writer, one per stream.
const (
	DurableEvents   = "writer-events"
	DurableScored   = "writer-scored"
	DurableAlerts   = "writer-alerts"
	DurableFeedback = "writer-feedback"
)

// New migrates the schema, then builds one source per stream; all share conn.
func New(ctx context.Context, d app.Deps, cfg Config, conn driver.Conn) ([]lifecycle.Named, error) {
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_writer_rows_total",
		Help: "Rows inserted into ClickHouse, and redelivered rows skipped because they were already stored.",
	}, []string{"table", "outcome"})
	rows, err := telemetry.Register(d.Registry, rows)
	if err != nil {
		return nil, err
	}
	policy, err := redact.ParsePolicy(cfg.Redact)
	if err != nil {
		return nil, fmt.Errorf("VIGIL_WRITER_REDACT: %w", err)
	}
	redactions := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vigil_writer_redactions_total",
		Help: "Pieces of personal data and secrets masked or hashed before storage.",
	})
	if redactions, err = telemetry.Register(d.Registry, redactions); err != nil {
		return nil, err
	}
	decodeRaw := stream.EventDecoder(event.Decoder{MaxBytes: d.Common.Streams.MaxEvent, Alias: true})
	// Redact after decoding: the scorer reads the raw event from the stream, so its pii and
	// secrets scores stay; only the stored copy is masked.
	decodeEvent := func(m jetstream.Msg) (*event.Event, error) {
		ev, err := decodeRaw(m)
		if err == nil {
			redactions.Add(float64(policy.Event(ev)))
		}
		return ev, err
	}
	// Each table's String columns keep their arrays from batch to batch.
	inserter := &store.Inserter{}
	events, err := newSource(ctx, d, cfg, stream.Events, DurableEvents, stream.EventsRoot, cfg.BatchSize, 0, decodeEvent,
		sink[*event.Event]{conn: conn, table: store.TableModelCalls, rows: rows, insert: inserter.ModelCalls,
			key: func(e *event.Event) string { return e.EventID }})
	if err != nil {
		return nil, err
	}
	// A packed SCORED message holds many rows: it is skipped only when every one is stored.
	// Its records are decoded into pooled memory, given back once the batch is settled.
	pool := stream.NewScoredPool(scoredPoolBytes(cfg.BatchSize))
	scored, err := newSource(ctx, d, cfg, stream.Scored, DurableScored, stream.ScoredRoot, cfg.BatchSize, scoredBytes(cfg.BatchSize), pool.Decode,
		sink[*stream.PooledScored]{conn: conn, table: store.TableScores, rows: rows, insert: insertScored(inserter, cfg.BatchSize),
			keys: scoreKeys, size: func(m *stream.PooledScored) int { return len(m.Records) }})
	if err != nil {
		return nil, err
	}
	scored.ReleaseSettled(func(d stream.Delivered[*stream.PooledScored]) { d.Value.Release() })
	alerts, err := newSource(ctx, d, cfg, stream.Alerts, DurableAlerts, stream.AlertsRoot, max(cfg.BatchSize/10, 10), 0, stream.AlertDecoder,
		sink[*event.Alert]{conn: conn, table: store.TableAlerts, rows: rows, insert: store.InsertAlerts,
			key: func(a *event.Alert) string { return a.AlertID }})
	if err != nil {
		return nil, err
	}
	feedback, err := newSource(ctx, d, cfg, stream.Feedback, DurableFeedback, stream.FeedbackRoot, max(cfg.BatchSize/10, 10), 0, stream.FeedbackDecoder,
		sink[*event.Feedback]{conn: conn, table: store.TableFeedback, rows: rows, insert: store.InsertFeedback, key: store.FeedbackKey})
	if err != nil {
		return nil, err
	}
	baselines, err := newBaselineSource(ctx, d, cfg, conn, rows)
	if err != nil {
		return nil, err
	}
	return []lifecycle.Named{
		{Name: "retention", Component: &retention{conn: conn, cluster: d.Common.ClickHouseCluster, r: cfg.Retention(), every: cfg.RetentionInterval, log: d.Log}},
		{Name: "writer-baselines", Component: baselines},
		{Name: "writer-feedback", Component: feedback},
		{Name: "writer-alerts", Component: alerts},
		{Name: "writer-scored", Component: scored},
		{Name: "writer-events", Component: events},
	}, nil
}

// newSource builds the source of one table: batch messages per fetch at most, and maxBytes of
// them (0: the source's default).
func newSource[T any](ctx context.Context, d app.Deps, cfg Config, streamName, durable, root string, batch, maxBytes int,
	decode stream.DecodeFunc[T], s sink[T]) (*stream.Source[stream.Delivered[T]], error) {
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: streamName, Durable: durable, FilterSubjects: []string{root + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 2 * batch,
	})
	if err != nil {
		return nil, err
	}
	return stream.NewSource(stream.SourceConfig{Stage: durable, BatchSize: batch, MaxBytes: maxBytes, MaxWait: cfg.FlushInterval, PoisonDeliveries: 0, RetryMax: 5 * time.Second},
		d.JS, cons, stream.WithDelivery(decode), s, d.Log, d.Metrics), nil
}

// sink inserts one table's rows. Redelivered messages whose rows are all present in stored_keys
// are skipped, so the usual copies never reach the table; the views' FINAL collapses any that
// slip through.
type sink[T any] struct {
	conn   driver.Conn
	table  string
	rows   *prometheus.CounterVec
	insert func(context.Context, driver.Conn, []T) error
	key    func(T) string   // the identity of a one-row value, as stored_keys records it
	keys   func(T) []string // or, for a value of many rows, the identity of each
	size   func(T) int      // rows a value holds; nil: one
}

// identities returns the stored_keys identities of v's rows.
func (s sink[T]) identities(v T) []string {
	if s.keys != nil {
		return s.keys(v)
	}
	return []string{s.key(v)}
}

// stored reports whether every row of v is in found.
func (s sink[T]) stored(v T, found map[string]bool) bool {
	for _, k := range s.identities(v) {
		if !found[k] {
			return false
		}
	}
	return true
}

// scoreKeys are the identities of a packed message's rows.
func scoreKeys(m *stream.PooledScored) []string {
	keys := make([]string, len(m.Records))
	for i := range m.Records {
		keys[i] = store.ScoreKey(&m.Records[i])
	}
	return keys
}

// rowCount is the number of rows in values.
func (s sink[T]) rowCount(values []T) float64 {
	if s.size == nil {
		return float64(len(values))
	}
	n := 0
	for _, v := range values {
		n += s.size(v)
	}
	return float64(n)
}

// scoredBytes is the fetch budget of the scored source: a packed message holds many records,
// so a batch of rows is bounded by bytes rather than by messages. Compressed, a record of 18
// scores takes 150-200 bytes (1.7 KB as JSON), so 128 bytes a record keeps a fetch near rows
// records, up to about twice that for records that compress better.
func scoredBytes(rows int) int { return rows << 7 }

// scoredPoolBytes is the memory kept for decoding the next batch of SCORED messages: about what
// a batch of rows records takes decoded (1.7 KB of JSON, 18 scores of 80 bytes each and the
// record itself), with room for buffers a little larger than their messages.
func scoredPoolBytes(rows int) int { return rows * 4 << 10 }

// insertScored returns an insert of the records of packed SCORED messages, rows at most per
// INSERT: a fetch is bounded by compressed bytes, and records that compress well bring more.
func insertScored(inserter *store.Inserter, rows int) func(context.Context, driver.Conn, []*stream.PooledScored) error {
	return func(ctx context.Context, conn driver.Conn, msgs []*stream.PooledScored) error {
		n := 0
		for _, m := range msgs {
			n += len(m.Records)
		}
		flat := make([]*event.Scored, 0, n)
		for _, m := range msgs {
			for i := range m.Records {
				flat = append(flat, &m.Records[i])
			}
		}
		for len(flat) > 0 {
			chunk := flat[:min(rows, len(flat))]
			if err := inserter.Scores(ctx, conn, chunk); err != nil {
				return err
			}
			flat = flat[len(chunk):]
		}
		return nil
	}
}

func (s sink[T]) Process(ctx context.Context, batch []stream.Delivered[T]) error {
	var redelivered []string
	for _, d := range batch {
		if d.Redelivered {
			redelivered = append(redelivered, s.identities(d.Value)...)
		}
	}
	stored, err := store.StoredKeys(ctx, s.conn, s.table, redelivered)
	if err != nil {
		return err
	}
	values := make([]T, 0, len(batch))
	index := make([]int, 0, len(batch))
	var skipped []T
	for i, d := range batch {
		// A message whose rows are only partly stored (its records were also packed into
		// another message) is inserted whole: the views collapse the copies.
		if len(stored) > 0 && s.stored(d.Value, stored) {
			skipped = append(skipped, d.Value)
			continue
		}
		values = append(values, d.Value)
		index = append(index, i)
	}
	s.rows.WithLabelValues(s.table, "skipped_stored").Add(s.rowCount(skipped))
	err = s.insert(ctx, s.conn, values)
	if err == nil {
		s.rows.WithLabelValues(s.table, "inserted").Add(s.rowCount(values))
		return nil
	}
	if !store.IsPermanent(err) {
		return err
	}
	// A permanent error fails the whole INSERT: insert message by message to find the messages
	// at fault and dead-letter only those.
	failed := map[int]error{}
	for j, v := range values {
		if rowErr := s.insert(ctx, s.conn, []T{v}); rowErr != nil {
			if !store.IsPermanent(rowErr) {
				return rowErr
			}
			failed[index[j]] = fmt.Errorf("insert into %s: %w", s.table, rowErr)
			continue
		}
		s.rows.WithLabelValues(s.table, "inserted").Add(s.rowCount([]T{v}))
	}
	if len(failed) == 0 {
		return nil
	}
	return &stream.BatchError{Failed: failed}
}

// Connect migrates the schema (creating the database if needed) and opens the connection the
// writer inserts with. It retries while ClickHouse is not up yet, until ctx ends.
func Connect(ctx context.Context, c config.Common, log *slog.Logger) (driver.Conn, error) {
	opts, err := store.ConnOptions(c)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err = store.MigrateConfigured(ctx, opts, c, log)
		if err == nil {
			break
		}
		if ctx.Err() != nil || store.IsPermanent(err) {
			return nil, fmt.Errorf("migrate ClickHouse at %v (check VIGIL_CLICKHOUSE_DSN): %w", opts.Addr, err)
		}
		log.Warn("ClickHouse not reachable; retrying", "err", err, "attempt", attempt)
		select {
		case <-time.After(time.Duration(min(attempt, 10)) * 500 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("migrate ClickHouse at %v: %w", opts.Addr, ctx.Err())
		}
	}
	return store.Open(ctx, opts)
}

// retention drops expired partitions once at start and then every interval.
type retention struct {
	conn    driver.Conn
	cluster string // VIGIL_CLICKHOUSE_CLUSTER: drop on the replicated local tables
	r       store.Retention
	every   time.Duration
	log     *slog.Logger
	stop    chan struct{}
	done    chan struct{}
}

func (r *retention) Start(ctx context.Context) error {
	if r.every <= 0 {
		return nil
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.every)
		defer t.Stop()
		for {
			dropped, err := store.DropExpiredOnCluster(ctx, r.conn, r.cluster, r.r, time.Now())
			if err != nil {
				r.log.Warn("drop expired partitions; will retry", "err", err)
			} else if len(dropped) > 0 {
				r.log.Info("dropped expired partitions", "partitions", dropped)
			}
			select {
			case <-t.C:
			case <-r.stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (r *retention) Shutdown(ctx context.Context) error {
	if r.stop == nil {
		return nil
	}
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop retention: %w", ctx.Err())
	}
}
