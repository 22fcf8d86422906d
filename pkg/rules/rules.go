// Package rules decides which checks run on which events: a versioned rules document maps events
// (by app, feature, stage and model) to checks with their parameters and thresholds.
//
// The document is JSON (schemas/rules.v1.schema.json). [Parse] decodes it strictly, [Document.Validate]
// reports every error at once, each naming the rule and the field, and [Compile] builds one
// [scoring.Scorer] per rule. [Set.For] picks the scorer for an event: the first rule whose
// patterns all match wins; an event no rule matches gets the default set ([scoring.Defaults])
// under [scoring.RulesVersion], so its scores do not change identity when the document does.
//
// Everything but [Store] is pure: no I/O.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// MaxDocumentBytes bounds the size of a rules document.
const MaxDocumentBytes = 1 << 20

// MaxRules bounds the number of rules in a document; For tries them in order on every event.
const MaxRules = 1000

// Document is a rules document.
type Document struct {
	// Version names this revision of the rules; every score produced under a rule records it.
	// 1 to 64 characters from letters, digits and - _ . : , not starting with "builtin" (the
	// default set's versions).
	Version string `json:"version"`
	// Rules are tried in order; the first whose Match fits an event decides its checks.
	Rules []Rule `json:"rules"`
}

// Rule selects the checks for the events it matches.
type Rule struct {
	// Name identifies the rule in errors and listings; unique within the document.
	Name string `json:"name"`
	// Match holds the patterns an event must all fit.
	Match Match `json:"match"`
	// Checks run in this order, each with its own parameters.
	Checks []Check `json:"checks,omitempty"`
	// Defaults adds the default set after Checks; a check listed in Checks replaces its
	// default entry.
	Defaults bool `json:"defaults,omitempty"`
}

