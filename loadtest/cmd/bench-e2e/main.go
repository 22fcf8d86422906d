// Command bench-e2e measures vigil end to end on this machine and prints one table: the raw
// JetStream and raw ClickHouse ceilings measured just before, then the pipeline (vigil dev) at
// full speed and at half of it, as ratios of those ceilings.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/kelseyhightower/envconfig"

	"github.com/vigilhq/vigil/loadtest/bench"
	"github.com/vigilhq/vigil/loadtest/gen"
	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

func main() {
	vigilBin := flag.String("vigil", "bin/vigil", "vigil binary to run as `vigil dev`")
	duration := flag.Duration("duration", 30*time.Second, "how long each pipeline run publishes load")
	ceilingEvents := flag.Int("ceiling-events", 200000, "events used to measure the raw ceilings")
	rate := flag.Int("rate", 0, "offer this many events/s in the first pipeline run instead of as many as it takes (compares CPU per event at one load)")
	maxLag := flag.Int("max-lag", 20000, "in a max-rate run, pause publishing while more than this many events wait for the scorer or the writer (0: publish as fast as JetStream accepts, letting a backlog build)")
	half := flag.Bool("half", true, "also run at half the measured maximum to report latency there")
	fsync := flag.Bool("fsync", false, "also measure the durable mode: JetStream fsync on every write")
	extra := flag.String("env", "", "extra VIGIL_* settings for vigil dev, comma-separated K=V")
	procs := flag.String("procs", "", "comma-separated process names (scorer,drift,writer,nats-server...) whose CPU and peak memory are reported each on its own")
	services := flag.Bool("services", false, "run nats-server, scorer, drift and writer from the -vigil binary's directory as separate processes instead of vigil dev, each measured on its own")
	backlog := flag.Int("backlog", 0, "with -services: also run once with this many events published before the services start, at the half rate, to compare their memory with the steady state")
	natsURL := flag.String("nats", "", "measure already running services on this NATS URL instead of vigil dev")
	dsn := flag.String("dsn", "", "with -nats: the ClickHouse DSN those services write to")
	badShare := flag.Float64("bad-share", 0.05, "share of load events whose output is refused, truncated or malformed JSON, from 0 to 1")
	chDir := flag.String("clickhouse-dir", "", "directory under which the bench's own ClickHouse keeps its data, deleted at exit (default: the system's temporary directory); /dev/shm keeps it in memory")
	flag.Parse()
	if _, set := os.LookupEnv("GOGC"); !set {
		// The load generator shares the machine with the pipeline it measures: a collector that
		// runs a quarter as often on this process's small heap leaves that CPU to the pipeline.
		debug.SetGCPercent(400)
	}
	if (*natsURL == "") != (*dsn == "") {
		log.Fatal("bench-e2e: -nats and -dsn go together")
	}
	target = targetOptions{natsURL: *natsURL, dsn: *dsn, maxLag: *maxLag, clickhouseDir: *chDir}
	if *services {
		target.servicesDir, target.procs = filepath.Dir(*vigilBin), bench.ServiceProcesses
	}
	if *procs != "" {
		target.procs = strings.Split(*procs, ",")
	}
	if *fsync && (*services || *natsURL != "") {
		log.Fatal("bench-e2e: -fsync switches vigil dev's embedded server to fsync; for other servers set it in their configuration (jetstream { sync_interval: always })")
	}
	if *badShare < 0 || *badShare > 1 {
		log.Fatalf("bench-e2e: -bad-share %v: want a share from 0 to 1", *badShare)
	}
	target.badShare = *badShare
	if *backlog > 0 {
		if !*services {
			log.Fatal("bench-e2e: -backlog needs -services")
		}
		target.backlog = *backlog
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *vigilBin, *duration, *ceilingEvents, *rate, *half, *fsync, *extra); err != nil {
		log.Fatalf("bench-e2e: %v", err)
	}
}

// ceilingRuns is how often each raw ceiling is measured; the table shows the median run.
const ceilingRuns = 3

// targetOptions name separately started services to measure instead of vigil dev.
type targetOptions struct {
	natsURL, dsn string
	servicesDir  string   // separate service binaries to start instead of vigil dev
	procs        []string // processes measured each on its own
	backlog      int      // events waiting when the services start, in a run of its own
	maxLag       int      // events waiting for the scorer or writer at which a max-rate run pauses
	badShare     float64  // share of load events with a bad output
	// clickhouseDir is where the throwaway ClickHouse keeps its data ("": the system's
	// temporary directory).
	clickhouseDir string
}

var target targetOptions

func (t targetOptions) options(o bench.PipelineOptions) bench.PipelineOptions {
	o.Processes, o.ServicesDir, o.MaxLag, o.BadShare = t.procs, t.servicesDir, t.maxLag, t.badShare
	if t.natsURL != "" {
		// The throwaway ClickHouse is not the one those services write to: not measured.
		o.NATSURL, o.DSN, o.VigilBin, o.ClickHousePID = t.natsURL, t.dsn, "", 0
	}
	return o
}

