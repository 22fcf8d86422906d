package ingestsvc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
)

var now = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)

func ev(id, app string) string {
	return fmt.Sprintf(`{"event_id":%q,"timestamp":%q,"app":%q,"model":"gpt-x","output":"Your order ships today."}`, id, now, app)
}

func ndjson(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func decodeEvents(t *testing.T, r response) ingestsvc.EventsResponse {
	t.Helper()
	var got ingestsvc.EventsResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("answer %d %q is not an events response: %v", r.status, r.body, err)
	}
	return got
}

func TestEventsAccepted(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	pretty := "{\n  \"event_id\": \"pretty-1\",\n  \"timestamp\": \"" + now + "\",\n  \"app\": \"shop\",\n  \"model\": \"m\",\n  \"output\": \"ok\"\n}\n"
	tests := []struct {
		name string
		req  request
		ids  []string
	}{
		{"single JSON event", request{contentType: "application/json", body: []byte(ev("single-1", "shop"))}, []string{"single-1"}},
		{"no content type", request{body: []byte(ev("untyped-1", "shop"))}, []string{"untyped-1"}},
		{"pretty-printed JSON", request{contentType: "application/json", body: []byte(pretty)}, []string{"pretty-1"}},
		{"NDJSON", request{contentType: "application/x-ndjson", body: ndjson(ev("nd-1", "shop"), ev("nd-2", "shop"), "", ev("nd-3", "shop"))},
			[]string{"nd-1", "nd-2", "nd-3"}},
		{"several lines as application/json", request{contentType: "application/json; charset=utf-8", body: ndjson(ev("lines-1", "shop"), ev("lines-2", "shop"))},
			[]string{"lines-1", "lines-2"}},
		{"gzip NDJSON", request{contentType: "application/x-ndjson", encoding: "gzip", body: gzipped(t, ndjson(ev("gz-1", "shop"), ev("gz-2", "shop")))},
			[]string{"gz-1", "gz-2"}},
		{"gzip, streamed", request{contentType: "application/x-ndjson", encoding: "gzip", chunked: true, body: gzipped(t, ndjson(ev("gzs-1", "shop")))},
			[]string{"gzs-1"}},
	}
	var want []string
	for _, tc := range tests {
		tc.req.key = shopKey
		r := g.do(t, tc.req)
		got := decodeEvents(t, r)
		wantResp := ingestsvc.EventsResponse{Accepted: len(tc.ids), Errors: []ingestsvc.LineError{}}
		if r.status != http.StatusOK || !cmp.Equal(got, wantResp) {
			t.Errorf("%s: POST = %d %s, want 200 %+v", tc.name, r.status, r.body, wantResp)
		}
		want = append(want, tc.ids...)
	}
	if diff := cmp.Diff(map[string][]string{"vigil.events.shop": want}, storedIDs(t, g.js)); diff != "" {
		t.Errorf("EVENTS (-want +got):\n%s", diff)
	}
}

