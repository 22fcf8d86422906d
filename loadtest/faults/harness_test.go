package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// bin holds the binaries every drill runs: the services and a nats-server built from the module.
var bin string

var ch *testkit.ClickHouse

// report collects one row per drill for the table printed at the end.
var report struct {
	sync.Mutex
	rows []string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vigil-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = dir
	root, _ := filepath.Abs("../..")
	for _, b := range []struct{ dir, pkg string }{
		{"services", "./scorer"}, {"services", "./drift"}, {"services", "./writer"},
		{"pkg", "github.com/nats-io/nats-server/v2"},
	} {
		cmd := exec.Command("go", "build", "-o", dir+"/", b.pkg)
		if b.pkg == "github.com/nats-io/nats-server/v2" {
			cmd = exec.Command("go", "build", "-o", filepath.Join(dir, "nats-server"), b.pkg)
		}
		cmd.Dir = filepath.Join(root, b.dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	code := testkit.MainWithClickHouse(m, &ch)
	report.Lock()
	if len(report.rows) > 0 {
		fmt.Println("\n| fault | events acked | stored | duplicates seen | lost | recovery seconds |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, r := range report.rows {
			fmt.Println(r)
		}
	}
	report.Unlock()
	return code
}

// proc is one process of a drill, restartable with the same arguments and environment.
type proc struct {
	name string
	args []string
	env  []string
	log  *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t *testing.T, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, args: args, env: env, log: log}
	p.start(t)
	t.Cleanup(func() {
		p.stop()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("--- %s log tail:\n%s", name, b)
		}
	})
	return p
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, p.args[0]), p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.done) }()
}

// kill9 ends the process without any chance to drain.
func (p *proc) kill9() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill9()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// drill is one pipeline of separate processes under load.
type drill struct {
	t       *testing.T
	dir     string
	natsURL string
	dsn     string
	conn    driver.Conn
	env     []string
	scorer  *proc
	drift   *proc
	writer  *proc

	mu    sync.Mutex
	acked map[string]bool
	bad   int
}

// services starts scorer, drift and writer against natsURL with short ack deadlines, so that a
// killed stage's batch comes back within seconds.
func newDrill(t *testing.T, natsURL string, extraEnv ...string) *drill {
	t.Helper()
	d := &drill{t: t, dir: t.TempDir(), natsURL: natsURL, dsn: ch.Database(t), acked: map[string]bool{}}
	d.conn = testkit.Conn(t, d.dsn)
	d.env = append([]string{
		"VIGIL_NATS_URL=" + natsURL, "VIGIL_CLICKHOUSE_DSN=" + d.dsn, "VIGIL_LOG_LEVEL=warn",
		"VIGIL_SCORER_ACK_WAIT=4s", "VIGIL_DRIFT_LEASE_TTL=3s", "VIGIL_DRIFT_CHECKPOINT_INTERVAL=1s", "VIGIL_WRITER_ACK_WAIT=4s",
		"VIGIL_WRITER_BATCH_SIZE=2000", "VIGIL_WRITER_FLUSH_INTERVAL=200ms",
		"VIGIL_DRIFT_WINDOW=5s", "VIGIL_DRIFT_GRACE=1s", "VIGIL_DRIFT_BASELINE_SIZE=200", "VIGIL_DRIFT_MIN_SAMPLES=30",
	}, extraEnv...)
	d.writer = startProc(t, d.dir, "writer", append(d.env, fmt.Sprintf("VIGIL_WRITER_ADMIN_ADDR=127.0.0.1:%d", freePort(t))), "writer")
	d.drift = startProc(t, d.dir, "drift", append(d.env, fmt.Sprintf("VIGIL_DRIFT_ADMIN_ADDR=127.0.0.1:%d", freePort(t))), "drift")
	d.scorer = startProc(t, d.dir, "scorer", append(d.env, fmt.Sprintf("VIGIL_SCORER_ADMIN_ADDR=127.0.0.1:%d", freePort(t))), "scorer")
	return d
}

