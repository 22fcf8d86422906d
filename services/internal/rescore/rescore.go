// Package rescore replays the events the EVENTS stream still holds through a version of the
// rules and stores the new score rows beside the live ones. A score row is identified by
// (event_id, source, rules_version), so rows of another rules version never replace the live
// rows; rows already stored are skipped, so a replay can be run again safely. Nothing is
// published on SCORED: drift must not take history for live traffic.
package rescore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
)

// ErrUnknownVersion is returned by [Version] for a rules version the bucket's history no longer
// (or never did) hold.
var ErrUnknownVersion = errors.New("rescore: unknown rules version")

// Version returns the rules document stored under version in the history of the vigil_rules
// bucket (the current document and the revisions the bucket keeps). It fails with
// [ErrUnknownVersion], naming the versions it holds, when none has that version.
func Version(ctx context.Context, js jetstream.JetStream, version string) (*rules.Document, error) {
	kv, err := js.KeyValue(ctx, rules.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("rules version %q: no rules were ever applied (bucket %s is missing): %w", version, rules.Bucket, ErrUnknownVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", rules.Bucket, err)
	}
	history, err := kv.History(ctx, rules.Key)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("read the history of %s/%s: %w", rules.Bucket, rules.Key, err)
	}
	var kept []string
	// Newest first: a version is stored once, but a document may be re-applied after a delete.
	for _, e := range slices.Backward(history) {
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		doc, err := rules.Parse(e.Value())
		if err != nil {
			continue // written by other means than vigil rules apply; the scorer ignored it too
		}
		if doc.Version == version {
			if err := doc.Validate(); err != nil {
				return nil, fmt.Errorf("rules version %q (revision %d) no longer validates: %w", version, e.Revision(), err)
			}
			return doc, nil
		}
		if !slices.Contains(kept, doc.Version) {
			kept = append(kept, doc.Version)
		}
	}
	held := "none"
	if len(kept) > 0 {
		held = strings.Join(kept, ", ")
	}
	return nil, fmt.Errorf("rules version %q is not in the history of bucket %s (it holds: %s); give the document with -f FILE: %w",
		version, rules.Bucket, held, ErrUnknownVersion)
}

// Options select the events to replay.
type Options struct {
	// Since is the first stream time replayed (when the stream stored the event); required.
	Since time.Time
	// Until, when set, ends the replay at events stored after it. Without it the replay ends at
	// the last event the stream held when it started, so live traffic cannot keep it going.
	Until time.Time
	// App and Feature, when set, select one app (by subject) and one feature (by the event's
	// feature label).
	App, Feature string
	// DryRun scores and counts, and checks which rows are stored already, but inserts nothing.
	DryRun bool
	// BatchSize is the number of events fetched, scored and inserted at a time (0: 5,000; an
	// insert costs the server about the same for 500 rows as for 5,000).
	BatchSize int
	// MaxEvent is the largest event accepted, as the scorer's decoder has it (0: the default).
	MaxEvent int
	// Progress, if set, is called after every batch with the counts so far.
	Progress func(Progress)
}

// Progress counts the events of a replay.
type Progress struct {
	// Read counts the events read from the stream; Total is Read plus the events the stream held
	// after the last one read (an upper bound when Until or Feature leave some out).
	Read, Total uint64
	// Invalid counts events that do not decode (the live pipeline dead-lettered them); Skipped
	// those another feature's, and Unmatched those no rule of the version selects (they keep the
	// default set's rows, under scoring.RulesVersion).
	Invalid, Skipped, Unmatched uint64
	// Stored counts the rows inserted (or, in a dry run, that would be); Existing the rows
	// already stored under the version.
	Stored, Existing uint64
	// Elapsed is the time since the replay started.
	Elapsed time.Duration
	// Oldest is when the stream stored the oldest event it still holds: a replay from before it
	// misses the events the stream's retention has dropped.
	Oldest time.Time
}

// Rate returns events read per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Read) / p.Elapsed.Seconds()
}

// fetchWait bounds each wait for a batch, and so how long a cancellation may take to be seen.
const fetchWait = time.Second

