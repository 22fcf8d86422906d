package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

// syncBuffer is an io.Writer the command and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDevDemoFiresAlert runs `vigil dev --demo` as make run does and waits for the regression's
// alert in ClickHouse, then for a clean shutdown.
func TestDevDemoFiresAlert(t *testing.T) {
	port := freePort(t)
	dsn := ch.DSN(fmt.Sprintf("vigil_dev_%d", os.Getpid()))
	t.Setenv("VIGIL_DEV_NATS_PORT", fmt.Sprint(port))
	t.Setenv("VIGIL_DEV_DATA_DIR", t.TempDir())
	t.Setenv("VIGIL_DEV_ADMIN_ADDR", "127.0.0.1:0")
	t.Setenv("VIGIL_CLICKHOUSE_DSN", dsn)
	t.Setenv("VIGIL_LOG_LEVEL", "warn")
	t.Setenv("VIGIL_DEV_DEMO_RATE", "60")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- dispatch(ctx, []string{"dev", "--demo", "--demo-healthy-for=12s"}, &out) }()

	conn := func() bool {
		select {
		case err := <-done:
			t.Fatalf("vigil dev exited early: %v\n%s", err, out.String())
		default:
		}
		return false
	}
	var firing bool
	testkit.Eventually(t, 150*time.Second, func() bool {
		conn()
		firing = strings.Contains(out.String(), "FIRING")
		return firing && strings.Contains(out.String(), "SELECT at, state, severity")
	}, "no firing alert within 150s; output:\n%s", out.String())

	db := testkit.Conn(t, dsn)
	var n uint64
	testkit.Eventually(t, 30*time.Second, func() bool {
		_ = db.QueryRow(context.Background(), "SELECT count() FROM v_alerts WHERE state = 'firing' AND resend = 0 AND prompt_version = 'v2'").Scan(&n)
		return n > 0
	}, "no firing alert for prompt_version v2 in v_alerts")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("vigil dev returned %v after Ctrl-C, want nil", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("vigil dev did not shut down within 45s")
	}
}

func TestPublishValidatesAndPublishes(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		t.Fatal(err)
	}
	nc, js, err := app.Connect(context.Background(), common, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var out syncBuffer
	ev := fmt.Sprintf(`{"event_id":"tour-1","timestamp":"%s","app":"shop","model":"m","output":"hi"}`, time.Now().UTC().Format(time.RFC3339))
	bad := `{"event_id":"tour-2","app":"shop","model":"m","output":"hi"}`
	ctx := context.Background()
	err = runPublish(ctx, []string{ev, bad}, strings.NewReader(""), &out)
	if err == nil || !strings.Contains(out.String(), "line 2 rejected: invalid event: timestamp: required") {
		t.Errorf("publish of a good and a bad event: err=%v output=%q; want the bad one rejected naming timestamp", err, out.String())
	}
	if !strings.Contains(out.String(), "published 1 events, rejected 1") {
		t.Errorf("publish output %q lacks the counts", out.String())
	}
	s, err := js.Stream(ctx, stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, stream.EventsSubject("shop"))
	if err != nil || msg.Header.Get(jetstream.MsgIDHeader) != "tour-1" {
		t.Errorf("last event on vigil.events.shop: %v (err %v), want tour-1", msg, err)
	}
}

func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range settings.Known() {
		if !bytes.Contains(readme, []byte("`"+key+"`")) {
			t.Errorf("README.md does not document %s", key)
		}
	}
}

func TestMigrateCreatesTheSchema(t *testing.T) {
	dsn := ch.DSN(fmt.Sprintf("vigil_migrate_%d", os.Getpid()))
	t.Setenv("VIGIL_CLICKHOUSE_DSN", dsn)
	for i := 0; i < 2; i++ {
		if err := dispatch(context.Background(), []string{"migrate"}, io.Discard); err != nil {
			t.Fatalf("vigil migrate run %d: %v", i+1, err)
		}
	}
	var n uint64
	if err := testkit.Conn(t, dsn).QueryRow(context.Background(), "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'v_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Every view a migration creates, however many migrations there are.
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var views uint64
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if strings.HasPrefix(stmt, "CREATE VIEW") {
				views++
			}
		}
	}
	if n != views || views < 7 {
		t.Errorf("views after migrate = %d, want the %d the migrations create (v_model_calls, v_scores, v_alerts, v_eval_*, v_feedback, ...)", n, views)
	}
}

