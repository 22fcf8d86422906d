package scoring

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func structured(output string) *event.Event {
	return with(out(output), func(e *event.Event) { e.OutputSchema = "ticket_triage" })
}

func jsonFormat(output string) *event.Event {
	return with(out(output), func(e *event.Event) { e.Attributes = map[string]string{"output_format": "JSON"} })
}

func TestJSONValid(t *testing.T) {
	runCases(t, "json_valid", event.KindCheck, nil, []checkCase{
		{"object with schema", structured(`{"category":"billing","priority":2,"summary":"Doppelte Abbuchung"}`), pass(1)},
		{"array with output_format", jsonFormat(" [\"東京\", \"大阪\"]\n"), pass(1)},
		{"code fence", structured("```json\n{\"category\": \"bug\"}\n```"), fail(0, "code_fence")},
		{"trailing comma", structured(`{"category": "bug",}`), fail(0, "syntax_error")},
		{"prose before json", jsonFormat(`Here is the JSON you asked for: {"ok": true}`), fail(0, "syntax_error")},
		{"text after json", jsonFormat(`{"ok": true} Let me know if you need anything else!`), fail(0, "syntax_error")},
		{"truncated object", jsonFormat(`{"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-`), fail(0, "syntax_error")},
		{"empty", structured(""), fail(0, "empty")},
		{"plain text event", out(`{"looks": "like json"}`), skip},
		{"other output_format", with(out("hola"), func(e *event.Event) { e.Attributes = map[string]string{"output_format": "text"} }), skip},
		{"error event", failed(structured("")), skip},
	})
}

func TestJSONValidReasonPosition(t *testing.T) {
	s, err := New(Options{Checks: []Spec{{Name: "json_valid"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		output string
		want   string // substring of the reason
	}{
		{`{"category": "bug",}`, "line 1, column 20"},
		// Columns count runes: the Cyrillic key is 18 bytes but 9 runes.
		{"{\n  \"город\": \"Москва\",\n  \"население\": 13 000 000\n}", "line 3, column 19"},
		{`{"items": [1, 2`, "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		got := s.Score(jsonFormat(tt.output), nil)
		if len(got) != 1 || !strings.Contains(got[0].Reason, tt.want) {
			t.Errorf("Score(%q) = %v, want reason containing %q", tt.output, got, tt.want)
		}
	}
}

func TestJSONSchema(t *testing.T) {
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		t.Fatal(err)
	}
	runCases(t, "json_schema", event.KindCheck, contracts, []checkCase{
		{"valid", structured(`{"category":"billing","priority":2,"summary":"Customer was charged twice"}`), pass(1)},
		{"valid german with tags", structured(`{"category":"bug","priority":1,"summary":"App stürzt beim Login ab","tags":["ios","login"],"due":"2025-03-14"}`), pass(1)},
		{"missing property", structured(`{"category":"bug","summary":"Crash on login"}`), fail(0, "schema_violation")},
		{"wrong type", structured(`{"category":"bug","priority":"high","summary":"Crash"}`), fail(0, "schema_violation")},
		{"bad enum", structured(`{"category":"urgent","priority":1,"summary":"Crash"}`), fail(0, "schema_violation")},
		{"bad format", structured(`{"category":"bug","priority":1,"summary":"Crash","due":"next Tuesday"}`), fail(0, "schema_violation")},
		{"extra property", structured(`{"category":"bug","priority":1,"summary":"Crash","confidence":0.9}`), fail(0, "schema_violation")},
		{"code fence", structured("```json\n{\"category\":\"bug\"}\n```"), fail(0, "invalid_json")},
		{"unknown contract", with(out(`{"total": 12.5}`), func(e *event.Event) { e.OutputSchema = "invoice_v2" }), fail(0, "unknown_contract")},
		{"no contract named", jsonFormat(`{"category":"bug"}`), skip},
		{"error event", failed(structured("")), skip},
	})
}

func TestJSONSchemaReason(t *testing.T) {
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Contracts: contracts, Checks: []Spec{{Name: "json_schema"}}})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("very_long_contract_name_", 12)
	tests := []struct {
		ev   *event.Event
		want string
	}{
		{structured(`{"category":"bug","summary":"Crash"}`), `Output violates contract "ticket_triage" at the top level: missing property 'priority'.`},
		{structured(`{"category":"bug","priority":"high","summary":"Crash"}`), `Output violates contract "ticket_triage" at /priority: got string, want integer.`},
		// Several failures: the first by location is reported, every time.
		{structured(`{"tags":["a",3],"summary":"x","priority":9,"category":"bug"}`), `Output violates contract "ticket_triage" at /priority: maximum: got 9, want 4.`},
		{structured(`{"category":"bug","priority":1,"summary":"x","tags":["a","b","c","d","e","f","g","h","i","j",11]}`), `Output violates contract "ticket_triage" at /tags/10: got number, want string.`},
		{structured(`{"category":"bug","priority":1,"summary":"x","zeta":1,"alpha":2}`), `Output violates contract "ticket_triage" at the top level: additional properties 'alpha', 'zeta' not allowed.`},
		{with(out("{}"), func(e *event.Event) { e.OutputSchema = "invoice_v2" }), `No contract named "invoice_v2" is registered; add invoice_v2.json to the contracts directory so outputs can be validated.`},
	}
	for _, tt := range tests {
		for range 20 {
			got := s.Score(tt.ev, nil)
			if len(got) != 1 || got[0].Reason != tt.want {
				t.Fatalf("Score(%q) = %v, want reason %q", tt.ev.Output, got, tt.want)
			}
		}
	}
	got := s.Score(with(out("{}"), func(e *event.Event) { e.OutputSchema = long }), nil)
	if len(got) != 1 {
		t.Fatalf("Score(%q) = %v, want one score", "{}", got)
	}
	checkReason(t, got[0])
}
