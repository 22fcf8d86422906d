package driftsvc

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Exported so the external test package shares the same harness.

// NewTestDeps connects to the NATS server at url, creating the streams with the given number of
// partitions, and returns one replica's dependencies. The connection closes when the test ends.
func NewTestDeps(t *testing.T, url string, partitions int) app.Deps {
	t.Helper()
	common := config.Common{NATSURL: url, Streams: config.Streams{Replicas: 1, MaxAge: time.Hour, MaxBytes: -1,
		Duplicates: 2 * time.Minute, Partitions: partitions, MaxEvent: 1 << 18}}
	log := slog.New(slog.DiscardHandler)
	nc, js, err := app.Connect(context.Background(), common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return app.Deps{Common: common, Log: log, Registry: prometheus.NewRegistry(), NC: nc, JS: js}
}

// StoredAlert is one alert on ALERTS with the Nats-Msg-Id it was published with.
type StoredAlert struct {
	*event.Alert
	MsgID string
}

// StoredAlerts reads every alert on ALERTS, oldest first.
func StoredAlerts(t *testing.T, js jetstream.JetStream) []StoredAlert {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream.Alerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []StoredAlert
	for range info.State.Msgs {
		msg, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		a, err := event.DecodeAlert(msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, StoredAlert{Alert: a, MsgID: msg.Headers().Get(nats.MsgIdHdr)})
	}
	return out
}

// startManager starts a replica with cfg and waits until it owns all partitions; it shuts down
// when the test ends.
func startManager(t *testing.T, d app.Deps, cfg Config, partitions int) *Manager {
	t.Helper()
	ctx := context.Background()
	m, err := New(ctx, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(ctx) })
	testkit.Eventually(t, 10*time.Second, func() bool { return len(m.Owned()) == partitions }, "partitions not owned: %v", m.Owned())
	return m
}

// ConfigForTest is a replica's configuration for tests: the detectors' settings every test shares,
// windows of window and a checkpoint every checkpoint; a test sets the rest it needs.
func ConfigForTest(id string, window, checkpoint time.Duration) Config {
	return Config{Window: window, Grace: time.Second, BaselineSize: 200, MinSamples: 30, Alpha: 0.001,
		MinRateEffect: 0.05, MinMeanEffect: 0.5, PendingWindows: 1, ResolveWindows: 2, BatchSize: 500,
		ReplicaID: id, LeaseTTL: 5 * time.Second, CheckpointInterval: checkpoint}
}
