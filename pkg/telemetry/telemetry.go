// Package telemetry gives every vigil service its Prometheus registry, build info, structured
// logger and admin HTTP server (/metrics, /healthz, /readyz).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with Go and process collectors and vigil_build_info.
func NewRegistry(service string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	version, goVersion := "devel", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "vigil_build_info",
		Help:        "Build information of the running vigil service; always 1.",
		ConstLabels: prometheus.Labels{"service": service, "version": version, "goversion": goVersion},
	})
	info.Set(1)
	reg.MustRegister(info)
	return reg
}

// NewLogger builds a slog logger writing to w: format "json" (production) or "text"; level one of
// debug, info, warn, error.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want json or text", format)
}

// Admin is the HTTP server for metrics and probes. Ready starts false: the owner flips it once its
// components run, and back to false first thing on shutdown so load balancers stop routing.
type Admin struct {
	srv   *http.Server
	ln    net.Listener
	ready atomic.Bool
	done  chan struct{}
	once  sync.Once
	log   *slog.Logger
}

// NewAdmin binds addr (":0" picks a port) and serves gatherer's metrics and the probes.
func NewAdmin(addr string, gatherer prometheus.Gatherer, log *slog.Logger) (*Admin, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for admin HTTP on %s: %w", addr, err)
	}
	a := &Admin{ln: ln, done: make(chan struct{}), log: log}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	// Profiles on the admin port, which is internal like /metrics: how the pipeline's hot paths
	// are found under real load.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// Addr is the bound address.
func (a *Admin) Addr() string { return a.ln.Addr().String() }

// SetReady flips the readiness probe.
func (a *Admin) SetReady(ready bool) { a.ready.Store(ready) }

// Start serves in the background until Shutdown.
func (a *Admin) Start(context.Context) error {
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server", "err", err)
		}
	}()
	return nil
}

// Shutdown stops the server; idempotent.
func (a *Admin) Shutdown(ctx context.Context) error {
	var err error
	a.once.Do(func() {
		a.ready.Store(false)
		err = a.srv.Shutdown(ctx)
	})
	return err
}