func run(ctx context.Context, vigilBin string, d time.Duration, n, offered int, half, fsync bool, extra string) error {
	logf := func(format string, args ...any) { log.Printf(format, args...) }
	if _, err := os.Stat(vigilBin); err != nil && target.natsURL == "" {
		return fmt.Errorf("vigil binary %s: %w (run make build first)", vigilBin, err)
	}
	ch, err := testkit.StartClickHouseIn(target.clickhouseDir)
	if err != nil {
		return err
	}
	defer ch.Stop()

	g := gen.New(bench.LoadOptions(target.badShare, 1))
	events := make([]*event.Event, n)
	bodies := make([][]byte, n)
	size := 0
	now := time.Now().UTC()
	for i := range events {
		// Stamped as a stream of 20,000 calls a second would be, like the pipeline's load.
		events[i] = g.Next(now.Add(time.Duration(i) * 50 * time.Microsecond))
		bodies[i], _ = event.Marshal(events[i])
		size += len(bodies[i])
	}
	logf("measuring raw JetStream with %d events of %d bytes on average (median of %d runs)", n, size/n, ceilingRuns)
	rawJS, err := bench.Median(ceilingRuns, func(int) (bench.Result, error) { return bench.RawJetStream(ctx, bodies, false) })
	if err != nil {
		return err
	}
	logf("raw JetStream: %.0f events/s", rawJS.PerSecond())
	var rawJSSync bench.Result
	if fsync {
		if rawJSSync, err = bench.RawJetStream(ctx, bodies, true); err != nil {
			return err
		}
		logf("raw JetStream with fsync: %.0f events/s", rawJSSync.PerSecond())
	}
	rawCH, err := bench.Median(ceilingRuns, func(run int) (bench.Result, error) {
		// A fresh database each run, so no run inserts behind another's merges.
		opts, _ := store.ParseDSN(ch.DSN(fmt.Sprintf("bench_raw_%d", run)))
		if err := store.Migrate(ctx, opts, slog.New(slog.DiscardHandler)); err != nil {
			return bench.Result{}, err
		}
		conn, err := clickhouse.Open(opts)
		if err != nil {
			return bench.Result{}, err
		}
		defer conn.Close()
		return bench.RawClickHouse(ctx, conn, events, 50000)
	})
	if err != nil {
		return err
	}
	logf("raw ClickHouse: %.0f rows/s", rawCH.PerSecond())
	events, bodies = nil, nil
	runtime.GC()

	var env []string
	if extra != "" {
		env = strings.Split(extra, ",")
	}
	// pipeline runs the pipeline once, into database db, at rate (0: as fast as it keeps up).
	pipeline := func(db string, rate, backlog int, env []string) (bench.PipelineResult, error) {
		return bench.Pipeline(ctx, target.options(bench.PipelineOptions{VigilBin: vigilBin, ClickHousePID: ch.PID(),
			DSN: ch.DSN(db), Duration: d, Rate: rate, Backlog: backlog, Env: env, Log: logf}))
	}
	full, err := pipeline("bench_full", offered, 0, env)
	if err != nil {
		return err
	}
	name := "pipeline, max rate"
	if offered > 0 {
		name = fmt.Sprintf("pipeline, %d events/s offered", offered)
	}
	rows := []row{pipelineRow(name, full, rawJS, rawCH)}
	rate := int(float64(full.Stored) / full.Elapsed.Seconds() / 2)
	if half {
		logf("running again at half the sustained rate: %d events/s", rate)
		h, err := pipeline("bench_half", rate, 0, env)
		if err != nil {
			return err
		}
		rows = append(rows, pipelineRow(fmt.Sprintf("pipeline, %d events/s", rate), h, rawJS, rawCH))
	}
	if target.backlog > 0 {
		logf("running again at %d events/s with %d events waiting when the services start", rate, target.backlog)
		b, err := pipeline("bench_backlog", rate, target.backlog, env)
		if err != nil {
			return err
		}
		rows = append(rows, pipelineRow(fmt.Sprintf("pipeline, %d-event backlog, then %d events/s", target.backlog, rate), b, rawJS, rawCH))
	}
	if fsync {
		envSync := append(append([]string(nil), env...), "VIGIL_DEV_NATS_FSYNC=true")
		s, err := pipeline("bench_fsync", 0, 0, envSync)
		if err != nil {
			return err
		}
		rows = append(rows, pipelineRow("pipeline, max rate, fsync every write", s, rawJSSync, rawCH))
	}
	printTable(rawJS, rawCH, rows, full)
	if fsync {
		fmt.Printf("\n%s: %.0f events/s (the fsync row's JetStream ratio is against this)\n", rawJSSync.Name, rawJSSync.PerSecond())
	}
	if window := duplicatesWindow(env); target.natsURL == "" && d < 2*window {
		fmt.Printf("\nnote: each run published for %v, less than twice the %v de-duplication window. The NATS server keeps\n"+
			"every message id of the window, so its memory, and the collector's work, grew for at least the first %v of\n"+
			"each run: the rates above are higher than a run of -duration %v or more sustains.\n", d, window, window, 2*window)
	}
	return nil
}

