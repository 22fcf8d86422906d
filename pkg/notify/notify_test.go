package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

func alert(app, severity, state string, resend bool) *event.Alert {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return &event.Alert{AlertID: "0123456789abcdef-2", Fingerprint: "0123456789abcdef", Sequence: 2, State: state,
		Severity: severity, Resend: resend, Summary: "refusal failure rate rose", At: at, StartsAt: at.Add(-time.Minute),
		Labels:   map[string]string{"alertname": "quality_drift", "app": app, "metric": "refusal", "feature": "faq"},
		Evidence: event.Evidence{Detector: "two_proportion_z", Statistic: 7.9, Threshold: 3.09, PValue: 1e-15, ExampleEventIDs: []string{"e1", "e2"}}}
}

func TestRoute(t *testing.T) {
	c := &Config{
		Receivers: []Receiver{{Name: "pager", Kind: KindWebhook, URL: "http://x"}, {Name: "chat", Kind: KindSlack, URL: "http://y"},
			{Name: "am", Kind: KindAlertmanager, URL: "http://z"}},
		Routes: []Route{
			{App: "shop-*", Severities: []string{"critical"}, Receivers: []string{"pager", "am"}, Continue: true},
			{App: "shop-*", Receivers: []string{"chat"}},
			{Receivers: []string{"am"}},
		},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	names := func(rs []Receiver) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		name  string
		alert *event.Alert
		want  []string
	}{
		{"critical shop goes to pager, am, then chat", alert("shop-eu", "critical", "firing", false), []string{"pager", "am", "chat"}},
		{"warning shop goes to chat only", alert("shop-eu", "warning", "firing", false), []string{"chat"}},
		{"other app falls through to am", alert("bank", "warning", "firing", false), []string{"am"}},
		{"re-sends reach alertmanager only", alert("shop-eu", "critical", "firing", true), []string{"am"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, names(c.Route(tt.alert))); diff != "" {
			t.Errorf("%s: Route (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	c := &Config{
		Receivers: []Receiver{{Name: "a", Kind: "pager", URL: ""}, {Name: "a", Kind: KindWebhook, URL: "http://x"}},
		Routes:    []Route{{App: "[", Severities: []string{"loud"}, Receivers: []string{"nobody"}}},
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"receivers[0].kind", "receivers[0].url", "receivers[1].name", "routes[0].app", "routes[0].severities", `no receiver named "nobody"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q: %v", want, err)
		}
	}
}

func TestSilences(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s := []Silence{
		{ID: "s1", Matchers: map[string]string{"app": "shop-*", "metric": "refusal"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
		{ID: "s2", Matchers: map[string]string{"app": "bank"}, StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Hour)},
	}
	if got, ok := Silenced(s, alert("shop-eu", "critical", "firing", false), now); !ok || got.ID != "s1" {
		t.Errorf("Silenced(shop-eu refusal) = %v, %v; want s1", got.ID, ok)
	}
	if _, ok := Silenced(s, alert("bank", "critical", "firing", false), now); ok {
		t.Error("an expired silence still mutes")
	}
	if err := (&Silence{StartsAt: now, EndsAt: now}).Validate(); err == nil || !strings.Contains(err.Error(), "matchers") || !strings.Contains(err.Error(), "ends_at") {
		t.Errorf("Validate(empty silence) = %v, want matchers and ends_at errors", err)
	}
}

func TestPayloads(t *testing.T) {
	resolved := alert("shop", "critical", "resolved", false)
	end := resolved.At
	resolved.EndsAt = &end
	body, err := Payload(Receiver{Kind: KindAlertmanager}, resolved)
	if err != nil {
		t.Fatal(err)
	}
	var am []map[string]any
	if err := json.Unmarshal(body, &am); err != nil || len(am) != 1 {
		t.Fatalf("alertmanager payload %s: %v", body, err)
	}
	if am[0]["endsAt"] != "2026-11-27T10:00:00Z" || am[0]["labels"].(map[string]any)["severity"] != "critical" {
		t.Errorf("alertmanager payload = %s", body)
	}
	body, _ = Payload(Receiver{Kind: KindSlack}, alert("shop", "critical", "firing", false))
	if !strings.Contains(string(body), "FIRING") || !strings.Contains(string(body), "e1, e2") {
		t.Errorf("slack payload = %s", body)
	}
	body, _ = Payload(Receiver{Kind: KindWebhook}, alert("shop", "critical", "firing", false))
	if a, err := event.DecodeAlert(body); err != nil || a.AlertID != "0123456789abcdef-2" {
		t.Errorf("webhook payload does not decode as a v1 alert: %v", err)
	}
}

// flaky is a receiver that fails the first n requests, then records what it gets.
type flaky struct {
	mu       sync.Mutex
	failures int
	status   int
	got      []string
	keys     []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		w.WriteHeader(f.status)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.got = append(f.got, r.URL.Path+" "+string(b))
	f.keys = append(f.keys, r.Header.Get(HeaderIdempotencyKey))
}

func TestDeliverRetriesThenSucceeds(t *testing.T) {
	f := &flaky{failures: 2, status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(f)
	defer srv.Close()
	d := Deliverer{Attempts: 4, Backoff: time.Millisecond}
	if err := d.Deliver(context.Background(), Receiver{Name: "am", Kind: KindAlertmanager, URL: srv.URL}, alert("shop", "warning", "firing", false)); err != nil {
		t.Fatalf("Deliver = %v, want success on the third attempt", err)
	}
	if len(f.got) != 1 || !strings.HasPrefix(f.got[0], "/api/v2/alerts [") || f.keys[0] != "0123456789abcdef-2" {
		t.Errorf("receiver got %v with keys %v", f.got, f.keys)
	}
}

func TestDeliverStopsOnPermanentRefusal(t *testing.T) {
	f := &flaky{failures: 10, status: http.StatusBadRequest}
	srv := httptest.NewServer(f)
	defer srv.Close()
	err := Deliverer{Attempts: 4, Backoff: time.Millisecond}.Deliver(context.Background(), Receiver{Name: "w", Kind: KindWebhook, URL: srv.URL}, alert("shop", "warning", "firing", false))
	var perm *PermanentError
	if !asPermanent(err, &perm) || perm.Status != http.StatusBadRequest {
		t.Fatalf("Deliver = %v, want a PermanentError with 400", err)
	}
	if f.failures != 9 {
		t.Errorf("receiver was called %d times, want 1 (no retry of a 400)", 10-f.failures)
	}
}
