package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/notify"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
	"github.com/vigilhq/vigil/services/internal/servicetest"
)

// receiver records deliveries by idempotency key and can fail for a while.
type receiver struct {
	mu        sync.Mutex
	failUntil time.Time
	failures  int
	bodies    map[string][]string // idempotency key → bodies
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().Before(r.failUntil) {
		r.failures++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(req.Body)
	key := req.Header.Get(notify.HeaderIdempotencyKey)
	r.bodies[key] = append(r.bodies[key], req.URL.Path+" "+string(b))
}

func (r *receiver) keys() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.bodies {
		out[k] = len(v)
	}
	return out
}

func TestNotifierDeliversRoutesAndSilences(t *testing.T) {
	ns := testkit.NATS(t)
	hook := &receiver{bodies: map[string][]string{}, failUntil: time.Now().Add(2 * time.Second)}
	am := &receiver{bodies: map[string][]string{}}
	hookSrv, amSrv := httptest.NewServer(hook), httptest.NewServer(am)
	defer hookSrv.Close()
	defer amSrv.Close()
	cfg := notify.Config{
		Receivers: []notify.Receiver{{Name: "hook", Kind: notify.KindWebhook, URL: hookSrv.URL}, {Name: "am", Kind: notify.KindAlertmanager, URL: amSrv.URL}},
		Routes:    []notify.Route{{App: "shop", Receivers: []string{"hook", "am"}}},
	}
	file := filepath.Join(t.TempDir(), "routes.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	svc := servicetest.Start(t, run, "VIGIL_NOTIFIER_ADMIN_ADDR", map[string]string{
		"VIGIL_NATS_URL": ns.ClientURL(), "VIGIL_NOTIFIER_CONFIG": file, "VIGIL_NOTIFIER_BACKOFF": "100ms", "VIGIL_NOTIFIER_ATTEMPTS": "3"})

	silences, err := notify.OpenSilences(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := silences.Put(ctx, notify.Silence{ID: "mute-length", Matchers: map[string]string{"metric": "length_chars"},
		StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), Comment: "known change"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the silence reaches the running notifier through its watch

	publish := func(id, metric, app string, resend bool) {
		t.Helper()
		a := event.Alert{AlertID: id, Fingerprint: "0123456789abcdef", Sequence: 1, State: event.StateFiring, Previous: event.StatePending,
			Resend: resend, Severity: event.SeverityCritical, Summary: metric + " rose", At: now, StartsAt: now,
			Labels: map[string]string{"alertname": "quality_drift", "app": app, "metric": metric}}
		body, _ := event.Marshal(&a)
		if _, err := js.PublishMsg(ctx, stream.NewMsg(stream.AlertSubject(app, a.Severity), id, body)); err != nil {
			t.Fatal(err)
		}
	}
	publish("a-refusal", "refusal", "shop", false)
	publish("a-length", "length_chars", "shop", false)
	publish("a-bank", "refusal", "bank", false)
	publish("a-refusal-r1", "refusal", "shop", true)

	testkit.Eventually(t, 30*time.Second, func() bool {
		return hook.keys()["a-refusal"] == 1 && am.keys()["a-refusal"] == 1 && am.keys()["a-refusal-r1"] == 1
	}, "deliveries: hook %v, alertmanager %v", hook.keys(), am.keys())
	svc.CheckProbes(t, "vigil_notifier_deliveries_total")
	if err := svc.Stop(t); err != nil {
		t.Fatal(err)
	}
	if hook.failures == 0 {
		t.Error("the webhook never failed: the retry path was not exercised")
	}
	if got := hook.keys(); fmt.Sprint(got) != "map[a-refusal:1]" {
		t.Errorf("webhook deliveries = %v, want only a-refusal once (silenced, unrouted and re-sent alerts excluded)", got)
	}
	if got := am.keys(); fmt.Sprint(got) != "map[a-refusal:1 a-refusal-r1:1]" {
		t.Errorf("alertmanager deliveries = %v, want a-refusal and its re-send once each", got)
	}
	if body := am.bodies["a-refusal"][0]; !strings.HasPrefix(body, "/api/v2/alerts [{") || !strings.Contains(body, `"severity":"critical"`) {
		t.Errorf("alertmanager got %s", body)
	}
}
