// Package scoring runs vigil's built-in, model-free checks on model-call events.
//
// A check scores one aspect of an event (is the output empty, valid JSON, a refusal, does it leak
// personal data or secrets, does it follow the reference answer or the retrieved context, ...)
// without I/O, so it is cheap enough to run on every event. Each check lives in its own file and
// registers a [Factory] with its catalogue entry ([Info]) from init under its metric name. A
// [Scorer] builds the selected checks once, with their parameters, and runs them on each event in
// a stable order.
//
// Checks do not read the event's text themselves: the Scorer hands them an [Input] that splits
// each text into words and sentences once, lazily, and shares the result between checks, so the
// whole default set costs little more than one pass over the event.
package scoring

import (
	"errors"
	"fmt"
	"math"
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
const RulesVersion = "builtin-3"

// Check scores one aspect of an event. Implementations are pure (no I/O), immutable once built
// and safe for concurrent use.
type Check interface {
	// Name returns the metric name, e.g. "json_valid"; it equals the name the check is
	// registered under.
	Name() string
	// Kind returns event.KindCheck (pass/fail) or event.KindMeasure (continuous value + pass).
	Kind() event.Kind
	// Score returns the result, and false when the check does not apply to this event. It may
	// use in only during the call: in and what it returns are reused for the next event.
	Score(in *Input) (event.Score, bool)
}

// Env is what a factory may use to build a check.
type Env struct {
	// Contracts holds the JSON Schemas that structured outputs are validated against. New never
	// passes nil.
	Contracts *Contracts
}

// Factory builds a check from its parameters. It is called once per [New], not per event, and
// reports every bad parameter at once (errors.Join of *[ParamError]s). For a check registered
// with [RegisterInfo], New has already rejected unknown and missing parameters.
type Factory func(env Env, params Params) (Check, error)

// Info is the catalogue entry of a check: what docs and a CLI list, and what [New] validates a
// [Spec] against.
type Info struct {
	// Name is the metric name.
	Name string `json:"name"`
	// Kind is event.KindCheck or event.KindMeasure.
	Kind event.Kind `json:"kind"`
	// Description says in one line what the check measures.
	Description string `json:"description"`
	// Applies says when the check reports a score, e.g. "expected is set".
	Applies string `json:"applies"`
	// Fails says when the check fails with its default parameters.
	Fails string `json:"fails"`
	// Params lists the parameters the check accepts. A check registered with [Register] has
	// none listed; its factory validates what it is given.
	Params []ParamInfo `json:"params,omitempty"`
	// Threshold names the parameter that [Spec].Threshold sets; empty when the check has no
	// single pass threshold.
	Threshold string `json:"threshold,omitempty"`
	// Configured is true when the check needs a parameter that has no default: it runs only when
	// a Spec names it, never in the default set.
	Configured bool `json:"configured,omitempty"`
}

// ParamInfo describes one parameter of a check.
type ParamInfo struct {
	Name string `json:"name"`
	// Type is the JSON type the parameter takes: "number", "integer", "string", "strings" (a
	// list of strings), "boolean" or "duration" (a string such as "1.5s").
	Type string `json:"type"`
	// Default is the value used when the parameter is absent: an int for an integer, a float64
	// for a number, a string, a bool or a []string; nil for a required parameter.
	Default any `json:"default,omitempty"`
	// Required is true when the parameter has no default.
	Required bool `json:"required,omitempty"`
	// Doc says what the parameter does, in one line.
	Doc string `json:"doc"`
}

type entry struct {
	info    Info
	factory Factory
	// described is true for checks registered with RegisterInfo: New validates parameter names
	// against info.Params.
	described bool
}

var registry = struct {
	sync.RWMutex
	entries map[string]*entry
}{entries: make(map[string]*entry)}

var paramTypes = []string{"number", "integer", "string", "strings", "boolean", "duration"}

// Register makes a check available to [New] under name, which must be the check's metric name.
// Its catalogue entry is learned by building the check once with no parameters: the kind, and
// Configured when that fails. The factory must then reject parameters it does not know (see
// [Params.Only]). Register is meant to be called from init; it panics when name is empty, f is nil
// or name is already registered: those are programming errors.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("scoring: Register with empty name or nil factory")
	}
	info := Info{Name: name}
	if c, err := f(Env{Contracts: NewContracts()}, nil); err != nil {
		info.Configured = true
	} else {
		info.Kind = c.Kind()
	}
	add(&entry{info: info, factory: f})
}

