package bench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/loadtest/gen"
	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// PipelineOptions configure one end-to-end run: against `vigil dev`, separate service processes
// it starts, or services already running.
type PipelineOptions struct {
	VigilBin string // path of the vigil binary; empty with NATSURL set measures running services
	NATSURL  string // when set, publish to these already running services instead of vigil dev
	// ServicesDir, when set, holds nats-server, scorer, drift and writer binaries that the run
	// starts as separate processes instead of vigil dev.
	ServicesDir string
	// Backlog, with ServicesDir, is how many events are published before the services start.
	Backlog  int
	DSN      string        // ClickHouse database for this run (created by the pipeline)
	Duration time.Duration // how long load is published
	Rate     int           // events per second; 0 publishes as fast as the pipeline keeps up
	// BadShare is the share of load events whose output is refused, truncated or malformed JSON.
	BadShare float64
	// MaxLag, in a run without Rate, is how many events may wait for the scorer or the writer
	// (undelivered on their consumers) before the generator pauses: the run then measures the rate
	// the pipeline sustains, not how it copes with an ever longer backlog. 0 publishes as fast as
	// JetStream accepts.
	MaxLag int
	Env    []string // extra VIGIL_* settings for the run
	// ClickHousePID, when set, has the run measure the ClickHouse server's CPU too.
	ClickHousePID int
	// Processes names processes (as /proc/PID/comm has them: scorer, writer, nats-server...)
	// measured each on their own, for separately started services.
	Processes []string
	Log       func(format string, args ...any)
}

// PipelineResult is what one run measured.
type PipelineResult struct {
	Published       int
	Stored          uint64
	Scored          uint64
	Elapsed         time.Duration // first publish to the last event stored and scored
	PublishRate     float64
	Latency         []time.Duration // publish → queryable in v_model_calls, for sampled events
	AlertAfter      time.Duration   // regression start → firing alert on the stream (0: none)
	OtherAlerts     int             // alerts that fired outside the canary: false alarms, as the load does not change
	CPUSeconds      float64         // user+system CPU of vigil dev, or of the named processes together
	ClickHouseCPU   float64         // user+system CPU seconds ClickHouse spent during the run
	GeneratorCPU    float64         // user+system CPU seconds of this process: the load generator and its measuring
	PeakRSS         int64           // bytes, VmHWM of vigil dev, or the named processes' peaks summed
	Processes       []ProcessUsage  // the processes PipelineOptions.Processes names
	MaxLag          uint64          // largest pending+unacked count seen on any consumer
	LagTimeline     []string
	DeadLettered    uint64
	InsertedPerSec  float64
	PipelineSeconds float64
}

// canary labels: a small series that turns bad halfway through the run.
const (
	canaryApp     = "bench"
	canaryFeature = "canary"
)

