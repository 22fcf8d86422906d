package ingestsvc_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
)

// fb returns a thumbs-down feedback of app about the call eventID.
func fb(id, eventID, app string) string {
	return fmt.Sprintf(`{"feedback_id":%q,"event_id":%q,"timestamp":%q,"app":%q,"model":"gpt-x","kind":"thumbs","value":0}`, id, eventID, now, app)
}

func TestFeedbackAcceptedAndDeduplicated(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	rating := fmt.Sprintf(`{"feedback_id":"fb-2","event_id":"ev-1","timestamp":%q,"app":"shop","model":"gpt-x","prompt_version":"v2","kind":"rating","value":4,"scale_min":1,"scale_max":5}`, now)
	body := ndjson(fb("fb-1", "ev-1", "shop"), rating, fb("fb-3", "ev-2", "shop"))
	for attempt := 1; attempt <= 2; attempt++ { // a client retrying the whole batch
		r := g.do(t, request{path: ingestsvc.FeedbackPath, key: shopKey, contentType: "application/x-ndjson", encoding: "gzip", body: gzipped(t, body)})
		want := ingestsvc.EventsResponse{Accepted: 3, Errors: []ingestsvc.LineError{}}
		if got := decodeEvents(t, r); r.status != http.StatusOK || !cmp.Equal(got, want) {
			t.Fatalf("attempt %d: POST %s = %d %s, want 200 %+v", attempt, ingestsvc.FeedbackPath, r.status, r.body, want)
		}
	}
	// A single JSON object works too.
	r := g.do(t, request{path: ingestsvc.FeedbackPath, key: shopKey, contentType: "application/json", body: []byte(fb("fb-4", "ev-3", "shop"))})
	if r.status != http.StatusOK {
		t.Errorf("POST of one feedback = %d %s, want 200", r.status, r.body)
	}
	wantIDs := map[string][]string{"vigil.feedback.shop": {"fb-1", "fb-2", "fb-3", "fb-4"}}
	if diff := cmp.Diff(wantIDs, streamIDs(t, g.js, stream.Feedback)); diff != "" {
		t.Errorf("FEEDBACK (-want +got):\n%s", diff)
	}
	if got := storedIDs(t, g.js); len(got) != 0 {
		t.Errorf("feedback reached EVENTS: %v", got)
	}
	want := `
# HELP vigil_ingest_events_total Events received, by route and outcome (accepted, rejected, unavailable).
# TYPE vigil_ingest_events_total counter
vigil_ingest_events_total{outcome="accepted",route="feedback"} 7
vigil_ingest_events_total{outcome="rejected",route="feedback"} 0
`
	if err := testutil.GatherAndCompare(g.reg, strings.NewReader(want), "vigil_ingest_events_total"); err != nil {
		t.Errorf("feedback counted as: %v", err)
	}
}

func TestFeedbackRejectsNamingLineAndField(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	body := ndjson(
		fb("good-0", "ev-1", "shop"),
		fb("other-app", "ev-2", "bank"),
		fmt.Sprintf(`{"feedback_id":"bad-kind","event_id":"ev-3","timestamp":%q,"app":"shop","model":"m","kind":"stars","value":5}`, now),
		fmt.Sprintf(`{"feedback_id":"no-scale","event_id":"ev-4","timestamp":%q,"app":"shop","model":"m","kind":"rating","value":5}`, now),
		ev("an-event", "shop"),
		`{"feedback_id": "bad-json", `,
	)
	r := g.do(t, request{path: ingestsvc.FeedbackPath, key: shopKey, contentType: "application/x-ndjson", body: body})
	if r.status != http.StatusOK {
		t.Fatalf("POST of a partly valid batch = %d %s, want 200", r.status, r.body)
	}
	got := decodeEvents(t, r)
	if got.Accepted != 1 || got.Rejected != 5 {
		t.Errorf("accepted %d, rejected %d; want 1 and 5", got.Accepted, got.Rejected)
	}
	want := []struct {
		index         int
		field, reason string
	}{
		{1, "app", `"bank" is not the app of this API key ("shop")`},
		{2, "kind", `"stars" is not one of thumbs, rating, correction, label`},
		{3, "scale_min", "required for kind rating"},
		{3, "scale_max", "required for kind rating"},
		{4, "output", "unknown field"},
		{5, "(feedback)", "malformed JSON"},
	}
	if len(got.Errors) != len(want) {
		t.Fatalf("errors = %+v, want %d entries", got.Errors, len(want))
	}
	for i, w := range want {
		e := got.Errors[i]
		if e.Index != w.index || e.Field != w.field || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("errors[%d] = %+v, want index %d, field %q, reason containing %q", i, e, w.index, w.field, w.reason)
		}
	}
	if diff := cmp.Diff(map[string][]string{"vigil.feedback.shop": {"good-0"}}, streamIDs(t, g.js, stream.Feedback)); diff != "" {
		t.Errorf("FEEDBACK (-want +got):\n%s", diff)
	}
	// Nothing valid: 400; no key: 401.
	r = g.do(t, request{path: ingestsvc.FeedbackPath, key: bankKey, body: []byte(fb("x", "ev-1", "shop"))})
	if got := decodeEvents(t, r); r.status != http.StatusBadRequest || got.Rejected != 1 || got.Errors[0].Field != "app" {
		t.Errorf("POST of another app's feedback = %d %s, want 400 naming app", r.status, r.body)
	}
	if r := g.do(t, request{path: ingestsvc.FeedbackPath, body: []byte(fb("y", "ev-1", "shop"))}); r.status != http.StatusUnauthorized {
		t.Errorf("POST without a key = %d %s, want 401", r.status, r.body)
	}
}