// Run replays the events stored since opts.Since through set and inserts, through conn, each
// score row that the rules select and that is not stored yet. It returns the final counts; on
// error (or when ctx ends) the counts so far, and rows of the batches already inserted stay:
// running the same replay again completes it without copies.
func Run(ctx context.Context, js jetstream.JetStream, conn driver.Conn, set *rules.Set, opts Options) (Progress, error) {
	var p Progress
	if opts.Since.IsZero() {
		return p, errors.New("rescore: since: a start time is required")
	}
	if !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
		return p, fmt.Errorf("rescore: until %s: must be after since %s", opts.Until.Format(time.RFC3339), opts.Since.Format(time.RFC3339))
	}
	if set.Version() == scoring.RulesVersion {
		return p, fmt.Errorf("rescore: rules version %q: the default set's rows are the live rows; give a version of a rules document", set.Version())
	}
	batchSize := opts.BatchSize
	if batchSize <= 0 {
		batchSize = 5000
	}
	start := time.Now()
	str, err := js.Stream(ctx, stream.Events)
	if err != nil {
		return p, fmt.Errorf("open stream %s: %w", stream.Events, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return p, fmt.Errorf("read stream %s: %w", stream.Events, err)
	}
	last := info.State.LastSeq // the replay's end, as of now
	p.Oldest = info.State.FirstTime
	if info.State.Msgs == 0 {
		return p, nil
	}
	subject := stream.EventsRoot + ".>"
	if opts.App != "" {
		subject = stream.EventsSubject(opts.App)
	}
	since := opts.Since
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
	})
	if err != nil {
		return p, fmt.Errorf("create a replay consumer on %s: %w", stream.Events, err)
	}
	decode := stream.EventDecoder(event.Decoder{MaxBytes: opts.MaxEvent})
	report := func() {
		p.Elapsed = time.Since(start)
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}
	records := make([]*event.Scored, 0, batchSize)
	for done := false; !done; {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		batch, err := cons.Fetch(batchSize, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return p, fmt.Errorf("fetch events from %s: %w", stream.Events, err)
		}
		records = records[:0]
		fetched := 0
		for m := range batch.Messages() {
			fetched++
			meta, err := m.Metadata()
			if err != nil {
				return p, fmt.Errorf("read metadata of an event: %w", err)
			}
			if !opts.Until.IsZero() && meta.Timestamp.After(opts.Until) {
				done = true
				break
			}
			p.Read++
			p.Total = p.Read + meta.NumPending
			if meta.Sequence.Stream >= last || meta.NumPending == 0 {
				done = true
			}
			ev, err := decode(m)
			switch {
			case err != nil:
				p.Invalid++
			case opts.Feature != "" && ev.Series().Feature != opts.Feature:
				p.Skipped++
			default:
				rec := scorersvc.Record(set, ev, nil)
				if rec.RulesVersion != set.Version() {
					p.Unmatched++
				} else {
					records = append(records, &rec)
				}
			}
			if done {
				break
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return p, fmt.Errorf("fetch events from %s: %w", stream.Events, err)
		}
		if fetched == 0 {
			done = true // nothing since opts.Since, or nothing left that matches
		}
		if err := storeNew(ctx, conn, records, opts.DryRun, &p); err != nil {
			return p, err
		}
		report()
	}
	return p, nil
}

// storeNew inserts the records whose rows are not stored yet (none in a dry run), and counts.
func storeNew(ctx context.Context, conn driver.Conn, records []*event.Scored, dryRun bool, p *Progress) error {
	if len(records) == 0 {
		return nil
	}
	keys := make([]string, 0, len(records))
	seen := make(map[string]bool, len(records))
	fresh := records[:0:0]
	for _, r := range records {
		k := store.ScoreKey(r)
		if seen[k] {
			p.Existing++ // the same event published twice, past the stream's de-duplication window
			continue
		}
		seen[k] = true
		keys = append(keys, k)
		fresh = append(fresh, r)
	}
	stored, err := store.StoredKeys(ctx, conn, store.TableScores, keys)
	if err != nil {
		return err
	}
	rows := fresh[:0]
	for _, r := range fresh {
		if stored[store.ScoreKey(r)] {
			p.Existing++
			continue
		}
		rows = append(rows, r)
	}
	if !dryRun {
		if err := store.InsertScores(ctx, conn, rows); err != nil {
			return err
		}
	}
	p.Stored += uint64(len(rows))
	return nil
}
