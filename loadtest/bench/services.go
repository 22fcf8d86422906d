package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServiceProcesses are the processes a run started with PipelineOptions.ServicesDir measures
// each on its own (as /proc/PID/comm names them).
var ServiceProcesses = []string{"nats-server", "scorer", "drift", "writer"}

// benchSettings tune drift so that the canary's regression fires within a short run.
var benchSettings = []string{"VIGIL_LOG_LEVEL=warn",
	"VIGIL_DRIFT_WINDOW=5s", "VIGIL_DRIFT_GRACE=1s", "VIGIL_DRIFT_BASELINE_SIZE=200", "VIGIL_DRIFT_MIN_SAMPLES=30"}

// startServices runs a standalone nats-server with JetStream and the scorer, drift and writer
// services from dir, each its own process as in production, with their stores and logs in a
// temporary directory; stop ends them with SIGTERM and removes the directory. With o.Backlog,
// that many events wait on the stream when the services start.
func startServices(ctx context.Context, o PipelineOptions, exited chan error) (url string, stop func(), err error) {
	work, err := os.MkdirTemp("", "vigil-bench-services-")
	if err != nil {
		return "", nil, err
	}
	type running struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	var procs []running
	end := func(ps []running) {
		for _, p := range ps {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range ps {
			select {
			case <-p.done:
			case <-time.After(40 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
	}
	stop = func() {
		// The services drain into a NATS server that is still up, as in production; stopped
		// together, drift kept retrying its final checkpoints against a closing server.
		if len(procs) > 1 {
			end(procs[1:])
		}
		if len(procs) > 0 {
			end(procs[:1]) // nats-server, started first
		}
		os.RemoveAll(work)
	}
	start := func(name string, env []string, args ...string) error {
		logFile, err := os.Create(filepath.Join(work, name+".log"))
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(o.ServicesDir, name), args...)
		cmd.Env = append(append(os.Environ(), env...), o.Env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return fmt.Errorf("start %s (make build puts it in %s): %w", name, o.ServicesDir, err)
		}
		done := make(chan struct{})
		procs = append(procs, running{cmd, done})
		go func() {
			err := cmd.Wait()
			logFile.Close()
			close(done)
			select {
			case exited <- fmt.Errorf("%s: %v (log: %s)", name, err, logFile.Name()):
			default:
			}
		}()
		return nil
	}
	port, err := freePort()
	if err != nil {
		return "", stop, err
	}
	if err := start("nats-server", nil, "-js", "-sd", filepath.Join(work, "nats"), "-a", "127.0.0.1", "-p", strconv.Itoa(port)); err != nil {
		return "", stop, err
	}
	url = fmt.Sprintf("nats://127.0.0.1:%d", port)
	if err := waitForPort(ctx, port); err != nil {
		return "", stop, err
	}
	if o.Backlog > 0 {
		if err := publishBacklog(ctx, url, o.Backlog, o.BadShare, o.Log); err != nil {
			return "", stop, err
		}
	}
	env := append([]string{"VIGIL_NATS_URL=" + url, "VIGIL_CLICKHOUSE_DSN=" + o.DSN}, benchSettings...)
	for _, name := range ServiceProcesses[1:] {
		admin := fmt.Sprintf("VIGIL_%s_ADMIN_ADDR=127.0.0.1:0", strings.ToUpper(name))
		if err := start(name, append(env, admin)); err != nil {
			return "", stop, err
		}
	}
	return url, stop, nil
}

func waitForPort(ctx context.Context, port int) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on port %d after 20s", port)
}
