package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).StartMonitoring.func1"))
}

type env struct {
	js   jetstream.JetStream
	nc   *nats.Conn
	cons jetstream.Consumer
}

func setup(t *testing.T) env {
	t.Helper()
	ns := testkit.NATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	limits := stream.Limits{MaxAge: time.Hour, Duplicates: time.Minute}
	for i := 0; i < 2; i++ { // idempotent
		if err := stream.EnsureStreams(ctx, js, limits); err != nil {
			t.Fatalf("EnsureStreams run %d: %v", i+1, err)
		}
	}
	cons, err := stream.EnsureConsumer(ctx, js, stream.ConsumerConfig{
		Stream: stream.Events, Durable: "test", FilterSubjects: []string{stream.EventsRoot + ".>"},
		AckWait: 2 * time.Second, MaxAckPending: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	return env{js: js, nc: nc, cons: cons}
}

func publish(t *testing.T, js jetstream.JetStream, bodies ...string) {
	t.Helper()
	msgs := make([]*nats.Msg, len(bodies))
	for i, b := range bodies {
		msgs[i] = stream.NewMsg(stream.EventsSubject("app"), "id-"+b, []byte(b))
	}
	if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
		t.Fatal(err)
	}
}

func decodeInt(m jetstream.Msg) (int, error) {
	n, err := strconv.Atoi(string(m.Data()))
	if err != nil {
		return 0, fmt.Errorf("body: not an integer")
	}
	return n, nil
}

// collector is a stage that records what it processed and can fail on demand.
type collector struct {
	mu        sync.Mutex
	got       []int
	failTimes atomic.Int32 // transient failures to return before succeeding
	permanent map[int]bool // elements that fail permanently
}

func (c *collector) Process(ctx context.Context, batch []int) error {
	if c.failTimes.Add(-1) >= 0 {
		return errors.New("downstream unavailable")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	failed := map[int]error{}
	for i, v := range batch {
		if c.permanent[v] {
			failed[i] = fmt.Errorf("value %d is rejected", v)
			continue
		}
		c.got = append(c.got, v)
	}
	if len(failed) > 0 {
		return &stream.BatchError{Failed: failed}
	}
	return nil
}

func (c *collector) values() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.got...)
}

func dlqMessages(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream.DLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < info.State.Msgs; i++ {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestSourceAcksDeadLettersAndRetries(t *testing.T) {
	e := setup(t)
	reg := prometheus.NewPedanticRegistry()
	metrics := stream.NewMetrics(reg)
	stage := &collector{permanent: map[int]bool{7: true}}
	stage.failTimes.Store(2)
	src := stream.NewSource(stream.SourceConfig{Stage: "test", BatchSize: 4, MaxWait: 100 * time.Millisecond, RetryMin: 10 * time.Millisecond},
		e.js, e.cons, decodeInt, stage, slog.New(slog.DiscardHandler), metrics)
	var releasedMu sync.Mutex
	var released []int
	src.ReleaseSettled(func(v int) {
		releasedMu.Lock()
		defer releasedMu.Unlock()
		released = append(released, v)
	})
	publish(t, e.js, "1", "2", "oops", "3", "7", "4")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return len(stage.values()) == 4 }, "stage got %v, want 4 values", stage.values())
	if err := src.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, stage.values()); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
	dl := dlqMessages(t, e.js)
	reasons := map[string]string{}
	for _, m := range dl {
		reasons[string(m.Data())] = m.Headers().Get(stream.HeaderReason)
		if got := m.Headers().Get(stream.HeaderStage); got != "test" {
			t.Errorf("dead letter stage = %q, want test", got)
		}
	}
	want := map[string]string{"oops": "body: not an integer", "7": "value 7 is rejected"}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	// Every decoded value is released once, after its batch was retried and settled; the body
	// that failed decoding never became one.
	releasedMu.Lock()
	slices.Sort(released)
	if diff := cmp.Diff([]int{1, 2, 3, 4, 7}, released); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	releasedMu.Unlock()
	if got := testutil.ToFloat64(metricCounter(t, reg, "vigil_stream_batch_retries_total")); got < 2 {
		t.Errorf("retries = %v, want >= 2", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
	info, err := e.cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer has %d ack-pending and %d pending, want 0 and 0", info.NumAckPending, info.NumPending)
	}
}

func metricCounter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	c.Add(total)
	return c
}

func TestHardStopRedeliversUnackedBatch(t *testing.T) {
	e := setup(t)
	publish(t, e.js, "1", "2", "3")
	blocked := make(chan struct{})
	var once sync.Once
	hang := stream.StageFunc[int](func(ctx context.Context, batch []int) error {
		once.Do(func() { close(blocked) })
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	src := stream.NewSource(stream.SourceConfig{Stage: "test", BatchSize: 10, MaxWait: 100 * time.Millisecond},
		e.js, e.cons, decodeInt, hang, slog.New(slog.DiscardHandler), nil)
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-blocked
	cancel() // crash: no drain, no ack
	if err := src.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	stage := &collector{}
	again := stream.NewSource(stream.SourceConfig{Stage: "test", BatchSize: 10, MaxWait: 100 * time.Millisecond},
		e.js, e.cons, decodeInt, stage, slog.New(slog.DiscardHandler), nil)
	if err := again.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown(context.Background())
	testkit.Eventually(t, 10*time.Second, func() bool { return len(stage.values()) == 3 }, "after restart got %v, want [1 2 3]", stage.values())
}

func TestSourceLifecycle(t *testing.T) {
	e := setup(t)
	newSrc := func() *stream.Source[int] {
		return stream.NewSource(stream.SourceConfig{Stage: "test", MaxWait: 50 * time.Millisecond}, e.js, e.cons, decodeInt, &collector{}, slog.New(slog.DiscardHandler), nil)
	}
	t.Run("shutdown without start", func(t *testing.T) {
		if err := newSrc().Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
	})
	t.Run("start then double shutdown", func(t *testing.T) {
		s := newSrc()
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := s.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown %d = %v, want nil", i+1, err)
			}
		}
		if err := s.Start(context.Background()); !errors.Is(err, stream.ErrClosed) {
			t.Errorf("Start after Shutdown = %v, want ErrClosed", err)
		}
	})
}