// Pipeline starts the pipeline (or finds it running), publishes load plus a canary series that
// regresses halfway, and measures throughput, latency, alert delay, CPU, memory and consumer lag.
func Pipeline(ctx context.Context, o PipelineOptions) (PipelineResult, error) {
	var res PipelineResult
	var (
		nc     *nats.Conn
		js     jetstream.JetStream
		pid    int
		exited = make(chan error, 1)
	)
	switch {
	case o.NATSURL != "":
		var err error
		if nc, js, err = waitForPipeline(ctx, o.NATSURL, exited); err != nil {
			return res, err
		}
	case o.ServicesDir != "":
		url, stop, err := startServices(ctx, o, exited)
		if stop != nil {
			defer stop()
		}
		if err != nil {
			return res, err
		}
		if nc, js, err = waitForPipeline(ctx, url, exited); err != nil {
			return res, err
		}
	default:
		url, p, stop, err := startDev(ctx, o, exited)
		if err != nil {
			return res, err
		}
		defer stop()
		pid = p
		if nc, js, err = waitForPipeline(ctx, url, exited); err != nil {
			return res, err
		}
	}
	defer nc.Close()
	opts, err := clickhouse.ParseDSN(o.DSN)
	if err != nil {
		return res, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return res, err
	}
	defer conn.Close()

	samplerCtx, stopSampler := context.WithCancel(ctx)
	sampler := &sampler{pid: pid, chPID: o.ClickHousePID, js: js, procs: newProcessWatch(o.Processes)}
	if o.ClickHousePID > 0 {
		sampler.chStart, _ = testkit.ProcessCPU(o.ClickHousePID)
		sampler.chCPU = sampler.chStart
	}
	var samplerWG sync.WaitGroup
	samplerWG.Add(1)
	go func() { defer samplerWG.Done(); sampler.run(samplerCtx) }()
	defer func() { stopSampler(); samplerWG.Wait() }()

	alerts := make(chan time.Time, 1)
	var others falseAlarms
	sub, err := nc.Subscribe(stream.AlertsRoot+".>", func(m *nats.Msg) {
		a, err := event.DecodeAlert(m.Data)
		if err != nil || a.State != event.StateFiring || a.Resend {
			return
		}
		if a.Labels["app"] != canaryApp {
			others.add(a)
			return
		}
		select {
		case alerts <- time.Now():
		default:
		}
	})
	if err != nil {
		return res, err
	}
	defer sub.Unsubscribe()

	tracker := newLatencyTracker(conn)
	trackCtx, stopTracker := context.WithCancel(ctx)
	var trackWG sync.WaitGroup
	trackWG.Add(1)
	go func() { defer trackWG.Done(); tracker.run(trackCtx) }()
	defer func() { stopTracker(); trackWG.Wait() }()

	// Running services may have stored rows before: count from here.
	baseStored := count(ctx, conn, "SELECT count() FROM model_calls")
	baseScored := count(ctx, conn, "SELECT count() FROM scores")
	start := time.Now()
	generatorStart := selfCPU()
	var regressAt atomic.Int64
	var canaryN atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); publishCanary(ctx, js, start, o.Duration, &regressAt, &canaryN) }()
	var waiting *lagWatch
	if o.Rate == 0 && o.MaxLag > 0 {
		waiting = &lagWatch{js: js}
		lagCtx, stopLag := context.WithCancel(ctx)
		defer stopLag()
		go waiting.run(lagCtx)
	}
	published, err := publishLoad(ctx, js, o, tracker, waiting, o.Log)
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.Published = published + int(canaryN.Load()) + o.Backlog
	res.PublishRate = float64(published) / time.Since(start).Seconds()
	o.Log("published %d load events (%.0f/s) and %d canary events; waiting for the pipeline to store them", published, res.PublishRate, canaryN.Load())

	want := uint64(res.Published)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		res.Stored = count(ctx, conn, "SELECT count() FROM model_calls") - baseStored
		res.Scored = count(ctx, conn, "SELECT count() FROM scores") - baseScored
		if res.Stored >= want && res.Scored >= want {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("after 10 minutes ClickHouse holds %d events and %d score rows of %d", res.Stored, res.Scored, want)
		}
		select {
		case err := <-exited:
			return res, fmt.Errorf("the pipeline exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Elapsed = time.Since(start)
	res.GeneratorCPU = selfCPU() - generatorStart
	stopTracker()
	trackWG.Wait()
	res.Latency = tracker.latencies()
	select {
	case at := <-alerts:
		if r := regressAt.Load(); r > 0 {
			res.AlertAfter = at.Sub(time.Unix(0, r))
		}
	case <-time.After(20 * time.Second):
	}
	res.OtherAlerts = others.count()
	if res.OtherAlerts > 0 {
		o.Log("%d alerts fired outside the canary, on load that does not change: %s", res.OtherAlerts, others.summary())
	}
	stopSampler()
	samplerWG.Wait()
	res.CPUSeconds, res.PeakRSS, res.MaxLag, res.LagTimeline = sampler.cpu, sampler.peakRSS, sampler.maxLag, sampler.timeline
	res.ClickHouseCPU = sampler.chCPU - sampler.chStart
	res.Processes = sampler.procs.usage()
	if pid == 0 { // separate services: the named processes together
		for _, u := range res.Processes {
			res.CPUSeconds += u.CPUSeconds
			res.PeakRSS += u.PeakRSS
		}
	}
	if s, err := js.Stream(ctx, stream.DLQ); err == nil {
		if info, err := s.Info(ctx); err == nil {
			res.DeadLettered = info.State.Msgs
		}
	}
	return res, nil
}

// startDev runs `vigil dev` on a free port with its store in a temporary directory; stop ends it
// with SIGTERM and removes the directory.
func startDev(ctx context.Context, o PipelineOptions, exited chan error) (url string, pid int, stop func(), err error) {
	dir, err := os.MkdirTemp("", "vigil-bench-dev-")
	if err != nil {
		return "", 0, nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, o.VigilBin, "dev")
	cmd.Env = append(os.Environ(),
		"VIGIL_DEV_NATS_PORT="+strconv.Itoa(port), "VIGIL_DEV_DATA_DIR="+dir, "VIGIL_DEV_ADMIN_ADDR=127.0.0.1:0",
		"VIGIL_CLICKHOUSE_DSN="+o.DSN)
	cmd.Env = append(append(cmd.Env, benchSettings...), o.Env...)
	logFile, err := os.Create(filepath.Join(dir, "vigil.log"))
	if err != nil {
		return "", 0, nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("start %s dev: %w", o.VigilBin, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		exited <- fmt.Errorf("%v (log: %s)", err, filepath.Join(dir, "vigil.log"))
		close(done)
	}()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
		}
		logFile.Close()
		os.RemoveAll(dir)
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port), cmd.Process.Pid, stop, nil
}

