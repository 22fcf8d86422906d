package rescore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/rescore"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

// doc returns a rules document for app shop: v1 runs non_empty, later versions add length_chars.
func doc(version string, lengthCheck bool) *rules.Document {
	checks := []rules.Check{{Check: "non_empty"}}
	if lengthCheck {
		checks = append(checks, rules.Check{Check: "length_chars", Params: map[string]any{"max": 40}})
	}
	return &rules.Document{Version: version, Rules: []rules.Rule{{Name: "shop", Match: rules.Match{App: "shop"}, Checks: checks}}}
}

func publish(t *testing.T, js jetstream.JetStream, events []*event.Event) {
	t.Helper()
	msgs := make([]*nats.Msg, 0, len(events))
	for _, ev := range events {
		data, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, data))
	}
	if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func count(t *testing.T, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func group(prefix, app string, n int) []*event.Event {
	events := make([]*event.Event, n)
	for i := range events {
		events[i] = &event.Event{EventID: fmt.Sprintf("%s-%d", prefix, i), Timestamp: time.Now().UTC(), App: app,
			Feature: "support", Model: "m", Input: "Where is my parcel?", FinishReason: "stop",
			Output: "Your parcel left the warehouse on Monday and arrives on Friday between 9 and 17."}
	}
	return events
}

// TestRescore scores two groups of events live under v1, then replays the second group through
// v2, which adds a check: only that group gets v2 rows, the v1 rows stay, nothing reaches SCORED,
// and a second run stores nothing.
func TestRescore(t *testing.T) {
	ctx := context.Background()
	ns := testkit.NATS(t)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 2, MaxEvent: 1 << 20}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := app.Connect(ctx, common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	dsn := ch.Database(t)
	common.ClickHouseDSN = dsn
	conn := testkit.Conn(t, dsn)
	deps := app.Deps{Common: common, Log: log, Registry: prometheus.NewPedanticRegistry(), NC: nc, JS: js}

	store, err := rules.OpenStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, doc("v1", false)); err != nil {
		t.Fatal(err)
	}
	parts, err := pipeline.Components(ctx, deps, pipeline.Config{
		Scorer: scorersvc.Config{BatchSize: 64, MaxWait: 20 * time.Millisecond, AckWait: 5 * time.Second},
		Drift: driftsvc.Config{Window: 10 * time.Second, Grace: time.Second, BaselineSize: 200, MinSamples: 30,
			Alpha: 0.001, MinRateEffect: 0.05, MinMeanEffect: 0.5, PendingWindows: 1, ResolveWindows: 2, ResendWindows: 10,
			BatchSize: 500, LeaseTTL: 3 * time.Second, CheckpointInterval: time.Second},
		Writer: writersvc.Config{BatchSize: 1000, FlushInterval: 100 * time.Millisecond, AckWait: 3 * time.Second},
	}, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			t.Fatalf("start %s: %v", p.Name, err)
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(parts) - 1; i >= 0; i-- {
			_ = parts[i].Shutdown(sctx)
		}
	})
	scored := func(version string) uint64 {
		return count(t, conn, "SELECT count() FROM scores WHERE rules_version = ?", version)
	}

	publish(t, js, group("early", "shop", 6))
	testkit.Eventually(t, 30*time.Second, func() bool { return scored("v1") == 6 }, "early group: %d v1 rows, want 6", scored("v1"))
	since := time.Now()
	time.Sleep(20 * time.Millisecond) // the stream's clock must move past since
	late := append(group("late", "shop", 5), group("lab", "lab", 2)...)
	publish(t, js, late)
	testkit.Eventually(t, 30*time.Second, func() bool { return scored("v1") == 11 }, "late group: %d v1 rows, want 11", scored("v1"))
	testkit.Eventually(t, 30*time.Second, func() bool {
		return count(t, conn, "SELECT count() FROM scores WHERE app = 'lab'") == 2
	}, "lab events not scored")
	if _, err := store.Put(ctx, doc("v2", true)); err != nil {
		t.Fatal(err)
	}
	scoredMsgs := func() uint64 {
		info, err := js.Stream(ctx, stream.Scored)
		if err != nil {
			t.Fatal(err)
		}
		i, err := info.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return i.State.Msgs
	}
	scoredBefore := scoredMsgs()

	d, err := rescore.Version(ctx, js, "v2")
	if err != nil {
		t.Fatalf("Version(v2) = %v", err)
	}
	set, err := rules.Compile(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var updates []rescore.Progress
	got, err := rescore.Run(ctx, js, conn, set, rescore.Options{Since: since, BatchSize: 3,
		Progress: func(p rescore.Progress) { updates = append(updates, p) }})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got.Read != 7 || got.Stored != 5 || got.Unmatched != 2 || got.Existing != 0 || got.Total != 7 {
		t.Errorf("Run = %+v, want 7 read of 7, 5 stored, 2 unmatched (app lab)", got)
	}
	if len(updates) < 3 || updates[0].Read != 3 || updates[0].Total != 7 {
		t.Errorf("progress updates = %+v, want one per batch of 3, the first at 3 of 7", updates)
	}
	if n := count(t, conn, "SELECT count() FROM v_scores WHERE rules_version = 'v2' AND metric = 'length_chars' AND event_id LIKE 'late-%'"); n != 5 {
		t.Errorf("late events with a v2 length_chars score = %d, want 5", n)
	}
	if n := count(t, conn, "SELECT count() FROM scores WHERE rules_version = 'v2' AND event_id NOT LIKE 'late-%'"); n != 0 {
		t.Errorf("v2 rows of events stored before since = %d, want 0", n)
	}
	if n := count(t, conn, "SELECT count() FROM v_scores WHERE rules_version = 'v1' AND metric = 'non_empty'"); n != 11 || scored("v1") != 11 {
		t.Errorf("v1 rows after the replay = %d (scores %d), want 11 untouched", n, scored("v1"))
	}
	if after := scoredMsgs(); after != scoredBefore {
		t.Errorf("SCORED holds %d records after the replay, %d before: a replay must publish nothing", after, scoredBefore)
	}

	again, err := rescore.Run(ctx, js, conn, set, rescore.Options{Since: since})
	if err != nil {
		t.Fatalf("second Run = %v", err)
	}
	if again.Stored != 0 || again.Existing != 5 || scored("v2") != 5 {
		t.Errorf("second Run = %+v with %d v2 rows, want nothing stored and 5 existing", again, scored("v2"))
	}

	// A dry run of a document given as is counts without storing; --app narrows by subject.
	v3, err := rules.Compile(doc("v3", true), nil)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := rescore.Run(ctx, js, conn, v3, rescore.Options{Since: since, App: "shop", DryRun: true})
	if err != nil || dry.Read != 5 || dry.Stored != 5 || scored("v3") != 0 {
		t.Errorf("dry Run = %+v, %v with %d v3 rows, want 5 read, 5 counted, none stored", dry, err, scored("v3"))
	}
	// Until before the late group and a feature no event has select nothing.
	none, err := rescore.Run(ctx, js, conn, v3, rescore.Options{Since: since.Add(-time.Hour), Until: since, DryRun: true})
	if err != nil || none.Stored != 6 || none.Read != 6 {
		t.Errorf("Run until since = %+v, %v, want the 6 early events only", none, err)
	}
	feature, err := rescore.Run(ctx, js, conn, v3, rescore.Options{Since: since, Feature: "billing", DryRun: true})
	if err != nil || feature.Skipped != 7 || feature.Stored != 0 {
		t.Errorf("Run feature=billing = %+v, %v, want 7 skipped", feature, err)
	}

	_, err = rescore.Version(ctx, js, "v9")
	if !errors.Is(err, rescore.ErrUnknownVersion) || !strings.Contains(err.Error(), `"v9"`) || !strings.Contains(err.Error(), "v2, v1") {
		t.Errorf("Version(v9) = %v, want ErrUnknownVersion naming v9 and the versions held (v2, v1)", err)
	}
	if _, err := rescore.Run(ctx, js, conn, set, rescore.Options{}); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("Run without since = %v, want an error naming since", err)
	}
}