func TestPublishDeduplicates(t *testing.T) {
	e := setup(t)
	publish(t, e.js, "1", "1", "2")
	s, err := e.js.Stream(context.Background(), stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2 (duplicate id dropped)", info.State.Msgs)
	}
}

func TestPartitionIsStable(t *testing.T) {
	for _, key := range []string{"a", "shop\x1fprod", ""} {
		p := stream.Partition(key, 16)
		if p < 0 || p >= 16 || p != stream.Partition(key, 16) {
			t.Errorf("Partition(%q, 16) = %d, want a stable value in [0,16)", key, p)
		}
	}
	if got := stream.Partition("x", 1); got != 0 {
		t.Errorf("Partition(x, 1) = %d, want 0", got)
	}
}

func TestDeadLettersListAndReplay(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// A stage that rejects "x" until it is fixed.
	var fixed atomic.Bool
	stage := &collector{}
	decode := func(m jetstream.Msg) (int, error) {
		if string(m.Data()) == "x" && !fixed.Load() {
			return 0, errors.New("body: x is not understood yet")
		}
		if string(m.Data()) == "x" {
			return 99, nil
		}
		return decodeInt(m)
	}
	src := stream.NewSource(stream.SourceConfig{Stage: "test", BatchSize: 10, MaxWait: 50 * time.Millisecond},
		e.js, e.cons, decode, stage, slog.New(slog.DiscardHandler), nil)
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Shutdown(ctx)
	publish(t, e.js, "1", "x", "2")
	var letters []stream.Letter
	testkit.Eventually(t, 10*time.Second, func() bool {
		var err error
		letters, err = stream.Letters(ctx, e.js, "", 0)
		return err == nil && len(letters) == 1
	}, "want one dead letter, got %d", len(letters))
	l := letters[0]
	if l.Stage != "test" || l.Reason != "body: x is not understood yet" || l.SourceSubject != stream.EventsSubject("app") || string(l.Data) != "x" {
		t.Errorf("dead letter = %+v", l)
	}
	if other, _ := stream.Letters(ctx, e.js, "scorer", 0); len(other) != 0 {
		t.Errorf("Letters(stage scorer) = %d letters, want 0", len(other))
	}

	fixed.Store(true)
	if err := stream.Replay(ctx, e.js, l.Sequence); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return len(stage.values()) == 3 }, "after replay the stage got %v, want 1, 2 and 99", stage.values())
	if left, _ := stream.Letters(ctx, e.js, "", 0); len(left) != 0 {
		t.Errorf("DLQ still holds %d letters after replay", len(left))
	}
	if err := stream.Replay(ctx, e.js, l.Sequence); err == nil {
		t.Error("second Replay of the same letter succeeded, want an error (it was removed)")
	}
}

// TestSourceFetchesLargeMessagesWithoutDrops fetches more bytes than the client holds for one
// subscription (64 MiB): unbounded, the client drops messages as a slow consumer and they come
// back only after the ack wait; bounded by MaxBytes, every one arrives in the next fetches.
func TestSourceFetchesLargeMessagesWithoutDrops(t *testing.T) {
	e := setup(t)
	var slow atomic.Int32
	nc, err := nats.Connect(e.nc.ConnectedUrl(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrSlowConsumer) {
			slow.Add(1)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n, size = 100, 900 << 10 // 90 MB in all
	pad := strings.Repeat("x", size)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = stream.NewMsg(stream.EventsSubject("big"), fmt.Sprint("big-", i), []byte(fmt.Sprintf("%d %s", i, pad)))
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	cons, err := stream.EnsureConsumer(ctx, js, stream.ConsumerConfig{
		Stream: stream.Events, Durable: "big", FilterSubjects: []string{stream.EventsSubject("big")},
		AckWait: time.Minute, MaxAckPending: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	decode := func(m jetstream.Msg) (int, error) {
		head, _, _ := strings.Cut(string(m.Data()[:16]), " ")
		return strconv.Atoi(head)
	}
	stage := &collector{}
	src := stream.NewSource(stream.SourceConfig{Stage: "big", BatchSize: 1000, MaxWait: time.Second}, js, cons, decode, stage, slog.New(slog.DiscardHandler), nil)
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Shutdown(ctx)
	// Far less than the ack wait: a dropped message would only return after a minute.
	testkit.Eventually(t, 20*time.Second, func() bool { return len(stage.values()) == n }, "stage got %d of %d large messages", len(stage.values()), n)
	if slow.Load() != 0 {
		t.Errorf("the client dropped messages as a slow consumer %d times", slow.Load())
	}
}
