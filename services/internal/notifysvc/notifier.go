// Package notifysvc is the notifier service: it consumes ALERTS and delivers each alert to the
// receivers its routes name, unless a silence mutes it, at least once, with the alert id as the
// idempotency key.
package notifysvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/notify"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the notifier's configuration.
type Config struct {
	ConfigFile string        `envconfig:"NOTIFIER_CONFIG" desc:"JSON file of receivers (webhook, slack, alertmanager) and routes by app and severity; see README"`
	Attempts   int           `envconfig:"NOTIFIER_ATTEMPTS" default:"5" desc:"delivery attempts per receiver before the batch is retried later"`
	Backoff    time.Duration `envconfig:"NOTIFIER_BACKOFF" default:"500ms" desc:"first wait between delivery attempts; doubles each time"`
	Timeout    time.Duration `envconfig:"NOTIFIER_TIMEOUT" default:"10s" desc:"timeout of one HTTP delivery"`
	AckWait    time.Duration `envconfig:"NOTIFIER_ACK_WAIT" default:"60s" desc:"time before an unacknowledged alert is redelivered"`
	AdminAddr  string        `envconfig:"NOTIFIER_ADMIN_ADDR" default:":9105" desc:"listen address of the notifier's /metrics, /healthz and /readyz"`
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Attempts < 1 || c.Attempts > 100 {
		errs = append(errs, fmt.Errorf("VIGIL_NOTIFIER_ATTEMPTS=%d: want 1 to 100", c.Attempts))
	}
	if c.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_NOTIFIER_BACKOFF=%v: must be positive", c.Backoff))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_NOTIFIER_TIMEOUT=%v: must be positive", c.Timeout))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_NOTIFIER_ACK_WAIT=%v: want at least 1s", c.AckWait))
	}
	return errors.Join(errs...)
}

// Durable is the notifier's consumer of ALERTS, shared by its replicas.
const Durable = "notifier"

// Notifier is the notifier component.
type Notifier struct {
	src      *stream.Source[*event.Alert]
	silences *notify.Silences
}

// New builds the notifier from cfg; routes come from cfg.ConfigFile unless routes is given.
func New(ctx context.Context, d app.Deps, cfg Config, routes *notify.Config) (*Notifier, error) {
	if routes == nil {
		if cfg.ConfigFile == "" {
			return nil, errors.New("VIGIL_NOTIFIER_CONFIG: set it to a routing file (see README, Notifications)")
		}
		var err error
		if routes, err = notify.LoadConfig(cfg.ConfigFile); err != nil {
			return nil, err
		}
	} else if err := routes.Validate(); err != nil {
		return nil, err
	}
	silences, err := notify.OpenSilences(ctx, d.JS)
	if err != nil {
		return nil, err
	}
	cons, err := stream.EnsureConsumer(ctx, d.JS, stream.ConsumerConfig{
		Stream: stream.Alerts, Durable: Durable, FilterSubjects: []string{stream.AlertsRoot + ".>"},
		AckWait: cfg.AckWait, MaxDeliver: -1, MaxAckPending: 1000,
	})
	if err != nil {
		return nil, err
	}
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_notifier_deliveries_total",
		Help: "Alert deliveries by receiver and outcome (delivered, refused, silenced).",
	}, []string{"receiver", "outcome"})
	if d.Registry != nil {
		if err := d.Registry.Register(outcomes); err != nil {
			return nil, fmt.Errorf("register notifier metrics: %w", err)
		}
	}
	st := &stage{
		routes: routes, silences: silences, outcomes: outcomes, now: time.Now,
		deliver:   notify.Deliverer{Client: &http.Client{Timeout: cfg.Timeout}, Attempts: cfg.Attempts, Backoff: cfg.Backoff},
		delivered: map[string]bool{},
		log:       d.Log,
	}
	src := stream.NewSource(stream.SourceConfig{Stage: "notifier", BatchSize: 100, MaxWait: 200 * time.Millisecond, RetryMax: 30 * time.Second},
		d.JS, cons, stream.AlertDecoder, st, d.Log, d.Metrics)
	return &Notifier{src: src, silences: silences}, nil
}

// Start loads the silences, follows their changes, and starts consuming alerts.
func (n *Notifier) Start(ctx context.Context) error {
	if err := n.silences.Watch(ctx); err != nil {
		return err
	}
	return n.src.Start(ctx)
}

// Shutdown finishes the batch in hand.
func (n *Notifier) Shutdown(ctx context.Context) error { return n.src.Shutdown(ctx) }

type stage struct {
	routes   *notify.Config
	silences *notify.Silences
	deliver  notify.Deliverer
	outcomes *prometheus.CounterVec
	now      func() time.Time
	log      interface {
		Warn(string, ...any)
		Info(string, ...any)
	}

	// delivered remembers (alert, receiver) pairs already delivered while a batch is retried, so a
	// receiver that answered is not called again for the same alert.
	mu        sync.Mutex
	delivered map[string]bool
}

func (s *stage) Process(ctx context.Context, alerts []*event.Alert) error {
	failed := map[int]error{}
	var transient error
	current := s.silences.Current()
	for i, a := range alerts {
		if sil, ok := notify.Silenced(current, a, s.now()); ok {
			s.outcomes.WithLabelValues("", "silenced").Inc()
			s.log.Info("alert silenced", "alert_id", a.AlertID, "silence", sil.ID)
			continue
		}
		for _, r := range s.routes.Route(a) {
			key := a.AlertID + "\x00" + r.Name
			s.mu.Lock()
			done := s.delivered[key]
			s.mu.Unlock()
			if done {
				continue
			}
			err := s.deliver.Deliver(ctx, r, a)
			var perm *notify.PermanentError
			switch {
			case err == nil:
				s.outcomes.WithLabelValues(r.Name, "delivered").Inc()
				s.mu.Lock()
				s.delivered[key] = true
				s.mu.Unlock()
			case errors.As(err, &perm):
				s.outcomes.WithLabelValues(r.Name, "refused").Inc()
				failed[i] = err
			default:
				transient = errors.Join(transient, err)
			}
		}
	}
	if transient != nil {
		return transient // the source retries the batch; delivered pairs are skipped
	}
	s.mu.Lock()
	for _, a := range alerts {
		for _, r := range s.routes.Receivers {
			delete(s.delivered, a.AlertID+"\x00"+r.Name)
		}
	}
	s.mu.Unlock()
	if len(failed) > 0 {
		return &stream.BatchError{Failed: failed}
	}
	return nil
}