// RegisterInfo makes a check available to [New] under info.Name, with its catalogue entry. New
// rejects parameters not listed in info.Params and requires those marked Required before it
// calls f. Configured is derived from the required parameters. RegisterInfo is meant to be called
// from init; it panics on an inconsistent entry or a duplicate name: those are programming errors.
func RegisterInfo(info Info, f Factory) {
	if info.Name == "" || f == nil {
		panic("scoring: RegisterInfo with empty name or nil factory")
	}
	if info.Kind != event.KindCheck && info.Kind != event.KindMeasure {
		panic(fmt.Sprintf("scoring: check %q has unknown kind %q", info.Name, info.Kind))
	}
	info.Params = slices.Clone(info.Params)
	info.Configured = false
	seen := make(map[string]bool)
	for _, p := range info.Params {
		if p.Name == "" || seen[p.Name] || !slices.Contains(paramTypes, p.Type) || p.Required != (p.Default == nil) {
			panic(fmt.Sprintf("scoring: check %q: bad parameter entry %+v", info.Name, p))
		}
		seen[p.Name] = true
		info.Configured = info.Configured || p.Required
	}
	if info.Threshold != "" {
		i := slices.IndexFunc(info.Params, func(p ParamInfo) bool { return p.Name == info.Threshold })
		if i < 0 || info.Params[i].Type != "number" && info.Params[i].Type != "integer" {
			panic(fmt.Sprintf("scoring: check %q: threshold %q is not a numeric parameter", info.Name, info.Threshold))
		}
	}
	add(&entry{info: info, factory: f, described: true})
}

func add(e *entry) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.entries[e.info.Name]; dup {
		panic(fmt.Sprintf("scoring: check %q registered twice", e.info.Name))
	}
	registry.entries[e.info.Name] = e
}

func lookup(name string) (*entry, bool) {
	registry.RLock()
	defer registry.RUnlock()
	e, ok := registry.entries[name]
	return e, ok
}

