// Package schematest holds what tests need to hold a decoder to its JSON Schema in schemas/:
// loading and compiling a schema strictly, validating one JSON value, and telling whether a
// validation error names a field. It imports nothing of vigil, so any package's tests can use it.
package schematest

import (
	"bytes"
	stdjson "encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Load reads the schema file at path as generic JSON (numbers as json.Number).
func Load(tb testing.TB, path string) map[string]any {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		tb.Fatalf("%s is not a JSON object", path)
	}
	return m
}

// Compile compiles the schema file at path with format assertions on, as a strict validator
// would.
func Compile(tb testing.TB, path string) *jsonschema.Schema {
	tb.Helper()
	doc := Load(tb, path)
	id, _ := doc["$id"].(string)
	if id == "" {
		tb.Fatalf("%s has no $id", path)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		tb.Fatalf("add %s: %v", path, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		tb.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

// Validate validates data against sch; parsed is false when data is not one JSON value, which
// a schema cannot judge.
func Validate(tb testing.TB, sch *jsonschema.Schema, data []byte) (parsed bool, err error) {
	tb.Helper()
	if !stdjson.Valid(data) {
		return false, nil
	}
	inst, perr := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if perr != nil {
		tb.Fatalf("jsonschema.UnmarshalJSON of valid JSON: %v", perr)
	}
	return true, sch.Validate(inst)
}

// Names reports whether a schema validation error points at field, a path in the decoders' form
// ("messages[1].name"): at its location, by its name (a missing or extra property), or, for an
// array item, by its index under the array (uniqueItems).
func Names(err error, field string) bool {
	msg := err.Error()
	pointer := "/" + strings.NewReplacer("[", "/", "].", "/", "]", "", ".", "/").Replace(field)
	cut := strings.LastIndexByte(pointer, '/')
	parent, leaf := pointer[:cut], pointer[cut+1:]
	if strings.Contains(msg, "'"+pointer+"'") || strings.Contains(msg, "'"+leaf+"'") {
		return true
	}
	return strings.HasSuffix(field, "]") && strings.Contains(msg, "'"+parent+"'") && strings.Contains(msg, " "+leaf+" ")
}
