package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/servicetest"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

func TestWriterStoresAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	dsn := ch.DSN(fmt.Sprintf("writer_main_%d", os.Getpid())) // the writer creates and migrates it
	svc := servicetest.Start(t, run, "VIGIL_WRITER_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_CLICKHOUSE_DSN": dsn, "VIGIL_WRITER_FLUSH_INTERVAL": "100ms"})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	const n = 300
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		body := fmt.Sprintf(`{"event_id":"e%d","timestamp":"%s","app":"shop","model":"m","output":"ok"}`, i, time.Now().UTC().Format(time.RFC3339))
		msgs[i] = stream.NewMsg(stream.EventsSubject("shop"), fmt.Sprintf("e%d", i), []byte(body))
	}
	if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
		t.Fatal(err)
	}
	conn := testkit.Conn(t, dsn)
	testkit.Eventually(t, 30*time.Second, func() bool {
		var got uint64
		_ = conn.QueryRow(context.Background(), "SELECT count() FROM v_model_calls").Scan(&got)
		return got == n
	}, "v_model_calls never held %d rows", n)
	svc.CheckProbes(t, "vigil_writer_rows_total")
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
}

// TestSecretsStayOutOfLogs runs the writer with credentials in both connection strings and a
// ClickHouse user that does not exist, so it fails at start, and looks for the secrets in
// everything it printed and returned.
func TestSecretsStayOutOfLogs(t *testing.T) {
	ns := testkit.NATS(t)
	const natsSecret, chSecret = "NatsSecret-9q", "TopSecret-123x"
	natsURL := strings.Replace(ns.ClientURL(), "nats://", "nats://app:"+natsSecret+"@", 1)
	t.Setenv("VIGIL_NATS_URL", natsURL)
	t.Setenv("VIGIL_CLICKHOUSE_DSN", fmt.Sprintf("clickhouse://vigil_writer:%s@%s/secrets_test", chSecret, ch.Addr()))
	t.Setenv("VIGIL_WRITER_ADMIN_ADDR", "127.0.0.1:0")
	t.Setenv("VIGIL_LOG_LEVEL", "debug")

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runErr := run(ctx)
	os.Stderr = stderr
	w.Close()
	logs, _ := io.ReadAll(r)
	if runErr == nil {
		t.Fatal("the writer started with a ClickHouse user that does not exist")
	}
	all := string(logs) + "\n" + runErr.Error()
	for _, secret := range []string{natsSecret, chSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("a secret appears in the writer's output:\n%s", all)
		}
	}
	if !strings.Contains(all, "xxxxx") {
		t.Errorf("the output never shows a redacted connection string, so the test saw none:\n%s", all)
	}
}

// TestRedeliveredPackPartlyStoredIsInserted redelivers a packed SCORED message whose first
// record is already stored (as after a scorer crash packed it into another message too): the
// writer must store the records that are not, not skip the message on its first key.
func TestRedeliveredPackPartlyStoredIsInserted(t *testing.T) {
	ctx := context.Background()
	ns := testkit.NATS(t)
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	ts := time.Now().UTC().Truncate(time.Second)
	recs := []event.Scored{
		{EventID: "stored-before", Timestamp: ts, Series: event.Series{App: "shop", Model: "m"}, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true}}},
		{EventID: "only-here", Timestamp: ts, Series: event.Series{App: "shop", Model: "m"}, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true}}},
	}
	if err := store.InsertScores(ctx, conn, []*event.Scored{&recs[0]}); err != nil {
		t.Fatal(err)
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	// The streams as the services create them, so the writer finds them unchanged.
	if err := stream.EnsureStreams(ctx, js, config.Streams{MaxAge: 7 * 24 * time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Replicas: 1}.Limits()); err != nil {
		t.Fatal(err)
	}
	msgs, err := stream.PackScored(recs, 1, func(*event.Scored) string { return "shop" })
	if err != nil || len(msgs) != 1 {
		t.Fatalf("PackScored = %d messages, %v; want one", len(msgs), err)
	}
	if err := stream.PublishAll(ctx, js, msgs); err != nil {
		t.Fatal(err)
	}
	// A delivery that ends without an ack, as when the writer crashed mid-insert.
	cons, err := stream.EnsureConsumer(ctx, js, stream.ConsumerConfig{Stream: stream.Scored, Durable: writersvc.DurableScored,
		FilterSubjects: []string{stream.ScoredRoot + ".>"}, AckWait: time.Minute, MaxDeliver: -1, MaxAckPending: 100})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Nak(); err != nil {
		t.Fatal(err)
	}

	svc := servicetest.Start(t, run, "VIGIL_WRITER_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_CLICKHOUSE_DSN": dsn, "VIGIL_WRITER_FLUSH_INTERVAL": "100ms"})
	testkit.Eventually(t, 20*time.Second, func() bool {
		var n uint64
		_ = conn.QueryRow(ctx, "SELECT count() FROM v_scores WHERE event_id = 'only-here'").Scan(&n)
		return n == 1
	}, "the record only the redelivered message holds never reached v_scores")
	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
}
