// Package app is the runtime every vigil service shares: configuration, logging, the NATS
// connection, the streams, the admin server and an orderly shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/telemetry"
)

// ShutdownGrace bounds how long a service drains on SIGTERM.
const ShutdownGrace = 30 * time.Second

// Deps are what a service's components are built from.
type Deps struct {
	Common   config.Common
	Log      *slog.Logger
	Registry *prometheus.Registry
	NC       *nats.Conn
	JS       jetstream.JetStream
	Metrics  *stream.Metrics
}

// Main runs a service until SIGINT or SIGTERM and returns the process exit code.
func Main(run func(ctx context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// NATSOptions are the credentials and TLS options of every NATS connection vigil makes:
// VIGIL_NATS_CREDS and VIGIL_NATS_TLS_*.
func NATSOptions(c config.Common) ([]nats.Option, error) {
	var opts []nats.Option
	if c.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	}
	tc, err := c.TLS.NATSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// DialNATS connects once, without retrying, with the configured credentials and TLS: for
// commands that should fail fast when NATS is not there. The caller adds the context to errors.
func DialNATS(c config.Common, name string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := NATSOptions(c)
	if err != nil {
		return nil, err
	}
	return nats.Connect(c.NATSURL, append(append(opts, nats.Name(name)), extra...)...)
}

// Connect dials NATS (retrying while the server is not up yet, reconnecting forever) and makes
// sure every stream exists with the configured limits. extra options come last.
func Connect(ctx context.Context, c config.Common, name string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name("vigil-" + name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted()) }),
	}
	security, err := NATSOptions(c)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(c.NATSURL, append(append(opts, security...), extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", config.Redact(c.NATSURL), err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(stream.AckTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("open JetStream: %w", err)
	}
	for attempt := 1; ; attempt++ {
		// Long enough for every stream to be asked twice (see stream.EnsureStreams).
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = stream.EnsureStreams(sctx, js, c.Streams.Limits())
		cancel()
		if err == nil {
			return nc, js, nil
		}
		if ctx.Err() != nil || attempt == 30 {
			nc.Close()
			return nil, nil, fmt.Errorf("set up streams on %s (is NATS running with JetStream enabled?): %w", config.Redact(c.NATSURL), err)
		}
		log.Warn("set up streams; retrying", "err", err, "attempt", attempt)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}

// DrainNATS is the component that drains the connection on shutdown: pending publishes and acks
// are flushed before it closes.
func DrainNATS(nc *nats.Conn) lifecycle.Component {
	return lifecycle.Func{OnShutdown: func(ctx context.Context) error {
		if nc.IsClosed() {
			return nil
		}
		closed := make(chan struct{})
		nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("drain NATS: %w", err)
		}
		select {
		case <-closed:
			return nil
		case <-ctx.Done():
			nc.Close()
			return fmt.Errorf("drain NATS: %w", ctx.Err())
		}
	}}
}

// Build makes a service's components from its dependencies.
type Build func(d Deps) ([]lifecycle.Named, error)

// Serve runs one service: logger, metrics, admin server on adminAddr, NATS, then the components
// build returns, until ctx ends; then it drains in reverse order.
func Serve(ctx context.Context, name string, c config.Common, adminAddr string, build Build) error {
	log, err := telemetry.NewLogger(os.Stderr, c.LogFormat, c.LogLevel)
	if err != nil {
		return err
	}
	log = log.With("service", name)
	reg := telemetry.NewRegistry(name)
	admin, err := telemetry.NewAdmin(adminAddr, reg, log)
	if err != nil {
		return err
	}
	nc, js, err := Connect(ctx, c, name, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	log.Info("starting", "nats", config.Redact(c.NATSURL), "admin", admin.Addr())
	d := Deps{Common: c, Log: log, Registry: reg, NC: nc, JS: js, Metrics: stream.NewMetrics(reg)}
	components, err := build(d)
	if err != nil {
		return err
	}
	all := append([]lifecycle.Named{{Name: "admin", Component: admin}, {Name: "nats", Component: DrainNATS(nc)}}, components...)
	return lifecycle.Run(ctx, log, ShutdownGrace, admin.SetReady, all...)
}
