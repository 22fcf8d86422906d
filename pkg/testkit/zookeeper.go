package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ZooKeeperScript is where Debian's zookeeper package installs the server script.
const ZooKeeperScript = "/usr/share/zookeeper/bin/zkServer.sh"

// ZooKeeperHint tells a person how to get the ZooKeeper server the cluster tests need.
const ZooKeeperHint = "install it with: apt-get install -y zookeeper (or run .ci/run)"

// ZooKeeper is a throwaway single-node ZooKeeper server process with its data in a temporary
// directory and a free loopback port, for replicated ClickHouse tables in tests.
type ZooKeeper struct {
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan error
}

// RequireZooKeeper returns the ZooKeeper script path. When it or java is missing the test
// fails with an install instruction: like every real server here, it is never skipped.
func RequireZooKeeper(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(ZooKeeperScript); err != nil {
		tb.Fatalf("this test needs ZooKeeper at %s; %s", ZooKeeperScript, ZooKeeperHint)
	}
	if _, err := exec.LookPath("java"); err != nil {
		tb.Fatal("this test needs java for ZooKeeper; " + ZooKeeperHint)
	}
	return ZooKeeperScript
}

// StartZooKeeper starts a ZooKeeper server for the test and stops it when the test ends.
func StartZooKeeper(tb testing.TB) *ZooKeeper {
	tb.Helper()
	script := RequireZooKeeper(tb)
	zk, err := onFreshPorts(func() (*ZooKeeper, error) { return startZooKeeper(script, tb.TempDir()) }, anyError)
	if err != nil {
		tb.Fatalf("start ZooKeeper: %v", err)
	}
	tb.Cleanup(zk.Stop)
	return zk
}

func startZooKeeper(script, dir string) (*ZooKeeper, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "zoo.cfg")
	body := fmt.Sprintf("tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir=%s/data\nclientPort=%d\n"+
		"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n", dir, port)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return nil, fmt.Errorf("write zoo.cfg: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return nil, fmt.Errorf("create zookeeper log: %w", err)
	}
	cmd := exec.Command(script, "start-foreground", cfg)
	cmd.Dir = dir
	// A small heap: the test machines are shared. Logs go to the console, i.e. our log file.
	cmd.Env = append(os.Environ(), "JVMFLAGS=-Xmx128m -XX:+UseSerialGC", "ZOO_LOG_DIR="+dir, "ZOO_LOG4J_PROP=WARN,CONSOLE")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	zk := &ZooKeeper{dir: dir, Port: port, cmd: cmd, done: make(chan error, 1)}
	go func() {
		zk.done <- cmd.Wait()
		logFile.Close()
	}()
	if err := zk.waitReady(60 * time.Second); err != nil {
		zk.Stop()
		return nil, err
	}
	return zk, nil
}

// waitReady asks the four-letter "ruok" until the server answers "imok".
func (z *ZooKeeper) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-z.done:
			z.done <- err
			return fmt.Errorf("zookeeper exited early (%v): %s", err, tail(filepath.Join(z.dir, "zookeeper.log")))
		default:
		}
		if c, err := net.DialTimeout("tcp", z.Addr(), 500*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("ruok"))
			buf := make([]byte, 4)
			n, _ := c.Read(buf)
			c.Close()
			if string(buf[:n]) == "imok" {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("zookeeper not ready after %v: %s", timeout, tail(filepath.Join(z.dir, "zookeeper.log")))
}

// Addr is the client address, host:port.
func (z *ZooKeeper) Addr() string { return fmt.Sprintf("127.0.0.1:%d", z.Port) }

// Stop ends the server (SIGTERM, SIGKILL after 10s). Its directory belongs to the test.
func (z *ZooKeeper) Stop() {
	if z == nil {
		return
	}
	_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-z.done:
		z.done <- err
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
		err := <-z.done
		z.done <- errors.Join(err, errors.New("killed"))
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
