package event

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigilhq/vigil/pkg/schematest"
)

// schemasDir holds the JSON Schemas that state the contract for other languages.
const schemasDir = "../../schemas"

// loadSchemaDoc reads a schema file of schemas/ as generic JSON (numbers as json.Number).
func loadSchemaDoc(tb testing.TB, name string) map[string]any {
	tb.Helper()
	return schematest.Load(tb, filepath.Join(schemasDir, name))
}

// compileSchema compiles a schema file of schemas/ with format assertions on.
func compileSchema(tb testing.TB, name string) *jsonschema.Schema {
	tb.Helper()
	return schematest.Compile(tb, filepath.Join(schemasDir, name))
}

func TestEventSchemaAgreesWithExamples(t *testing.T) {
	sch := compileSchema(t, "event.v1.schema.json")
	for _, path := range exampleFiles(t, "valid/*.json") {
		t.Run("valid/"+filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			if _, err := (Decoder{}).Decode(data); err != nil {
				t.Errorf("Decode(%s) = %v, want nil error", path, err)
			}
			parsed, err := schematest.Validate(t, sch, data)
			if !parsed {
				t.Fatalf("%s is not valid JSON", path)
			}
			if err != nil {
				t.Errorf("schema rejects %s, which the decoder accepts: %v", path, err)
			}
		})
	}
	for _, path := range exampleFiles(t, "invalid/*.json") {
		t.Run("invalid/"+filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			field := expectedField(t, path)
			if _, err := (Decoder{}).Decode(data); err == nil {
				t.Errorf("Decode(%s) = nil error, want an error naming %q", path, field)
			}
			parsed, err := schematest.Validate(t, sch, data)
			if !parsed {
				return // not JSON at all: only the decoder can judge it, and it did above
			}
			if err == nil {
				t.Fatalf("schema accepts %s, which the decoder rejects (field %s)", path, field)
			}
			if field != "(event)" && !schematest.Names(err, field) {
				t.Errorf("schema rejects %s without naming %s:\n%v", path, field, err)
			}
		})
	}
}