func waitForPipeline(ctx context.Context, url string, exited chan error) (*nats.Conn, jetstream.JetStream, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return nil, nil, fmt.Errorf("the pipeline exited during start: %v", err)
		default:
		}
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err == nil {
			js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
			if _, err := js.Consumer(ctx, stream.Events, "writer-events"); err == nil {
				if _, err := js.Consumer(ctx, stream.Events, "scorer"); err == nil {
					return nc, js, nil
				}
			}
			nc.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, nil, fmt.Errorf("no vigil pipeline ready at %s after 60s (its streams and consumers are missing)", url)
}

// publishLoad publishes generated 1-2 KB events for o.Duration, at o.Rate or as fast as
// JetStream acknowledges them, tracking the publish time of every 500th event.
func publishLoad(ctx context.Context, js jetstream.JetStream, o PipelineOptions, tr *latencyTracker, waiting *lagWatch, logf func(string, ...any)) (int, error) {
	templates := loadTemplates(256, o.BadShare)
	pub, err := newBurstPublisher(js.Conn())
	if err != nil {
		return 0, err
	}
	defer pub.close()
	var tick <-chan time.Time
	perTick := 0
	if o.Rate > 0 {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		tick = t.C
		perTick = max(o.Rate/100, 1)
	}
	end := time.Now().Add(o.Duration)
	n := 0
	lastLog := time.Now()
	for time.Now().Before(end) {
		burst := burstSize
		if tick != nil {
			<-tick
			burst = perTick
		}
		for waiting != nil && waiting.events.Load() > int64(o.MaxLag) && time.Now().Before(end) {
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return n, ctx.Err()
			}
		}
		err := publishBurst(ctx, pub, templates, n, burst, func(i int, id string, ackedAt time.Time) {
			if i%500 == 0 {
				tr.published(id, ackedAt)
			}
		})
		n += burst
		if err != nil {
			return n, fmt.Errorf("publish load: %w", err)
		}
		if time.Since(lastLog) > 5*time.Second {
			logf("published %d load events", n)
			lastLog = time.Now()
		}
	}
	return n, nil
}

// templates are pre-encoded events whose ids and timestamps are rewritten in place, so
// publishing costs no encoding work and does not steal CPU from the pipeline under test.
type templateSet struct {
	bodies [][]byte
	apps   []string
	idAt   []int
	tsAt   []int
}

const idWidth = 20

