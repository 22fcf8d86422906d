package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/telemetry"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/demo"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/pipeline"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/settings"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

// demoDefaults make the demo's windows short enough that a regression alerts within a minute or
// two. They apply only to variables the user has not set.
var demoDefaults = map[string]string{
	"VIGIL_DRIFT_WINDOW":        "10s",
	"VIGIL_DRIFT_GRACE":         "2s",
	"VIGIL_DRIFT_BASELINE_SIZE": "300",
	"VIGIL_DRIFT_MIN_SAMPLES":   "30",
	"VIGIL_LOG_FORMAT":          "text",
}

// devConfig is everything `vigil dev` runs.
type devConfig struct {
	common config.Common
	scorer scorersvc.Config
	drift  driftsvc.Config
	writer writersvc.Config
	dev    settings.Dev
}

func runDev(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	withDemo := fs.Bool("demo", false, "publish demo traffic with an injected regression")
	healthyFor := fs.Duration("demo-healthy-for", 40*time.Second, "how long the demo traffic stays healthy before the regression")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *withDemo {
		for k, v := range demoDefaults {
			if _, set := os.LookupEnv(k); !set {
				os.Setenv(k, v)
			}
		}
	} else if _, set := os.LookupEnv("VIGIL_LOG_FORMAT"); !set {
		os.Setenv("VIGIL_LOG_FORMAT", "text")
	}
	var c devConfig
	if err := config.Load(settings.Known(), &c.common, &c.scorer, &c.drift, &c.writer, &c.dev); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(os.Stderr, c.common.LogFormat, c.common.LogLevel)
	if err != nil {
		return err
	}

	limitMemory(c.dev.MemoryMiB, log)

	ns, err := startEmbeddedNATS(c.dev)
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	c.common.NATSURL = ns.ClientURL()
	log.Info("embedded NATS JetStream running", "url", ns.ClientURL(), "store", filepath.Join(c.dev.DataDir, "nats"))

	reg := telemetry.NewRegistry("vigil-dev")
	admin, err := telemetry.NewAdmin(c.dev.AdminAddr, reg, log)
	if err != nil {
		return err
	}
	// The stages reach the embedded server in memory rather than through the loopback interface.
	inProcess := nats.InProcessServer(ns)
	nc, js, err := app.Connect(ctx, c.common, "dev", log, inProcess)
	if err != nil {
		return err
	}
	defer nc.Close()
	d := app.Deps{Common: c.common, Log: log, Registry: reg, NC: nc, JS: js, Metrics: stream.NewMetrics(reg)}

	log.Info("connecting to ClickHouse", "dsn", config.Redact(c.common.ClickHouseDSN))
	conn, err := writersvc.Connect(ctx, c.common, log)
	if err != nil {
		return fmt.Errorf("%w\n(start a local ClickHouse with: deploy/clickhouse/local.sh start, or run make run)", err)
	}
	defer conn.Close()
	contracts := scoring.NewContracts()
	if *withDemo {
		if err := contracts.Add(demo.Contract, []byte(demo.ContractSchema)); err != nil {
			return err
		}
	}
	connect := func(ctx context.Context, stage string) (app.Deps, lifecycle.Component, error) {
		snc, sjs, err := app.Connect(ctx, c.common, "dev-"+stage, log, inProcess)
		if err != nil {
			return app.Deps{}, nil, err
		}
		sd := d
		sd.NC, sd.JS = snc, sjs
		return sd, app.DrainNATS(snc), nil
	}
	stages, err := pipeline.Components(ctx, d, pipeline.Config{Scorer: c.scorer, Drift: c.drift, Writer: c.writer, Connect: connect}, conn, contracts)
	if err != nil {
		return err
	}
	components := append([]lifecycle.Named{{Name: "admin", Component: admin}, {Name: "nats", Component: app.DrainNATS(nc)}}, stages...)
	var gen *demo.Generator
	if *withDemo {
		gen = &demo.Generator{JS: js, Rate: c.dev.DemoRate, HealthyFor: *healthyFor, Log: log}
		watch := &watcher{nc: nc, conn: conn, gen: gen, out: out, dsn: c.common.ClickHouseDSN, natsURL: ns.ClientURL()}
		components = append(components, lifecycle.Named{Name: "watch", Component: watch}, lifecycle.Named{Name: "demo", Component: gen})
	}
	log.Info("vigil dev running; Ctrl-C to stop", "admin", admin.Addr())
	return lifecycle.Run(ctx, log, app.ShutdownGrace, admin.SetReady, components...)
}