// scoredDeadLetter is a packed SCORED message of one record dead-lettered by drift as the bus
// holds it: compressed, with its headers.
func scoredDeadLetter(t *testing.T, eventID string) *nats.Msg {
	t.Helper()
	packed, err := stream.PackScored([]event.Scored{{EventID: eventID, Timestamp: time.Unix(1700000000, 0).UTC(),
		Series: event.Series{App: "shop", Model: "m"}, Source: "checks", RulesVersion: "r1"}}, 1,
		func(*event.Scored) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	dl := stream.NewMsg(stream.DLQSubject("drift"), "dlq:SCORED:3", packed[0].Data)
	for _, k := range []string{stream.RecordsHeader, stream.EncodingHeader} {
		dl.Header.Set(k, packed[0].Header.Get(k))
	}
	dl.Header.Set(stream.HeaderReason, "records: out of order")
	dl.Header.Set(stream.HeaderStage, "drift")
	dl.Header.Set(stream.HeaderSourceSubject, stream.ScoredPartitionSubject(0))
	dl.Header.Set(stream.HeaderSourceSeq, "3")
	return dl
}

func TestTailPrintsAlertsAndDeadLetters(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		t.Fatal(err)
	}
	nc, js, err := app.Connect(context.Background(), common, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	alert, err := os.ReadFile("../../schemas/examples/alert.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, stream.NewMsg(stream.AlertSubject("shop", "critical"), "a1", alert)); err != nil {
		t.Fatal(err)
	}
	dl := stream.NewMsg(stream.DLQSubject("scorer"), "d1", []byte(`{"oops"`))
	dl.Header.Set(stream.HeaderReason, "(event): malformed JSON")
	if _, err := js.PublishMsg(ctx, dl); err != nil {
		t.Fatal(err)
	}
	// Its id repeats, so that compressed it is not spelled out: only a decompressed body shows it.
	repeated := strings.Repeat("ab", 30)
	if _, err := js.PublishMsg(ctx, scoredDeadLetter(t, repeated)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tail", "--all"}, "FIRING"},
		{[]string{"tail", "--all", "--dlq"}, `reason="(event): malformed JSON"`},
		{[]string{"tail", "--all", "--dlq"}, `{"records":[{"event_id":"` + repeated + `"`},
	} {
		tctx, cancel := context.WithCancel(ctx)
		var out syncBuffer
		done := make(chan error, 1)
		go func() { done <- dispatch(tctx, tc.args, &out) }()
		testkit.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), tc.want) },
			"vigil %v printed %q, want it to contain %q", tc.args, out.String(), tc.want)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vigil %v returned %v after cancel", tc.args, err)
		}
	}
}

func TestDLQCommands(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		t.Fatal(err)
	}
	nc, js, err := app.Connect(context.Background(), common, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	dl := stream.NewMsg(stream.DLQSubject("scorer"), "dlq:EVENTS:7", []byte(`{"event_id":"fixed-later"}`))
	dl.Header.Set(stream.HeaderReason, "model: required")
	dl.Header.Set(stream.HeaderStage, "scorer")
	dl.Header.Set(stream.HeaderSourceSubject, stream.EventsSubject("shop"))
	dl.Header.Set(stream.HeaderSourceSeq, "7")
	if _, err := js.PublishMsg(ctx, dl); err != nil {
		t.Fatal(err)
	}
	dlScored := scoredDeadLetter(t, "scored-1")
	compressed := dlScored.Data
	if _, err := js.PublishMsg(ctx, dlScored); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out syncBuffer
		if err := dispatch(ctx, args, &out); err != nil {
			t.Fatalf("vigil %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if got := run("dlq", "ls"); !strings.Contains(got, "model: required") || !strings.Contains(got, "vigil.events.shop#7") {
		t.Errorf("dlq ls printed %q, want the reason and source", got)
	}
	if got := run("dlq", "show", "1"); !strings.Contains(got, `{"event_id":"fixed-later"}`) || !strings.Contains(got, "Vigil-Dlq-Reason: model: required") {
		t.Errorf("dlq show printed %q", got)
	}
	if got := run("dlq", "show", "2"); !strings.Contains(got, `{"records":[{"event_id":"scored-1",`) || !strings.Contains(got, "snappy-compressed on the bus, shown decompressed") {
		t.Errorf("dlq show of a compressed message printed %q, want its JSON", got)
	}
	if got := run("dlq", "replay", "--all"); !strings.Contains(got, "replayed 2 dead letters") {
		t.Errorf("dlq replay printed %q", got)
	}
	s, _ := js.Stream(ctx, stream.Events)
	msg, err := s.GetLastMsgForSubject(ctx, stream.EventsSubject("shop"))
	if err != nil || string(msg.Data) != `{"event_id":"fixed-later"}` {
		t.Errorf("replayed event on EVENTS = %v (err %v)", msg, err)
	}
	// Replayed as it was stored: the same compressed bytes and headers, so drift decodes it.
	scored, _ := js.Stream(ctx, stream.Scored)
	msg, err = scored.GetLastMsgForSubject(ctx, stream.ScoredPartitionSubject(0))
	if err != nil || !bytes.Equal(msg.Data, compressed) || msg.Header.Get(stream.EncodingHeader) != stream.EncodingSnappy {
		t.Errorf("replayed scored message = %v (err %v), want the compressed body with its headers", msg, err)
	}
	if got := run("dlq", "ls"); !strings.Contains(got, "0 dead letters") {
		t.Errorf("dlq ls after replay printed %q", got)
	}
}

func TestSilenceCommands(t *testing.T) {
	ns := testkit.NATS(t)
	t.Setenv("VIGIL_NATS_URL", ns.ClientURL())
	ctx := context.Background()
	var out syncBuffer
	if err := dispatch(ctx, []string{"silence", "add", "--match", "app=shop", "--match", "metric=refusal", "--for", "1h", "--comment", "known issue"}, &out); err != nil {
		t.Fatalf("silence add: %v", err)
	}
	id := strings.Fields(out.String())[1]
	out = syncBuffer{}
	if err := dispatch(ctx, []string{"silence", "ls"}, &out); err != nil || !strings.Contains(out.String(), id+" ") || !strings.Contains(out.String(), "active") {
		t.Fatalf("silence ls = %v\n%s", err, out.String())
	}
	if err := dispatch(ctx, []string{"silence", "expire", id}, io.Discard); err != nil {
		t.Fatalf("silence expire: %v", err)
	}
	out = syncBuffer{}
	if err := dispatch(ctx, []string{"silence", "ls"}, &out); err != nil || !strings.Contains(out.String(), "expired") {
		t.Errorf("silence ls after expire = %v\n%s", err, out.String())
	}
	if err := dispatch(ctx, []string{"silence", "add", "--for", "1h"}, io.Discard); err == nil || !strings.Contains(err.Error(), "matchers") {
		t.Errorf("silence add without matchers = %v, want an error naming matchers", err)
	}
}
