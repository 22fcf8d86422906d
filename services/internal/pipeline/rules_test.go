package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// publisher publishes events without pause: even sequence numbers to feature support-chat (which
// the rules match), odd ones to catalog (which no rule matches).
type publisher struct {
	mu   sync.Mutex // held while a batch is in flight, so mark sees none
	next int
	stop chan struct{}
	done chan struct{}
}

func startPublisher(t *testing.T, h *harness) *publisher {
	p := &publisher{stop: make(chan struct{}), done: make(chan struct{})}
	t0 := time.Now().Add(-time.Hour)
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			p.mu.Lock()
			batch := make([]*event.Event, 10)
			for i := range batch {
				seq := p.next + i
				feature := "support-chat"
				if seq%2 == 1 {
					feature = "catalog"
				}
				batch[i] = &event.Event{EventID: fmt.Sprintf("ev-%06d", seq), Timestamp: t0.Add(time.Duration(seq) * time.Millisecond),
					App: "shop", Feature: feature, Model: "gpt-x", Environment: "test", Input: "When will my order arrive?",
					Output: outputs[seq%len(outputs)], FinishReason: "stop", LatencyMS: 300}
			}
			msgs := make([]*nats.Msg, len(batch))
			for i, ev := range batch {
				data, err := event.Marshal(ev)
				if err != nil {
					t.Errorf("marshal %s: %v", ev.EventID, err)
				}
				msgs[i] = stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, data)
			}
			// t.Fatal may not be called here; a failed publish ends the stream and the
			// counts in the test fail.
			err := stream.PublishAll(context.Background(), h.deps.JS, msgs)
			if err == nil {
				p.next += len(batch)
			}
			p.mu.Unlock()
			if err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() { p.halt() })
	return p
}

