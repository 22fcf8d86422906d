package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/otlp"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/pipelinetest"
	"github.com/vigilhq/vigil/services/internal/servicetest"
)

var ch *testkit.ClickHouse

func TestMain(m *testing.M) { os.Exit(testkit.MainWithClickHouse(m, &ch)) }

const shopKey = "shop-key-0123456789abcdef"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startIngest runs the service as its main does, against NATS at natsURL, and returns the API's
// base URL.
func startIngest(t *testing.T, natsURL string) (*servicetest.Service, string) {
	t.Helper()
	addr := freeAddr(t)
	svc := servicetest.Start(t, run, "VIGIL_INGEST_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": natsURL, "VIGIL_INGEST_ADDR": addr, "VIGIL_INGEST_API_KEYS": "shop:" + shopKey})
	return svc, "http://" + addr
}

func post(t *testing.T, url, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+shopKey)
	req.Header.Set("Content-Type", contentType)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func eventLine(id string) string {
	return fmt.Sprintf(`{"event_id":%q,"timestamp":%q,"app":"shop","model":"m","output":"Your parcel is on its way."}`,
		id, time.Now().UTC().Format(time.RFC3339))
}

func eventsInStream(t *testing.T, natsURL string) uint64 {
	t.Helper()
	var common config.Common
	common.NATSURL = natsURL
	nc, js, err := app.Connect(context.Background(), common, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := js.Stream(context.Background(), stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestIngestServesAndDrains runs the service, posts events, then sends SIGTERM while a request
// is still arriving: the listener closes at once, the request in flight is answered and its
// events are stored before NATS drains, and run returns nil.
func TestIngestServesAndDrains(t *testing.T) {
	ns := testkit.NATS(t)
	svc, base := startIngest(t, ns.ClientURL())
	if code, body := post(t, base+ingestsvc.EventsPath, "application/json", strings.NewReader(eventLine("first"))); code != http.StatusOK {
		t.Fatalf("POST = %d %s", code, body)
	}
	svc.CheckProbes(t, "vigil_ingest_requests_total", "vigil_ingest_events_total", "vigil_ingest_requests_in_flight")

	// A request whose body is still arriving when the stop begins.
	pr, pw := io.Pipe()
	type answer struct {
		code int
		body []byte
	}
	answered := make(chan answer, 1)
	go func() {
		code, body := post(t, base+ingestsvc.EventsPath, "application/x-ndjson", pr)
		answered <- answer{code, body}
	}()
	if _, err := io.WriteString(pw, eventLine("inflight-1")+"\n"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(metrics(t, svc.AdminURL), "vigil_ingest_requests_in_flight 1")
	}, "the request never reached the handler")

	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop(t) }()
	testkit.Eventually(t, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "the API still accepts connections after SIGTERM")
	select {
	case err := <-stopped:
		t.Fatalf("the service stopped (%v) before the request in flight was answered", err)
	default:
	}
	if _, err := io.WriteString(pw, eventLine("inflight-2")+"\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	a := <-answered
	if a.code != http.StatusOK || !bytes.Contains(a.body, []byte(`"accepted":2`)) {
		t.Errorf("request in flight during shutdown = %d %s, want 200 with 2 accepted", a.code, a.body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v after SIGTERM, want nil", err)
	}
	if got := eventsInStream(t, ns.ClientURL()); got != 3 {
		t.Errorf("EVENTS holds %d events after the drain, want 3", got)
	}
}

func metrics(t *testing.T, adminURL string) string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// exportFrom reads an OTLP JSON payload shaped like an instrumentation's (pkg/otlp/testdata),
// moves its spans to the last hour and re-ids its trace so that every run is new.
func exportFrom(t *testing.T, file string, runID byte) *tracepb.TracesData {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "otlp", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	rss, err := otlp.DecodeJSON(data)
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	var first uint64
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				if first == 0 || sp.StartTimeUnixNano < first {
					first = sp.StartTimeUnixNano
				}
			}
		}
	}
	shift := uint64(time.Now().Add(-time.Hour).UnixNano()) - first
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				sp.StartTimeUnixNano += shift
				sp.EndTimeUnixNano += shift
				sp.TraceId[0] = runID
			}
		}
	}
	return &tracepb.TracesData{ResourceSpans: rss}
}

