package eval

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/schematest"
)

const schemaFile = "../../schemas/dataset.v1.schema.json"

func schemaDoc(tb testing.TB) map[string]any {
	tb.Helper()
	return schematest.Load(tb, schemaFile)
}

func lines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		out = append(out, bytes.TrimRight(l, "\r"))
	}
	return out
}

// crossLine lists the invalid examples whose problem spans lines, which a schema of one line
// cannot see.
var crossLine = map[string]bool{"duplicate_id.jsonl": true}

func TestSchemaAgreesWithExamples(t *testing.T) {
	sch := schematest.Compile(t, schemaFile)
	for _, path := range exampleFiles(t, "valid/*.jsonl") {
		t.Run("valid/"+filepath.Base(path), func(t *testing.T) {
			for i, line := range lines(readFile(t, path)) {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				parsed, err := schematest.Validate(t, sch, line)
				if !parsed || err != nil {
					t.Errorf("schema rejects line %d of %s, which ReadCases accepts: %v", i+1, path, err)
				}
			}
		})
	}
	for _, path := range exampleFiles(t, "invalid/*.jsonl") {
		t.Run("invalid/"+filepath.Base(path), func(t *testing.T) {
			lineNo, field := expectation(t, path)
			all := lines(readFile(t, path))
			for i, line := range all {
				if i+1 == lineNo || len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				if parsed, err := schematest.Validate(t, sch, line); parsed && err != nil {
					t.Errorf("schema rejects line %d of %s; only line %d is wrong: %v", i+1, path, lineNo, err)
				}
			}
			parsed, err := schematest.Validate(t, sch, all[lineNo-1])
			switch {
			case crossLine[filepath.Base(path)]:
				if err != nil {
					t.Errorf("schema rejects line %d of %s, a problem it cannot see: %v", lineNo, path, err)
				}
			case !parsed:
				if field != "(case)" {
					t.Errorf("line %d of %s is not JSON, but the expected field is %s", lineNo, path, field)
				}
			case err == nil:
				t.Errorf("schema accepts line %d of %s, which ReadCases rejects (field %s)", lineNo, path, field)
			case field != "(case)" && !schematest.Names(err, field):
				t.Errorf("schema rejects line %d of %s without naming %s:\n%v", lineNo, path, field, err)
			}
		})
	}
}