// publish sends n events at rate per second (and, every 1000th, a malformed one on purpose),
// retrying each until JetStream acknowledges it; only acknowledged events are owed.
func (d *drill) publish(ctx context.Context, n, rate int) error {
	nc, err := nats.Connect(d.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	perTick := max(rate/100, 1)
	t0 := time.Now().UTC()
	for i := 0; i < n; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		for range perTick {
			if i >= n {
				break
			}
			ev := &event.Event{EventID: fmt.Sprintf("f-%06d", i), Timestamp: t0.Add(time.Duration(i) * time.Millisecond),
				App: "shop", Feature: "support", Model: "m", PromptVersion: "v1",
				Output: "Your refund was approved and will reach your card within five business days.", FinishReason: "stop"}
			body, _ := event.Marshal(ev)
			msg := stream.NewMsg(stream.EventsSubject("shop"), ev.EventID, body)
			if i%1000 == 999 {
				msg = stream.NewMsg(stream.EventsSubject("shop"), fmt.Sprintf("bad-%d", i), []byte(`{"event_id":"bad","app":"shop"}`))
			}
			for attempt := 0; ; attempt++ {
				pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := js.PublishMsg(pctx, msg)
				cancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(50 * time.Millisecond) // a restarting server or a leader election
			}
			d.mu.Lock()
			if i%1000 == 999 {
				d.bad++
			} else {
				d.acked[ev.EventID] = true
			}
			d.mu.Unlock()
			i++
		}
	}
	return nil
}

func (d *drill) count(q string) uint64 {
	var n uint64
	if err := d.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		d.t.Logf("%s: %v", q, err)
	}
	return n
}

// books waits for every acknowledged event to be stored and scored, then checks that none is
// missing or doubled in the views and that the DLQ holds only the inputs that were bad on purpose.
func (d *drill) books(fault string, faultEnd time.Time) {
	t := d.t
	t.Helper()
	d.mu.Lock()
	acked, bad := uint64(len(d.acked)), uint64(d.bad)
	d.mu.Unlock()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if d.count("SELECT count() FROM v_model_calls") >= acked && d.count("SELECT uniqExact(event_id) FROM v_scores") >= acked {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	recovery := time.Since(faultEnd)
	stored := d.count("SELECT count() FROM v_model_calls")
	scored := d.count("SELECT uniqExact(event_id) FROM v_scores")
	copies := d.count("SELECT count() FROM model_calls") - d.count("SELECT uniqExact(event_id) FROM model_calls")
	var lost uint64
	if acked > stored {
		lost = acked - stored
	}
	if stored != acked {
		t.Errorf("%s: v_model_calls holds %d events, %d were acknowledged", fault, stored, acked)
	}
	if scored != acked {
		t.Errorf("%s: v_scores covers %d events, want %d", fault, scored, acked)
	}
	if dup := d.count("SELECT count() FROM (SELECT event_id FROM v_model_calls GROUP BY event_id HAVING count() > 1)"); dup != 0 {
		t.Errorf("%s: %d events appear twice in v_model_calls", fault, dup)
	}
	if dup := d.count("SELECT count() FROM (SELECT event_id, metric FROM v_scores GROUP BY event_id, metric HAVING count() > 1)"); dup != 0 {
		t.Errorf("%s: %d (event, metric) pairs appear twice in v_scores", fault, dup)
	}
	if dup := d.count("SELECT count() FROM (SELECT fingerprint, sequence FROM v_alerts WHERE resend = 0 GROUP BY fingerprint, sequence HAVING count() > 1)"); dup != 0 {
		t.Errorf("%s: %d alert transitions appear twice", fault, dup)
	}
	nc, err := nats.Connect(d.natsURL)
	if err == nil {
		js, _ := jetstream.New(nc)
		if s, err := js.Stream(context.Background(), stream.DLQ); err == nil {
			if info, err := s.Info(context.Background()); err == nil && info.State.Msgs != bad {
				letters, _ := stream.Letters(context.Background(), js, "", 5)
				reasons := make([]string, len(letters))
				for i, l := range letters {
					reasons[i] = l.Stage + ": " + l.Reason
				}
				t.Errorf("%s: DLQ holds %d messages, %d were bad on purpose; first: %s", fault, info.State.Msgs, bad, strings.Join(reasons, " | "))
			}
		}
		nc.Close()
	}
	report.Lock()
	report.rows = append(report.rows, fmt.Sprintf("| %s | %d | %d | %d | %d | %.1f |", fault, acked, stored, copies, lost, recovery.Seconds()))
	report.Unlock()
}

// natsServer runs the nats-server binary with JetStream, its store under dir.
func natsServer(t *testing.T, dir string, port int, extra ...string) *proc {
	t.Helper()
	args := append([]string{"nats-server", "-js", "-sd", filepath.Join(dir, "js"), "-a", "127.0.0.1", "-p", fmt.Sprint(port)}, extra...)
	p := startProc(t, dir, fmt.Sprintf("nats-%d", port), nil, args...)
	waitPort(t, port)
	return p
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "nothing listens on port %d", port)
}
