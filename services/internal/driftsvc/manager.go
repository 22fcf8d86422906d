package driftsvc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/telemetry"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Key-value buckets of the drift service.
const (
	LeaseBucket  = "vigil_drift_leases"  // partition → owning replica, expiring unless renewed
	MemberBucket = "vigil_drift_members" // replica → last heartbeat, expiring
	StateBucket  = "vigil_drift_state"   // partition → checkpoint of its statistics
)

// Manager owns a fair share of the partitions: ceil(partitions / live replicas). It renews its
// leases, takes free partitions while under its share, and hands back partitions over it.
type Manager struct {
	d          app.Deps
	cfg        Config
	partitions int
	leases     jetstream.KeyValue
	members    jetstream.KeyValue
	state      jetstream.KeyValue
	ownedGauge prometheus.Gauge
	records    recordCounters
	baselines  *baselineWatch   // pins and accepted runs (baselines.go)
	quality    *qualityMetrics  // per-series quality gauges (metrics.go)
	now        func() time.Time // clock of silence detection (volume.go); nil: time.Now

	mu    sync.Mutex
	owned map[int]*partition
	revs  map[int]uint64

	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

func newManager(ctx context.Context, d app.Deps, cfg Config) (*Manager, error) {
	leases, err := d.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket, TTL: cfg.LeaseTTL, History: 1,
		Description: "vigil drift: partition leases"})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", LeaseBucket, err)
	}
	members, err := d.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: MemberBucket, TTL: cfg.LeaseTTL, History: 1,
		Description: "vigil drift: live replicas"})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", MemberBucket, err)
	}
	state, err := d.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: StateBucket, History: 1,
		Description: "vigil drift: partition checkpoints", MaxValueSize: -1})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", StateBucket, err)
	}
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_drift_partitions_owned", Help: "SCORED partitions this replica owns."})
	if d.Registry != nil {
		if gauge, err = telemetry.Register[prometheus.Gauge](d.Registry, gauge); err != nil {
			return nil, err
		}
	}
	watch, err := newBaselineWatch(ctx, d.JS)
	if err != nil {
		return nil, err
	}
	var reg prometheus.Registerer
	if d.Registry != nil {
		reg = d.Registry
	}
	quality, err := newQualityMetrics(reg, cfg.MetricsMaxSeries)
	if err != nil {
		return nil, err
	}
	records, err := newRecordCounters(reg)
	if err != nil {
		return nil, err
	}
	return &Manager{d: d, cfg: cfg, partitions: max(d.Common.Streams.Partitions, 1), leases: leases, members: members, state: state,
		ownedGauge: gauge, records: records, baselines: watch, quality: quality, owned: map[int]*partition{}, revs: map[int]uint64{}, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Owned lists the partitions this replica owns, sorted.
func (m *Manager) Owned() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int, 0, len(m.owned))
	for p := range m.owned {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// Start takes the first share of partitions and keeps balancing until Shutdown. Cancelling ctx is
// a hard stop: nothing is checkpointed and the leases lapse after their TTL.
func (m *Manager) Start(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("drift: manager already started")
	}
	// Pins and accepted runs are read before the first partition is taken.
	if err := m.baselines.start(ctx, m); err != nil {
		return err
	}
	m.balance(ctx)
	go func() {
		defer close(m.done)
		t := time.NewTicker(m.cfg.LeaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.balance(ctx)
			case <-m.stop:
				return
			case <-ctx.Done():
				m.mu.Lock()
				for _, p := range m.owned {
					p.abandon()
				}
				m.mu.Unlock()
				return
			}
		}
	}()
	return nil
}

// Shutdown checkpoints every owned partition and releases its lease, so another replica takes it
// over at once from where this one stopped.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.once.Do(func() { close(m.stop) })
	if !m.started.Load() {
		return nil
	}
	select {
	case <-m.done:
	case <-ctx.Done():
		return fmt.Errorf("stop drift partition manager: %w", ctx.Err())
	}
	if err := m.baselines.stop(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for n, p := range m.owned {
		errs = append(errs, p.shutdown(ctx))
		_ = m.leases.Delete(ctx, leaseKey(n), jetstream.LastRevision(m.revs[n]))
		delete(m.owned, n)
	}
	_ = m.members.Delete(ctx, m.cfg.ReplicaID)
	m.ownedGauge.Set(0)
	return errors.Join(errs...)
}

// balance renews this replica's heartbeat and leases, then moves towards its fair share.
func (m *Manager) balance(ctx context.Context) {
	if _, err := m.members.Put(ctx, m.cfg.ReplicaID, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		m.d.Log.Warn("renew drift membership", "err", err)
		return
	}
	live := 1
	if keys, err := m.members.Keys(ctx); err == nil && len(keys) > 0 {
		live = len(keys)
	}
	share := (m.partitions + live - 1) / live
	m.mu.Lock()
	defer m.mu.Unlock()
	for n, p := range m.owned {
		rev, err := m.leases.Update(ctx, leaseKey(n), []byte(m.cfg.ReplicaID), m.revs[n])
		if err != nil {
			// Another replica holds it now (this one stalled past the TTL): stop without
			// checkpointing, so the new owner's state is not overwritten.
			m.d.Log.Warn("lost the lease of a drift partition", "partition", n, "err", err)
			p.abandon()
			delete(m.owned, n)
			continue
		}
		m.revs[n] = rev
	}
	for n := 0; n < m.partitions && len(m.owned) > share; n++ {
		if p, ok := m.owned[n]; ok {
			if err := p.shutdown(ctx); err != nil {
				m.d.Log.Warn("checkpoint a released partition", "partition", n, "err", err)
			}
			_ = m.leases.Delete(ctx, leaseKey(n), jetstream.LastRevision(m.revs[n]))
			delete(m.owned, n)
		}
	}
	for n := 0; n < m.partitions && len(m.owned) < share; n++ {
		if _, ok := m.owned[n]; ok {
			continue
		}
		rev, err := m.leases.Create(ctx, leaseKey(n), []byte(m.cfg.ReplicaID))
		if err != nil {
			continue // owned by another replica
		}
		p, err := startPartition(ctx, m, n)
		if err != nil {
			m.d.Log.Warn("take over a drift partition", "partition", n, "err", err)
			_ = m.leases.Delete(ctx, leaseKey(n), jetstream.LastRevision(rev))
			continue
		}
		m.owned[n], m.revs[n] = p, rev
		m.d.Log.Info("took over drift partition", "partition", n, "replica", m.cfg.ReplicaID, "from_sequence", p.from)
	}
	m.ownedGauge.Set(float64(len(m.owned)))
}

func leaseKey(n int) string { return fmt.Sprintf("p%d", n) }
