package ingestsvc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
)

// TestDeployAccountsConfIsolatesApps runs deploy/nats/accounts.conf in an embedded server: each
// app's user publishes to its own vigil.events.<app> and vigil.feedback.<app> with JetStream
// acknowledgements, and cannot publish to another app's subjects nor touch the streams.
func TestDeployAccountsConfIsolatesApps(t *testing.T) {
	for user, pass := range map[string]string{"SERVICES": "svc-secret", "SHOP": "shop-secret", "SUPPORT": "support-secret"} {
		t.Setenv("VIGIL_NATS_"+user+"_PASSWORD", pass)
	}
	opts, err := server.ProcessConfigFile("../../../deploy/nats/accounts.conf")
	if err != nil {
		t.Fatalf("process deploy/nats/accounts.conf: %v", err)
	}
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS from accounts.conf not ready")
	}
	ctx := context.Background()

	connect := func(user, pass string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
		t.Helper()
		nc, err := nats.Connect(ns.ClientURL(), append(opts, nats.UserInfo(user, pass))...)
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nc, js
	}
	_, svc := connect("vigil", "svc-secret")
	if err := stream.EnsureStreams(ctx, svc, stream.Limits{Duplicates: time.Minute}); err != nil {
		t.Fatalf("the services user sets up the streams: %v", err)
	}

	var mu sync.Mutex
	var violations []string
	_, shop := connect("shop", "shop-secret", nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		defer mu.Unlock()
		violations = append(violations, err.Error())
	}))
	if _, err := shop.PublishMsg(ctx, stream.NewMsg(stream.EventsSubject("shop"), "own-1", []byte(ev("own-1", "shop")))); err != nil {
		t.Errorf("shop publishing to vigil.events.shop: %v, want a JetStream ack", err)
	}
	// Refused requests get no answer: bound each wait.
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	if _, err := shop.PublishMsg(short(), stream.NewMsg(stream.EventsSubject("support"), "foreign-1", []byte(ev("foreign-1", "support")))); err == nil {
		t.Error("shop publishing to vigil.events.support was acknowledged, want it refused")
	}
	// Feedback follows the same rule on its own subject.
	if _, err := shop.PublishMsg(ctx, stream.NewMsg(stream.FeedbackSubject("shop"), "fb-own-1", []byte(fb("fb-own-1", "own-1", "shop")))); err != nil {
		t.Errorf("shop publishing to vigil.feedback.shop: %v, want a JetStream ack", err)
	}
	if _, err := shop.PublishMsg(short(), stream.NewMsg(stream.FeedbackSubject("support"), "fb-foreign-1", []byte(fb("fb-foreign-1", "x", "support")))); err == nil {
		t.Error("shop publishing to vigil.feedback.support was acknowledged, want it refused")
	}
	if _, err := shop.Stream(short(), stream.Events); err == nil {
		t.Error("shop can read the EVENTS stream's info, want the JetStream API closed to apps")
	}
	if err := shop.DeleteStream(short(), stream.Events); err == nil {
		t.Error("shop deleted the EVENTS stream")
	}
	mu.Lock()
	got := strings.Join(violations, "\n")
	mu.Unlock()
	if !strings.Contains(got, `Permissions Violation for Publish to "vigil.events.support"`) {
		t.Errorf("server errors for shop = %q, want a publish permissions violation on vigil.events.support", got)
	}
	if !strings.Contains(got, `Permissions Violation for Publish to "vigil.feedback.support"`) {
		t.Errorf("server errors for shop = %q, want a publish permissions violation on vigil.feedback.support", got)
	}
	if diff := streamIDs(t, svc, stream.Feedback); len(diff) != 1 || len(diff["vigil.feedback.shop"]) != 1 {
		t.Errorf("FEEDBACK holds %v, want only shop's fb-own-1", diff)
	}

	if diff := storedIDs(t, svc); len(diff) != 1 || len(diff["vigil.events.shop"]) != 1 || diff["vigil.events.shop"][0] != "own-1" {
		t.Errorf("EVENTS holds %v, want only shop's own-1", diff)
	}
	// The other app's user can publish to its own subject.
	_, support := connect("support", "support-secret")
	if _, err := support.PublishMsg(ctx, stream.NewMsg(stream.EventsSubject("support"), "own-2", []byte(ev("own-2", "support")))); err != nil {
		t.Errorf("support publishing to vigil.events.support: %v", err)
	}
	if _, err := nats.Connect(ns.ClientURL(), nats.UserInfo("shop", "wrong")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("connect with a wrong password = %v, want an authorization error", err)
	}
}
