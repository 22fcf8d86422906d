package testkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/store"
)

// ClickHouse is a throwaway clickhouse-server process with its data in a temporary directory and
// free loopback ports. One per test package (start it in TestMain); each test gets a fresh database.
type ClickHouse struct {
	dir     string
	TCPPort int
	HTTP    int
	cmd     *exec.Cmd
	done    chan error
	dbSeq   atomic.Int64
}

// InstallHint tells a person how to get the server binary the tests need.
const InstallHint = "install it with: apt-get install -y clickhouse-server clickhouse-client (or run .ci/run)"

// StartClickHouse starts a server and waits until it answers. A missing binary is an error with
// an install instruction: tests never skip for a missing server.
func StartClickHouse() (*ClickHouse, error) { return StartClickHouseIn("") }

// StartClickHouseIn is StartClickHouse with the server's data in a new directory under parent
// (the system's temporary directory when parent is empty).
func StartClickHouseIn(parent string) (*ClickHouse, error) {
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return nil, fmt.Errorf("clickhouse-server not found on PATH; %s", InstallHint)
	}
	return onFreshPorts(func() (*ClickHouse, error) {
		dir, err := os.MkdirTemp(parent, "vigil-clickhouse-")
		if err != nil {
			return nil, fmt.Errorf("create clickhouse dir: %w", err)
		}
		ch, err := startClickHouse(bin, dir)
		if err != nil {
			os.RemoveAll(dir)
		}
		return ch, err
	}, anyError)
}

func startClickHouse(bin, dir string) (*ClickHouse, error) {
	tcp, err := freePort()
	if err != nil {
		return nil, err
	}
	http, err := freePort()
	if err != nil {
		return nil, err
	}
	ch, err := launch(bin, dir, ServerConfig(dir, tcp, http), tcp, http)
	if err != nil {
		return nil, err
	}
	if err := ch.waitReady(30 * time.Second); err != nil {
		ch.kill()
		return nil, err
	}
	return ch, nil
}

// ServerConfig is a minimal single-file clickhouse-server configuration with all state under dir.
func ServerConfig(dir string, tcpPort, httpPort int) string {
	return BaseConfig(dir, Ports{TCP: tcpPort, HTTP: httpPort}) + OpenUsers + "</yandex>\n"
}

// launch writes config as dir/config.xml and starts clickhouse-server on it, logging to
// dir/server.log. The caller waits for readiness in the way its configuration allows.
func launch(bin, dir, config string, tcpPort, httpPort int) (*ClickHouse, error) {
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("write clickhouse config: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("create clickhouse log: %w", err)
	}
	ch := &ClickHouse{dir: dir, TCPPort: tcpPort, HTTP: httpPort}
	if err := ch.spawn(bin, logFile); err != nil {
		return nil, fmt.Errorf("start clickhouse-server: %w", err)
	}
	return ch, nil
}

// MallocConf is the jemalloc configuration current ClickHouse releases build in
// (contrib/jemalloc-cmake). Debian's 18.16 links the system jemalloc, whose defaults give
// allocations over 8 MiB an arena that returns their pages at once on free: every insert and
// merge then faults in and zeroes fresh pages, up to a fifth of the server's CPU under vigil's
// load. deploy/clickhouse/local.sh sets the same for make run.
const MallocConf = "percpu_arena:percpu,oversize_threshold:0,muzzy_decay_ms:5000,dirty_decay_ms:5000"

// serverEnv is the environment of a clickhouse-server: this process's, with MallocConf unless
// MALLOC_CONF is set already.
func serverEnv() []string {
	env := os.Environ()
	if _, set := os.LookupEnv("MALLOC_CONF"); !set {
		env = append(env, "MALLOC_CONF="+MallocConf)
	}
	return env
}

