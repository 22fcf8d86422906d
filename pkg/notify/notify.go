// Package notify decides where an alert goes and what each receiver gets: routes by app and
// severity, silences with an expiry, and the payloads of generic webhooks, Slack-compatible
// webhooks and Prometheus Alertmanager's v2 API. Delivery is at least once; every request carries
// the alert's id as its idempotency key so a receiver can drop a repeat.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"

	"github.com/vigilhq/vigil/pkg/event"
)

// Receiver kinds.
const (
	KindWebhook      = "webhook"
	KindSlack        = "slack"
	KindAlertmanager = "alertmanager"
)

// Receiver is one destination.
type Receiver struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// URL is the webhook URL, or the Alertmanager base URL (…:9093); /api/v2/alerts is appended.
	URL string `json:"url"`
	// Resends also delivers the periodic re-sends of a firing alert. Alertmanager always gets them
	// (it expires an alert that is not repeated); webhooks and Slack get transitions only by default.
	Resends bool `json:"resends,omitempty"`
}

// Route sends alerts that match it to receivers. Empty fields match everything; App is a
// path.Match pattern (demo-*).
type Route struct {
	App        string   `json:"app,omitempty"`
	Severities []string `json:"severities,omitempty"`
	Receivers  []string `json:"receivers"`
	// Continue lets later routes match too; by default the first matching route wins.
	Continue bool `json:"continue,omitempty"`
}

// Config is the notifier's routing file.
type Config struct {
	Receivers []Receiver `json:"receivers"`
	Routes    []Route    `json:"routes"`
}

// LoadConfig reads and validates a routing file.
func LoadConfig(file string) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read notifier config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse notifier config %s: %w", file, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("notifier config %s: %w", file, err)
	}
	return &c, nil
}

// Validate reports every problem at once, naming the receiver or route.
func (c *Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i, r := range c.Receivers {
		switch {
		case r.Name == "":
			errs = append(errs, fmt.Errorf("receivers[%d].name: required", i))
		case names[r.Name]:
			errs = append(errs, fmt.Errorf("receivers[%d].name: %q is used twice", i, r.Name))
		}
		names[r.Name] = true
		switch r.Kind {
		case KindWebhook, KindSlack, KindAlertmanager:
		default:
			errs = append(errs, fmt.Errorf("receivers[%d].kind: %q is not one of webhook, slack, alertmanager", i, r.Kind))
		}
		if r.URL == "" {
			errs = append(errs, fmt.Errorf("receivers[%d].url: required", i))
		}
	}
	for i, rt := range c.Routes {
		if _, err := path.Match(rt.App, ""); err != nil {
			errs = append(errs, fmt.Errorf("routes[%d].app: bad pattern %q: %w", i, rt.App, err))
		}
		for _, s := range rt.Severities {
			if s != event.SeverityWarning && s != event.SeverityCritical {
				errs = append(errs, fmt.Errorf("routes[%d].severities: %q is not one of warning, critical", i, s))
			}
		}
		if len(rt.Receivers) == 0 {
			errs = append(errs, fmt.Errorf("routes[%d].receivers: at least one required", i))
		}
		for _, n := range rt.Receivers {
			if !names[n] {
				errs = append(errs, fmt.Errorf("routes[%d].receivers: no receiver named %q", i, n))
			}
		}
	}
	return errors.Join(errs...)
}

// Route returns the receivers an alert goes to, each once, in route order.
func (c *Config) Route(a *event.Alert) []Receiver {
	byName := map[string]Receiver{}
	for _, r := range c.Receivers {
		byName[r.Name] = r
	}
	var out []Receiver
	seen := map[string]bool{}
	for _, rt := range c.Routes {
		if !rt.matches(a) {
			continue
		}
		for _, n := range rt.Receivers {
			r := byName[n]
			if seen[n] || (a.Resend && !r.Resends && r.Kind != KindAlertmanager) {
				continue
			}
			seen[n] = true
			out = append(out, r)
		}
		if !rt.Continue {
			break
		}
	}
	return out
}

func (rt Route) matches(a *event.Alert) bool {
	if rt.App != "" {
		if ok, _ := path.Match(rt.App, a.Labels["app"]); !ok {
			return false
		}
	}
	return len(rt.Severities) == 0 || slices.Contains(rt.Severities, a.Severity)
}
