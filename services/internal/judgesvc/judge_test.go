package judgesvc_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/judge"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/judgesvc"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

// harness is one test's NATS server and pipeline dependencies, and optionally a ClickHouse
// database.
type harness struct {
	deps app.Deps
	reg  *prometheus.Registry
	conn driver.Conn
	cfg  pipeline.Config
}

func newHarness(t *testing.T, withClickHouse bool) *harness {
	t.Helper()
	ns := testkit.NATS(t)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 4, MaxEvent: 16384}}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, js, err := app.Connect(context.Background(), common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	reg := prometheus.NewPedanticRegistry()
	h := &harness{
		deps: app.Deps{Common: common, Log: log, Registry: reg, NC: nc, JS: js, Metrics: stream.NewMetrics(reg)},
		reg:  reg,
		cfg: pipeline.Config{
			Scorer: scorersvc.Config{BatchSize: 256, MaxWait: 50 * time.Millisecond, AckWait: 5 * time.Second},
			Drift: driftsvc.Config{Window: 10 * time.Second, Grace: time.Second, BaselineSize: 200, MinSamples: 30,
				Alpha: 0.001, MinRateEffect: 0.05, MinMeanEffect: 0.5, PendingWindows: 1, ResolveWindows: 2, ResendWindows: 10,
				BatchSize: 500, LeaseTTL: 3 * time.Second, CheckpointInterval: time.Second},
			Writer: writersvc.Config{BatchSize: 1000, FlushInterval: 200 * time.Millisecond, AckWait: 3 * time.Second},
		},
	}
	if withClickHouse {
		dsn := ch.Database(t)
		h.deps.Common.ClickHouseDSN = dsn
		h.conn = testkit.Conn(t, dsn)
	}
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var judgeConfig = judgesvc.Config{Concurrency: 4, BatchSize: 16, CacheSize: 1000, AckWait: 10 * time.Second, AdminAddr: ":0"}

func helpfulness(url string) judge.Judge {
	return judge.Judge{
		Name: "helpfulness", Endpoint: url, Model: "judge-model",
		Rubric:    "Is this answer helpful?\nQuestion: {{.Input}}\nAnswer: {{.Output}}",
		Threshold: 0.5, SampleRate: 1, Timeout: judge.Duration(time.Second),
	}
}

// grader scores an output 0.9 when it says the order shipped, else 0.2.
func grader(_ context.Context, _ int, req testkit.ChatRequest) testkit.ChatReply {
	if strings.Contains(req.User(), "shipped") {
		return testkit.ChatReply{Content: `{"label":"helpful","score":0.9,"explanation":"Says the order shipped."}`, PromptTokens: 100, CompletionTokens: 20}
	}
	return testkit.ChatReply{Content: `{"label":"unhelpful","score":0.2,"explanation":"Says nothing useful."}`, PromptTokens: 100, CompletionTokens: 20}
}

// start runs parts (downstream first) and stops them, upstream first, when the test ends.
func start(t *testing.T, parts ...lifecycle.Named) {
	t.Helper()
	ctx := context.Background()
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			t.Fatalf("start %s: %v", p.Name, err)
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(parts) - 1; i >= 0; i-- {
			if err := parts[i].Shutdown(sctx); err != nil {
				t.Errorf("shut down %s: %v", parts[i].Name, err)
			}
		}
	})
}