func TestEventsRejectsNamingLineAndField(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	big := fmt.Sprintf(`{"event_id":"big","timestamp":%q,"app":"shop","model":"m","output":%q}`, now, strings.Repeat("a", maxEvent))
	body := ndjson(
		ev("good-0", "shop"),
		`{"event_id": "bad-json", "timestamp": `,
		fmt.Sprintf(`{"event_id":"no-model","timestamp":%q,"app":"shop","output":"x"}`, now),
		fmt.Sprintf(`{"event_id":"wrong-type","timestamp":%q,"app":"shop","model":"m","output":"x","latency_ms":"fast"}`, now),
		fmt.Sprintf(`{"event_id":"unknown","timestamp":%q,"app":"shop","model":"m","output":"x","temperature":0.2}`, now),
		ev("other-app", "bank"),
		big,
		`{"event_id":"two-problems","app":"shop","model":"m","output":"x","status":"meh"}`,
		ev("good-8", "shop"),
	)
	r := g.do(t, request{key: shopKey, contentType: "application/x-ndjson", body: body})
	if r.status != http.StatusOK {
		t.Fatalf("POST of a partly valid batch = %d %s, want 200", r.status, r.body)
	}
	got := decodeEvents(t, r)
	if got.Accepted != 2 || got.Rejected != 7 {
		t.Errorf("accepted %d, rejected %d; want 2 and 7", got.Accepted, got.Rejected)
	}
	want := []struct {
		index         int
		field, reason string
	}{
		{1, "(event)", "malformed JSON"},
		{2, "model", "required"},
		{3, "latency_ms", "wrong type: got JSON string, want number"},
		{4, "temperature", "unknown field; put free-form data in attributes"},
		{5, "app", `"bank" is not the app of this API key ("shop")`},
		{6, "(event)", "exceeds the maximum event size of 4096 bytes"},
		{7, "timestamp", "required"},
		{7, "status", `"meh" is not one of ok, error`},
	}
	if len(got.Errors) != len(want) {
		t.Fatalf("errors = %+v, want %d entries", got.Errors, len(want))
	}
	for i, w := range want {
		e := got.Errors[i]
		if e.Index != w.index || e.Field != w.field || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("errors[%d] = %+v, want index %d, field %q, reason containing %q", i, e, w.index, w.field, w.reason)
		}
	}
	if diff := cmp.Diff(map[string][]string{"vigil.events.shop": {"good-0", "good-8"}}, storedIDs(t, g.js)); diff != "" {
		t.Errorf("EVENTS (-want +got):\n%s", diff)
	}

	// A body with nothing valid is a 400 with the same shape.
	r = g.do(t, request{key: bankKey, contentType: "application/json", body: []byte(ev("x", "shop"))})
	got = decodeEvents(t, r)
	if r.status != http.StatusBadRequest || got.Rejected != 1 || len(got.Errors) != 1 || got.Errors[0].Field != "app" {
		t.Errorf("POST of another app's event = %d %s, want 400 naming app", r.status, r.body)
	}
}

func TestEventsListsAtMostAThousandErrors(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	r := g.do(t, request{key: shopKey, contentType: "application/x-ndjson", body: []byte(strings.Repeat("{}\n", 500))})
	got := decodeEvents(t, r)
	if r.status != http.StatusBadRequest || got.Rejected != 500 || len(got.Errors) != 1000 || got.ErrorsOmitted == 0 {
		t.Errorf("500 empty objects: status %d, rejected %d, %d errors listed, %d omitted; want 400, 500, 1000 and the rest omitted",
			r.status, got.Rejected, len(got.Errors), got.ErrorsOmitted)
	}
}