// mark returns the id of the first event published after this call, and how many were before.
func (p *publisher) mark() (string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("ev-%06d", p.next), p.next
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// halt stops publishing and returns how many events were published.
func (p *publisher) halt() int {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	return p.count()
}

func counterValue(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func mustParse(t *testing.T, doc string) *rules.Document {
	t.Helper()
	d, err := rules.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRulesChangeWhileEventsFlow applies rules v1, then v2, then an invalid document while
// events flow, and checks that the scorer switches without a restart and without losing an event.
func TestRulesChangeWhileEventsFlow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)
	store, err := rules.OpenStore(ctx, h.deps.JS)
	if err != nil {
		t.Fatal(err)
	}
	const v1, v2 = "2026-11-27.1", "2026-11-27.2"
	doc1 := mustParse(t, `{"version": "`+v1+`", "rules": [{"name": "support", "match": {"app": "shop", "feature": "support-*"},
		"checks": [{"check": "refusal"}, {"check": "length_chars", "params": {"max": 2000}}], "defaults": true}]}`)
	doc2 := mustParse(t, `{"version": "`+v2+`", "rules": [{"name": "support", "match": {"app": "shop", "feature": "support-*"},
		"checks": [{"check": "refusal"}, {"check": "length_chars", "params": {"max": 40}},
		{"check": "contains_any", "params": {"phrases": ["order"]}}], "defaults": true}]}`)
	versionSeen := func(v string) func() bool {
		return func() bool { return count(t, h.conn, "SELECT count() FROM v_scores WHERE rules_version = ?", v) > 0 }
	}

	pub := startPublisher(t, h)
	testkit.Eventually(t, 30*time.Second, versionSeen(scoring.RulesVersion), "no default scores before any rules")

	if _, err := store.Put(ctx, doc1); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, versionSeen(v1), "no score under %s", v1)
	afterV1, n := pub.mark()
	testkit.Eventually(t, 10*time.Second, func() bool { return pub.count() > n+400 }, "publisher stalled")
	beforeV2, _ := pub.mark()
	if _, err := store.Put(ctx, doc2); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, versionSeen(v2), "no score under %s", v2)
	afterV2, _ := pub.mark()

	// An invalid document is refused with all its errors; the bucket keeps v2.
	bad := mustParse(t, `{"version": "2026-11-27.3", "rules": [{"name": "support", "match": {"feature": "["},
		"checks": [{"check": "length_chars", "params": {"max": "short"}}, {"check": "contains_any"}]}]}`)
	_, err = store.Put(ctx, bad)
	for _, want := range []string{`match.feature`, `checks[0].params.max`, `checks[1].params.phrases`} {
		if err == nil || !strings.Contains(err.Error(), `rules[0] "support": `+want) {
			t.Errorf("Put(invalid) = %v, want an error naming %s", err, want)
		}
	}
	if cur, _, err := store.Get(ctx); err != nil || cur.Version != v2 {
		t.Fatalf("after the refused document the bucket holds %+v, %v, want %s", cur, err, v2)
	}
	// A malformed document written past the validation is ignored by the scorer: it keeps v2.
	kv, err := h.deps.JS.KeyValue(ctx, rules.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctx, rules.Key, `{"version": "broken", "rules": [{"name": "x"`); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		return counterValue(t, h.deps.Registry, "vigil_scorer_rules_updates_total", "outcome", "invalid") == 1
	}, "the scorer did not see the malformed document")
	afterBroken, n := pub.mark()
	testkit.Eventually(t, 10*time.Second, func() bool { return pub.count() > n+400 }, "publisher stalled")
	total := uint64(pub.halt())
	t.Logf("published %d events; v1 from %s, v2 from %s (applied at %s), broken at %s", total, afterV1, afterV2, beforeV2, afterBroken)

	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT count() FROM v_model_calls") == total
	}, "v_model_calls holds %d rows, want %d", count(t, h.conn, "SELECT count() FROM v_model_calls"), total)
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores") == total
	}, "v_scores covers %d events, want %d", count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores"), total)

	checks := []struct {
		what  string
		query string
		args  []any
	}{
		{"events stored more than once",
			"SELECT count() FROM (SELECT event_id FROM v_model_calls GROUP BY event_id HAVING count() > 1)", nil},
		{"(event, rules version, metric) scored more than once",
			"SELECT count() FROM (SELECT event_id, rules_version, metric FROM v_scores GROUP BY event_id, rules_version, metric HAVING count() > 1)", nil},
		{"unmatched catalog scores not under the default version",
			"SELECT count() FROM v_scores WHERE feature = 'catalog' AND rules_version != ?", []any{scoring.RulesVersion}},
		// Events published before v2 was applied may still be scored under v2: the scorer
		// picks the rules when it scores, not when the event was published.
		{"support scores after v1 was in force under neither v1 nor v2",
			"SELECT count() FROM v_scores WHERE feature = 'support-chat' AND event_id >= ? AND rules_version NOT IN (?, ?)", []any{afterV1, v1, v2}},
		{"v1 length_chars failures (max 2000)",
			"SELECT count() FROM v_scores WHERE rules_version = ? AND metric = 'length_chars' AND pass = 0", []any{v1}},
		{"v1 contains_any scores",
			"SELECT count() FROM v_scores WHERE rules_version = ? AND metric = 'contains_any'", []any{v1}},
		{"support scores after the switch not under v2",
			"SELECT count() FROM v_scores WHERE feature = 'support-chat' AND event_id >= ? AND rules_version != ?", []any{afterV2, v2}},
		{"v2 length_chars passes (max 40, outputs are longer)",
			"SELECT count() FROM v_scores WHERE rules_version = ? AND metric = 'length_chars' AND pass = 1", []any{v2}},
	}
	for _, c := range checks {
		if got := count(t, h.conn, c.query, c.args...); got != 0 {
			t.Errorf("%s: %d, want 0", c.what, got)
		}
	}
	// Every support event after the switch carries the new metric; the malformed document
	// changed nothing.
	supportAfter := count(t, h.conn, "SELECT count() FROM v_model_calls WHERE feature = 'support-chat' AND event_id >= ?", afterV2)
	withMetric := count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores WHERE feature = 'support-chat' AND event_id >= ? AND metric = 'contains_any'", afterV2)
	afterBrokenScored := count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores WHERE feature = 'support-chat' AND event_id >= ? AND rules_version = ?", afterBroken, v2)
	if supportAfter == 0 || withMetric != supportAfter || afterBrokenScored == 0 {
		t.Errorf("support events after the switch: %d, with contains_any: %d, scored under v2 after the malformed document: %d",
			supportAfter, withMetric, afterBrokenScored)
	}
	if got := count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores WHERE event_id >= ? AND event_id < ? AND rules_version = ?", afterV1, beforeV2, v1); got == 0 {
		t.Errorf("no event published under v1 was scored under v1")
	}
	if got := count(t, h.conn, "SELECT count() FROM v_scores WHERE rules_version = 'broken'"); got != 0 {
		t.Errorf("%d scores under the malformed document's version", got)
	}
}