// Match holds path.Match patterns ("support-*", "gpt-4?") for an event's labels. An empty
// pattern matches anything. Feature and model are matched as the series reports them (a missing
// feature is "default"); stage as the event gives it.
type Match struct {
	App     string `json:"app,omitempty"`
	Feature string `json:"feature,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Model   string `json:"model,omitempty"`
}

// Check selects one check with its parameters, as [scoring.Spec] does.
type Check struct {
	// Check is the check's metric name, e.g. "length_chars".
	Check string `json:"check"`
	// Params are the check's parameters; absent ones take their defaults.
	Params scoring.Params `json:"params,omitempty"`
	// Threshold, when set, replaces the check's pass threshold (see scoring.Info.Threshold).
	Threshold *float64 `json:"threshold,omitempty"`
}

// Spec returns c as a scoring spec.
func (c Check) Spec() scoring.Spec {
	return scoring.Spec{Name: c.Check, Params: c.Params, Threshold: c.Threshold}
}

// Error is one problem in a document. Rule is -1 for a problem outside the rules.
type Error struct {
	Rule     int
	RuleName string
	// Field is the path of the field at fault within the rule (or document), e.g.
	// "checks[1].params.max"; empty for the rule as a whole.
	Field   string
	Problem string
}

// Error returns `rules[1] "support": checks[0].params.max: problem`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Rule >= 0 {
		fmt.Fprintf(&b, "rules[%d] %q", e.Rule, e.RuleName)
		if e.Field != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Field)
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Parse decodes a rules document strictly: unknown fields (outside params, which the checks
// validate) and data after the document are errors. It does not validate the content; see
// [Document.Validate].
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("rules document is %d bytes, over the limit of %d", len(data), MaxDocumentBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode rules document: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode rules document: data after the document")
	}
	return &doc, nil
}

var (
	versionRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// Validate reports every problem in d at once (errors.Join of *[Error]s), each naming the rule
// and the field: version and names, patterns, unknown or repeated checks, and every bad
// parameter or threshold as scoring.New reports it.
func (d *Document) Validate() error {
	_, err := compile(d, nil)
	return err
}

// Set is a compiled rules document. It is immutable and safe for concurrent use.
type Set struct {
	version  string
	rules    []compiled
	fallback *scoring.Scorer
}

type compiled struct {
	name   string
	match  Match
	scorer *scoring.Scorer
}

// Compile validates doc and builds a scorer per rule, with contracts for the json_schema check
// (nil: none). It reports every problem at once, as [Document.Validate] does.
func Compile(doc *Document, contracts *scoring.Contracts) (*Set, error) {
	return compile(doc, contracts)
}

// Default returns the set an app with no rules gets: the default set for every event.
func Default(contracts *scoring.Contracts) (*Set, error) {
	sc, err := scoring.New(scoring.Options{Contracts: contracts})
	if err != nil {
		return nil, err
	}
	return &Set{version: scoring.RulesVersion, fallback: sc}, nil
}

// Version returns the document's version, or scoring.RulesVersion for the [Default] set.
func (s *Set) Version() string { return s.version }

// For returns the scorer for ev and the rules version its scores record: the first matching
// rule's scorer and the document's version, else the default set and scoring.RulesVersion.
func (s *Set) For(ev *event.Event) (*scoring.Scorer, string) {
	name, sc := s.rule(ev)
	if name == "" {
		return sc, scoring.RulesVersion
	}
	return sc, s.version
}

// Rule returns the name of the rule that decides ev's checks, or "" when none matches.
func (s *Set) Rule(ev *event.Event) string {
	name, _ := s.rule(ev)
	return name
}

func (s *Set) rule(ev *event.Event) (string, *scoring.Scorer) {
	if len(s.rules) > 0 && ev != nil {
		series := ev.Series()
		for _, r := range s.rules {
			if fits(r.match.App, series.App) && fits(r.match.Feature, series.Feature) &&
				fits(r.match.Stage, ev.Stage) && fits(r.match.Model, series.Model) {
				return r.name, r.scorer
			}
		}
	}
	return "", s.fallback
}

// fits reports whether value matches pattern; patterns are validated at compile time.
func fits(pattern, value string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, value)
	return ok
}

func compile(d *Document, contracts *scoring.Contracts) (*Set, error) {
	if d == nil {
		return nil, errors.New("rules: nil document")
	}
	var errs []error
	top := func(field, format string, args ...any) {
		errs = append(errs, &Error{Rule: -1, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	switch {
	case d.Version == "":
		top("version", "required")
	case !versionRE.MatchString(d.Version):
		top("version", "%q: want 1 to 64 characters from letters, digits and - _ . :", d.Version)
	case strings.HasPrefix(d.Version, "builtin"):
		top("version", "%q: versions starting with \"builtin\" are reserved for the default set", d.Version)
	}
	if len(d.Rules) > MaxRules {
		top("rules", "%d rules, over the limit of %d", len(d.Rules), MaxRules)
	}
	fallback, err := scoring.New(scoring.Options{Contracts: contracts})
	if err != nil {
		return nil, err
	}
	set := &Set{version: d.Version, fallback: fallback, rules: make([]compiled, 0, len(d.Rules))}
	names := make(map[string]int, len(d.Rules))
	known := scoring.Names()
	for i, r := range d.Rules {
		bad := func(field, format string, args ...any) {
			errs = append(errs, &Error{Rule: i, RuleName: r.Name, Field: field, Problem: fmt.Sprintf(format, args...)})
		}
		n := len(errs)
		switch {
		case r.Name == "":
			bad("name", "required")
		case !nameRE.MatchString(r.Name):
			bad("name", "want 1 to 128 characters from letters, digits and - _ . :")
		default:
			if j, dup := names[r.Name]; dup {
				bad("name", "also the name of rules[%d]", j)
			} else {
				names[r.Name] = i
			}
		}
		for _, p := range []struct{ field, pattern string }{
			{"match.app", r.Match.App}, {"match.feature", r.Match.Feature}, {"match.stage", r.Match.Stage}, {"match.model", r.Match.Model},
		} {
			if _, err := path.Match(p.pattern, ""); err != nil {
				bad(p.field, "%q is not a valid pattern (path.Match syntax: * ? [a-z] \\)", p.pattern)
			}
		}
		if len(r.Checks) == 0 && !r.Defaults {
			bad("checks", "empty and defaults is false: the rule would run no check")
		}
		specs := make([]scoring.Spec, 0, len(r.Checks))
		first := make(map[string]int, len(r.Checks))
		for j, c := range r.Checks {
			field := fmt.Sprintf("checks[%d]", j)
			switch {
			case c.Check == "":
				bad(field+".check", "required")
				continue
			case !slices.Contains(known, c.Check):
				bad(field+".check", "unknown check %q (registered: %s)", c.Check, strings.Join(known, ", "))
				continue
			}
			if k, dup := first[c.Check]; dup {
				bad(field+".check", "%q is also checks[%d]", c.Check, k)
				continue
			}
			first[c.Check] = j
			// Build each check alone so that its errors can be told apart by index.
			if _, err := scoring.New(scoring.Options{Contracts: contracts, Checks: []scoring.Spec{c.Spec()}}); err != nil {
				for _, e := range leaves(err) {
					f, problem := checkField(c, e)
					bad(field+f, "%s", problem)
				}
				continue
			}
			specs = append(specs, c.Spec())
		}
		if len(errs) > n {
			continue
		}
		if r.Defaults {
			for _, s := range scoring.Defaults() {
				if _, own := first[s.Name]; !own {
					specs = append(specs, s)
				}
			}
		}
		sc, err := scoring.New(scoring.Options{Contracts: contracts, Checks: specs})
		if err != nil {
			bad("checks", "%v", err)
			continue
		}
		set.rules = append(set.rules, compiled{name: r.Name, match: r.Match, scorer: sc})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// leaves returns the errors joined in err, or err alone.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var all []error
		for _, e := range j.Unwrap() {
			all = append(all, leaves(e)...)
		}
		return all
	}
	if u := errors.Unwrap(err); u != nil {
		if _, ok := u.(interface{ Unwrap() []error }); ok {
			return leaves(u)
		}
	}
	return []error{err}
}

// checkField maps one error of scoring.New for check c to the field at fault (".params.max",
// ".threshold", "") and the problem.
func checkField(c Check, err error) (string, string) {
	var pe *scoring.ParamError
	if errors.As(err, &pe) {
		name := strings.ReplaceAll(pe.Param, `"`, "")
		if c.Threshold != nil && !c.Params.Has(name) && !strings.Contains(name, "[") {
			// The threshold was passed on as this parameter.
			return ".threshold", pe.Problem
		}
		return ".params." + name, pe.Problem
	}
	msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("check %q: ", c.Check))
	if strings.Contains(msg, "threshold") {
		return ".threshold", msg
	}
	return "", msg
}
