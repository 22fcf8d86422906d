package driftsvc

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
)

// Silence alerts. Each partition counts the records of the built-in checks (one per event) per
// feature and stage, from the SCORED partition it already reads: records are partitioned by
// feature, so a volume series, like a quality series, lives in exactly one replica at a time and
// moves with its partition's checkpoint. No record arrives for a silent feature, so its windows
// are closed by the partition's event-time watermark while other features of the partition are
// busy, and by the clock once the partition has caught up with SCORED.

// Volume returns the silence detector's configuration; SilenceRatio 0 disables it.
func (c Config) Volume() drift.VolumeConfig {
	v := drift.DefaultVolumeConfig()
	v.Window, v.Grace, v.MaxRatio, v.Source = c.Window, c.SilenceGrace, c.SilenceRatio, scoring.Source
	v.PendingWindows, v.ResolveWindows, v.ResendWindows = c.PendingWindows, c.ResolveWindows, c.ResendWindows
	return v
}

// validateVolume reports a bad silence configuration, naming the variables.
func (c Config) validateVolume() error {
	if c.SilenceRatio == 0 {
		return nil
	}
	if err := c.Volume().Validate(); err != nil {
		return fmt.Errorf("VIGIL_DRIFT_SILENCE_RATIO=%v, VIGIL_DRIFT_SILENCE_GRACE=%v: %w", c.SilenceRatio, c.SilenceGrace, err)
	}
	return nil
}

// clock is the time the partitions close silent windows by; tests replace Manager.now.
func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// loadVolume returns the partition's silence detector, restored from the chunks of checkpoint
// generation gen, or nil when silence alerts are off.
func loadVolume(ctx context.Context, m *Manager, n int, gen uint64, chunks int) (*drift.Volume, error) {
	if m.cfg.SilenceRatio == 0 {
		return nil, nil
	}
	v := drift.NewVolume(m.cfg.Volume())
	for i := range chunks {
		entry, err := m.state.Get(ctx, volumeKey(n, gen, i))
		if err != nil {
			return nil, fmt.Errorf("read silence checkpoint chunk %d of partition %d: %w", i, n, err)
		}
		if err := v.Restore(entry.Value()); err != nil {
			return nil, fmt.Errorf("restore silence detector of partition %d: %w", n, err)
		}
	}
	return v, nil
}

// volumeKey alternates between two slots like chunkKey, so a checkpoint never overwrites the
// chunks the current header names.
func volumeKey(n int, gen uint64, i int) string {
	return fmt.Sprintf("%s.v.%d.%d", leaseKey(n), gen%2, i)
}

// observeVolume counts rec.
func (p *partition) observeVolume(rec *event.Scored) {
	if p.volume != nil {
		p.volume.Observe(rec)
	}
}

// tickVolume closes the windows of the volume series. active reports whether the last fetch
// returned records: while it does, the partition may be replaying a backlog and only event time
// may close windows; once it returns none the partition has caught up, and a later record will
// carry a timestamp after the clock minus the silence grace, so the clock may close them.
func (p *partition) tickVolume(active bool) {
	if p.volume == nil {
		return
	}
	wm := p.watermark
	if now := p.m.clock(); !active && now.After(wm) {
		wm = now
	}
	if wm.IsZero() {
		return
	}
	p.outbox = append(p.outbox, p.volume.Advance(wm)...)
}

// saveVolume writes the silence detector's state for checkpoint generation gen, split by a hash of
// the series into values of at most maxChunk bytes (a partition of thousands of features holds
// about 1 KB each), and returns how many values it wrote.
func (p *partition) saveVolume(ctx context.Context, gen uint64) (int, error) {
	if p.volume == nil {
		return 0, nil
	}
	var chunks [][]byte
	for k := 1; ; k *= 2 {
		chunks = chunks[:0]
		fits := true
		for i := range k {
			data, err := p.volume.Snapshot(func(key drift.VolumeKey) bool {
				return k == 1 || stream.Partition(key.App+"\x1f"+key.Environment+"\x1f"+key.Feature+"\x1f"+key.Stage, k) == i
			})
			if err != nil {
				return 0, fmt.Errorf("checkpoint silence detector of partition %d: %w", p.n, err)
			}
			if len(data) > maxChunk && k < 1<<12 {
				fits = false
				break
			}
			chunks = append(chunks, data)
		}
		if fits {
			break
		}
	}
	for i, c := range chunks {
		if _, err := p.m.state.Put(ctx, volumeKey(p.n, gen, i), c); err != nil {
			return 0, fmt.Errorf("save silence checkpoint chunk %d of partition %d: %w", i, p.n, err)
		}
	}
	return len(chunks), nil
}