func TestEventsRefusesRequests(t *testing.T) {
	g := newGateway(t, gatewayOpts{config: func(c *ingestsvc.Config) { c.MaxBodyBytes = 2048 }})
	one := []byte(ev("e1", "shop"))
	large := []byte(strings.Repeat(ev("big", "shop")+"\n", 40))
	tests := []struct {
		name   string
		req    request
		status int
		want   string
	}{
		{"no key", request{body: one}, 401, "missing Authorization"},
		{"not a bearer key", request{body: one, authorization: "Basic c2hvcDpzZWNyZXQ="}, 401, "must be Bearer"},
		{"unknown key", request{body: one, key: "not-a-key-0123456789"}, 401, "unknown API key"},
		{"oversized body", request{key: shopKey, body: large}, 413, "exceeds 2048 bytes"},
		{"oversized streamed body", request{key: shopKey, body: large, chunked: true}, 413, "exceeds 2048 bytes"},
		{"oversized after gunzip", request{key: shopKey, body: gzipped(t, large), encoding: "gzip"}, 413, "decompressed body exceeds 2048 bytes"},
		{"wrong content type", request{key: shopKey, body: one, contentType: "application/x-www-form-urlencoded"}, 415, "application/x-ndjson"},
		{"malformed content type", request{key: shopKey, body: one, contentType: "application/"}, 415, "malformed Content-Type"},
		{"unsupported encoding", request{key: shopKey, body: one, encoding: "br"}, 415, `Content-Encoding "br"`},
		{"not gzip", request{key: shopKey, body: one, encoding: "gzip"}, 400, "not gzip"},
		{"truncated gzip", request{key: shopKey, body: gzipped(t, one)[:20], encoding: "gzip"}, 400, "read the body"},
		{"empty body", request{key: shopKey, body: []byte(" \n")}, 400, "no event"},
	}
	for _, tc := range tests {
		r := g.do(t, tc.req)
		var got ingestsvc.ErrorResponse
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != tc.status || !strings.Contains(got.Error, tc.want) {
			t.Errorf("%s: POST = %d %s, want %d with an error containing %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
		if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	resp, err := client.Get(g.url + ingestsvc.EventsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s = %d, want 405", ingestsvc.EventsPath, resp.StatusCode)
	}
	if got := storedIDs(t, g.js); len(got) != 0 {
		t.Errorf("refused requests stored %v", got)
	}
}

func TestEventsRetriedBatchIsStoredOnce(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	var lines []string
	var ids []string
	for i := range 50 {
		id := fmt.Sprintf("retry-%02d", i)
		lines = append(lines, ev(id, "shop"))
		ids = append(ids, id)
	}
	body := ndjson(lines...)
	for attempt := 1; attempt <= 2; attempt++ {
		r := g.do(t, request{key: shopKey, contentType: "application/x-ndjson", encoding: "gzip", body: gzipped(t, body)})
		if got := decodeEvents(t, r); r.status != http.StatusOK || got.Accepted != 50 {
			t.Fatalf("attempt %d: POST = %d %s, want 200 with 50 accepted", attempt, r.status, r.body)
		}
	}
	if diff := cmp.Diff(map[string][]string{"vigil.events.shop": ids}, storedIDs(t, g.js)); diff != "" {
		t.Errorf("EVENTS after the same batch twice (-want +got):\n%s", diff)
	}
}

func decodeUnavailable(t *testing.T, r response) ingestsvc.UnavailableResponse {
	t.Helper()
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("POST = %d %s, want 503", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra == "" {
		t.Errorf("503 without Retry-After")
	}
	var got ingestsvc.UnavailableResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("503 answer %q: %v", r.body, err)
	}
	return got
}

// TestEventsFullStreamLosesNothing fills a small EVENTS stream (DiscardNew) in the middle of a
// batch: the answer is a 503 with Retry-After that lists exactly the events JetStream stored, and
// once there is room again the same body completes the batch without storing any event twice.
func TestEventsFullStreamLosesNothing(t *testing.T) {
	g := newGateway(t, gatewayOpts{limits: stream.Limits{MaxBytes: 8 << 10}})
	var lines, ids []string
	for i := range 60 {
		id := fmt.Sprintf("bp-%02d", i)
		lines = append(lines, ev(id, "shop"))
		ids = append(ids, id)
	}
	lines = append(lines, `{"event_id":"invalid"}`)
	body := ndjson(lines...)

	got := decodeUnavailable(t, g.do(t, request{key: shopKey, contentType: "application/x-ndjson", body: body}))
	if len(got.Stored) == 0 || len(got.NotStored) == 0 {
		t.Fatalf("answer %+v: want some events stored and some not (the stream fills midway)", got)
	}
	if got.Accepted != len(got.Stored) || got.Rejected != 1 || len(got.Stored)+len(got.NotStored) != 60 {
		t.Errorf("answer counts: accepted %d, stored %d, not stored %d, rejected %d; want accepted = stored, 60 valid, 1 rejected",
			got.Accepted, len(got.Stored), len(got.NotStored), got.Rejected)
	}
	if !strings.Contains(got.Error, "maximum bytes") {
		t.Errorf("503 error %q does not say the stream is full", got.Error)
	}
	stored := storedIDs(t, g.js)["vigil.events.shop"]
	var said []string
	for _, i := range got.Stored {
		said = append(said, ids[i])
	}
	slices.Sort(stored)
	if diff := cmp.Diff(said, stored); diff != "" {
		t.Errorf("events the answer called stored vs EVENTS (-answer +stream):\n%s", diff)
	}

	// Room again: the client sends the same body, as Retry-After asks.
	if err := stream.EnsureStreams(context.Background(), g.js, stream.Limits{MaxBytes: 1 << 20, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	r := g.do(t, request{key: shopKey, contentType: "application/x-ndjson", body: body})
	if again := decodeEvents(t, r); r.status != http.StatusOK || again.Accepted != 60 || again.Rejected != 1 {
		t.Fatalf("retry = %d %s, want 200 with 60 accepted and 1 rejected", r.status, r.body)
	}
	all := storedIDs(t, g.js)["vigil.events.shop"]
	slices.Sort(all)
	if diff := cmp.Diff(ids, all); diff != "" {
		t.Errorf("EVENTS after the retry (-want +got):\n%s", diff)
	}
}

func TestEventsWithoutStreamAnswer503(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	if err := g.js.DeleteStream(context.Background(), stream.Events); err != nil {
		t.Fatal(err)
	}
	got := decodeUnavailable(t, g.do(t, request{key: shopKey, body: ndjson(ev("a", "shop"), ev("b", "shop"))}))
	if got.Accepted != 0 || len(got.Stored) != 0 || !cmp.Equal(got.NotStored, []int{0, 1}) {
		t.Errorf("answer %+v, want nothing stored and lines 0 and 1 not stored", got)
	}
	if !strings.Contains(got.Error, "no response from stream") && !strings.Contains(got.Error, "no responders") {
		t.Errorf("503 error %q does not say no stream answered", got.Error)
	}
}

// TestEventsTooManyPendingAnswer503 keeps every acknowledgement from arriving (a plain
// subscriber takes the subject, no stream does): past VIGIL_INGEST_MAX_PENDING the publishes
// stall, time out, and the request answers 503 in bounded time.
func TestEventsTooManyPendingAnswer503(t *testing.T) {
	g := newGateway(t, gatewayOpts{config: func(c *ingestsvc.Config) {
		c.MaxPending = 2
		c.PublishTimeout = 500 * time.Millisecond
	}})
	ctx := context.Background()
	if err := g.js.DeleteStream(ctx, stream.Events); err != nil {
		t.Fatal(err)
	}
	sub, err := g.nc.SubscribeSync(stream.EventsSubject("shop"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	start := time.Now()
	got := decodeUnavailable(t, g.do(t, request{key: shopKey, body: ndjson(ev("p1", "shop"), ev("p2", "shop"), ev("p3", "shop"), ev("p4", "shop"))}))
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the 503 took %v", took)
	}
	if len(got.Stored) != 0 || len(got.NotStored) != 4 {
		t.Errorf("answer %+v, want all 4 not stored", got)
	}
	if !strings.Contains(got.Error, "stalled") && !strings.Contains(got.Error, "timeout") {
		t.Errorf("503 error %q names neither the stall nor the timeout", got.Error)
	}
}

func TestEventsLargerThanMaxPendingArePaced(t *testing.T) {
	g := newGateway(t, gatewayOpts{config: func(c *ingestsvc.Config) { c.MaxPending = 2 }})
	var lines []string
	for i := range 100 {
		lines = append(lines, ev(fmt.Sprintf("paced-%03d", i), "shop"))
	}
	r := g.do(t, request{key: shopKey, contentType: "application/x-ndjson", body: ndjson(lines...)})
	if got := decodeEvents(t, r); r.status != http.StatusOK || got.Accepted != 100 {
		t.Errorf("100 events through 2 pending slots = %d %s, want 200 with 100 accepted", r.status, r.body)
	}
}

func TestMetricsLint(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	g.do(t, request{key: shopKey, body: []byte(ev("m1", "shop"))})
	g.do(t, request{body: []byte(ev("m2", "shop"))})
	if problems, err := testutil.GatherAndLint(g.reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint = %v, %v", problems, err)
	}
	if n := testutil.CollectAndCount(g.reg, "vigil_ingest_requests_total"); n != 2 {
		t.Errorf("vigil_ingest_requests_total has %d series, want 2 (200 and 401)", n)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Run("shutdown without start", func(t *testing.T) {
		g := newGatewayUnstarted(t)
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if err := g.Start(context.Background()); err == nil {
			t.Error("Start after Shutdown = nil, want an error")
		}
	})
	t.Run("start, work, shutdown twice", func(t *testing.T) {
		g := newGateway(t, gatewayOpts{})
		if r := g.do(t, request{key: shopKey, body: []byte(ev("l1", "shop"))}); r.status != http.StatusOK {
			t.Fatalf("POST = %d %s", r.status, r.body)
		}
		for i := range 2 {
			if err := g.srv.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown %d = %v", i+1, err)
			}
		}
		if _, err := client.Post(g.url+ingestsvc.EventsPath, "application/json", strings.NewReader("{}")); err == nil {
			t.Error("the API still answers after Shutdown")
		}
	})
}

// newGatewayUnstarted returns a second server on a test gateway's connection, never started.
func newGatewayUnstarted(t *testing.T) *ingestsvc.Server {
	t.Helper()
	d := newGateway(t, gatewayOpts{}).deps
	d.Registry = prometheus.NewPedanticRegistry()
	srv, err := ingestsvc.New(d, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