// spawn runs bin on dir/config.xml in its own process group (killed with the test binary),
// writing to logFile, which is closed when the process ends.
func (c *ClickHouse) spawn(bin string, logFile *os.File) error {
	cmd := exec.Command(bin, "--config-file="+filepath.Join(c.dir, "config.xml"))
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	done := make(chan error, 1)
	c.cmd, c.done = cmd, done
	go func() {
		done <- cmd.Wait()
		logFile.Close()
	}()
	return nil
}

func (c *ClickHouse) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	opts := &clickhouse.Options{Addr: []string{c.Addr()}, DialTimeout: 500 * time.Millisecond}
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("clickhouse-server exited early (%v): %s", err, c.logTail())
		default:
		}
		conn, err := clickhouse.Open(opts)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			err = conn.Ping(ctx)
			cancel()
			conn.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse-server not ready after %v: %s", timeout, c.logTail())
}

func (c *ClickHouse) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Addr is the server's native-protocol address.
func (c *ClickHouse) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.TCPPort) }

// DSN returns a clickhouse:// DSN for database db.
func (c *ClickHouse) DSN(db string) string { return fmt.Sprintf("clickhouse://%s/%s", c.Addr(), db) }

// exited reports whether the server process has ended (crashed, or was stopped).
func (c *ClickHouse) exited() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

// Stop ends the server with SIGTERM (SIGKILL after 10s) and removes its directory.
func (c *ClickHouse) Stop() {
	if c == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.kill()
	}
	os.RemoveAll(c.dir)
}

// Kill ends the server with SIGKILL, keeping its data for Restart.
func (c *ClickHouse) Kill() { c.kill() }

func (c *ClickHouse) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
	c.done <- errors.New("killed")
}

// Restart starts the server again on the same directory and ports after Kill.
func (c *ClickHouse) Restart() error {
	logFile, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open clickhouse log: %w", err)
	}
	if err := c.spawn(c.cmd.Path, logFile); err != nil {
		return fmt.Errorf("restart clickhouse-server: %w", err)
	}
	return c.waitReady(30 * time.Second)
}

// Database creates a fresh database with vigil's migrations applied and returns its DSN. It is
// dropped when the test ends.
func (c *ClickHouse) Database(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.dbSeq.Add(1))
	dsn := c.DSN(name)
	opts, err := store.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("parse DSN: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := store.Migrate(ctx, opts, slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatalf("migrate %s: %v", name, err)
	}
	tb.Cleanup(func() {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{c.Addr()}})
		if err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
			conn.Close()
		}
	})
	return dsn
}

// Conn opens a connection to the database behind dsn, closed when the test ends.
func Conn(tb testing.TB, dsn string) driver.Conn {
	tb.Helper()
	opts, err := store.ParseDSN(dsn)
	if err != nil {
		tb.Fatalf("parse DSN: %v", err)
	}
	conn, err := store.Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("open clickhouse: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// MainWithClickHouse runs a test package's tests with a throwaway ClickHouse server in *ch. Use
// it from TestMain: a missing or broken server fails the whole package with an instruction.
func MainWithClickHouse(m *testing.M, ch **ClickHouse) int {
	srv, err := StartClickHouse()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: these tests need a real ClickHouse server: %v\n", err)
		return 1
	}
	*ch = srv
	defer srv.Stop()
	return m.Run()
}

// portAttempts is how many times a server is started on ports picked anew. A port found free can
// be bound by another test's server before ours binds it, so a failed start is tried again.
const portAttempts = 3

// onFreshPorts calls start, which picks its ports each time, until it succeeds, retry turns its
// error down, or it has failed portAttempts times, and returns the last outcome.
func onFreshPorts[T any](start func() (T, error), retry func(error) bool) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := start()
		if err == nil || attempt == portAttempts || !retry(err) {
			return v, err
		}
	}
}

// anyError retries every failed start: usually a port taken between picking and binding.
func anyError(error) bool { return true }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PID is the server's process id, for measuring its CPU.
func (c *ClickHouse) PID() int { return c.cmd.Process.Pid }
