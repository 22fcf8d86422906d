package driftsvc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// BaselineBucket is the key-value bucket through which baselines travel:
//
//   - "pin.<hash>": an operator's pin request (drift.Pin), written by `vigil baseline pin`; the
//     replica owning the matching series applies it once;
//   - "accept.<hash>": an accepted eval run (drift.Acceptance) per version, written by `vigil eval
//     accept`; every drift replica compares live traffic of the version with it;
//   - "rec.<hash>": the baseline a quality series is compared with now (drift.Record), written by
//     the owning drift replica whenever it pins one; `vigil baseline ls` lists them and the writer
//     copies every revision into ClickHouse (baselines).
//
// Every value is a small JSON document: a record or an acceptance is under 2 KB, a pin with an
// explicit baseline carries at most SampleSize values (about 12 KB at the default 1000).
const BaselineBucket = "vigil_baselines"

// Key prefixes in BaselineBucket.
const (
	pinPrefix    = "pin."
	acceptPrefix = "accept."
	recordPrefix = "rec."
)

// RecordSubject is the subject prefix of the records' messages in the bucket's stream, for
// consumers of every revision (the writer).
const RecordSubject = "$KV." + BaselineBucket + "." + recordPrefix

// RecordStream is the stream behind BaselineBucket.
const RecordStream = "KV_" + BaselineBucket

// OpenBaselines creates the baselines bucket if needed and returns it.
func OpenBaselines(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: BaselineBucket, History: 1,
		MaxValueSize: 256 << 10, Description: "vigil: baseline pins, accepted eval runs and the baselines in use"})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", BaselineBucket, err)
	}
	return kv, nil
}

func hashKey(prefix string, labels map[string]string) string {
	return prefix + drift.Fingerprint(labels)
}

// PinKey is the key of a pin request: one per selection, so a newer pin of the same series
// replaces an older one.
func PinKey(m drift.Match) string {
	return hashKey(pinPrefix, map[string]string{"app": m.App, "environment": m.Environment, "feature": m.Feature,
		"model": m.Model, "prompt_version": m.PromptVersion, "metric": m.Metric})
}

// AcceptKey is the key of the acceptance of a version.
func AcceptKey(v drift.VersionKey) string {
	return hashKey(acceptPrefix, map[string]string{"app": v.App, "feature": v.Feature, "prompt_version": v.PromptVersion, "model": v.Model})
}

// RecordKey is the key of the record of a quality series.
func RecordKey(s event.Series, metric string) string {
	return hashKey(recordPrefix, map[string]string{"app": s.App, "environment": s.Environment, "feature": s.Feature,
		"model": s.Model, "prompt_version": s.PromptVersion, "metric": metric})
}

// PutPin validates and stores a pin request.
func PutPin(ctx context.Context, kv jetstream.KeyValue, p *drift.Pin) error {
	if err := p.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pin %s: %w", p.ID, err)
	}
	if _, err := kv.Put(ctx, PinKey(p.Match), data); err != nil {
		return fmt.Errorf("store pin %s in %s: %w", p.ID, BaselineBucket, err)
	}
	return nil
}

// PutAcceptance validates and stores an acceptance, replacing the version's previous one.
func PutAcceptance(ctx context.Context, kv jetstream.KeyValue, a *drift.Acceptance) error {
	if err := a.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode acceptance of run %s: %w", a.RunID, err)
	}
	if _, err := kv.Put(ctx, AcceptKey(a.Version()), data); err != nil {
		return fmt.Errorf("store acceptance of run %s in %s: %w", a.RunID, BaselineBucket, err)
	}
	return nil
}

