package scorersvc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
)

func deps(t *testing.T) app.Deps {
	t.Helper()
	ns := testkit.NATS(t)
	common := config.Common{NATSURL: ns.ClientURL(), Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 2, MaxEvent: 4096}}
	log := slog.New(slog.DiscardHandler)
	nc, js, err := app.Connect(context.Background(), common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	reg := prometheus.NewPedanticRegistry()
	return app.Deps{Common: common, Log: log, Registry: reg, NC: nc, JS: js, Metrics: stream.NewMetrics(reg)}
}

var cfg = Config{Workers: 2, BatchSize: 50, MaxWait: 20 * time.Millisecond, AckWait: 5 * time.Second}

func TestLifecycle(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	d := deps(t)
	ctx := context.Background()
	s, err := New(ctx, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown without Start = %v", err)
	}
	if _, err := d.JS.KeyValue(ctx, rules.Bucket); err != nil {
		t.Errorf("New did not create the rules bucket: %v", err)
	}
	d.Registry = prometheus.NewPedanticRegistry()
	s, err = New(ctx, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if problems, err := testutil.GatherAndLint(d.Registry); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", problems, err)
	}
}

// scored reads the SCORED records of the given events, keyed by event id.
func scored(t *testing.T, js jetstream.JetStream, ids map[string]bool) map[string]event.Scored {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, stream.Scored, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]event.Scored{}
	decode := stream.ScoredDecoder(false)
	for len(out) < len(ids) {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("read SCORED (%d of %d): %v", len(out), len(ids), err)
		}
		recs, err := decode(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if ids[rec.EventID] {
				out[rec.EventID] = rec
			}
		}
	}
	return out
}

func publish(t *testing.T, js jetstream.JetStream, prefix string, n int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		feature := []string{"support-chat", "catalog"}[i%2]
		body := fmt.Sprintf(`{"event_id":%q,"timestamp":"%s","app":"shop","feature":%q,"model":"m","output":"Your order shipped yesterday."}`,
			id, time.Now().UTC().Format(time.RFC3339), feature)
		msgs[i] = stream.NewMsg(stream.EventsSubject("shop"), id, []byte(body))
		ids[id] = true
	}
	if err := stream.PublishAll(context.Background(), js, msgs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestScoresFollowTheRules(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	d := deps(t)
	ctx := context.Background()
	store, err := rules.OpenStore(ctx, d.JS)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := rules.Parse([]byte(`{"version": "r1", "rules": [{"name": "support", "match": {"feature": "support-*"},
		"checks": [{"check": "contains_any", "params": {"phrases": ["order"]}}]}]}`))
	if _, err := store.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	// Start returns once the stored rules are in force.
	if got := s.RulesVersion(); got != "r1" {
		t.Errorf("RulesVersion after Start = %q, want r1", got)
	}
	for id, rec := range scored(t, d.JS, publish(t, d.JS, "a", 20)) {
		want, metrics := scoring.RulesVersion, len(rec.Scores) > 1
		if rec.Series.Feature == "support-chat" {
			want, metrics = "r1", len(rec.Scores) == 1 && rec.Scores[0].Metric == "contains_any"
		}
		if rec.RulesVersion != want || rec.Source != scoring.Source || !metrics {
			t.Errorf("%s (%s): rules version %q, source %q, %d scores; want %q", id, rec.Series.Feature, rec.RulesVersion, rec.Source, len(rec.Scores), want)
		}
	}

	// A malformed document is ignored; deleting the document brings back the default set.
	kv, _ := d.JS.KeyValue(ctx, rules.Bucket)
	if _, err := kv.PutString(ctx, rules.Key, `{"version": "r2", "rules": [{"name": "x", "match": {}, "checks": [{"check": "nope"}]}]}`); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() bool {
		return testutil.ToFloat64(s.stage.updates.WithLabelValues("invalid")) == 1
	}, "the malformed document was not seen")
	if got := s.RulesVersion(); got != "r1" {
		t.Errorf("RulesVersion after a malformed document = %q, want r1", got)
	}
	if err := kv.Delete(ctx, rules.Key); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() bool { return s.RulesVersion() == scoring.RulesVersion },
		"RulesVersion after delete = %q, want %q", s.RulesVersion(), scoring.RulesVersion)
	for id, rec := range scored(t, d.JS, publish(t, d.JS, "b", 10)) {
		if rec.RulesVersion != scoring.RulesVersion || !strings.HasPrefix(id, "b-") {
			t.Errorf("%s after delete: rules version %q", id, rec.RulesVersion)
		}
	}
}
