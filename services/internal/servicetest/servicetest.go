// Package servicetest runs a service's run function the way its main does, against real servers,
// and checks the contract every service keeps: probes, metrics, and a drain on shutdown.
package servicetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/testkit"
)

// Service is a running service under test.
type Service struct {
	AdminURL string
	cancel   context.CancelFunc
	done     chan error
}

// Start sets env (adminVar gets a free loopback address), runs run in the background and waits
// until /readyz answers 200.
func Start(t *testing.T, run func(ctx context.Context) error, adminVar string, env map[string]string) *Service {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv(adminVar, addr)
	t.Setenv("VIGIL_LOG_LEVEL", "warn")
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{AdminURL: "http://" + addr, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx) }()
	t.Cleanup(func() { _ = s.Stop(t) })
	testkit.Eventually(t, 30*time.Second, func() bool {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("service exited during start: %v", err)
		default:
		}
		code, _ := get(s.AdminURL + "/readyz")
		return code == http.StatusOK
	}, "service never became ready at %s/readyz", s.AdminURL)
	return s
}

// CheckProbes asserts /healthz, /readyz and /metrics answer, the metrics naming each of want.
func (s *Service) CheckProbes(t *testing.T, want ...string) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(s.AdminURL + path); code != http.StatusOK {
			t.Errorf("GET %s = %d %q, want 200", path, code, body)
		}
	}
	wanted := append([]string{"vigil_build_info"}, want...)
	var missing []string
	testkit.Eventually(t, 10*time.Second, func() bool {
		code, body := get(s.AdminURL + "/metrics")
		missing = missing[:0]
		for _, w := range wanted {
			if code != http.StatusOK || !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		return len(missing) == 0
	}, "/metrics lacks %v", missing)
}

// Stop cancels the service's context, as SIGTERM does, and returns what run returned.
func (s *Service) Stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(45 * time.Second):
		return fmt.Errorf("service did not stop within 45s")
	}
}

func get(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
