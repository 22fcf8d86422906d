package ingestsvc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).StartMonitoring.func1"))
}

// API keys of the test gateways.
const (
	shopKey = "shop-key-0123456789abcdef"
	bankKey = "bank-key-0123456789abcdef"
)

// maxEvent is VIGIL_MAX_EVENT_BYTES in these tests.
const maxEvent = 4096

// gateway is one test's NATS server and ingest API.
type gateway struct {
	deps app.Deps
	srv  *ingestsvc.Server
	url  string
	nc   *nats.Conn
	js   jetstream.JetStream
	reg  *prometheus.Registry
}

type gatewayOpts struct {
	limits stream.Limits
	config func(*ingestsvc.Config)
}

func testConfig() ingestsvc.Config {
	return ingestsvc.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", APIKeys: "shop:" + shopKey + ",bank:" + bankKey,
		MaxBodyBytes: 64 << 10, MaxPending: 1024, PublishTimeout: 5 * time.Second,
	}
}

func newGateway(t *testing.T, o gatewayOpts) *gateway {
	t.Helper()
	ns := testkit.NATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	limits := o.limits
	if limits.Duplicates == 0 {
		limits.Duplicates = 2 * time.Minute
	}
	if err := stream.EnsureStreams(context.Background(), js, limits); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if o.config != nil {
		o.config(&cfg)
	}
	reg := prometheus.NewPedanticRegistry()
	d := app.Deps{
		Common:   config.Common{Streams: config.Streams{MaxEvent: maxEvent}},
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Registry: reg, NC: nc, JS: js,
	}
	d.Registry = reg
	srv, err := ingestsvc.New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
	return &gateway{deps: d, srv: srv, url: "http://" + srv.Addr(), nc: nc, js: js, reg: reg}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// request is one call of the API.
type request struct {
	path, key, contentType, encoding string
	authorization                    string // the whole header, instead of Bearer key
	body                             []byte
	chunked                          bool // hide the length, as a streaming client does
}

type response struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{Timeout: 30 * time.Second}

func (g *gateway) do(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader = bytes.NewReader(req.body)
	if req.chunked {
		body = io.MultiReader(body) // not a type http.NewRequest measures
	}
	path := req.path
	if path == "" {
		path = ingestsvc.EventsPath
	}
	r, err := http.NewRequest(http.MethodPost, g.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case req.authorization != "":
		r.Header.Set("Authorization", req.authorization)
	case req.key != "":
		r.Header.Set("Authorization", "Bearer "+req.key)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	if req.encoding != "" {
		r.Header.Set("Content-Encoding", req.encoding)
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// storedIDs returns the Nats-Msg-Id of every message in EVENTS, by subject.
func storedIDs(t *testing.T, js jetstream.JetStream) map[string][]string {
	t.Helper()
	return streamIDs(t, js, stream.Events)
}

// streamIDs returns the Nats-Msg-Id of every message in the stream name, by subject.
func streamIDs(t *testing.T, js jetstream.JetStream, name string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	if info.State.Msgs == 0 {
		return out
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		out[m.Subject()] = append(out[m.Subject()], m.Headers().Get(jetstream.MsgIDHeader))
	}
	return out
}
