// Package scoring runs vigil's built-in, model-free checks on model-call events.
//
// A check scores one aspect of an event (is the output empty, valid JSON, a refusal, does it leak
// personal data, ...) without I/O, so it is cheap enough to run on every event. Each check lives in
// its own file and registers a [Factory] from init under its metric name; a [Scorer] builds the
// selected checks once and runs them on each event in a stable order.
package scoring

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vigilhq/vigil/pkg/event"
)

// Source is the score source recorded in event.Scored for the built-in checks.
const Source = "checks"

// RulesVersion is the rules version recorded in event.Scored until per-feature rules exist. Bump
// it when a built-in check changes what it reports, so drift across the change can be told apart
// from drift in the application.
const RulesVersion = "builtin-1"

// Check scores one aspect of an event. Implementations are pure (no I/O) and safe for concurrent
// use.
type Check interface {
	// Name returns the metric name, e.g. "json_valid"; it equals the name the check is
	// registered under.
	Name() string
	// Kind returns event.KindCheck (pass/fail) or event.KindMeasure (continuous value + pass).
	Kind() event.Kind
	// Score returns the result, and false when the check does not apply to this event. It does
	// not retain ev.
	Score(ev *event.Event) (event.Score, bool)
}

// Env is what a factory may use to build a check.
type Env struct {
	// Contracts holds the JSON Schemas that structured outputs are validated against. New never
	// passes nil.
	Contracts *Contracts
}

// Factory builds a check. It is called once per [New], not per event.
type Factory func(env Env) (Check, error)

var registry = struct {
	sync.RWMutex
	factories map[string]Factory
}{factories: make(map[string]Factory)}

// Register makes a check available to [New] under name, which must be the check's metric name.
// It is meant to be called from the init function of the check's file. Register panics when name
// is empty, f is nil or name is already registered: those are programming errors.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("scoring: Register with empty name or nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.factories[name]; dup {
		panic(fmt.Sprintf("scoring: check %q registered twice", name))
	}
	registry.factories[name] = f
}

// Names returns the names of all registered checks, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.factories))
	for name := range registry.factories {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Options configures a [Scorer].
type Options struct {
	// Contracts holds the output contracts for the json_schema check. Nil means none: events
	// naming a contract then fail json_schema with label "unknown_contract".
	Contracts *Contracts
	// Checks lists the checks to run, in the order their scores are reported. Empty means every
	// registered check, in name order.
	Checks []string
}

// Scorer runs a fixed set of checks on events. It is safe for concurrent use.
type Scorer struct {
	checks []Check
}

// New builds the checks selected by opts. It returns an error naming any unknown or duplicate
// check, or a check whose factory fails.
func New(opts Options) (*Scorer, error) {
	env := Env{Contracts: opts.Contracts}
	if env.Contracts == nil {
		env.Contracts = NewContracts()
	}
	names := opts.Checks
	if len(names) == 0 {
		names = Names()
	}
	s := &Scorer{checks: make([]Check, 0, len(names))}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			return nil, fmt.Errorf("build check %q: listed twice", name)
		}
		seen[name] = true
		registry.RLock()
		f, ok := registry.factories[name]
		registry.RUnlock()
		if !ok {
			return nil, fmt.Errorf("build check %q: unknown check (registered: %s)", name, strings.Join(Names(), ", "))
		}
		c, err := f(env)
		if err != nil {
			return nil, fmt.Errorf("build check %q: %w", name, err)
		}
		if c.Name() != name {
			return nil, fmt.Errorf("build check %q: factory returned check %q", name, c.Name())
		}
		if k := c.Kind(); k != event.KindCheck && k != event.KindMeasure {
			return nil, fmt.Errorf("build check %q: unknown kind %q", name, k)
		}
		s.checks = append(s.checks, c)
	}
	return s, nil
}

// Score runs every check on ev and appends the scores of those that apply to dst, in the order of
// Options.Checks (name order by default), and returns the extended slice. Pass dst[:0] to reuse a
// buffer. A nil ev yields no scores. Score does not retain ev or dst.
func (s *Scorer) Score(ev *event.Event, dst []event.Score) []event.Score {
	if ev == nil {
		return dst
	}
	for _, c := range s.checks {
		if sc, ok := c.Score(ev); ok {
			dst = append(dst, sc)
		}
	}
	return dst
}
