// Package pipelinetest runs the whole pipeline (scorer, drift, writer) for a test, on a fresh
// in-process NATS server and a fresh database of a throwaway ClickHouse, with settings short
// enough that a test sees results in seconds.
package pipelinetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

// Config is the pipeline configuration the tests run with: small batches, short waits, and
// drift windows of 10 s with 200-event baselines.
func Config() pipeline.Config {
	return pipeline.Config{
		Scorer: scorersvc.Config{Workers: 1, BatchSize: 64, MaxWait: 50 * time.Millisecond, AckWait: 5 * time.Second},
		Drift: driftsvc.Config{Window: 10 * time.Second, Grace: time.Second, BaselineSize: 200, MinSamples: 30,
			Alpha: 0.001, MinRateEffect: 0.05, MinMeanEffect: 0.5, PendingWindows: 1, ResolveWindows: 2, ResendWindows: 10,
			BatchSize: 500, LeaseTTL: 3 * time.Second, CheckpointInterval: time.Second},
		Writer: writersvc.Config{BatchSize: 1000, FlushInterval: 100 * time.Millisecond, AckWait: 3 * time.Second},
	}
}

// Pipeline is a running pipeline.
type Pipeline struct {
	NATSURL string
	Deps    app.Deps
	Conn    driver.Conn // to the pipeline's database
}

// Start runs the pipeline with Config on a new NATS server and a new database of ch, and stops
// it when the test ends.
func Start(t *testing.T, ch *testkit.ClickHouse) *Pipeline {
	t.Helper()
	ns := testkit.NATS(t)
	dsn := ch.Database(t)
	common := config.Common{NATSURL: ns.ClientURL(), ClickHouseDSN: dsn, Streams: config.Streams{
		Replicas: 1, MaxAge: time.Hour, MaxBytes: -1, Duplicates: 2 * time.Minute, Partitions: 4, MaxEvent: 1 << 18}}
	log := slog.New(slog.DiscardHandler)
	nc, js, err := app.Connect(context.Background(), common, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	p := &Pipeline{NATSURL: ns.ClientURL(), Conn: testkit.Conn(t, dsn),
		Deps: app.Deps{Common: common, Log: log, Registry: prometheus.NewPedanticRegistry(), NC: nc, JS: js}}
	parts, err := pipeline.Components(context.Background(), p.Deps, Config(), p.Conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	Run(t, parts)
	return p
}

// Run starts components in order and shuts them down in reverse when the test ends.
func Run(t *testing.T, parts []lifecycle.Named) {
	t.Helper()
	ctx := context.Background()
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			t.Fatalf("start %s: %v", p.Name, err)
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for i := len(parts) - 1; i >= 0; i-- {
			if err := parts[i].Shutdown(sctx); err != nil {
				t.Errorf("shut down %s: %v", parts[i].Name, err)
			}
		}
	})
}
