package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

const maxEvent = 4096

// harness is one test's NATS server, ClickHouse database and pipeline dependencies.
type harness struct {
	deps app.Deps
	conn driver.Conn
	cfg  pipeline.Config
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ns := testkit.NATS(t)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 4, MaxEvent: maxEvent}}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, js, err := app.Connect(context.Background(), common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	dsn := ch.Database(t)
	common.ClickHouseDSN = dsn
	drift := driftsvc.Config{Window: 10 * time.Second, Grace: time.Second, BaselineSize: 200, MinSamples: 30,
		Alpha: 0.001, MinRateEffect: 0.05, MinMeanEffect: 0.5, PendingWindows: 1, ResolveWindows: 2, ResendWindows: 10,
		BatchSize: 500, LeaseTTL: 3 * time.Second, CheckpointInterval: time.Second}
	return &harness{
		deps: app.Deps{Common: common, Log: log, Registry: prometheus.NewPedanticRegistry(), NC: nc, JS: js},
		conn: testkit.Conn(t, dsn),
		cfg: pipeline.Config{
			Scorer: scorersvc.Config{BatchSize: 256, MaxWait: 50 * time.Millisecond, AckWait: 5 * time.Second},
			Drift:  drift,
			Writer: writersvc.Config{BatchSize: 1000, FlushInterval: 200 * time.Millisecond, AckWait: 3 * time.Second},
		},
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// run starts components and returns a function that stops them gracefully.
func run(t *testing.T, ctx context.Context, parts []lifecycle.Named) func() {
	t.Helper()
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			t.Fatalf("start %s: %v", p.Name, err)
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(parts) - 1; i >= 0; i-- {
			if err := parts[i].Shutdown(sctx); err != nil {
				t.Errorf("shut down %s: %v", parts[i].Name, err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

// runPipeline builds every component of the pipeline on h and starts them; they stop when the
// test ends.
func (h *harness) runPipeline(t *testing.T, ctx context.Context) {
	t.Helper()
	parts, err := pipeline.Components(ctx, h.deps, h.cfg, h.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, parts)
}

var outputs = []string{
	"The order ships within two business days and arrives in three to five days.",
	"You can return unworn items within thirty days for a full refund to your card.",
	"Our support team answers chat messages between eight in the morning and six at night.",
	"The warranty covers manufacturing defects for two years from the date of purchase.",
}

// makeEvent returns the i-th event of feature; from regressAt on, 30% of its outputs are cut off
// by the token limit (2% before), so only the truncated check's failure rate shifts.
func makeEvent(rng *rand.Rand, feature string, i, regressAt int, t0 time.Time) *event.Event {
	version, truncRate := "v1", 0.02
	if regressAt >= 0 && i >= regressAt {
		version, truncRate = "v2", 0.30
	}
	finish := "stop"
	if rng.Float64() < truncRate {
		finish = "length"
	}
	return &event.Event{
		EventID: fmt.Sprintf("%s-%05d", feature, i), Timestamp: t0.Add(time.Duration(i) * 20 * time.Millisecond),
		App: "shop", Feature: feature, Model: "gpt-x", PromptVersion: version, Environment: "test",
		Input: "When will my order arrive?", Output: outputs[rng.IntN(len(outputs))], FinishReason: finish,
		LatencyMS: 420, InputTokens: 12, OutputTokens: 20,
	}
}

func publishEvents(t *testing.T, js jetstream.JetStream, events []*event.Event) {
	t.Helper()
	msgs := make([]*nats.Msg, 0, 500)
	flush := func() {
		if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
			t.Fatalf("publish: %v", err)
		}
		msgs = msgs[:0]
	}
	for _, ev := range events {
		data, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, data))
		if len(msgs) == cap(msgs) {
			flush()
		}
	}
	flush()
}

func count(t *testing.T, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPipelineEndToEnd(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)

	const perFeature = 2500
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	var events []*event.Event
	for i := 0; i < perFeature; i++ {
		events = append(events, makeEvent(rng, "stable", i, -1, t0), makeEvent(rng, "checkout", i, 1000, t0))
	}

	// Malformed inputs, published raw next to the good ones: each must reach the DLQ with a
	// reason naming the field, and none may hold up the rest.
	bad := map[string]string{
		"bad-json":      `{"event_id": "x1", "timestamp": `,
		"missing-model": `{"event_id":"x2","timestamp":"2026-11-27T10:00:00Z","app":"shop","output":"hi"}`,
		"wrong-type":    `{"event_id":"x3","timestamp":"2026-11-27T10:00:00Z","app":"shop","model":"m","output":"hi","latency_ms":"fast"}`,
		"too-large":     `{"event_id":"x4","timestamp":"2026-11-27T10:00:00Z","app":"shop","model":"m","output":"` + strings.Repeat("a", maxEvent) + `"}`,
		"other-app":     `{"event_id":"x5","timestamp":"2026-11-27T10:00:00Z","app":"bank","model":"m","output":"hi"}`,
	}
	wantReason := map[string]string{"bad-json": "(event)", "missing-model": "model", "wrong-type": "latency_ms",
		"too-large": "maximum event size", "other-app": "differs from the subject's app"}
	half := len(events) / 2
	publishEvents(t, h.deps.JS, events[:half])
	for id, body := range bad {
		if _, err := h.deps.JS.PublishMsg(ctx, stream.NewMsg(stream.EventsSubject("shop"), id, []byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	publishEvents(t, h.deps.JS, events[half:])

	total := uint64(len(events))
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT count() FROM v_model_calls") == total
	}, "v_model_calls holds %d rows, want %d", count(t, h.conn, "SELECT count() FROM v_model_calls"), total)
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores") == total
	}, "v_scores covers %d events, want %d", count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores"), total)
	if got := count(t, h.conn, "SELECT count() FROM (SELECT event_id FROM v_model_calls GROUP BY event_id HAVING count() > 1)"); got != 0 {
		t.Errorf("%d events appear more than once in v_model_calls", got)
	}
	if got := count(t, h.conn, "SELECT count() FROM (SELECT event_id, metric FROM v_scores GROUP BY event_id, metric HAVING count() > 1)"); got != 0 {
		t.Errorf("%d (event, metric) pairs appear more than once in v_scores", got)
	}

	// The regression fires exactly once; the stable feature never alerts.
	firing := "SELECT count() FROM v_alerts WHERE state = 'firing' AND resend = 0"
	testkit.Eventually(t, 60*time.Second, func() bool { return count(t, h.conn, firing) >= 1 },
		"no firing alert in v_alerts")
	var metric, feature, baselineVersion, currentVersion string
	var examples []string
	if err := h.conn.QueryRow(ctx, `SELECT metric, feature, baseline_prompt_version, prompt_version, example_event_ids
		FROM v_alerts WHERE state = 'firing' AND resend = 0`).Scan(&metric, &feature, &baselineVersion, &currentVersion, &examples); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"truncated", "checkout", "v1", "v2"}, []string{metric, feature, baselineVersion, currentVersion}); diff != "" {
		t.Errorf("firing alert (-want +got):\n%s", diff)
	}
	if len(examples) == 0 {
		t.Error("firing alert carries no example event ids")
	}
	if got := count(t, h.conn, firing); got != 1 {
		t.Errorf("firing transitions in v_alerts = %d, want 1", got)
	}
	if got := count(t, h.conn, "SELECT count() FROM v_alerts WHERE feature = 'stable'"); got != 0 {
		t.Errorf("stable feature raised %d alert rows, want 0", got)
	}
	if got := alertsOnStream(t, h.deps.JS, event.StateFiring); got != 1 {
		t.Errorf("firing transitions on ALERTS = %d, want 1", got)
	}

	// Every malformed input is dead-lettered once, with its reason.
	reasons := deadLetters(t, h.deps.JS)
	if len(reasons) != len(bad) {
		t.Errorf("DLQ holds %d messages, want %d: %v", len(reasons), len(bad), reasons)
	}
	for id, want := range wantReason {
		if !strings.Contains(reasons[bad[id]], want) {
			t.Errorf("dead letter %s: reason %q does not contain %q", id, reasons[bad[id]], want)
		}
	}
}

func alertsOnStream(t *testing.T, js jetstream.JetStream, state string) int {
	t.Helper()
	n := 0
	for _, m := range testkit.StreamMessages(t, js, stream.Alerts) {
		a, err := event.DecodeAlert(m.Data())
		if err != nil {
			t.Fatalf("decode alert: %v", err)
		}
		if a.State == state && !a.Resend {
			n++
		}
	}
	return n
}

// deadLetters maps each dead-lettered body to its reason.
func deadLetters(t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range testkit.StreamMessages(t, js, stream.DLQ) {
		out[string(m.Data())] = m.Headers().Get(stream.HeaderReason)
	}
	return out
}

func TestWriterKilledMidStreamLosesNothing(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Now().Add(-time.Hour)
	var events []*event.Event
	for i := 0; i < 3000; i++ {
		events = append(events, makeEvent(rng, "stable", i, -1, t0))
	}
	h.cfg.Writer.BatchSize = 200
	crashCtx, crash := context.WithCancel(context.Background())
	parts, err := writersvc.New(crashCtx, h.deps, h.cfg.Writer, h.conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if err := p.Start(crashCtx); err != nil {
			t.Fatal(err)
		}
	}
	publishEvents(t, h.deps.JS, events)
	testkit.Eventually(t, 30*time.Second, func() bool { return count(t, h.conn, "SELECT count() FROM model_calls") > 0 },
		"writer stored nothing before the crash")
	crash() // no drain: batches in hand are abandoned unacknowledged
	for _, p := range parts {
		_ = p.Shutdown(context.Background())
	}
	beforeRestart := count(t, h.conn, "SELECT count() FROM model_calls")
	t.Logf("stored %d of %d before the crash", beforeRestart, len(events))

	parts, err = writersvc.New(context.Background(), h.deps, h.cfg.Writer, h.conn)
	if err != nil {
		t.Fatal(err)
	}
	run(t, context.Background(), parts)
	want := uint64(len(events))
	testkit.Eventually(t, 60*time.Second, func() bool { return count(t, h.conn, "SELECT count() FROM v_model_calls") == want },
		"after restart v_model_calls holds %d rows, want %d", count(t, h.conn, "SELECT count() FROM v_model_calls"), want)
	if got := count(t, h.conn, "SELECT uniqExact(event_id) FROM v_model_calls"); got != want {
		t.Errorf("distinct events = %d, want %d", got, want)
	}
}

// TestScoresInsertsStayWithinTheBatch has the scorer pack more records into a message than the
// writer's batch holds: the writer splits them so that no INSERT passes its batch size, and
// stores every record once.
func TestScoresInsertsStayWithinTheBatch(t *testing.T) {
	h := newHarness(t)
	h.cfg.Writer.BatchSize = 10
	h.runPipeline(t, context.Background())
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Now().Add(-time.Hour)
	var events []*event.Event
	for i := 0; i < 600; i++ {
		events = append(events, makeEvent(rng, "one-feature", i, -1, t0))
	}
	publishEvents(t, h.deps.JS, events)
	want := uint64(len(events))
	testkit.Eventually(t, 60*time.Second, func() bool { return count(t, h.conn, "SELECT count() FROM scores") >= want },
		"scores holds %d rows, want %d", count(t, h.conn, "SELECT count() FROM scores"), want)
	if got := count(t, h.conn, "SELECT count() FROM scores"); got != want {
		t.Errorf("scores holds %d rows, want each of %d records once", got, want)
	}
	// Every INSERT makes a part of level 0 (parts merged since stay listed, inactive, for minutes).
	if most := count(t, h.conn, "SELECT max(rows) FROM system.parts WHERE database = currentDatabase() AND table = 'scores' AND level = 0"); most == 0 || most > 10 {
		t.Errorf("largest insert into scores: %d rows, want 1 to 10", most)
	}
}

// TestNoRawSecretsReachClickHouse sends personal data and a key in an event and checks that the
// stored row holds none of it while the pii and secrets scores still report it.
func TestNoRawSecretsReachClickHouse(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)
	const card, key, mail = "4111 1111 1111 1111", "sk-proj-Zq81Xv03LmPa93KdQw72RtYu55", "jana.novak@mailbox.cz"
	const iban, ssn = "DE89 3704 0044 0532 0130 00", "536-22-1987"
	ev := &event.Event{EventID: "pii-1", Timestamp: time.Now().UTC(), App: "shop", Model: "m",
		Input:    "My card is " + card + ", write to " + mail + ", refund to " + iban + ", SSN " + ssn,
		Messages: []event.Message{{Role: "user", Content: "use key " + key + " please"}},
		Output:   "Charged " + card + " and used " + key + " for you.", FinishReason: "stop"}
	publishEvents(t, h.deps.JS, []*event.Event{ev})
	testkit.Eventually(t, 30*time.Second, func() bool {
		return count(t, h.conn, "SELECT count() FROM v_model_calls WHERE event_id = 'pii-1'") == 1 &&
			count(t, h.conn, "SELECT count() FROM v_scores WHERE event_id = 'pii-1'") > 0
	}, "event pii-1 not stored and scored")
	for _, secret := range []string{card, key, mail, "4111", iban, "DE89", ssn} {
		n := count(t, h.conn, "SELECT count() FROM model_calls WHERE position(concat(input, messages, output, context, system_instructions, expected), ?) > 0", secret)
		if n != 0 {
			t.Errorf("%q is stored in model_calls", secret)
		}
	}
	if got := count(t, h.conn, "SELECT count() FROM v_scores WHERE event_id = 'pii-1' AND metric IN ('pii', 'secrets', 'pii_input') AND pass = 0"); got != 3 {
		t.Errorf("failed pii/secrets checks for pii-1 = %d, want 3 (the checks see the raw text)", got)
	}
	var output string
	if err := h.conn.QueryRow(ctx, "SELECT output FROM v_model_calls WHERE event_id = 'pii-1'").Scan(&output); err != nil {
		t.Fatal(err)
	}
	if output != "Charged [card] and used [openai_key] for you." {
		t.Errorf("stored output = %q", output)
	}
}