// AcceptanceOf makes a finished run the expected quality of its version: of its model, or of
// every model when anyModel is set.
func AcceptanceOf(run *eval.Run, anyModel bool, by string, now time.Time) (*drift.Acceptance, error) {
	if run.Status != eval.StatusDone {
		return nil, fmt.Errorf("eval run %s status %s: only a done run can be accepted (resume it first)", run.ID, run.Status)
	}
	a := &drift.Acceptance{RunID: run.ID, Dataset: run.Dataset, DatasetVersion: run.Version, App: run.App, Feature: run.Feature,
		PromptVersion: run.PromptVersion, Model: run.Model, AcceptedAt: now.UTC(), By: by}
	if anyModel {
		a.Model = ""
	}
	for _, m := range run.Summary.Metrics {
		a.Metrics = append(a.Metrics, drift.AcceptedMetric{Metric: m.Metric, Kind: m.Kind, N: int64(m.N), PassRate: m.PassRate, Mean: m.Mean})
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("accept eval run %s: %w", run.ID, err)
	}
	return a, nil
}

// Stored is what the baselines bucket holds, as listed by ReadBaselines.
type Stored struct {
	Records     []drift.Record
	Acceptances []drift.Acceptance
	Pins        []drift.Pin
}

// ReadBaselines reads every value of the bucket (of one app, when app is not empty), within a
// minute. Values that do not decode are reported in the error, naming their key; the others are
// returned.
func ReadBaselines(ctx context.Context, kv jetstream.KeyValue, app string) (Stored, error) {
	var out Stored
	// The watcher marks the end of the stored values; a bound keeps a lost marker from hanging.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return out, fmt.Errorf("read %s: %w", BaselineBucket, err)
	}
	defer w.Stop()
	var errs []error
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return out, fmt.Errorf("read %s: %w", BaselineBucket, ctx.Err())
		}
		if e == nil {
			break // the initial values are all delivered
		}
		key := e.Key()
		switch {
		case strings.HasPrefix(key, recordPrefix):
			r, err := drift.DecodeRecord(e.Value())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			} else if app == "" || r.Series.App == app {
				out.Records = append(out.Records, *r)
			}
		case strings.HasPrefix(key, acceptPrefix):
			a, err := drift.DecodeAcceptance(e.Value())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			} else if app == "" || a.App == app {
				out.Acceptances = append(out.Acceptances, *a)
			}
		case strings.HasPrefix(key, pinPrefix):
			p, err := drift.DecodePin(e.Value())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			} else if app == "" || p.Match.App == app {
				out.Pins = append(out.Pins, *p)
			}
		}
	}
	slices.SortFunc(out.Records, func(a, b drift.Record) int {
		return strings.Compare(a.Series.Key()+"\x1f"+a.Metric, b.Series.Key()+"\x1f"+b.Metric)
	})
	return out, errors.Join(errs...)
}

// baselineWatch is a replica's view of the pins and acceptances in the bucket, kept current by a
// watcher, and the hand-off of updates to the partitions it owns.
type baselineWatch struct {
	kv jetstream.KeyValue

	mu          sync.Mutex
	pins        map[string]storedPin // key → newest pin
	acceptances map[string]*drift.Acceptance

	watcher jetstream.KeyWatcher
	done    chan struct{}
}

type storedPin struct {
	pin      *drift.Pin
	revision uint64
}

func newBaselineWatch(ctx context.Context, js jetstream.JetStream) (*baselineWatch, error) {
	kv, err := OpenBaselines(ctx, js)
	if err != nil {
		return nil, err
	}
	return &baselineWatch{kv: kv, pins: map[string]storedPin{}, acceptances: map[string]*drift.Acceptance{}}, nil
}

// start reads the current pins and acceptances (so partitions taken over next see them) and keeps
// following updates until stop.
func (b *baselineWatch) start(ctx context.Context, m *Manager) error {
	w, err := b.kv.WatchFiltered(ctx, []string{pinPrefix + ">", acceptPrefix + ">"})
	if err != nil {
		return fmt.Errorf("watch %s: %w", BaselineBucket, err)
	}
	b.watcher, b.done = w, make(chan struct{})
	initial := true
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for initial {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: watcher closed", BaselineBucket)
			}
			if e == nil {
				initial = false
				continue
			}
			b.take(e, m.d.Log)
		case <-timeout.C:
			_ = w.Stop()
			return fmt.Errorf("watch %s: no initial values within 10s", BaselineBucket)
		case <-ctx.Done():
			_ = w.Stop()
			return fmt.Errorf("watch %s: %w", BaselineBucket, ctx.Err())
		}
	}
	go func() {
		defer close(b.done)
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			if b.take(e, m.d.Log) {
				m.deliverBaselines(context.WithoutCancel(ctx))
			}
		}
	}()
	return nil
}