// stampLayout writes every timestamp at the same width (RFC 3339 with all nine fraction digits),
// so a template's timestamp can be overwritten in place.
const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// stampWidth is the width of a timestamp in stampLayout, in UTC.
var stampWidth = len(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(stampLayout))

// LoadOptions is the traffic every run publishes, with badShare of bad outputs.
func LoadOptions(badShare float64, seed uint64) gen.Options {
	return gen.Options{Apps: 4, Features: 8, Models: 3, Versions: 2, BadShare: badShare, Seed: seed}
}

func loadTemplates(n int, badShare float64) *templateSet {
	g := gen.New(LoadOptions(badShare, 42))
	ts := &templateSet{}
	// Nine significant fraction digits, so the encoded timestamp has stampWidth bytes to find.
	at := time.Now().UTC().Truncate(time.Second).Add(123456789)
	stamp := []byte(at.Format(stampLayout))
	placeholder := strings.Repeat("0", idWidth)
	for range n {
		ev := g.Next(at)
		ev.EventID = "lt-" + placeholder
		body, _ := event.Marshal(ev)
		ts.bodies = append(ts.bodies, body)
		ts.apps = append(ts.apps, ev.App)
		ts.idAt = append(ts.idAt, bytes.Index(body, []byte(placeholder)))
		ts.tsAt = append(ts.tsAt, bytes.Index(body, stamp))
	}
	return ts
}

func (t *templateSet) app(i int) string { return t.apps[i%len(t.apps)] }

// next writes the i-th event, stamped with stamp (stampWidth bytes in stampLayout), into scratch,
// which may hold the previous one, and returns its id and body. Every event carries the time it
// is published, as a model call's would: drift places records in windows by their timestamp.
func (t *templateSet) next(i int, stamp, scratch []byte) (string, []byte) {
	k := i % len(t.bodies)
	body := append(scratch[:0], t.bodies[k]...)
	copy(body[t.tsAt[k]:t.tsAt[k]+stampWidth], stamp)
	digits := body[t.idAt[k] : t.idAt[k]+idWidth]
	for j := idWidth - 1; j >= 0; j-- {
		digits[j] = byte('0' + i%10)
		i /= 10
	}
	return "lt-" + string(digits), body
}

// stampNow is the current time in stampLayout.
func stampNow(buf []byte) []byte {
	return time.Now().UTC().AppendFormat(buf[:0], stampLayout)
}

// burstSize is how many events a burst publishes before waiting for their acks.
const burstSize = 500

// publishBurst publishes the generated events from..from+count-1 and waits for their acks,
// calling acked for each.
func publishBurst(ctx context.Context, p *burstPublisher, templates *templateSet, from, count int, acked func(i int, id string, at time.Time)) error {
	ids := make([]string, count)
	var scratch []byte
	// One stamp per burst: a burst takes milliseconds, far less than drift's windows.
	stamp := stampNow(make([]byte, 0, stampWidth))
	for k := range count {
		var body []byte
		ids[k], body = templates.next(from+k, stamp, scratch)
		if err := p.publish(stream.EventsSubject(templates.app(from+k)), ids[k], body); err != nil {
			return err
		}
		scratch = body
	}
	return p.wait(ctx, func(k int, at time.Time) { acked(from+k, ids[k], at) })
}

// followedConsumers are the pipeline's durable consumers whose lag a run follows. Drift reads
// each partition through an ordered consumer of its own, under a generated name: driftLag sums them.
var followedConsumers = []struct{ stream, durable string }{
	{stream.Events, "scorer"}, {stream.Events, "writer-events"}, {stream.Scored, "writer-scored"},
}

// lagWatch keeps the number of events waiting for the scorer or the writer: the larger of
// their consumers' undelivered counts, read ten times a second.
type lagWatch struct {
	js     jetstream.JetStream
	events atomic.Int64
}

func (w *lagWatch) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var most uint64
		for _, c := range followedConsumers {
			if c.stream != stream.Events {
				continue
			}
			// Looking the consumer up fetches its info: one request to the server under test, not two.
			if cons, err := w.js.Consumer(ctx, c.stream, c.durable); err == nil {
				most = max(most, cons.CachedInfo().NumPending)
			}
		}
		w.events.Store(int64(most))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// backlogFirstID numbers backlog events apart from the load's, which count from zero.