// Names returns the names of all registered checks, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.entries))
	for name := range registry.entries {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Describe returns the catalogue entries of all registered checks, sorted by name. The result is
// the caller's to keep.
func Describe() []Info {
	registry.RLock()
	defer registry.RUnlock()
	infos := make([]Info, 0, len(registry.entries))
	for _, e := range registry.entries {
		info := e.info
		info.Params = slices.Clone(info.Params)
		for i, p := range info.Params {
			if list, ok := p.Default.([]string); ok {
				info.Params[i].Default = slices.Clone(list)
			}
		}
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

// Defaults returns the default set as specs with no parameters: every registered check that needs
// no configuration, in name order. It is what [New] runs when Options.Checks is empty.
func Defaults() []Spec {
	var specs []Spec
	for _, info := range Describe() {
		if !info.Configured {
			specs = append(specs, Spec{Name: info.Name})
		}
	}
	return specs
}

// Spec selects one check and its parameters.
type Spec struct {
	// Name is the check's metric name.
	Name string `json:"name"`
	// Params are the check's parameters, as decoded from JSON; nil means all defaults.
	Params Params `json:"params,omitempty"`
	// Threshold, when set, replaces the check's pass threshold: it sets the parameter
	// Info.Threshold names. Setting it for a check without one, or together with that
	// parameter, is an error.
	Threshold *float64 `json:"threshold,omitempty"`
}

// Options configures a [Scorer].
type Options struct {
	// Contracts holds the output contracts for the json_schema check. Nil means none: events
	// naming a contract then fail json_schema with label "unknown_contract".
	Contracts *Contracts
	// Checks lists the checks to run, in the order their scores are reported. Empty means the
	// default set ([Defaults]): every registered check that needs no parameters, in name order.
	// Checks that need what an event lacks (a reference answer, retrieved context, a contract)
	// simply report nothing for it.
	Checks []Spec
}

// Scorer runs a fixed set of checks on events. It is safe for concurrent use.
type Scorer struct {
	checks []Check
}

// New builds the checks selected by opts. It reports every bad spec at once (errors.Join), each
// error naming the check and, where one is at fault, the parameter: unknown or repeated checks,
// unknown, missing or ill-typed parameters, out-of-range values and thresholds the check does not
// have.
func New(opts Options) (*Scorer, error) {
	env := Env{Contracts: opts.Contracts}
	if env.Contracts == nil {
		env.Contracts = NewContracts()
	}
	specs := opts.Checks
	if len(specs) == 0 {
		specs = Defaults()
	}
	s := &Scorer{checks: make([]Check, 0, len(specs))}
	seen := make(map[string]bool, len(specs))
	var errs []error
	for _, spec := range specs {
		if seen[spec.Name] {
			errs = append(errs, fmt.Errorf("check %q: listed twice", spec.Name))
			continue
		}
		seen[spec.Name] = true
		c, err := build(env, spec)
		if err != nil {
			for _, e := range split(err) {
				errs = append(errs, fmt.Errorf("check %q: %w", spec.Name, e))
			}
			continue
		}
		s.checks = append(s.checks, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// build validates spec against the catalogue and calls the factory.
func build(env Env, spec Spec) (Check, error) {
	e, ok := lookup(spec.Name)
	if !ok {
		return nil, fmt.Errorf("unknown check (registered: %s)", strings.Join(Names(), ", "))
	}
	params := spec.Params
	var errs []error
	if spec.Threshold != nil {
		th := e.info.Threshold
		switch {
		case th == "":
			errs = append(errs, errors.New("has no threshold; set its parameters instead"))
		case params.Has(th):
			errs = append(errs, fmt.Errorf("threshold and parameter %q both set", th))
		case math.IsNaN(*spec.Threshold) || math.IsInf(*spec.Threshold, 0):
			errs = append(errs, fmt.Errorf("threshold %v is not a finite number", *spec.Threshold))
		default:
			params = make(Params, len(spec.Params)+1)
			for k, v := range spec.Params {
				params[k] = v
			}
			params[th] = *spec.Threshold
		}
	}
	if e.described {
		names := make([]string, 0, len(e.info.Params))
		var required []string
		for _, p := range e.info.Params {
			names = append(names, p.Name)
			if p.Required {
				required = append(required, p.Name)
			}
		}
		errs = append(errs, params.Only(names...))
		if err := params.Require(required...); err != nil {
			// Without its required parameters the factory has nothing to build from.
			return nil, errors.Join(append(errs, err)...)
		}
	}
	c, err := e.factory(env, params)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	if c.Name() != spec.Name {
		return nil, fmt.Errorf("factory returned check %q", c.Name())
	}
	if k := c.Kind(); k != event.KindCheck && k != event.KindMeasure || e.described && k != e.info.Kind {
		return nil, fmt.Errorf("factory returned kind %q", k)
	}
	return c, nil
}

// split returns the errors joined in err, or err alone.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var all []error
		for _, e := range j.Unwrap() {
			all = append(all, split(e)...)
		}
		return all
	}
	return []error{err}
}

// Checks returns the names of the checks s runs, in order.
func (s *Scorer) Checks() []string {
	names := make([]string, len(s.checks))
	for i, c := range s.checks {
		names[i] = c.Name()
	}
	return names
}

// inputs recycles the per-event analyses between calls of Score.
var inputs = sync.Pool{New: func() any { return new(Input) }}

// Score runs every check on ev and appends the scores of those that apply to dst, in the order of
// Options.Checks (name order by default), and returns the extended slice. Pass dst[:0] to reuse a
// buffer. A nil ev yields no scores. Score does not retain ev or dst, and allocates only for the
// reasons of failing checks.
func (s *Scorer) Score(ev *event.Event, dst []event.Score) []event.Score {
	if ev == nil {
		return dst
	}
	in := inputs.Get().(*Input)
	in.reset(ev)
	for _, c := range s.checks {
		if sc, ok := c.Score(in); ok {
			dst = append(dst, sc)
		}
	}
	in.release()
	inputs.Put(in)
	return dst
}
