// Package testkit starts the real servers vigil's tests run against: an in-process NATS
// JetStream server and a throwaway ClickHouse server process. Nothing here is a mock.
package testkit

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS starts an in-process JetStream server on a random loopback port with its store in a
// temporary directory, and shuts it down when the test ends.
func NATS(tb testing.TB) *server.Server {
	tb.Helper()
	ns, err := StartNATS(tb.TempDir(), -1)
	if err != nil {
		tb.Fatalf("start NATS: %v", err)
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// StartNATS starts a JetStream server storing under dir; port -1 picks a free one. The caller
// shuts it down.
func StartNATS(dir string, port int) (*server.Server, error) {
	ns, err := server.NewServer(jetStreamOptions("vigil-test", dir, port))
	if err != nil {
		return nil, fmt.Errorf("create NATS server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("NATS server on port %d not ready after 10s", port)
	}
	return ns, nil
}

// jetStreamOptions are a quiet loopback JetStream server's, storing under dir; port -1 picks a
// free one.
func jetStreamOptions(name, dir string, port int) *server.Options {
	return &server.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true,
		NoSigs:     true,
	}
}

// Eventually polls cond every 20ms until it returns true or timeout passes, then fails the test
// with msg. Tests use it instead of sleeping.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