// limitMemory sets the Go runtime's soft memory limit, so that the heap of a process that holds
// the NATS server and every stage stays near its configured size under a backlog. Below the limit
// the collector waits for the heap to grow by twice the live data (GOGC=200) rather than once:
// the limit bounds the peak either way, and collecting less often took about 6% less CPU per
// event at 10,000 events/s. A GOGC in the environment wins.
func limitMemory(mib int, log *slog.Logger) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set || mib == 0 {
		return
	}
	debug.SetMemoryLimit(int64(mib) << 20)
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = "200"
		debug.SetGCPercent(200)
	}
	log.Info("Go memory limit set", "mib", mib, "gogc", gogc)
}

func startEmbeddedNATS(dev settings.Dev) (*server.Server, error) {
	dir, err := filepath.Abs(filepath.Join(dev.DataDir, "nats"))
	if err != nil {
		return nil, fmt.Errorf("resolve VIGIL_DEV_DATA_DIR: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create NATS store %s: %w", dir, err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "vigil-dev", Host: "127.0.0.1", Port: dev.NATSPort,
		JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true, SyncAlways: dev.NATSFsync,
	})
	if err != nil {
		return nil, fmt.Errorf("configure embedded NATS: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start on port %d (in use? set VIGIL_DEV_NATS_PORT)", dev.NATSPort)
	}
	return ns, nil
}

// watcher narrates the demo: progress every few seconds, each alert transition as it arrives,
// and, once an alert fires, the commands to look at it.
type watcher struct {
	nc      *nats.Conn
	conn    driver.Conn
	gen     *demo.Generator
	out     io.Writer
	dsn     string
	natsURL string

	sub  *nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	told bool
}

func (w *watcher) Start(ctx context.Context) error {
	sub, err := w.nc.Subscribe(stream.AlertsRoot+".>", func(m *nats.Msg) {
		a, err := event.DecodeAlert(m.Data)
		if err != nil || a.Resend {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		fmt.Fprintf(w.out, "\n*** ALERT %s\n\n", FormatAlert(a))
		if a.State == event.StateFiring && !w.told {
			w.told = true
			fmt.Fprint(w.out, howToLook(w.dsn, w.natsURL))
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to alerts: %w", err)
	}
	w.sub = sub
	w.stop = make(chan struct{})
	w.wg.Add(1)
	go w.progress(ctx)
	return nil
}

func (w *watcher) Shutdown(context.Context) error {
	if w.sub == nil {
		return nil
	}
	_ = w.sub.Unsubscribe()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	return nil
}

func (w *watcher) progress(ctx context.Context) {
	defer w.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		}
		var stored, scored uint64
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = w.conn.QueryRow(qctx, "SELECT count() FROM model_calls").Scan(&stored)
		_ = w.conn.QueryRow(qctx, "SELECT count() FROM scores").Scan(&scored)
		cancel()
		phase := "healthy (prompt_version v1)"
		if w.gen.Regressed() {
			phase = "REGRESSED (prompt_version v2)"
		}
		w.mu.Lock()
		fmt.Fprintf(w.out, "demo: published %d events, %d stored in ClickHouse, %d scored; traffic is %s\n", w.gen.Published(), stored, scored, phase)
		w.mu.Unlock()
	}
}

func howToLook(dsn, natsURL string) string {
	return fmt.Sprintf(`
The regression is now an alert. Look at it from another terminal:

  clickhouse-client -d vigil -q "SELECT at, state, severity, metric, summary FROM v_alerts WHERE resend = 0 ORDER BY at"
  clickhouse-client -d vigil -q "SELECT prompt_version, metric, round(avg(pass), 3) AS pass_rate, count() FROM v_scores GROUP BY prompt_version, metric ORDER BY metric, prompt_version"
  VIGIL_NATS_URL=%s %s tail --all

(ClickHouse DSN: %s)

`, natsURL, selfCommand(), dsn)
}

// selfCommand is how the user can run this binary again: its path as invoked, or `go run` when it
// was built into a temporary directory by `go run`.
func selfCommand() string {
	self := os.Args[0]
	if strings.Contains(self, "go-build") {
		return "go run ./services/vigil"
	}
	return self
}
