// Package redact masks or hashes personal data and secrets in an event's text before it is
// stored, per app. The scorer has already seen the raw text (its pii and secrets scores are
// kept); only the stored copy is redacted, and the EVENTS stream's retention bounds how long the
// raw text lives.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// Mode is what happens to a piece of sensitive text.
type Mode string

const (
	// Mask replaces it with its kind: [email], [card], [iban], [national_id], [openai_key].
	Mask Mode = "mask"
	// Hash replaces it with its kind and a short hash, so equal values stay countable.
	Hash Mode = "hash"
	// Off stores it as sent.
	Off Mode = "off"
)

// Policy is the mode per app, with a default for apps not named.
type Policy struct {
	Default Mode
	Apps    map[string]Mode
}

// ParsePolicy reads "mask", or "default=mask,shop=hash,lab=off".
func ParsePolicy(s string) (Policy, error) {
	p := Policy{Default: Mask, Apps: map[string]Mode{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		app, mode, named := strings.Cut(part, "=")
		if !named {
			app, mode = "default", part
		}
		m := Mode(mode)
		if m != Mask && m != Hash && m != Off {
			return Policy{}, fmt.Errorf("redaction mode %q for %s: want mask, hash or off", mode, app)
		}
		if app == "default" {
			p.Default = m
		} else {
			p.Apps[app] = m
		}
	}
	return p, nil
}

// Mode returns the mode for app.
func (p Policy) Mode(app string) Mode {
	if m, ok := p.Apps[app]; ok {
		return m
	}
	return p.Default
}

// Event redacts the stored text of ev in place (input, messages, output, system instructions,
// expected, context, error and attribute values) and reports how many pieces it replaced.
func (p Policy) Event(ev *event.Event) int {
	mode := p.Mode(ev.App)
	if mode == Off {
		return 0
	}
	n := 0
	apply := func(s *string) {
		var k int
		*s, k = Text(*s, mode)
		n += k
	}
	apply(&ev.Input)
	apply(&ev.Output)
	apply(&ev.SystemInstructions)
	apply(&ev.Expected)
	apply(&ev.Error)
	for i := range ev.Messages {
		apply(&ev.Messages[i].Content)
	}
	for i := range ev.Context {
		apply(&ev.Context[i].Text)
	}
	for k, v := range ev.Attributes {
		apply(&v)
		ev.Attributes[k] = v
	}
	return n
}

// Text returns s with every sensitive span replaced according to mode, and how many it replaced.
func Text(s string, mode Mode) (string, int) {
	if mode == Off || s == "" {
		return s, 0
	}
	spans := scoring.FindSensitive(s)
	if len(spans) == 0 {
		return s, 0
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.Start])
		b.WriteString("[")
		b.WriteString(sp.Kind)
		if mode == Hash {
			sum := sha256.Sum256([]byte(s[sp.Start:sp.End]))
			b.WriteString(":")
			b.WriteString(hex.EncodeToString(sum[:6]))
		}
		b.WriteString("]")
		last = sp.End
	}
	b.WriteString(s[last:])
	return b.String(), len(spans)
}