// TestRescoreCancel checks that a cancelled context stops a replay with the context's error.
func TestRescoreCancel(t *testing.T) {
	ns := testkit.NATS(t)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 2, MaxEvent: 1 << 20}}
	nc, js, err := app.Connect(context.Background(), common, "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	publish(t, js, group("c", "shop", 3))
	set, err := rules.Compile(doc("v2", true), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rescore.Run(ctx, js, testkit.Conn(t, ch.Database(t)), set, rescore.Options{Since: time.Now().Add(-time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run(cancelled) = %v, want context.Canceled", err)
	}
}

// BenchmarkRescore replays 5,000 stored events through a new rules version per iteration (the
// default set's checks, so every row is inserted) and reports events replayed per second.
func BenchmarkRescore(b *testing.B) {
	const n = 5000
	ns := testkit.NATS(b)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 2, MaxEvent: 1 << 20}}
	nc, js, err := app.Connect(context.Background(), common, "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	conn := testkit.Conn(b, ch.Database(b))
	for i := 0; i < n; i += 500 {
		events := group(fmt.Sprintf("b%d", i), "shop", 500)
		msgs := make([]*nats.Msg, len(events))
		for j, ev := range events {
			data, err := event.Marshal(ev)
			if err != nil {
				b.Fatal(err)
			}
			msgs[j] = stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, data)
		}
		if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
			b.Fatal(err)
		}
	}
	since := time.Now().Add(-time.Hour)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d := &rules.Document{Version: fmt.Sprintf("bench-%d", i), Rules: []rules.Rule{{Name: "all", Defaults: true}}}
		set, err := rules.Compile(d, nil)
		if err != nil {
			b.Fatal(err)
		}
		p, err := rescore.Run(context.Background(), js, conn, set, rescore.Options{Since: since})
		if err != nil || p.Stored != n {
			b.Fatalf("Run = %+v, %v; want %d rows stored", p, err, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