const backlogFirstID = 1_000_000_000_000

// publishBacklog publishes n generated events before the services start, so that they start
// behind by n.
func publishBacklog(ctx context.Context, url string, n int, badShare float64, logf func(string, ...any)) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	// The services would create the streams at start; the backlog needs them now, with the
	// limits the services' configuration gives them.
	var settings config.Streams
	if err := envconfig.Process(config.Prefix, &settings); err != nil {
		return fmt.Errorf("read stream settings: %w", err)
	}
	if err := stream.EnsureStreams(ctx, js, settings.Limits()); err != nil {
		return fmt.Errorf("create streams for the backlog: %w", err)
	}
	templates := loadTemplates(256, badShare)
	pub, err := newBurstPublisher(nc)
	if err != nil {
		return err
	}
	defer pub.close()
	for done := 0; done < n; {
		burst := min(burstSize, n-done)
		if err := publishBurst(ctx, pub, templates, backlogFirstID+done, burst, func(int, string, time.Time) {}); err != nil {
			return fmt.Errorf("publish backlog: %w", err)
		}
		done += burst
		if done%100_000 == 0 || done == n {
			logf("backlog: published %d of %d events", done, n)
		}
	}
	return nil
}

// publishCanary publishes 50 events/s of one series: healthy for the first half of the run,
// then refusing 40% of the time, recording when the regression began.
func publishCanary(ctx context.Context, js jetstream.JetStream, start time.Time, d time.Duration, regressAt *atomic.Int64, n *atomic.Int64) {
	rng := rand.New(rand.NewPCG(7, 7))
	var pending []jetstream.PubAckFuture
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; time.Since(start) < d; i++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		bad := time.Since(start) > d/2
		if bad && regressAt.Load() == 0 {
			regressAt.Store(time.Now().UnixNano())
		}
		ev := &event.Event{EventID: fmt.Sprintf("canary-%d-%d", start.UnixNano(), i), Timestamp: time.Now().UTC(),
			App: canaryApp, Feature: canaryFeature, Model: "m", PromptVersion: "v1",
			Output: "Your order ships tomorrow and arrives within three business days.", FinishReason: "stop"}
		if bad && rng.Float64() < 0.4 {
			ev.Output = "I'm sorry, but I can't help with that."
		}
		body, _ := event.Marshal(ev)
		// Asynchronously: waiting for each ack would slow the canary to the store's write
		// latency (a few events a second with fsync), too few to fill its baseline in time.
		if f, err := js.PublishMsgAsync(stream.NewMsg(stream.EventsSubject(canaryApp), ev.EventID, body)); err == nil {
			pending = append(pending, f)
		}
	}
	for _, f := range pending {
		select {
		case <-f.Ok():
			n.Add(1)
		case <-f.Err():
		case <-ctx.Done():
			return
		}
	}
}

// latencyTracker records when sampled events were published and when they became queryable.
type latencyTracker struct {
	conn driver.Conn
	mu   sync.Mutex
	sent map[string]time.Time
	lat  []time.Duration
}

func newLatencyTracker(conn driver.Conn) *latencyTracker {
	return &latencyTracker{conn: conn, sent: map[string]time.Time{}}
}

func (t *latencyTracker) published(id string, at time.Time) {
	t.mu.Lock()
	t.sent[id] = at
	t.mu.Unlock()
}

func (t *latencyTracker) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.poll(context.Background())
			return
		case <-tick.C:
			t.poll(ctx)
		}
	}
}

