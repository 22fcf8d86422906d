package scoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

// ticketContract is the output contract of a support-ticket triage prompt.
const ticketContract = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["category", "priority", "summary"],
  "properties": {
    "category": {"enum": ["billing", "bug", "feature", "other"]},
    "priority": {"type": "integer", "minimum": 1, "maximum": 4},
    "summary": {"type": "string", "minLength": 1, "maxLength": 200},
    "tags": {"type": "array", "items": {"type": "string"}},
    "due": {"type": "string", "format": "date"}
  },
  "additionalProperties": false
}`

func TestContractsAdd(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		wantErr string // substring; empty means success
	}{
		{"ticket_triage", ticketContract, ""},
		{"bool_schema", `true`, ""},
		{"draft7", `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}`, ""},
		{"broken_json", `{"type": "object",}`, `parse contract "broken_json"`},
		{"bad_keyword", `{"type": 5}`, `compile contract "bad_keyword"`},
		{"remote_ref", `{"$ref": "customer.json"}`, `compile contract "remote_ref"`},
		{"", `{}`, "empty name"},
	}
	for _, tt := range tests {
		c := NewContracts()
		err := c.Add(tt.name, []byte(tt.schema))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Add(%q, %q) = %v, want nil", tt.name, tt.schema, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Add(%q, %q) = %v, want error containing %q", tt.name, tt.schema, err, tt.wantErr)
		}
		if _, ok := c.lookup(tt.name); ok != (tt.wantErr == "") {
			t.Errorf("after Add(%q), lookup = %v, want %v", tt.name, ok, tt.wantErr == "")
		}
	}
}

func TestContractsAddReplaces(t *testing.T) {
	c := NewContracts()
	s, err := New(Options{Contracts: c, Checks: []Spec{{Name: "json_schema"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := with(out(`{"answer": 42}`), func(e *event.Event) { e.OutputSchema = "answer" })
	steps := []struct {
		schema string // empty: no Add
		want   string // label
	}{
		{"", "unknown_contract"},
		{`{"properties": {"answer": {"type": "string"}}}`, "schema_violation"},
		{`{"properties": {"answer": {"type": "integer"}}}`, ""},
	}
	for _, st := range steps {
		if st.schema != "" {
			if err := c.Add("answer", []byte(st.schema)); err != nil {
				t.Fatal(err)
			}
		}
		got := s.Score(ev, nil)
		if len(got) != 1 || got[0].Label != st.want {
			t.Errorf("after Add(%q), Score(%q) = %v, want label %q", st.schema, ev.Output, got, st.want)
		}
	}
}

func TestContractsLoadDir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ticket_triage.json", ticketContract)
	write(t, dir, "sentiment.v2.json", `{"type": "object", "required": ["label"]}`)
	write(t, dir, "README.md", "not a contract")
	if err := os.Mkdir(filepath.Join(dir, "drafts.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := NewContracts()
	if err := c.LoadDir(dir); err != nil {
		t.Fatalf("LoadDir(%q) = %v, want nil", dir, err)
	}
	for name, want := range map[string]bool{"ticket_triage": true, "sentiment.v2": true, "README": false, "drafts": false} {
		if _, ok := c.lookup(name); ok != want {
			t.Errorf("after LoadDir, lookup(%q) = %v, want %v", name, ok, want)
		}
	}
}

func TestContractsLoadDirErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "good.json", `{"type": "object"}`)
	write(t, dir, "bad.json", `{"type": "object"`)
	write(t, dir, "worse.json", `{"minLength": "ten"}`)
	c := NewContracts()
	err := c.LoadDir(dir)
	if err == nil {
		t.Fatalf("LoadDir(%q) = nil, want error", dir)
	}
	for _, want := range []string{`"bad"`, `"worse"`, filepath.Join(dir, "bad.json")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadDir(%q) = %v, want error containing %q", dir, err, want)
		}
	}
	if _, ok := c.lookup("good"); ok {
		t.Errorf("LoadDir(%q) failed but added contract %q", dir, "good")
	}
	if err := c.LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("LoadDir(missing dir) = nil, want error")
	}
}

func TestContractsNilLookup(t *testing.T) {
	var c *Contracts
	if _, ok := c.lookup("x"); ok {
		t.Errorf("nil Contracts lookup(%q) = true, want false", "x")
	}
}

func write(tb testing.TB, dir, name, content string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