// TestOTLPEndToEnd posts OTLP exports shaped like the OpenTelemetry GenAI instrumentations',
// OpenLLMetry's and OpenInference's, in protobuf and in JSON, through the running ingest service
// into the pipeline, and finds each mapped model call in v_model_calls with its checks in
// v_scores.
func TestOTLPEndToEnd(t *testing.T) {
	pl := pipelinetest.Start(t, ch)
	conn := pl.Conn
	_, base := startIngest(t, pl.NATSURL)

	// Protobuf: current GenAI conventions and OpenLLMetry. JSON: OpenInference and the
	// conventions of v1.36 and before (content in span events).
	for i, f := range []string{"genai_current.json", "openllmetry.json"} {
		body, err := proto.Marshal(exportFrom(t, f, byte(0xa0+i)))
		if err != nil {
			t.Fatal(err)
		}
		if code, resp := post(t, base+ingestsvc.TracesPath, "application/x-protobuf", bytes.NewReader(body)); code != http.StatusOK {
			t.Fatalf("POST %s as protobuf = %d %q", f, code, resp)
		}
	}
	for i, f := range []string{"openinference.json", "genai_events.json"} {
		td := exportFrom(t, f, byte(0xb0+i))
		body := otlpJSON(t, td)
		code, resp := post(t, base+ingestsvc.TracesPath, "application/json", bytes.NewReader(body))
		if code != http.StatusOK {
			t.Fatalf("POST %s as JSON = %d %s", f, code, resp)
		}
		if f == "genai_events.json" && !bytes.Contains(resp, []byte(`"rejectedSpans":"1"`)) {
			t.Errorf("POST %s = %s, want a partial success with the span without a model rejected", f, resp)
		}
	}

	want := map[string]struct{ feature, stage, model, output string }{
		"otel-a08efff798038103d269b633813fc60c-1a2b3c4d5e6f7081": {"support-bot", "answer_ticket", "gpt-4o-mini-2024-07-18", "Your order 1234 shipped yesterday and arrives on Friday."},
		"otel-a08efff798038103d269b633813fc60c-4d5e6f7081920314": {"support-bot", "fallback", "claude-sonnet-4", ""},
		"otel-a1f92f3577b34da6a3ce929d0e0e4736-a1b2c3d4e5f60718": {"rag-api", "answer_question.workflow", "gpt-3.5-turbo-0125", "I'm sorry, but I can't help with that."},
		"otel-b03c60f7d188f8fa79d48a391a778fa6-3d4c5b6a79881726": {"warranty-qa", "RetrievalQA", "gpt-4o-2024-08-06", "The warranty covers defects for two years."},
		"otel-b1f7651916cd43dd8448eb211c80319c-b7ad6b7169203331": {"search-summary", "", "gpt-4", "The results say that the"},
		"otel-b1f7651916cd43dd8448eb211c80319c-c8be7c827a314442": {"search-summary", "", "gemini-1.5-pro", "Hello! How can I help?"},
		"otel-b1f7651916cd43dd8448eb211c80319c-d9cf8d938b425553": {"search-summary", "", "mistral-large", " Paris."},
	}
	n := uint64(len(want))
	testkit.Eventually(t, 60*time.Second, func() bool {
		return count(t, conn, "SELECT count() FROM v_model_calls") == n && count(t, conn, "SELECT uniqExact(event_id) FROM v_scores") == n
	}, "v_model_calls holds %d events and v_scores covers %d, want %d each",
		count(t, conn, "SELECT count() FROM v_model_calls"), count(t, conn, "SELECT uniqExact(event_id) FROM v_scores"), n)

	rows, err := conn.Query(context.Background(), "SELECT event_id, app, feature, stage, model, output, trace_id, parent_span_id FROM v_model_calls")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, appName, feature, stage, model, output, trace, parent string
		if err := rows.Scan(&id, &appName, &feature, &stage, &model, &output, &trace, &parent); err != nil {
			t.Fatal(err)
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected event %s in v_model_calls", id)
			continue
		}
		if appName != "shop" || feature != w.feature || stage != w.stage || model != w.model || output != w.output || !strings.Contains(id, trace) {
			t.Errorf("v_model_calls %s = app %q feature %q stage %q model %q output %q trace %q; want shop %q %q %q %q",
				id, appName, feature, stage, model, output, trace, w.feature, w.stage, w.model, w.output)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// The checks ran on the mapped events: the OpenLLMetry call's output is a refusal, the
	// others' are not.
	refusals := map[string]bool{}
	srows, err := conn.Query(context.Background(), "SELECT event_id, pass FROM v_scores WHERE metric = 'refusal'")
	if err != nil {
		t.Fatal(err)
	}
	defer srows.Close()
	for srows.Next() {
		var id string
		var pass uint8
		if err := srows.Scan(&id, &pass); err != nil {
			t.Fatal(err)
		}
		refusals[id] = pass == 0
	}
	if !refusals["otel-a1f92f3577b34da6a3ce929d0e0e4736-a1b2c3d4e5f60718"] {
		t.Errorf("refusal check results %v: want the OpenLLMetry call's refusal failed", refusals)
	}
	if refusals["otel-b03c60f7d188f8fa79d48a391a778fa6-3d4c5b6a79881726"] {
		t.Errorf("refusal check results %v: the OpenInference call is no refusal", refusals)
	}
}

// otlpJSON encodes td as OTLP/HTTP JSON exporters do: the protobuf JSON mapping, with trace and
// span ids in hex rather than base64.
func otlpJSON(t *testing.T, td *tracepb.TracesData) []byte {
	t.Helper()
	raw, err := protojson.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any // protojson writes 64-bit integers as strings: nothing is rounded
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rs := range doc["resourceSpans"].([]any) {
		for _, ss := range rs.(map[string]any)["scopeSpans"].([]any) {
			for _, sp := range ss.(map[string]any)["spans"].([]any) {
				span := sp.(map[string]any)
				for _, k := range []string{"traceId", "spanId", "parentSpanId"} {
					if v, ok := span[k].(string); ok {
						b, err := base64.StdEncoding.DecodeString(v)
						if err != nil {
							t.Fatal(err)
						}
						span[k] = hex.EncodeToString(b)
					}
				}
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, conn driver.Conn, query string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