func (t *latencyTracker) poll(ctx context.Context) {
	t.mu.Lock()
	ids := make([]any, 0, len(t.sent))
	for id := range t.sent {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	// stored_keys is sorted by key and written by the same INSERT as model_calls (a
	// materialized view, just after the row itself), so the poll reads a few granules; looking
	// the ids up in model_calls would scan its event_id column ten times a second and load
	// ClickHouse more than the writer does.
	rows, err := t.conn.Query(ctx, "SELECT key FROM stored_keys WHERE kind = 'model_calls' AND key IN ?",
		clickhouse.GroupSet{Value: ids})
	if err != nil {
		return
	}
	defer rows.Close()
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			if at, ok := t.sent[id]; ok {
				t.lat = append(t.lat, now.Sub(at))
				delete(t.sent, id)
			}
		}
	}
}

func (t *latencyTracker) latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]time.Duration(nil), t.lat...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Percentile returns the p-th percentile (0-100) of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// sampler reads the process's CPU and memory from /proc and the consumers' lag from JetStream.
type sampler struct {
	pid      int
	chPID    int     // ClickHouse server; 0: not measured
	chStart  float64 // its CPU seconds when the run began
	chCPU    float64
	js       jetstream.JetStream
	scored   jetstream.Stream // looked up once, for drift's lag
	procs    *processWatch
	cpu      float64
	peakRSS  int64
	maxLag   uint64
	timeline []string
}

func (s *sampler) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.pid > 0 {
			if cpu, err := testkit.ProcessCPU(s.pid); err == nil {
				s.cpu = cpu
			}
			if rss, err := procPeakRSS(s.pid); err == nil {
				s.peakRSS = rss
			}
		}
		if s.chPID > 0 {
			if cpu, err := testkit.ProcessCPU(s.chPID); err == nil {
				s.chCPU = cpu
			}
		}
		s.procs.sample()
		var parts []string
		for _, c := range followedConsumers {
			cons, err := s.js.Consumer(ctx, c.stream, c.durable)
			if err != nil {
				continue
			}
			info := cons.CachedInfo() // fetched by the lookup just now
			lag := info.NumPending + uint64(info.NumAckPending)
			s.maxLag = max(s.maxLag, lag)
			parts = append(parts, fmt.Sprintf("%s=%d", c.durable, lag))
		}
		if s.scored == nil {
			s.scored, _ = s.js.Stream(ctx, stream.Scored)
		}
		if lag, ok := driftLag(ctx, s.scored); ok {
			parts = append(parts, fmt.Sprintf("drift=%d", lag))
		}
		s.timeline = append(s.timeline, fmt.Sprintf("t=%3.0fs %s", time.Since(start).Seconds(), strings.Join(parts, " ")))
	}
}

// driftLag is how many messages drift's partitions have yet to read from scored (the SCORED
// stream): the pending messages of its consumers that are not durable, which are drift's
// ordered consumers. One listing request; false when there is no stream or the listing fails.
func driftLag(ctx context.Context, scored jetstream.Stream) (uint64, bool) {
	if scored == nil {
		return 0, false
	}
	var lag uint64
	list := scored.ListConsumers(ctx)
	for info := range list.Info() {
		if info.Config.Durable == "" {
			lag += info.NumPending + uint64(info.NumAckPending)
		}
	}
	return lag, list.Err() == nil
}

// selfCPU is the user+system CPU seconds this process has spent.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func procPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func count(ctx context.Context, conn driver.Conn, q string) uint64 {
	var n uint64
	_ = conn.QueryRow(ctx, q).Scan(&n)
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// falseAlarms counts the alerts that fire on the load's series. The load's quality does not
// change over a run, so each one is a false alarm.
type falseAlarms struct {
	mu     sync.Mutex
	byName map[string]int // alertname and metric → alerts
}

func (f *falseAlarms) add(a *event.Alert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byName == nil {
		f.byName = map[string]int{}
	}
	f.byName[a.Labels["alertname"]+" "+a.Labels["metric"]]++
}

func (f *falseAlarms) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.byName {
		n += k
	}
	return n
}

// summary lists the alerts by name and metric, most frequent first.
func (f *falseAlarms) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := slices.Collect(maps.Keys(f.byName))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(f.byName[b]-f.byName[a], strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s: %d", k, f.byName[k])
	}
	return strings.Join(parts, ", ")
}
