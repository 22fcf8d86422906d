package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// hostileRejects are inputs the pipeline must dead-letter, each with a reason naming what is wrong.
func hostileRejects(now time.Time) []struct{ name, body, reason string } {
	ts := now.Format(time.RFC3339)
	head := `{"timestamp":"` + ts + `","app":"shop","model":"m",`
	deep := strings.Repeat(`{"a":`, 600) + `"x"` + strings.Repeat(`}`, 600) // under the test's event limit
	return []struct{ name, body, reason string }{
		{"invalid utf-8", head + `"event_id":"h-utf8","output":"caf` + "\xc3\x28" + `"}`, "UTF-8"},
		{"duplicate key", head + `"event_id":"h-dup","output":"a","output":"b"}`, "output"},
		{"unknown field", head + `"event_id":"h-unknown","colour":"red"}`, "colour"},
		{"deep nesting", head + `"event_id":"h-deep","attributes":` + deep + `}`, "attributes"},
		{"float overflow", head + `"event_id":"h-float","latency_ms":1e400}`, "latency_ms"},
		{"integer overflow", head + `"event_id":"h-int","input_tokens":99999999999999999999999}`, "input_tokens"},
		{"negative tokens", head + `"event_id":"h-neg","output_tokens":-3}`, "output_tokens"},
		{"far past", `{"event_id":"h-past","timestamp":"1899-12-31T23:59:59Z","app":"shop","model":"m"}`, "timestamp"},
		{"far future", `{"event_id":"h-future","timestamp":"9999-12-31T23:59:59Z","app":"shop","model":"m"}`, "timestamp"},
		{"sql in event id", head + `"event_id":"x'); DROP TABLE model_calls; --"}`, "event_id"},
		{"nul in event id", head + `"event_id":"h\u0000nul"}`, "event_id"},
		{"label too long", head + `"event_id":"h-long","feature":"` + strings.Repeat("f", 200) + `"}`, "feature"},
		{"body too large", head + `"event_id":"h-big","output":"` + strings.Repeat("z", 500_000) + `"}`, "maximum event size"},
		{"not an object", `[1,2,3]`, "(event)"},
		{"empty body", ``, "(event)"},
	}
}

// hostileAccepts are valid but unusual events: each must be stored and read back exactly as sent.
func hostileAccepts(now time.Time) []*event.Event {
	base := func(id string) *event.Event {
		return &event.Event{EventID: id, Timestamp: now, App: "shop", Feature: "hostile", Model: "m", PromptVersion: "v1", FinishReason: "stop"}
	}
	sql := base("h-sql-labels")
	sql.Feature = `'; DROP TABLE scores; --`
	sql.UserID = `" OR 1=1 --`
	sql.SessionID = `\'\\"` + "`"
	sql.PromptVersion = `v1'); SELECT * FROM system.users; --`
	sql.Output = `Robert'); DROP TABLE model_calls;-- said "hi" \ and left`
	sql.Attributes = map[string]string{`k'"\`: `v'"\`, "{{template}}": "${env}"}

	nul := base("h-nul")
	nul.Output = "before\x00after\x00"
	nul.UserID = "u\x00ser"

	unicode := base("h-unicode")
	unicode.Output = "مرحبا بالعالم 👋🏽 e\u0301 \u202eeftel\u202c 漢字テスト"
	unicode.Feature = "résumé-檢查"

	long := base("h-long-output")
	long.Output = strings.Repeat("ü", 1500) // 3000 bytes, close to the test's 4096-byte event limit

	extremes := base("h-extremes")
	extremes.LatencyMS = math.MaxFloat64
	extremes.InputTokens = math.MaxInt64
	extremes.CostUSD = 5e-324

	oldest := base("h-oldest")
	oldest.Timestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

	soon := base("h-soon")
	soon.Timestamp = now.Add(23 * time.Hour)

	return []*event.Event{sql, nul, unicode, long, extremes, oldest, soon}
}

// TestHostileInputs publishes a corpus of hostile events between good ones through the running
// pipeline: each ends in a dead letter whose reason names the problem or in stored rows that read
// back as sent, and the good events flow on.
func TestHostileInputs(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.runPipeline(t, ctx)

	now := time.Now().UTC().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(7, 8))
	var good []*event.Event
	for i := 0; i < 600; i++ {
		good = append(good, makeEvent(rng, "calm", i, -1, now.Add(-10*time.Minute)))
	}
	publishEvents(t, h.deps.JS, good[:300])

	rejects := hostileRejects(now)
	for i, r := range rejects {
		msg := stream.NewMsg(stream.EventsSubject("shop"), fmt.Sprintf("hostile-%d", i), []byte(r.body))
		if _, err := h.deps.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish %s: %v", r.name, err)
		}
	}
	// Ten megabytes never enter the stream: the server refuses the message outright.
	huge := stream.NewMsg(stream.EventsSubject("shop"), "hostile-huge", []byte(`{"output":"`+strings.Repeat("x", 10<<20)+`"}`))
	if _, err := h.deps.JS.PublishMsg(ctx, huge); err == nil || !strings.Contains(err.Error(), "payload") {
		t.Errorf("publishing a 10 MB event: err = %v, want the server's maximum payload error", err)
	}
	accepts := hostileAccepts(now)
	publishEvents(t, h.deps.JS, accepts)
	publishEvents(t, h.deps.JS, good[300:])

	want := uint64(len(good) + len(accepts))
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, h.conn, "SELECT count() FROM v_model_calls") == want &&
			count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores") == want
	}, "stored %d events and scored %d, want %d of each", count(t, h.conn, "SELECT count() FROM v_model_calls"),
		count(t, h.conn, "SELECT uniqExact(event_id) FROM v_scores"), want)

	for _, sent := range accepts {
		got := readBack(t, h, sent.EventID)
		if diff := cmp.Diff(sent, got); diff != "" {
			t.Errorf("%s read back differs (-sent +stored):\n%s", sent.EventID, diff)
		}
	}

	letters := deadLetters(t, h.deps.JS)
	if len(letters) != len(rejects) {
		t.Errorf("DLQ holds %d messages, want %d", len(letters), len(rejects))
	}
	for _, r := range rejects {
		reason, ok := letters[r.body]
		switch {
		case !ok:
			t.Errorf("%s: not dead-lettered", r.name)
		case !strings.Contains(reason, r.reason):
			t.Errorf("%s: reason %q does not name %q", r.name, reason, r.reason)
		}
	}
}

// readBack loads the stored fields of one event through the user-facing view.
func readBack(t *testing.T, h *harness, id string) *event.Event {
	t.Helper()
	var (
		ev           event.Event
		keys, values []string
		in, out      uint64
	)
	row := h.conn.QueryRow(context.Background(), `SELECT event_id, timestamp, app, feature, model, prompt_version,
		output, user_id, session_id, finish_reason, latency_ms, input_tokens, output_tokens, cost_usd, attribute_keys, attribute_values
		FROM v_model_calls WHERE event_id = ?`, id)
	if err := row.Scan(&ev.EventID, &ev.Timestamp, &ev.App, &ev.Feature, &ev.Model, &ev.PromptVersion, &ev.Output,
		&ev.UserID, &ev.SessionID, &ev.FinishReason, &ev.LatencyMS, &in, &out, &ev.CostUSD, &keys, &values); err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	ev.Timestamp = ev.Timestamp.UTC()
	ev.InputTokens, ev.OutputTokens = int64(in), int64(out)
	if len(keys) > 0 {
		ev.Attributes = map[string]string{}
		for i, k := range keys {
			ev.Attributes[k] = values[i]
		}
	}
	return &ev
}
