package notify

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Silence mutes alerts whose labels match every matcher until it expires. Matchers are label
// name → path.Match pattern ("refusal", "demo-*").
type Silence struct {
	ID        string            `json:"id"`
	Matchers  map[string]string `json:"matchers"`
	StartsAt  time.Time         `json:"starts_at"`
	EndsAt    time.Time         `json:"ends_at"`
	CreatedBy string            `json:"created_by,omitempty"`
	Comment   string            `json:"comment,omitempty"`
}

// Validate checks a silence before it is stored.
func (s *Silence) Validate() error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("matchers: at least one required (a silence of everything is a mistake)"))
	}
	for k, v := range s.Matchers {
		if _, err := path.Match(v, ""); err != nil {
			errs = append(errs, fmt.Errorf("matchers.%s: bad pattern %q: %w", k, v, err))
		}
	}
	if !s.EndsAt.After(s.StartsAt) {
		errs = append(errs, fmt.Errorf("ends_at: %v is not after starts_at %v", s.EndsAt, s.StartsAt))
	}
	return errors.Join(errs...)
}

// Active reports whether the silence mutes at t.
func (s *Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Matches reports whether every matcher matches the alert's labels.
func (s *Silence) Matches(a *event.Alert) bool {
	for k, pattern := range s.Matchers {
		if ok, _ := path.Match(pattern, a.Labels[k]); !ok {
			return false
		}
	}
	return true
}

// Silenced returns the first active silence that matches the alert, if any.
func Silenced(silences []Silence, a *event.Alert, now time.Time) (Silence, bool) {
	for _, s := range silences {
		if s.Active(now) && s.Matches(a) {
			return s, true
		}
	}
	return Silence{}, false
}
