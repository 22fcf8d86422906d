package rules

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

const (
	schemaFile  = "../../schemas/rules.v1.schema.json"
	exampleFile = "../../schemas/examples/rules.json"
)

func mustCompile(tb testing.TB, doc string) *Set {
	tb.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	s, err := Compile(d, nil)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return s
}

func ev(app, feature, stage, model string) *event.Event {
	return &event.Event{EventID: "e1", Timestamp: time.Now(), App: app, Feature: feature, Stage: stage, Model: model,
		Output: "Your order shipped yesterday and arrives on Friday."}
}

func TestForPicksFirstMatchingRule(t *testing.T) {
	set := mustCompile(t, `{"version": "v7", "rules": [
		{"name": "support-gpt", "match": {"app": "shop", "feature": "support-*", "model": "gpt-*"}, "checks": [{"check": "non_empty"}]},
		{"name": "support", "match": {"app": "shop", "feature": "support-*"}, "checks": [{"check": "refusal"}, {"check": "length_chars", "params": {"max": 2000}}]},
		{"name": "extract", "match": {"stage": "extract"}, "checks": [{"check": "json_valid"}]},
		{"name": "unlabelled", "match": {"app": "shop", "feature": "default"}, "checks": [{"check": "word_count"}]},
		{"name": "shop-all", "match": {"app": "shop"}, "checks": [{"check": "length_chars", "threshold": 10}], "defaults": true}
	]}`)
	defaults := len(scoring.Defaults())
	tests := []struct {
		name      string
		ev        *event.Event
		rule      string
		version   string
		checks    []string // nil: do not compare
		numChecks int
	}{
		{"most specific first", ev("shop", "support-chat", "", "gpt-4o"), "support-gpt", "v7", []string{"non_empty"}, 1},
		{"next rule when the model differs", ev("shop", "support-chat", "", "claude"), "support", "v7", []string{"refusal", "length_chars"}, 2},
		{"stage only", ev("bank", "x", "extract", "m"), "extract", "v7", []string{"json_valid"}, 1},
		{"missing feature is default", ev("shop", "", "", "m"), "unlabelled", "v7", []string{"word_count"}, 1},
		{"own check replaces the default one", ev("shop", "search", "", "m"), "shop-all", "v7", nil, defaults},
		{"no rule: default set", ev("bank", "support-chat", "", "gpt-4o"), "", scoring.RulesVersion, nil, defaults},
		{"glob does not match a prefix", ev("shopping", "support-chat", "", "gpt-4o"), "", scoring.RulesVersion, nil, defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, version := set.For(tt.ev)
			if got := set.Rule(tt.ev); got != tt.rule {
				t.Errorf("Rule = %q, want %q", got, tt.rule)
			}
			if version != tt.version {
				t.Errorf("For version = %q, want %q", version, tt.version)
			}
			got := sc.Checks()
			if tt.checks != nil {
				if diff := cmp.Diff(tt.checks, got); diff != "" {
					t.Errorf("checks (-want +got):\n%s", diff)
				}
			}
			if len(got) != tt.numChecks {
				t.Errorf("%d checks, want %d: %v", len(got), tt.numChecks, got)
			}
		})
	}
}

func TestDefaultsUnderOwnChecks(t *testing.T) {
	set := mustCompile(t, `{"version": "v1", "rules": [{"name": "r", "match": {"app": "shop"},
		"checks": [{"check": "contains_any", "params": {"phrases": ["order"]}}, {"check": "length_chars", "params": {"max": 10}}], "defaults": true}]}`)
	sc, _ := set.For(ev("shop", "", "", "m"))
	checks := sc.Checks()
	if checks[0] != "contains_any" || checks[1] != "length_chars" {
		t.Errorf("own checks not first: %v", checks)
	}
	var want []string
	for _, s := range scoring.Defaults() {
		if s.Name != "length_chars" {
			want = append(want, s.Name)
		}
	}
	if diff := cmp.Diff(want, checks[2:]); diff != "" {
		t.Errorf("default checks after own ones (-want +got):\n%s", diff)
	}
	// The rule's own length_chars (max 10) replaced the default (max 8000).
	for _, s := range sc.Score(ev("shop", "", "", "m"), nil) {
		if s.Metric == "length_chars" && s.Pass {
			t.Errorf("length_chars passed a 50-character output with max 10: %+v", s)
		}
	}
}

func TestDefaultSet(t *testing.T) {
	set, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, version := set.For(ev("shop", "f", "", "m"))
	if version != scoring.RulesVersion || set.Version() != scoring.RulesVersion {
		t.Errorf("default version = %q, %q, want %q", version, set.Version(), scoring.RulesVersion)
	}
	if got := len(sc.Checks()); got != len(scoring.Defaults()) {
		t.Errorf("default set runs %d checks, want %d", got, len(scoring.Defaults()))
	}
}

func TestParseIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown top-level field": `{"version": "v1", "rules": [], "owner": "me"}`,
		"unknown rule field":      `{"version": "v1", "rules": [{"name": "r", "match": {}, "checks": [], "enabled": true}]}`,
		"unknown match label":     `{"version": "v1", "rules": [{"name": "r", "match": {"tenant": "a"}}]}`,
		"unknown check field":     `{"version": "v1", "rules": [{"name": "r", "match": {}, "checks": [{"check": "refusal", "max": 3}]}]}`,
		"trailing data":           `{"version": "v1", "rules": []} {}`,
		"not JSON":                `version: v1`,
		"wrong type":              `{"version": 1, "rules": []}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse(%q) = nil error", name, doc)
		}
	}
	if _, err := Parse([]byte(`{"version": "v1", "rules": [{"name": "r", "match": {}, "checks": [{"check": "length_chars", "params": {"max": 5}}]}]}`)); err != nil {
		t.Errorf("Parse of a valid document: %v", err)
	}
}

func TestValidateNamesRuleAndField(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"missing version", `{"rules": []}`, `version: required`},
		{"bad version", `{"version": "v 1", "rules": []}`, `version: "v 1": want`},
		{"reserved version", `{"version": "builtin-3", "rules": []}`, `version: "builtin-3": versions starting with "builtin" are reserved`},
		{"missing name", `{"version": "v1", "rules": [{"match": {}, "defaults": true}]}`, `rules[0] "": name: required`},
		{"duplicate name", `{"version": "v1", "rules": [{"name": "a", "match": {}, "defaults": true}, {"name": "a", "match": {}, "defaults": true}]}`, `rules[1] "a": name: also the name of rules[0]`},
		{"bad pattern", `{"version": "v1", "rules": [{"name": "a", "match": {"feature": "support-["}, "defaults": true}]}`, `rules[0] "a": match.feature: "support-[" is not a valid pattern`},
		{"no checks", `{"version": "v1", "rules": [{"name": "a", "match": {}}]}`, `rules[0] "a": checks: empty and defaults is false`},
		{"missing check name", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{}]}]}`, `rules[0] "a": checks[0].check: required`},
		{"unknown check", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "refusl"}]}]}`, `rules[0] "a": checks[0].check: unknown check "refusl"`},
		{"check twice", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "refusal"}, {"check": "refusal"}]}]}`, `rules[0] "a": checks[1].check: "refusal" is also checks[0]`},
		{"ill-typed param", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "length_chars", "params": {"max": "long"}}]}]}`, `rules[0] "a": checks[0].params.max: want`},
		{"unknown param", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "length_chars", "params": {"maximum": 5}}]}]}`, `rules[0] "a": checks[0].params.maximum: unknown parameter`},
		{"missing required param", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "contains_any"}]}]}`, `rules[0] "a": checks[0].params.phrases: required`},
		{"threshold on a check without one", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "refusal", "threshold": 1}]}]}`, `rules[0] "a": checks[0].threshold: has no threshold`},
		{"threshold and its parameter", `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"check": "length_chars", "threshold": 5, "params": {"max": 4}}]}]}`, `rules[0] "a": checks[0].threshold: threshold and parameter "max" both set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = doc.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("Validate() = %T, want *rules.Error inside", err)
			}
			if _, cerr := Compile(doc, nil); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Compile error %v differs from Validate error %v", cerr, err)
			}
		})
	}
}

func TestValidateListsEveryError(t *testing.T) {
	doc, err := Parse([]byte(`{"version": "", "rules": [
		{"name": "ok", "match": {"app": "shop"}, "defaults": true},
		{"name": "bad one", "match": {"model": "["}, "checks": [
			{"check": "length_chars", "params": {"min": "x"}},
			{"check": "nope"},
			{"check": "contains_any", "params": {"phrases": "order"}}
		]},
		{"name": "ok", "match": {}, "checks": [{"check": "refusal", "threshold": 0.5}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = doc.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	lines := strings.Split(err.Error(), "\n")
	wants := []string{
		`version: required`,
		`rules[1] "bad one": name: want`,
		`rules[1] "bad one": match.model: "[" is not a valid pattern`,
		`rules[1] "bad one": checks[0].params.min: `,
		`rules[1] "bad one": checks[1].check: unknown check "nope"`,
		`rules[1] "bad one": checks[2].params.phrases: `,
		`rules[2] "ok": name: also the name of rules[0]`,
		`rules[2] "ok": checks[0].threshold: `,
	}
	for _, want := range wants {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("no error line starts with %q in:\n%s", want, err)
		}
	}
	if len(lines) != len(wants) {
		t.Errorf("%d error lines, want %d:\n%s", len(lines), len(wants), err)
	}
}

func TestExampleMatchesSchemaAndCompiles(t *testing.T) {
	schemaData, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaData))
	if err != nil {
		t.Fatalf("parse %s: %v", schemaFile, err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://github.com/vigilhq/vigil/schemas/rules.v1.schema.json"
	if err := c.AddResource(id, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s does not match the schema: %v", exampleFile, err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", exampleFile, err)
	}
	if _, err := Compile(doc, nil); err != nil {
		t.Errorf("Compile(%s): %v", exampleFile, err)
	}
	// What the schema rejects, Parse or Validate rejects too.
	for name, bad := range map[string]string{
		"unknown field":     `{"version": "v1", "rules": [], "x": 1}`,
		"reserved version":  `{"version": "builtin-9", "rules": []}`,
		"no checks":         `{"version": "v1", "rules": [{"name": "a", "match": {}}]}`,
		"bad name":          `{"version": "v1", "rules": [{"name": "a b", "match": {}, "defaults": true}]}`,
		"unknown check key": `{"version": "v1", "rules": [{"name": "a", "match": {}, "checks": [{"name": "refusal"}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("%s: schema accepts %s", name, bad)
		}
		if d, err := Parse([]byte(bad)); err == nil && d.Validate() == nil {
			t.Errorf("%s: Parse and Validate accept %s", name, bad)
		}
	}
}
