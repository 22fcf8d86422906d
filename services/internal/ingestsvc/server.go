package ingestsvc

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Routes of the ingest API.
const (
	EventsPath   = "/v1/events"
	TracesPath   = "/v1/traces"
	FeedbackPath = "/v1/feedback"
)

// retryAfter is what a 503 asks clients to wait before they send the request again.
const retryAfter = 2 * time.Second

// ErrShutDown is returned by Start after Shutdown.
var ErrShutDown = errors.New("ingestsvc: server shut down")

// Server is the ingest HTTP API as a lifecycle component. Shutdown stops accepting connections
// and waits for the requests in flight, whose events are published before NATS drains.
type Server struct {
	cfg  Config
	keys Keys
	js   jetstream.JetStream
	dec  event.Decoder
	log  *slog.Logger
	m    *metrics
	srv  *http.Server
	ln   net.Listener

	mu      sync.Mutex
	started bool
	stopped bool
	done    chan struct{}
	once    sync.Once
	err     error
}

var _ lifecycle.Component = (*Server)(nil)

// New binds cfg.Addr (":0" picks a port) and builds the API on d's NATS connection. Publishing
// uses its own JetStream context, whose pending acknowledgements are capped at cfg.MaxPending.
func New(d app.Deps, cfg Config) (*Server, error) {
	keys, err := cfg.Keys()
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(d.NC,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout))
	if err != nil {
		return nil, fmt.Errorf("open JetStream for publishing: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the ingest API on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		cfg: cfg, keys: keys, js: js, log: d.Log, ln: ln, done: make(chan struct{}),
		dec: event.Decoder{MaxBytes: d.Common.Streams.MaxEvent},
		m:   newMetrics(d.Registry),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+EventsPath, s.m.instrument("events", s.handleEvents))
	mux.HandleFunc("POST "+TracesPath, s.m.instrument("traces", s.handleTraces))
	mux.HandleFunc("POST "+FeedbackPath, s.m.instrument("feedback", s.handleFeedback))
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2*time.Minute + cfg.PublishTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.Log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Addr is the bound address of the API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Start serves in the background until Shutdown.
func (s *Server) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrShutDown
	}
	if s.started {
		return nil
	}
	s.started = true
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ingest API server", "err", err)
		}
	}()
	return nil
}

// Shutdown closes the listener and waits, within ctx, for the requests in flight to be answered;
// past the deadline it closes their connections. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		s.mu.Lock()
		started := s.started
		s.stopped = true
		s.mu.Unlock()
		if !started {
			if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.err = fmt.Errorf("close the ingest listener: %w", err)
			}
			return
		}
		if err := s.srv.Shutdown(ctx); err != nil {
			s.err = fmt.Errorf("drain the ingest API: %w", err)
			s.srv.Close()
		}
		<-s.done
	})
	return s.err
}

// authenticate returns the app of the request's bearer key, or why the request must be answered
// 401.
func (s *Server) authenticate(r *http.Request) (string, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "missing Authorization: Bearer <API key>"
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", "the Authorization header must be Bearer <API key>"
	}
	app, ok := s.keys.App(strings.TrimSpace(token))
	if !ok {
		return "", "unknown API key"
	}
	return app, ""
}

// bodyError is a request body the API cannot read, with the status to answer.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// readBody reads the request body within VIGIL_INGEST_MAX_BODY_BYTES, before and after gzip
// decompression (Content-Encoding: gzip).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *bodyError) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes (VIGIL_INGEST_MAX_BODY_BYTES); send smaller batches", limit)}
	var gzipped bool
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gzipped = true
	default:
		return nil, &bodyError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; use gzip or none", enc)}
	}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if gzipped {
		zr, err := gzip.NewReader(body)
		if err != nil {
			if isMaxBytes(err) {
				return nil, tooLarge
			}
			return nil, &bodyError{http.StatusBadRequest, "the body is not gzip data: " + err.Error()}
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case isMaxBytes(err):
		return nil, tooLarge
	case err != nil:
		return nil, &bodyError{http.StatusBadRequest, "read the body: " + err.Error()}
	case int64(len(data)) > limit:
		return nil, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the decompressed body exceeds %d bytes (VIGIL_INGEST_MAX_BODY_BYTES); send smaller batches", limit)}
	}
	return data, nil
}

func isMaxBytes(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// mediaType returns the request's media type in lower case, "" when it has none.
func mediaType(r *http.Request) (string, bool) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", false
	}
	return mt, true
}

func setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", fmt.Sprint(int(retryAfter/time.Second)))
}