// pipelineWithJudge runs the scorer, drift and writer, and a judge of file.
func pipelineWithJudge(t *testing.T, h *harness, file *judge.File) {
	t.Helper()
	ctx := context.Background()
	parts, err := pipeline.Components(ctx, h.deps, h.cfg, h.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := judgesvc.New(ctx, h.deps, judgeConfig, file)
	if err != nil {
		t.Fatal(err)
	}
	start(t, append(parts, lifecycle.Named{Name: "judge", Component: j})...)
}

func publish(t *testing.T, h *harness, prefix string, n int) []string {
	t.Helper()
	var msgs []*nats.Msg
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%03d", prefix, i)
		// Distinct outputs: a repeated prompt would be answered from the cache.
		output := fmt.Sprintf("Your order %s shipped this morning.", id)
		if i%2 == 1 {
			output = fmt.Sprintf("I cannot tell you about order %s.", id)
		}
		ev := event.Event{
			EventID: id, Timestamp: time.Now().UTC().Truncate(time.Second), App: "shop",
			Feature: "support", Model: "gpt-x", Input: "Where is my order?", Output: output, FinishReason: "stop",
		}
		data, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, data))
		ids = append(ids, ev.EventID)
	}
	if err := stream.PublishAll(context.Background(), h.deps.JS, msgs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func count(t *testing.T, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func eventsScoredBy(t *testing.T, conn driver.Conn, source string) uint64 {
	t.Helper()
	return count(t, conn, "SELECT uniqExact(event_id) FROM v_scores WHERE source = ?", source)
}

// counter sums the samples of a counter whose labels include want.
func counter(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestJudgedEventHasARowBesideTheChecks(t *testing.T) {
	h := newHarness(t, true)
	chat := testkit.NewChatServer(t, grader)
	file := &judge.File{Judges: []judge.Judge{helpfulness(chat.URL)}}
	pipelineWithJudge(t, h, file)

	const n = 40
	ids := publish(t, h, "j", n)
	testkit.Eventually(t, 60*time.Second, func() bool {
		return eventsScoredBy(t, h.conn, "checks") == n && eventsScoredBy(t, h.conn, "judge") == n
	}, "v_scores covers %d events by the checks and %d by the judge, want %d each",
		eventsScoredBy(t, h.conn, "checks"), eventsScoredBy(t, h.conn, "judge"), n)

	type row struct{ Source, RulesVersion string }
	var rows []row
	r, err := h.conn.Query(context.Background(), "SELECT source, rules_version FROM scores FINAL WHERE event_id = ? ORDER BY source", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var x row
		if err := r.Scan(&x.Source, &x.RulesVersion); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, x)
	}
	r.Close()
	if diff := cmp.Diff([]row{{"checks", scoring.RulesVersion}, {"judge", file.Version()}}, rows); diff != "" {
		t.Errorf("scores rows of %s (-want +got):\n%s", ids[0], diff)
	}

	for i, want := range []struct {
		value float64
		pass  uint8
		label string
	}{{0.9, 1, "helpful"}, {0.2, 0, "unhelpful"}} {
		var kind, label, reason string
		var value float64
		var pass uint8
		if err := h.conn.QueryRow(context.Background(), `SELECT kind, value, pass, label, reason FROM v_scores
			WHERE event_id = ? AND metric = 'judge_helpfulness'`, ids[i]).Scan(&kind, &value, &pass, &label, &reason); err != nil {
			t.Fatalf("judge_helpfulness of %s in v_scores: %v", ids[i], err)
		}
		if kind != "measure" || value != want.value || pass != want.pass || label != want.label || reason == "" {
			t.Errorf("judge_helpfulness of %s = %s %v pass=%d %q %q, want measure %v pass=%d %q with a reason",
				ids[i], kind, value, pass, label, reason, want.value, want.pass, want.label)
		}
	}
	if got := count(t, h.conn, "SELECT count() FROM (SELECT event_id, metric FROM v_scores GROUP BY event_id, metric HAVING count() > 1)"); got != 0 {
		t.Errorf("%d (event, metric) pairs appear more than once in v_scores", got)
	}
	if calls := chat.Calls(); calls != n {
		t.Errorf("endpoint got %d requests for %d events", calls, n)
	}
}

func TestSlowOrFailingJudgeDoesNotDelayTheChecks(t *testing.T) {
	h := newHarness(t, true)
	release := make(chan struct{})
	var failing atomic.Bool
	chat := testkit.NewChatServer(t, func(ctx context.Context, n int, req testkit.ChatRequest) testkit.ChatReply {
		if failing.Load() {
			return testkit.ChatReply{Status: 500, Body: `{"error":{"message":"model overloaded"}}`}
		}
		select {
		case <-release:
			return grader(ctx, n, req)
		case <-ctx.Done(): // the judge gave up waiting
			return testkit.ChatReply{}
		}
	})
	j := helpfulness(chat.URL)
	j.Timeout, j.Retries = judge.Duration(500*time.Millisecond), 1
	pipelineWithJudge(t, h, &judge.File{Judges: []judge.Judge{j}})

	const n = 50
	publish(t, h, "s", n)
	// Every request to the judge hangs; the checks' rows must all arrive regardless.
	testkit.Eventually(t, 30*time.Second, func() bool { return eventsScoredBy(t, h.conn, "checks") == n },
		"while the judge endpoint hangs, v_scores covers %d events by the checks, want %d", eventsScoredBy(t, h.conn, "checks"), n)
	if got := eventsScoredBy(t, h.conn, "judge"); got != 0 || chat.Calls() == 0 {
		t.Fatalf("judge rows %d with %d requests sent to a hanging endpoint; want 0 rows and some requests", got, chat.Calls())
	}

	// Now the endpoint fails fast: the judge keeps retrying its batch; the checks go on.
	failing.Store(true)
	calls := chat.Calls()
	more := publish(t, h, "f", 10)
	testkit.Eventually(t, 30*time.Second, func() bool { return eventsScoredBy(t, h.conn, "checks") == n+10 && chat.Calls() >= calls+4 },
		"while the judge endpoint fails, checks cover %d events (want %d), %d new requests", eventsScoredBy(t, h.conn, "checks"), n+10, chat.Calls()-calls)
	if got := eventsScoredBy(t, h.conn, "judge"); got != 0 {
		t.Fatalf("%d judge rows from a failing endpoint, want 0", got)
	}
	if failed := counter(t, h.reg, "vigil_judge_calls_total", map[string]string{"outcome": "failed"}); failed < 2 {
		t.Errorf("vigil_judge_calls_total{outcome=failed} = %v, want the failures counted", failed)
	}

	// The endpoint recovers: every event gets its judge row, once.
	failing.Store(false)
	close(release)
	total := uint64(n + len(more))
	testkit.Eventually(t, 60*time.Second, func() bool { return eventsScoredBy(t, h.conn, "judge") == total },
		"after recovery v_scores covers %d events by the judge, want %d", eventsScoredBy(t, h.conn, "judge"), total)
	if got := count(t, h.conn, "SELECT count() FROM (SELECT event_id, metric FROM v_scores GROUP BY event_id, metric HAVING count() > 1)"); got != 0 {
		t.Errorf("%d (event, metric) pairs appear more than once in v_scores", got)
	}
	if ok := counter(t, h.reg, "vigil_judge_calls_total", map[string]string{"outcome": "ok"}); ok != float64(total) {
		t.Errorf("vigil_judge_calls_total{outcome=ok} = %v, want %d: a retried batch does not ask twice", ok, total)
	}
}

func TestMalformedAnswersAreSkippedNotScored(t *testing.T) {
	h := newHarness(t, false)
	chat := testkit.NewChatServer(t, func(ctx context.Context, n int, req testkit.ChatRequest) testkit.ChatReply {
		if strings.Contains(req.User(), "shipped") {
			return testkit.ChatReply{Content: "I think it is fine, maybe 8 out of 10."}
		}
		return grader(ctx, n, req)
	})
	j, err := judgesvc.New(context.Background(), h.deps, judgeConfig, &judge.File{Judges: []judge.Judge{helpfulness(chat.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	start(t, lifecycle.Named{Name: "judge", Component: j})
	publish(t, h, "m", 20)
	testkit.Eventually(t, 30*time.Second, func() bool {
		c, err := h.deps.JS.Consumer(context.Background(), stream.Events, judgesvc.Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, "the judge did not settle every event")
	if malformed := counter(t, h.reg, "vigil_judge_calls_total", map[string]string{"outcome": "malformed"}); malformed != 10 {
		t.Errorf("malformed outcomes = %v, want 10", malformed)
	}
	s, _ := h.deps.JS.Stream(context.Background(), stream.Scored)
	info, _ := s.Info(context.Background())
	if info.State.Msgs != 10 {
		t.Errorf("SCORED holds %d records, want 10: malformed answers get no score", info.State.Msgs)
	}
	if chat.Calls() != 20 {
		t.Errorf("endpoint got %d requests, want 20: a malformed answer is not asked again", chat.Calls())
	}
}

func TestLifecycle(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	h := newHarness(t, false)
	chat := testkit.NewChatServer(t, grader)
	file := &judge.File{Judges: []judge.Judge{helpfulness(chat.URL)}}
	ctx := context.Background()

	t.Run("shutdown without start", func(t *testing.T) {
		j, err := judgesvc.New(ctx, h.deps, judgeConfig, file)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
	t.Run("start, work, shutdown twice", func(t *testing.T) {
		deps := h.deps
		deps.Registry = prometheus.NewPedanticRegistry()
		j, err := judgesvc.New(ctx, deps, judgeConfig, file)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, h, "l", 5)
		s, _ := h.deps.JS.Stream(ctx, stream.Scored)
		testkit.Eventually(t, 20*time.Second, func() bool {
			info, err := s.Info(ctx)
			return err == nil && info.State.Msgs == 5
		}, "the judge published no records")
		for i := range 2 {
			if err := j.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown #%d = %v", i+1, err)
			}
		}
		if err := j.Start(ctx); err == nil {
			t.Error("Start after Shutdown = nil error")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := filepath.Join(t.TempDir(), "judges.json")
	if err := os.WriteFile(good, []byte(`{"judges":[{"name":"tone","endpoint":"http://127.0.0.1:1/v1","model":"m","rubric":"{{.Output}}","threshold":0.5,"sample_rate":0.1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := judgesvc.Config{ConfigFile: good, Concurrency: 8, BatchSize: 64, CacheSize: 10000, AckWait: time.Minute, AdminAddr: ":9106"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(defaults) = %v", err)
	}
	bad := judgesvc.Config{ConfigFile: filepath.Join(t.TempDir(), "missing.json"), Concurrency: 0, BatchSize: 0, CacheSize: -1, AckWait: time.Second}
	err := bad.Validate()
	for _, want := range []string{"VIGIL_JUDGE_CONFIG=", "missing.json", "VIGIL_JUDGE_CONCURRENCY=0", "VIGIL_JUDGE_BATCH_SIZE=0",
		"VIGIL_JUDGE_CACHE_SIZE=-1", "VIGIL_JUDGE_ACK_WAIT=1s", "VIGIL_JUDGE_ADMIN_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(bad) = %v\nwant it to name %q", err, want)
		}
	}
}
