// Package driftsvc is the drift service: it consumes SCORED, keeps each series' statistics
// against its baseline and publishes alert transitions on ALERTS.
//
// SCORED is split into partitions by feature. Each partition has exactly one owner among the
// running replicas at a time, decided by leases in a key-value bucket; the owner keeps the
// partition's engine in memory and checkpoints it (state plus the stream sequence it reflects) to
// another bucket. A replica that takes a partition over restores the checkpoint and replays the
// partition from the next sequence, so statistics survive a crash or a rebalance and the replayed
// alerts carry the same ids, which JetStream and the tables de-duplicate.
package driftsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Config is the drift service's configuration; the detector parameters map onto drift.Config.
type Config struct {
	Window             time.Duration `envconfig:"DRIFT_WINDOW" default:"1m" desc:"evaluation window on event time"`
	Grace              time.Duration `envconfig:"DRIFT_GRACE" default:"10s" desc:"how long a window waits for late events before it is evaluated"`
	BaselineSize       int           `envconfig:"DRIFT_BASELINE_SIZE" default:"2000" desc:"events of a new series pinned as its baseline"`
	WarmUp             int           `envconfig:"DRIFT_WARM_UP" default:"0" desc:"events of a new series skipped before its baseline starts"`
	MinSamples         int           `envconfig:"DRIFT_MIN_SAMPLES" default:"50" desc:"events a window needs before it is evaluated (fewer: insufficient_data)"`
	Alpha              float64       `envconfig:"DRIFT_ALPHA" default:"0.00001" desc:"significance per window and series, Bonferroni-corrected over its tests"`
	MinRateEffect      float64       `envconfig:"DRIFT_MIN_RATE_EFFECT" default:"0.01" desc:"failure-rate increase above the baseline's upper confidence bound an alert needs besides significance (0.01 = 1 point)"`
	MinMeanEffect      float64       `envconfig:"DRIFT_MIN_MEAN_EFFECT" default:"0.5" desc:"mean shift in baseline standard deviations an alert needs"`
	PendingWindows     int           `envconfig:"DRIFT_PENDING_WINDOWS" default:"1" desc:"further true windows an alert stays pending before it fires"`
	ResolveWindows     int           `envconfig:"DRIFT_RESOLVE_WINDOWS" default:"2" desc:"consecutive healthy windows before a firing alert resolves"`
	ResendWindows      int           `envconfig:"DRIFT_RESEND_WINDOWS" default:"10" desc:"windows between re-sends of a firing alert (0: never)"`
	BatchSize          int           `envconfig:"DRIFT_BATCH_SIZE" default:"1000" desc:"SCORED messages a partition applies per batch (each packs many records; a partition reads at most 4 MiB ahead)"`
	ReplicaID          string        `envconfig:"DRIFT_REPLICA_ID" desc:"this replica's name in partition leases (default: host name and process id)"`
	LeaseTTL           time.Duration `envconfig:"DRIFT_LEASE_TTL" default:"10s" desc:"a partition whose owner stops renewing its lease for this long moves to another replica"`
	CheckpointInterval time.Duration `envconfig:"DRIFT_CHECKPOINT_INTERVAL" default:"5s" desc:"how often each partition's statistics are saved; a takeover replays at most this much"`
	AdminAddr          string        `envconfig:"DRIFT_ADMIN_ADDR" default:":9103" desc:"listen address of the drift service's /metrics, /healthz and /readyz"`
	EvalMargin         float64       `envconfig:"DRIFT_EVAL_MARGIN" default:"0.05" desc:"pass-rate drop below an accepted eval run (vigil eval accept) that live traffic must also exceed, besides significance, to alert (0.05 = 5 points)"`
	MetricsMaxSeries   int           `envconfig:"DRIFT_METRICS_MAX_SERIES" default:"1000" desc:"quality series (series and metric) per replica exported as Prometheus gauges; further ones are counted in vigil_drift_quality_series_dropped"`
	SilenceRatio       float64       `envconfig:"DRIFT_SILENCE_RATIO" default:"0.2" desc:"a feature or stage whose events in a window fall to this share of its usual count or below (and improbably so) raises a silence alert; 0 disables silence alerts"`
	SilenceGrace       time.Duration `envconfig:"DRIFT_SILENCE_GRACE" default:"1m" desc:"how long after its end a window of event counts waits for late records before a silence is judged"`
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
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_LEASE_TTL=%v: want at least 1s", c.LeaseTTL))
	}
	if c.CheckpointInterval <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_CHECKPOINT_INTERVAL=%v: must be positive", c.CheckpointInterval))
	}
	if !(c.EvalMargin >= 0 && c.EvalMargin < 1) {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_EVAL_MARGIN=%v: want 0 to less than 1", c.EvalMargin))
	}
	if err := c.validateVolume(); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsMaxSeries < 0 {
		errs = append(errs, fmt.Errorf("VIGIL_DRIFT_METRICS_MAX_SERIES=%d: want 0 (no quality gauges) or more", c.MetricsMaxSeries))
	}
	return errors.Join(errs...)
}

// New builds the drift component: a partition manager that owns a fair share of the partitions.
func New(ctx context.Context, d app.Deps, cfg Config) (*Manager, error) {
	if cfg.ReplicaID == "" {
		host, _ := os.Hostname()
		cfg.ReplicaID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return newManager(ctx, d, cfg)
}