// stop ends the watcher and waits for its goroutine.
func (b *baselineWatch) stop(ctx context.Context) error {
	if b.watcher == nil {
		return nil
	}
	_ = b.watcher.Stop()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop the %s watcher: %w", BaselineBucket, ctx.Err())
	}
}

// take stores one update and reports whether it changed anything.
func (b *baselineWatch) take(e jetstream.KeyValueEntry, log interface{ Warn(string, ...any) }) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := e.Key()
	deleted := e.Operation() != jetstream.KeyValuePut
	switch {
	case strings.HasPrefix(key, pinPrefix):
		if deleted {
			delete(b.pins, key)
			return false // a withdrawn pin undoes nothing: the baseline stays until another is pinned
		}
		p, err := drift.DecodePin(e.Value())
		if err != nil {
			log.Warn("ignore a baseline pin that does not decode", "key", key, "err", err)
			return false
		}
		b.pins[key] = storedPin{p, e.Revision()}
	case strings.HasPrefix(key, acceptPrefix):
		if deleted {
			delete(b.acceptances, key)
			return true
		}
		a, err := drift.DecodeAcceptance(e.Value())
		if err != nil {
			log.Warn("ignore an acceptance that does not decode", "key", key, "err", err)
			return false
		}
		b.acceptances[key] = a
	default:
		return false
	}
	return true
}

// snapshot returns the current pins, in revision order, and acceptances.
func (b *baselineWatch) snapshot() ([]string, []storedPin, []*drift.Acceptance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := make([]string, 0, len(b.pins))
	for k := range b.pins {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(b.pins[x].revision, b.pins[y].revision) })
	pins := make([]storedPin, len(keys))
	for i, k := range keys {
		pins[i] = b.pins[k]
	}
	accs := make([]*drift.Acceptance, 0, len(b.acceptances))
	for _, a := range b.acceptances {
		accs = append(accs, a)
	}
	return keys, pins, accs
}

// deliverBaselines hands the current pins and acceptances to every owned partition.
func (m *Manager) deliverBaselines(ctx context.Context) {
	keys, pins, accs := m.baselines.snapshot()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.owned {
		p.mu.Lock()
		p.ext.sync(ctx, keys, pins, accs)
		p.mu.Unlock()
	}
}

// partitionExt is the baseline side of a partition: operator pins applied, the yardstick of
// accepted eval runs, and the records and metrics of its baselines.
type partitionExt struct {
	p       *partition
	yard    *drift.Yardstick
	log     drift.BaselineLog
	applied map[string]uint64 // pin key → revision applied
	records time.Time         // when records were last published
	export  time.Time         // when the quality gauges were last refreshed
}

// How often a partition publishes new baseline records and refreshes its quality gauges. The
// gauges are scraped every 15 s or more, and refreshing them walks every series (about 5 ms per
// 10,000), so they refresh less often than records, which operators wait for after a pin.
const (
	recordInterval = time.Second
	exportInterval = 5 * time.Second
)

// extState is the part of a checkpoint the extension keeps.
type extState struct {
	Yardstick json.RawMessage   `json:"yardstick,omitempty"`
	Pins      map[string]uint64 `json:"pins,omitempty"`
}