// duplicatesWindow is the JetStream de-duplication window the pipeline runs with: the
// environment's and env's VIGIL_STREAM_DUPLICATES, or the default.
func duplicatesWindow(env []string) time.Duration {
	var s config.Streams
	if err := envconfig.Process("VIGIL", &s); err != nil {
		return 0
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "VIGIL_STREAM_DUPLICATES="); ok {
			if w, err := time.ParseDuration(v); err == nil {
				s.Duplicates = w
			}
		}
	}
	return s.Duplicates
}

type row struct {
	name                                   string
	perSec, ofJS, ofCH                     float64
	p50, p90, p99, alert                   time.Duration
	otherAlerts                            int
	cpu, chCPU, generatorCPU               float64
	rssMiB                                 float64
	procs                                  []bench.ProcessUsage
	seconds                                float64
	lag                                    uint64
	published, stored, scored, deadLetters uint64
}

func pipelineRow(name string, r bench.PipelineResult, js, ch bench.Result) row {
	perSec := float64(r.Stored) / r.Elapsed.Seconds()
	return row{
		name: name, perSec: perSec, ofJS: perSec / js.PerSecond(), ofCH: perSec / ch.PerSecond(),
		p50: bench.Percentile(r.Latency, 50), p90: bench.Percentile(r.Latency, 90), p99: bench.Percentile(r.Latency, 99),
		alert: r.AlertAfter, otherAlerts: r.OtherAlerts, cpu: r.CPUSeconds / r.Elapsed.Seconds(), chCPU: r.ClickHouseCPU / r.Elapsed.Seconds(),
		generatorCPU: r.GeneratorCPU / r.Elapsed.Seconds(), rssMiB: float64(r.PeakRSS) / (1 << 20), lag: r.MaxLag,
		published: uint64(r.Published), stored: r.Stored, scored: r.Scored, deadLetters: r.DeadLettered,
		procs: r.Processes, seconds: r.Elapsed.Seconds(),
	}
}

func printTable(js, ch bench.Result, rows []row, full bench.PipelineResult) {
	host, _ := os.Hostname()
	fmt.Printf("\nvigil end-to-end benchmark on %s (%d CPUs, %s/%s), %s\n\n", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("| run | events/s | vs raw JetStream | vs raw ClickHouse | p50 | p90 | p99 publish→queryable | regression→alert | other alerts | CPU cores | ClickHouse CPU cores | load generator CPU cores | peak RSS | max lag | published | stored | scored | DLQ |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %s | %.0f | 1.00 | | | | | | | | | | | | %d | | | |\n", js.Name, js.PerSecond(), js.Events)
	fmt.Printf("| %s | %.0f | | 1.00 | | | | | | | | | | | %d | | | |\n", ch.Name, ch.PerSecond(), ch.Events)
	for _, r := range rows {
		alert := "none"
		if r.alert > 0 {
			alert = r.alert.Round(100 * time.Millisecond).String()
		}
		chCPU := "" // not measured: the services write to another server
		if r.chCPU > 0 {
			chCPU = fmt.Sprintf("%.2f", r.chCPU)
		}
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %v | %v | %v | %s | %d | %.2f | %s | %.2f | %.0f MiB | %d | %d | %d | %d | %d |\n",
			r.name, r.perSec, r.ofJS, r.ofCH, r.p50.Round(time.Millisecond), r.p90.Round(time.Millisecond), r.p99.Round(time.Millisecond),
			alert, r.otherAlerts, r.cpu, chCPU, r.generatorCPU, r.rssMiB, r.lag, r.published, r.stored, r.scored, r.deadLetters)
	}
	printProcesses(rows)
	fmt.Printf("\nconsumer lag of the max-rate run (pending + unacked, sampled each second; events for the scorer and\nwriter-events, packed SCORED messages for writer-scored and drift):\n")
	for _, l := range full.LagTimeline {
		fmt.Println("  " + l)
	}
}

// printProcesses shows what each process named with -procs used in each run.
func printProcesses(rows []row) {
	if len(rows) == 0 || len(rows[0].procs) == 0 {
		return
	}
	fmt.Printf("\n| run | process | instances | CPU cores | CPU µs per event | peak RSS |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		for _, p := range r.procs {
			cores, perEvent := 0.0, 0.0
			if r.seconds > 0 {
				cores = p.CPUSeconds / r.seconds
			}
			if r.stored > 0 {
				perEvent = p.CPUSeconds / float64(r.stored) * 1e6
			}
			fmt.Printf("| %s | %s | %d | %.2f | %.1f | %.0f MiB |\n", r.name, p.Name, p.Instances, cores, perEvent, float64(p.PeakRSS)/(1<<20))
		}
	}
}
