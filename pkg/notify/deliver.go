package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// HeaderIdempotencyKey carries the alert id on every delivery; a receiver that has seen it can
// drop the request.
const HeaderIdempotencyKey = "Idempotency-Key"

// Payload builds the request body a receiver gets for an alert.
func Payload(r Receiver, a *event.Alert) ([]byte, error) {
	switch r.Kind {
	case KindSlack:
		return json.Marshal(map[string]string{"text": SlackText(a)})
	case KindAlertmanager:
		return json.Marshal([]alertmanagerAlert{toAlertmanager(a)})
	}
	return event.Marshal(a)
}

// SlackText is the one-message form of an alert for Slack-compatible webhooks.
func SlackText(a *event.Alert) string {
	icon := map[string]string{event.StateFiring: ":red_circle:", event.StatePending: ":large_yellow_circle:", event.StateResolved: ":white_check_mark:"}[a.State]
	e := a.Evidence
	return fmt.Sprintf("%s *%s* [%s] %s\n%s: statistic %.3g (threshold %.3g), p=%.2g, baseline n=%d, current n=%d. Examples: %s",
		icon, strings.ToUpper(a.State), a.Severity, a.Summary, e.Detector, e.Statistic, e.Threshold, e.PValue,
		e.Baseline.N, e.Current.N, strings.Join(e.ExampleEventIDs, ", "))
}

// alertmanagerAlert is one element of POST /api/v2/alerts.
type alertmanagerAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func toAlertmanager(a *event.Alert) alertmanagerAlert {
	labels := make(map[string]string, len(a.Labels)+1)
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels["severity"] = a.Severity
	e := a.Evidence
	am := alertmanagerAlert{
		Labels: labels,
		Annotations: map[string]string{
			"summary":           a.Summary,
			"state":             a.State,
			"detector":          e.Detector,
			"statistic":         fmt.Sprintf("%.4g", e.Statistic),
			"p_value":           fmt.Sprintf("%.3g", e.PValue),
			"baseline":          fmt.Sprintf("%.4g (n=%d, %s)", e.Baseline.Value, e.Baseline.N, e.BaselineSource),
			"current":           fmt.Sprintf("%.4g (n=%d)", e.Current.Value, e.Current.N),
			"example_event_ids": strings.Join(e.ExampleEventIDs, ","),
			"alert_id":          a.AlertID,
		},
		StartsAt: a.StartsAt,
	}
	if a.State == event.StateResolved {
		end := a.At
		if a.EndsAt != nil {
			end = *a.EndsAt
		}
		am.EndsAt = &end
	}
	return am
}

// Deliverer posts payloads with retries and exponential backoff.
type Deliverer struct {
	Client   *http.Client
	Attempts int           // per delivery, at least 1
	Backoff  time.Duration // first wait; doubles each attempt
}

// PermanentError is a refusal that retrying cannot fix (a 4xx other than 408 and 429).
type PermanentError struct {
	Status int
	Body   string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("receiver refused the alert with HTTP %d: %s", e.Status, e.Body)
}

// Deliver sends the alert to the receiver, retrying network errors, 408, 429 and 5xx answers.
func (d Deliverer) Deliver(ctx context.Context, r Receiver, a *event.Alert) error {
	body, err := Payload(r, a)
	if err != nil {
		return fmt.Errorf("build payload for %s: %w", r.Name, err)
	}
	url := r.URL
	if r.Kind == KindAlertmanager {
		url = strings.TrimSuffix(url, "/") + "/api/v2/alerts"
	}
	wait := d.Backoff
	var last error
	for attempt := 1; attempt <= max(d.Attempts, 1); attempt++ {
		last = d.post(ctx, url, a.AlertID, body)
		var perm *PermanentError
		if last == nil || errors.As(last, &perm) {
			break
		}
		if attempt == max(d.Attempts, 1) {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("deliver %s to %s: %w", a.AlertID, r.Name, ctx.Err())
		}
		wait *= 2
	}
	if last != nil {
		return fmt.Errorf("deliver %s to %s: %w", a.AlertID, r.Name, last)
	}
	return nil
}

func (d Deliverer) post(ctx context.Context, url, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Status: 0, Body: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, id)
	req.Header.Set("User-Agent", "vigil-notifier")
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("receiver answered HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return &PermanentError{Status: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
}