func newPartitionExt(p *partition, saved json.RawMessage) (*partitionExt, error) {
	x := &partitionExt{p: p, yard: drift.NewYardstick(p.m.cfg.Detector(), p.m.cfg.EvalMargin), applied: map[string]uint64{}}
	if len(saved) == 0 {
		return x, nil
	}
	var st extState
	if err := json.Unmarshal(saved, &st); err != nil {
		return nil, fmt.Errorf("decode baseline state of partition %d: %w", p.n, err)
	}
	if len(st.Yardstick) > 0 {
		if err := x.yard.Restore(st.Yardstick); err != nil {
			return nil, fmt.Errorf("restore partition %d: %w", p.n, err)
		}
	}
	for k, v := range st.Pins {
		x.applied[k] = v
	}
	return x, nil
}

// state encodes what the next checkpoint keeps.
func (x *partitionExt) state() (json.RawMessage, error) {
	y, err := x.yard.Snapshot()
	if err != nil {
		return nil, err
	}
	return json.Marshal(extState{Yardstick: y, Pins: x.applied})
}

// sync applies the pins not applied yet (oldest first) and sets the accepted runs. The caller
// holds p.mu.
func (x *partitionExt) sync(ctx context.Context, keys []string, pins []storedPin, accs []*drift.Acceptance) {
	x.yard.SetAcceptances(accs)
	for i, sp := range pins {
		key := keys[i]
		if x.applied[key] >= sp.revision {
			continue
		}
		x.applied[key] = sp.revision
		if sp.pin.Baseline != nil && stream.Partition(sp.pin.Series().FeatureKey(), x.p.m.partitions) != x.p.n {
			continue // another partition's series
		}
		pinned, err := x.p.engine.ApplyPin(sp.pin)
		if err != nil {
			x.p.m.d.Log.Warn("apply a baseline pin", "pin", sp.pin.ID, "partition", x.p.n, "err", err)
		}
		if len(pinned) > 0 {
			x.p.m.d.Log.Info("pinned operator baselines", "pin", sp.pin.ID, "partition", x.p.n, "series", len(pinned))
		}
	}
	x.publish(ctx, true)
}

// observe feeds a record to the yardstick.
func (x *partitionExt) observe(rec *event.Scored) { x.yard.Observe(rec) }

// advance closes windows of the engine and the yardstick and queues their alerts.
func (p *partition) advance(watermark time.Time) {
	p.outbox = append(p.outbox, p.engine.Advance(watermark)...)
	p.outbox = append(p.outbox, p.ext.yard.Advance(watermark)...)
}

// publish writes the records of newly pinned baselines, and refreshes the quality gauges when
// refresh is set. The caller holds p.mu.
func (x *partitionExt) publish(ctx context.Context, refresh bool) {
	recs := x.log.Changes(x.p.engine)
	if len(recs) > 0 {
		msgs := make([]*nats.Msg, 0, len(recs))
		for i := range recs {
			r := &recs[i]
			data, err := json.Marshal(r)
			if err != nil {
				continue
			}
			subject := "$KV." + BaselineBucket + "." + RecordKey(r.Series, r.Metric)
			msgs = append(msgs, stream.NewMsg(subject, r.ID(), data))
		}
		if err := stream.PublishAll(ctx, x.p.m.d.JS, msgs); err != nil {
			// Forget what was reported, so that the next attempt publishes every record again.
			x.log = drift.BaselineLog{}
			x.p.m.d.Log.Warn("publish baseline records; will retry", "partition", x.p.n, "err", err)
		}
	}
	x.records = time.Now()
	if refresh {
		x.p.m.quality.update(x.p.n, x.p.engine, x.yard)
		x.export = x.records
	}
}

// maybePublish publishes records every recordInterval and refreshes the gauges every
// exportInterval.
func (x *partitionExt) maybePublish(ctx context.Context) {
	if time.Since(x.records) >= recordInterval {
		x.publish(ctx, time.Since(x.export) >= exportInterval)
	}
}

// close removes the partition's metrics; its series now belong to another replica.
func (x *partitionExt) close() { x.p.m.quality.remove(x.p.n) }