// TestSchemaAgreesWithDecoder covers edges the example files do not: both accept or both reject.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	sch := schematest.Compile(t, schemaFile)
	base := `{"id":"a","input":"x"`
	with := func(fields string) string { return base + "," + fields + "}" }
	tests := []struct {
		name   string
		in     string
		accept bool
	}{
		{"minimal", base + "}", true},
		{"every field", with(`"messages":[{"role":"user","content":"c"}],"expected":"e","context":[{"id":"p","text":"t"}],"output_schema":"s","tags":["a","b:c","d/e"],"system_instructions":"s"`), true},
		{"messages without input", `{"id":"a","messages":[{"role":"user"}]}`, true},
		{"input null with messages", `{"id":"a","input":null,"messages":[{"role":"user"}]}`, true},
		{"optional nulls", with(`"expected":null,"context":null,"tags":null,"output_schema":null,"system_instructions":null,"messages":null`), true},
		{"empty arrays besides input", with(`"context":[],"tags":[],"messages":[]`), true},
		{"message content null", `{"id":"a","messages":[{"role":"user","content":null}]}`, true},
		{"passage text absent", with(`"context":[{"id":"p"}]`), true},
		{"id of 128 characters", `{"id":"` + strings.Repeat("i", 128) + `","input":"x"}`, true},
		{"tag of 64 characters", with(`"tags":["` + strings.Repeat("t", 64) + `"]`), true},
		{"32 tags", with(`"tags":["t0"` + tagList(32) + `]`), true},
		{"output_schema of 128 characters", with(`"output_schema":"` + strings.Repeat("s", 128) + `"`), true},

		{"empty object", `{}`, false},
		{"id only", `{"id":"a"}`, false},
		{"input empty", `{"id":"a","input":""}`, false},
		{"input null", `{"id":"a","input":null}`, false},
		{"messages empty", `{"id":"a","messages":[]}`, false},
		{"id null", `{"id":null,"input":"x"}`, false},
		{"id empty", `{"id":"","input":"x"}`, false},
		{"id of 129 characters", `{"id":"` + strings.Repeat("i", 129) + `","input":"x"}`, false},
		{"id with slash", `{"id":"a/b","input":"x"}`, false},
		{"id with trailing newline", `{"id":"a\n","input":"x"}`, false},
		{"input number", `{"id":"a","input":1}`, false},
		{"message null", `{"id":"a","messages":[null]}`, false},
		{"message role empty", `{"id":"a","messages":[{"role":""}]}`, false},
		{"message unknown field", `{"id":"a","messages":[{"role":"user","name":"n"}]}`, false},
		{"passage id absent", with(`"context":[{"text":"t"}]`), false},
		{"passage id empty", with(`"context":[{"id":""}]`), false},
		{"tags object", with(`"tags":{"a":1}`), false},
		{"tag empty", with(`"tags":[""]`), false},
		{"tag null", with(`"tags":[null]`), false},
		{"tag of 65 characters", with(`"tags":["` + strings.Repeat("t", 65) + `"]`), false},
		{"tag with space", with(`"tags":["a b"]`), false},
		{"tag repeated", with(`"tags":["a","a"]`), false},
		{"33 tags", with(`"tags":["t0"` + tagList(33) + `]`), false},
		{"output_schema of 129 characters", with(`"output_schema":"` + strings.Repeat("s", 129) + `"`), false},
		{"unknown field", with(`"weight":2`), false},
		{"field name in another case", with(`"Tags":["a"]`), false},
		{"expected object", with(`"expected":{"answer":1}`), false},
		{"array", `[]`, false},
		{"string", `"case"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, goErr := DecodeCase([]byte(tt.in))
			parsed, schErr := schematest.Validate(t, sch, []byte(tt.in))
			if !parsed {
				t.Fatalf("test input %q is not JSON", tt.in)
			}
			if (goErr == nil) != tt.accept {
				t.Errorf("DecodeCase(%.200q) = %v, want accept=%v", tt.in, goErr, tt.accept)
			}
			if (schErr == nil) != tt.accept {
				t.Errorf("schema on %.200q = %v, want accept=%v", tt.in, schErr, tt.accept)
			}
		})
	}
}

// TestSchemaKnownDifferences pins what one JSON Schema of a line cannot say; the schema's
// description lists them.
func TestSchemaKnownDifferences(t *testing.T) {
	sch := schematest.Compile(t, schemaFile)
	tests := []struct {
		name         string
		in           string
		goAccepts    bool
		schemaAccept bool
	}{
		// maxLength counts characters; the reader counts UTF-8 bytes.
		{"output_schema of 43 three-byte characters", `{"id":"a","input":"x","output_schema":"` + strings.Repeat("日", 43) + `"}`, false, true},
		// A validator keeps the last of two equal keys.
		{"key twice", `{"id":"a","input":"x","input":"y"}`, false, true},
	}
	for _, tt := range tests {
		_, goErr := DecodeCase([]byte(tt.in))
		_, schErr := schematest.Validate(t, sch, []byte(tt.in))
		if (goErr == nil) != tt.goAccepts {
			t.Errorf("%s: DecodeCase = %v, want accept=%v", tt.name, goErr, tt.goAccepts)
		}
		if (schErr == nil) != tt.schemaAccept {
			t.Errorf("%s: schema = %v, want accept=%v", tt.name, schErr, tt.schemaAccept)
		}
	}
}

// TestSchemaMatchesCase keeps the schema and the Go types in step: the same properties, no others
// allowed, the required ones as stated, each described, and the limits of dataset.go.
func TestSchemaMatchesCase(t *testing.T) {
	doc := schemaDoc(t)
	defs, _ := doc["$defs"].(map[string]any)
	tests := []struct {
		obj      map[string]any
		typ      reflect.Type
		required []string
	}{
		{doc, reflect.TypeFor[Case](), []string{"id"}},
		{defs["message"].(map[string]any), reflect.TypeFor[event.Message](), []string{"role"}},
		{defs["passage"].(map[string]any), reflect.TypeFor[event.Passage](), []string{"id"}},
	}
	for _, tt := range tests {
		props, _ := tt.obj["properties"].(map[string]any)
		var names []string
		for name, p := range props {
			names = append(names, name)
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%v: property %s has no description", tt.typ, name)
			}
		}
		slices.Sort(names)
		var fields []string
		for i := range tt.typ.NumField() {
			name, _, _ := strings.Cut(tt.typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		slices.Sort(fields)
		if !slices.Equal(names, fields) {
			t.Errorf("%v: schema properties %q, want the JSON fields %q", tt.typ, names, fields)
		}
		if tt.obj["additionalProperties"] != false {
			t.Errorf("%v: additionalProperties = %v, want false", tt.typ, tt.obj["additionalProperties"])
		}
		var req []string
		for _, r := range tt.obj["required"].([]any) {
			req = append(req, r.(string))
		}
		if !slices.Equal(req, tt.required) {
			t.Errorf("%v: required = %q, want %q", tt.typ, req, tt.required)
		}
	}
	props := doc["properties"].(map[string]any)
	tags := props["tags"].(map[string]any)
	for _, l := range []struct {
		got  any
		want int
	}{
		{tags["maxItems"], maxTags},
		{props["output_schema"].(map[string]any)["maxLength"], maxLabelLen},
	} {
		if fmt.Sprint(l.got) != fmt.Sprint(l.want) {
			t.Errorf("schema limit = %v, want %d", l.got, l.want)
		}
	}
	if p := props["id"].(map[string]any)["pattern"].(string); !strings.HasSuffix(p, fmt.Sprintf("{1,%d}$", maxIDLen)) {
		t.Errorf("id pattern %q does not end in {1,%d}$", p, maxIDLen)
	}
	if p := tags["items"].(map[string]any)["pattern"].(string); !strings.HasSuffix(p, fmt.Sprintf("{1,%d}$", maxTagLen)) {
		t.Errorf("tag pattern %q does not end in {1,%d}$", p, maxTagLen)
	}
}
