package testkit

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ports are the loopback ports one clickhouse-server listens on. Zero means unused.
type Ports struct {
	TCP         int // native protocol
	HTTP        int
	Interserver int // replication fetches between replicas
	TCPSecure   int // native protocol over TLS
}

// PickPorts returns free loopback ports for every role.
func PickPorts() (Ports, error) {
	var p Ports
	for _, dst := range []*int{&p.TCP, &p.HTTP, &p.Interserver, &p.TCPSecure} {
		port, err := freePort()
		if err != nil {
			return Ports{}, err
		}
		*dst = port
	}
	return p, nil
}

// Server is a throwaway clickhouse-server started from a configuration the test writes.
type Server struct {
	*ClickHouse
	Ports Ports
}

// ServerConfigFunc returns the config.xml text of a server whose state lives under dir. It may
// write further files (users, certificates) into dir.
type ServerConfigFunc func(dir string, p Ports) (string, error)

// StartServer starts a clickhouse-server with the configuration config writes, waits until its
// HTTP /ping answers (no user is needed for that, so the configuration may lock every user down),
// and stops it when the test ends. A missing binary fails the test with an install instruction.
func StartServer(tb testing.TB, config ServerConfigFunc) *Server {
	tb.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := PickPorts()
		if err != nil {
			tb.Fatal(err)
		}
		s, err := startServer(tb.TempDir(), ports, config)
		if err == nil {
			tb.Cleanup(s.Discard)
			return s
		}
		lastErr = err // usually a port taken between picking and binding: retry with new ports
	}
	tb.Fatalf("start clickhouse-server: %v", lastErr)
	return nil
}

func startServer(dir string, ports Ports, config ServerConfigFunc) (*Server, error) {
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return nil, fmt.Errorf("clickhouse-server not found on PATH; %s", InstallHint)
	}
	text, err := config(dir, ports)
	if err != nil {
		return nil, fmt.Errorf("write clickhouse config: %w", err)
	}
	ch, err := launch(bin, dir, text, ports.TCP, ports.HTTP)
	if err != nil {
		return nil, err
	}
	s := &Server{ClickHouse: ch, Ports: ports}
	if err := s.waitPing(30 * time.Second); err != nil {
		ch.kill()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitPing(timeout time.Duration) error {
	client := &http.Client{Timeout: 500 * time.Millisecond}
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d/ping", s.Ports.HTTP)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("clickhouse-server exited early (%v): %s", err, s.logTail())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "Ok.") {
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse-server not ready after %v: %s", timeout, s.logTail())
}

// BaseConfig is the body of a test server's config.xml without the closing tag: logging, the
// ports in p, paths under dir and UTC. Callers append users, TLS or cluster elements and
// "</yandex>".
func BaseConfig(dir string, p Ports) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger><console>1</console><level>warning</level></logger>
    <mark_cache_size>268435456</mark_cache_size>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%d</tcp_port>
    <http_port>%d</http_port>
    <path>%s/data/</path>
    <tmp_path>%s/tmp/</tmp_path>
    <user_files_path>%s/user_files/</user_files_path>
    <format_schema_path>%s/format_schemas/</format_schema_path>
    <timezone>UTC</timezone>
`, p.TCP, p.HTTP, dir, dir, dir, dir)
}

// OpenUsers is the users section of the default test server: user default, no password,
// loopback only. Use it inline with <users_config>config.xml</users_config>.
const OpenUsers = `    <users_config>config.xml</users_config>
    <profiles><default></default></profiles>
    <users><default>
        <password></password>
        <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
        <profile>default</profile>
        <quota>default</quota>
    </default></users>
    <quotas><default/></quotas>
`

// Discard kills the server at once; its directory belongs to the test. A throwaway server needs
// no clean shutdown, and 18.16 can take more than 10 s to finish one.
func (s *Server) Discard() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(10 * time.Second): // already reaped by Stop
	}
}

// LogTail returns the end of the server's log, for failure messages.
func (s *Server) LogTail() string { return s.logTail() }