// TestEventSchemaAgreesWithDecoder covers edges the example files do not: both must accept, or
// both must reject.
func TestEventSchemaAgreesWithDecoder(t *testing.T) {
	sch := compileSchema(t, "event.v1.schema.json")
	tests := []struct {
		name   string
		in     string
		accept bool
	}{
		{"valid", validJSON, true},
		{"optional fields null", withField(`"feature":null,"environment":null,"messages":null,"context":null,"latency_ms":null,"ttft_ms":null,"input_tokens":null,"output_tokens":null,"cost_usd":null,"status":null,"error":null,"attributes":null`), true},
		{"status empty", withField(`"status":""`), true},
		{"environment empty", withField(`"environment":""`), true},
		{"message content absent", withField(`"messages":[{"role":"user"}]`), true},
		{"message content null", withField(`"messages":[{"role":"user","content":null}]`), true},
		{"passage text absent", withField(`"context":[{"id":"a"}]`), true},
		{"attribute value null", withField(`"attributes":{"k":null}`), true},
		{"empty collections", withField(`"messages":[],"context":[],"attributes":{}`), true},
		{"timestamp with offset and fraction", strings.Replace(validJSON, "09:15:02Z", "09:15:02.123456+05:30", 1), true},
		{"timestamp negative offset", strings.Replace(validJSON, "09:15:02Z", "09:15:02-08:00", 1), true},
		{"timestamp leap day", strings.Replace(validJSON, "2026-11-26", "2024-02-29", 1), true},
		{"label of 128 characters", withField(`"feature":"` + strings.Repeat("f", 128) + `"`), true},
		{"id of 128 characters", strings.Replace(validJSON, `"evt-1"`, `"`+strings.Repeat("e", 128)+`"`, 1), true},
		{"app of 64 characters", strings.Replace(validJSON, `"helpdesk"`, `"`+strings.Repeat("a", 64)+`"`, 1), true},
		{"largest token count", withField(`"input_tokens":9223372036854775807`), true},
		{"64 attributes", withField(`"attributes":{` + attributes(64, 1000) + `}`), true},
		{"attribute value of 4096 characters", withField(`"attributes":{` + attributes(1, 4096) + `}`), true},

		{"empty object", `{}`, false},
		{"array", `[]`, false},
		{"null", `null`, false},
		{"string", `"event"`, false},
		{"output absent", `{"event_id":"e","timestamp":"2026-11-26T09:15:02Z","app":"a","model":"m"}`, false},
		{"output null", strings.Replace(validJSON, `"ok"`, `null`, 1), false},
		{"event_id null", strings.Replace(validJSON, `"evt-1"`, `null`, 1), false},
		{"model empty", strings.Replace(validJSON, `"gpt-4o-mini"`, `""`, 1), false},
		{"field name in another case", withField(`"Feature":"x"`), false},
		{"status upper case", withField(`"status":"OK"`), false},
		{"message null", withField(`"messages":[null]`), false},
		{"message role empty", withField(`"messages":[{"role":""}]`), false},
		{"passage id absent", withField(`"context":[{"text":"t"}]`), false},
		{"timestamp lower-case t", strings.Replace(validJSON, "T09", "t09", 1), false},
		{"timestamp without zone", strings.Replace(validJSON, "09:15:02Z", "09:15:02", 1), false},
		{"timestamp february 30", strings.Replace(validJSON, "2026-11-26", "2026-02-30", 1), false},
		{"timestamp february 29 in a common year", strings.Replace(validJSON, "2026-11-26", "2026-02-29", 1), false},
		{"timestamp hour 24", strings.Replace(validJSON, "T09", "T24", 1), false},
		{"timestamp leap second", strings.Replace(validJSON, "09:15:02Z", "23:59:60Z", 1), false},
		{"timestamp 1999", strings.Replace(validJSON, "2026", "1999", 1), false},
		{"timestamp year 0001", strings.Replace(validJSON, "2026-11-26T09:15:02Z", "0001-01-01T00:00:00Z", 1), false},
		{"timestamp empty fraction", strings.Replace(validJSON, "09:15:02Z", "09:15:02.Z", 1), false},
		{"label of 129 characters", withField(`"feature":"` + strings.Repeat("f", 129) + `"`), false},
		{"id of 129 characters", strings.Replace(validJSON, `"evt-1"`, `"`+strings.Repeat("e", 129)+`"`, 1), false},
		{"app of 65 characters", strings.Replace(validJSON, `"helpdesk"`, `"`+strings.Repeat("a", 65)+`"`, 1), false},
		{"app with trailing newline", strings.Replace(validJSON, `"helpdesk"`, `"helpdesk\n"`, 1), false},
		{"token count overflow", withField(`"input_tokens":9223372036854775808`), false},
		{"negative zero cost is fine, negative cost is not", withField(`"cost_usd":-0.0001`), false},
		{"65 attributes", withField(`"attributes":{` + attributes(65, 1) + `}`), false},
		{"attribute value of 4097 characters", withField(`"attributes":{` + attributes(1, 4097) + `}`), false},
		{"attribute key empty", withField(`"attributes":{"":"v"}`), false},
		{"attribute key of 129 characters", withField(`"attributes":{"` + strings.Repeat("k", 129) + `":"v"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, goErr := Decoder{}.Decode([]byte(tt.in))
			parsed, schErr := schematest.Validate(t, sch, []byte(tt.in))
			if !parsed {
				t.Fatalf("test input %q is not valid JSON", tt.in)
			}
			if (goErr == nil) != tt.accept {
				t.Errorf("Decode(%.300q) = %.300v, want accept=%v", tt.in, goErr, tt.accept)
			}
			if (schErr == nil) != tt.accept {
				t.Errorf("schema on %.300q = %.300v, want accept=%v", tt.in, schErr, tt.accept)
			}
		})
	}
}

// attributes returns n members "kNN":"vvv..." with values of size bytes.
func attributes(n, size int) string {
	members := make([]string, n)
	for i := range members {
		members[i] = fmt.Sprintf(`"k%02d":"%s"`, i, strings.Repeat("v", size))
	}
	return strings.Join(members, ",")
}

// TestEventSchemaKnownDifferences pins the rules a JSON Schema cannot express, or that JSON
// Schema and Go read differently. The schema's description lists them; if a case starts to agree,
// update the description and move the case to TestEventSchemaAgreesWithDecoder.
func TestEventSchemaKnownDifferences(t *testing.T) {
	sch := compileSchema(t, "event.v1.schema.json")
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name         string
		in           string
		goAccepts    bool
		schemaAccept bool
	}{
		// The decoder compares with its clock.
		{"timestamp 48h ahead", strings.Replace(validJSON, "2026-11-26T09:15:02Z", future, 1), false, true},
		// The schema checks the year as written; the decoder checks the instant.
		{"2000-01-01 local, 1999 in UTC", strings.Replace(validJSON, "2026-11-26T09:15:02Z", "2000-01-01T00:30:00+01:00", 1), false, true},
		// Go limits count UTF-8 bytes; JSON Schema's maxLength counts characters.
		{"label of 43 three-byte characters", withField(`"feature":"` + strings.Repeat("日", 43) + `"`), false, true},
		// JSON Schema's integer is mathematical: 12.0 and 1e2 are integers to it, not to Go's int64.
		{"token count 12.0", withField(`"input_tokens":12.0`), false, true},
		{"token count 1e2", withField(`"input_tokens":1e2`), false, true},
		// float64 cannot hold it.
		{"latency 1e400", withField(`"latency_ms":1e400`), false, true},
		// JSON text may escape any character; the decoder reads timestamps unescaped.
		{"escaped digit in timestamp", strings.Replace(validJSON, "2026-11-26", `\u0032026-11-26`, 1), false, true},
		// Go's time parser takes an offset of 24 hours; RFC 3339 stops at 23:59.
		{"offset +24:00", strings.Replace(validJSON, "09:15:02Z", "09:15:02+24:00", 1), true, false},
		// Duplicate keys: the decoder rejects them, a schema validator keeps the last value.
		{"output twice", withField(`"output":"again"`), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, goErr := Decoder{}.Decode([]byte(tt.in))
			_, schErr := schematest.Validate(t, sch, []byte(tt.in))
			if (goErr == nil) != tt.goAccepts {
				t.Errorf("Decode(%q) = %v, want accept=%v", tt.in, goErr, tt.goAccepts)
			}
			if (schErr == nil) != tt.schemaAccept {
				t.Errorf("schema on %q = %v, want accept=%v", tt.in, schErr, tt.schemaAccept)
			}
		})
	}
}

func TestScoredAndAlertSchemas(t *testing.T) {
	scored := compileSchema(t, "scored.v1.schema.json")
	alert := compileSchema(t, "alert.v1.schema.json")
	for _, path := range exampleFiles(t, "scored*.json") {
		data := readFile(t, path)
		if _, err := DecodeScored(data); err != nil {
			t.Errorf("DecodeScored(%s) = %v, want nil error", path, err)
		}
		if _, err := schematest.Validate(t, scored, data); err != nil {
			t.Errorf("scored schema rejects %s: %v", path, err)
		}
	}
	for _, path := range exampleFiles(t, "alert*.json") {
		data := readFile(t, path)
		if _, err := DecodeAlert(data); err != nil {
			t.Errorf("DecodeAlert(%s) = %v, want nil error", path, err)
		}
		if _, err := schematest.Validate(t, alert, data); err != nil {
			t.Errorf("alert schema rejects %s: %v", path, err)
		}
	}

	// What vigil writes must satisfy the schemas its subscribers read.
	for _, v := range []any{fullScored(), &Scored{EventID: "e", Timestamp: time.Now(), Series: validEvent().Series(), Source: "checks"}} {
		data, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", v, err)
		}
		if _, err := schematest.Validate(t, scored, data); err != nil {
			t.Errorf("scored schema rejects Marshal output %s: %v", data, err)
		}
	}
	pending := fullAlert()
	pending.State, pending.Previous, pending.EndsAt, pending.Evidence.ExampleEventIDs = StatePending, "", nil, nil
	for _, a := range []*Alert{fullAlert(), pending} {
		data, err := Marshal(a)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", a, err)
		}
		if _, err := schematest.Validate(t, alert, data); err != nil {
			t.Errorf("alert schema rejects Marshal output %s: %v", data, err)
		}
	}

	// Both sides reject these.
	rejects := []struct {
		schema *jsonschema.Schema
		decode func([]byte) error
		in     string
	}{
		{scored, decodeScoredErr, `{}`},
		{scored, decodeScoredErr, strings.Replace(scoredJSON, `"check"`, `"gauge"`, 1)},
		{scored, decodeScoredErr, strings.Replace(scoredJSON, `"refusal"`, `""`, 1)},
		{scored, decodeScoredErr, strings.Replace(scoredJSON, `"source"`, `"Source"`, 1)},
		{scored, decodeScoredErr, strings.Replace(scoredJSON, `"pass":true`, `"pass":true,"weight":1`, 1)},
		{scored, decodeScoredErr, strings.Replace(scoredJSON, `"bot"`, `"b.ot"`, 1)},
		{alert, decodeAlertErr, `{}`},
		{alert, decodeAlertErr, strings.Replace(alertJSON, "c6eadffa33fcdf37", "C6EADFFA33FCDF37", 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, "c6eadffa33fcdf37", "c6eadffa33fcdf3", 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, `"state":"firing"`, `"state":"recovering"`, 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, `"warning"`, `"info"`, 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, `{"app":"bot"}`, `{"metric":"refusal"}`, 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, `"n":10}`, `"n":10,"mean":4.1}`, 1)},
		{alert, decodeAlertErr, strings.Replace(alertJSON, `"at":`, `"ends_at":"soon","at":`, 1)},
	}
	for _, tt := range rejects {
		if err := tt.decode([]byte(tt.in)); err == nil {
			t.Errorf("decode(%q) = nil error, want an error", tt.in)
		}
		if _, err := schematest.Validate(t, tt.schema, []byte(tt.in)); err == nil {
			t.Errorf("schema accepts %q, want it rejected", tt.in)
		}
	}
}

func decodeScoredErr(b []byte) error { _, err := DecodeScored(b); return err }
func decodeAlertErr(b []byte) error  { _, err := DecodeAlert(b); return err }

// jsonFields returns the JSON names of t's fields, and those Marshal always writes (no omitempty).
func jsonFields(t reflect.Type) (all, always []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func stringList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestSchemasMatchGoTypes keeps the schemas and the structs in step: the same properties, no
// others allowed, and the required fields as stated.
func TestSchemasMatchGoTypes(t *testing.T) {
	tests := []struct {
		file string
		// def is "" for the root, else a name under $defs.
		def  string
		typ  reflect.Type
		want []string // required properties; nil means the fields Marshal always writes
	}{
		{"event.v1.schema.json", "", reflect.TypeFor[Event](), nil},
		{"event.v1.schema.json", "message", reflect.TypeFor[Message](), []string{"role"}},
		{"event.v1.schema.json", "passage", reflect.TypeFor[Passage](), []string{"id"}},
		{"scored.v1.schema.json", "", reflect.TypeFor[Scored](), nil},
		{"scored.v1.schema.json", "series", reflect.TypeFor[Series](), nil},
		{"scored.v1.schema.json", "score", reflect.TypeFor[Score](), nil},
		{"alert.v1.schema.json", "", reflect.TypeFor[Alert](), nil},
		{"alert.v1.schema.json", "evidence", reflect.TypeFor[Evidence](), nil},
		{"alert.v1.schema.json", "sample", reflect.TypeFor[Sample](), nil},
	}
	for _, tt := range tests {
		t.Run(tt.file+"#"+tt.def, func(t *testing.T) {
			obj := loadSchemaDoc(t, tt.file)
			if tt.def != "" {
				defs, _ := obj["$defs"].(map[string]any)
				obj, _ = defs[tt.def].(map[string]any)
				if obj == nil {
					t.Fatalf("%s has no $defs/%s", tt.file, tt.def)
				}
			}
			props, _ := obj["properties"].(map[string]any)
			all, always := jsonFields(tt.typ)
			if got := sortedKeys(props); !slices.Equal(got, all) {
				t.Errorf("properties = %q, want the JSON fields of %v: %q", got, tt.typ, all)
			}
			if obj["additionalProperties"] != false {
				t.Errorf("additionalProperties = %v, want false (the decoder rejects unknown fields)", obj["additionalProperties"])
			}
			want := tt.want
			if want == nil {
				want = always
			}
			slices.Sort(want)
			if got := stringList(obj["required"]); !slices.Equal(got, want) {
				t.Errorf("required = %q, want %q", got, want)
			}
			for name, p := range props {
				if d, _ := p.(map[string]any)["description"].(string); d == "" {
					t.Errorf("property %s has no description", name)
				}
			}
		})
	}
}

// TestEventSchemaLimits checks that the schema states validate.go's limits and enums.
func TestEventSchemaLimits(t *testing.T) {
	doc := loadSchemaDoc(t, "event.v1.schema.json")
	get := func(path ...string) any {
		var v any = doc
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("schema has no %s", strings.Join(path, "/"))
			}
			v = m[p]
		}
		return v
	}
	num := func(path ...string) int {
		s := fmt.Sprint(get(path...))
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("schema %s = %q, want an integer", strings.Join(path, "/"), s)
		}
		return n
	}
	limits := []struct {
		path []string
		want int
	}{
		{[]string{"$defs", "label", "maxLength"}, maxLabelLen},
		{[]string{"properties", "model", "maxLength"}, maxLabelLen},
		{[]string{"properties", "attributes", "maxProperties"}, maxAttributes},
		{[]string{"properties", "attributes", "propertyNames", "maxLength"}, maxAttrKeyLen},
		{[]string{"properties", "attributes", "additionalProperties", "maxLength"}, maxAttrValueLen},
	}
	for _, l := range limits {
		if got := num(l.path...); got != l.want {
			t.Errorf("schema %s = %d, want %d", strings.Join(l.path, "/"), got, l.want)
		}
	}
	patterns := []struct {
		path []string
		want string
	}{
		{[]string{"properties", "event_id", "pattern"}, fmt.Sprintf("{1,%d}$", maxIDLen)},
		{[]string{"properties", "app", "pattern"}, "{1,64}$"},
		{[]string{"properties", "environment", "pattern"}, "{0,64}$"},
	}
	for _, p := range patterns {
		got, _ := get(p.path...).(string)
		if !strings.HasSuffix(got, p.want) {
			t.Errorf("schema %s = %q, want it to end in %q", strings.Join(p.path, "/"), got, p.want)
		}
		if _, err := regexp.Compile(got); err != nil {
			t.Errorf("schema %s = %q: %v", strings.Join(p.path, "/"), got, err)
		}
	}
	// Every byte isIDByte accepts is in the event_id pattern, and no other.
	idPattern := regexp.MustCompile(get("properties", "event_id", "pattern").(string))
	for c := range 256 {
		s := string([]byte{byte(c)})
		if got := idPattern.MatchString(s); got != isIDByte(byte(c)) {
			t.Errorf("event_id pattern matches %q = %v, isIDByte = %v", s, got, isIDByte(byte(c)))
		}
	}
	status := get("properties", "status", "enum")
	for _, s := range []string{StatusOK, StatusError} {
		if !slices.Contains(status.([]any), any(s)) {
			t.Errorf("schema status enum %v lacks %q", status, s)
		}
	}
}
