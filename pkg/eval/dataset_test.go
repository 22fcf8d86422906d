package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

// examplesDir holds the dataset example files the reader and the JSON Schema must agree on.
const examplesDir = "../../schemas/examples/datasets"

func exampleFiles(tb testing.TB, pattern string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, pattern))
	if err != nil || len(files) == 0 {
		tb.Fatalf("glob %s in %s: %v (found %d)", pattern, examplesDir, err, len(files))
	}
	return files
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read example: %v", err)
	}
	return b
}

// expectation reads "LINE FIELD" from the .expect file next to an invalid example.
func expectation(tb testing.TB, path string) (int, string) {
	tb.Helper()
	raw := strings.TrimSpace(string(readFile(tb, strings.TrimSuffix(path, ".jsonl")+".expect")))
	lineText, field, ok := strings.Cut(raw, " ")
	line, err := strconv.Atoi(lineText)
	if !ok || err != nil || field == "" {
		tb.Fatalf("%s.expect = %q, want \"LINE FIELD\"", strings.TrimSuffix(path, ".jsonl"), raw)
	}
	return line, field
}

// problemsOf returns the problems a *DatasetError lists, failing the test for any other error.
func problemsOf(tb testing.TB, err error) []*FieldError {
	tb.Helper()
	var derr *DatasetError
	if !errors.As(err, &derr) {
		tb.Fatalf("error %T %v, want a *DatasetError", err, err)
	}
	return derr.Problems
}

func TestReadCasesExamples(t *testing.T) {
	for _, path := range exampleFiles(t, "valid/*.jsonl") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases, err := ReadCases(strings.NewReader(string(readFile(t, path))))
			if err != nil {
				t.Fatalf("ReadCases(%s) = %v, want nil error", path, err)
			}
			if len(cases) == 0 {
				t.Errorf("ReadCases(%s) = no cases", path)
			}
		})
	}
	for _, path := range exampleFiles(t, "invalid/*.jsonl") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			line, field := expectation(t, path)
			_, err := ReadCases(strings.NewReader(string(readFile(t, path))))
			if err == nil {
				t.Fatalf("ReadCases(%s) = nil error, want line %d field %s", path, line, field)
			}
			p := problemsOf(t, err)
			if p[0].Line != line || p[0].Field != field {
				t.Errorf("ReadCases(%s) = %v, want the first problem at line %d, field %s", path, err, line, field)
			}
			if want := "line " + strconv.Itoa(line) + ": " + field + ": "; !strings.Contains(err.Error(), want) {
				t.Errorf("ReadCases(%s) error %q does not contain %q", path, err, want)
			}
		})
	}
}

func TestReadCasesReportsEveryProblem(t *testing.T) {
	file := strings.Join([]string{
		`{"id":"a","input":"fine"}`,
		`{"id":"b","input":"x","expected":42}`,
		``,
		`{"id":"c","messages":[{"role":"user","content":"hi"},{"content":"no role"}],"tags":["ok","ok"]}`,
		`{"id":"a","input":"again"}`,
		`{"input":"no id","Expected":"y"}`,
		`{"id":"d","input":"x","context":[{"id":"p","text":"t","rank":1}]}`,
	}, "\r\n")
	_, err := ReadCases(strings.NewReader(file))
	want := []*FieldError{
		{2, "expected", "wrong type: got JSON number, want string"},
		{4, "messages[1].role", "required"},
		{4, "tags[1]", `"ok" repeats tags[0]`},
		{5, "id", `"a" repeats the id of line 1`},
		{6, "Expected", "unknown field"},
		{7, "context[0].rank", "unknown field"},
	}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("ReadCases problems (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(err.Error(), "invalid dataset: line 2: expected: wrong type") {
		t.Errorf("error = %q", err)
	}
}

func TestReadCasesEdges(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		cases int
		line  int
		field string
	}{
		{"no trailing newline", `{"id":"a","input":"x"}`, 1, 0, ""},
		{"blank lines", "\n\n{\"id\":\"a\",\"input\":\"x\"}\n  \n{\"id\":\"b\",\"input\":\"y\"}\n\n", 2, 0, ""},
		{"empty file", "", 0, 0, "(dataset)"},
		{"only blank lines", "\n \n", 0, 0, "(dataset)"},
		{"two objects on a line", `{"id":"a","input":"x"} {"id":"b","input":"y"}`, 0, 1, "(case)"},
		{"key twice", `{"id":"a","input":"x","input":"y"}`, 0, 1, "input"},
		{"not UTF-8", "{\"id\":\"a\",\"input\":\"\xff\"}", 0, 1, "(case)"},
		{"null line", "null", 0, 1, "(case)"},
		{"id too long", `{"id":"` + strings.Repeat("i", 129) + `","input":"x"}`, 0, 1, "id"},
		{"output_schema too long", `{"id":"a","input":"x","output_schema":"` + strings.Repeat("s", 129) + `"}`, 0, 1, "output_schema"},
		{"33 tags", `{"id":"a","input":"x","tags":["t0"` + tagList(33) + `]}`, 0, 1, "tags"},
		{"line too long", `{"id":"a","input":"` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n" + `{"id":"b","input":"y"}`, 0, 1, "(case)"},
		{"null optional fields", `{"id":"a","input":"x","expected":null,"tags":null,"context":null}`, 1, 0, ""},
		{"messages only", `{"id":"a","messages":[{"role":"user","content":"x"}]}`, 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases, err := ReadCases(strings.NewReader(tt.in))
			if tt.field == "" {
				if err != nil || len(cases) != tt.cases {
					t.Fatalf("ReadCases(%.80q) = %d cases, %v; want %d cases", tt.in, len(cases), err, tt.cases)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadCases(%.80q) = nil error, want line %d field %s", tt.in, tt.line, tt.field)
			}
			p := problemsOf(t, err)
			if p[0].Line != tt.line || p[0].Field != tt.field {
				t.Errorf("ReadCases(%.80q) = %v, want line %d field %s", tt.in, err, tt.line, tt.field)
			}
		})
	}
}

func tagList(n int) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		b.WriteString(`,"t` + strconv.Itoa(i) + `"`)
	}
	return b.String()
}

func TestHashAndRoundTrip(t *testing.T) {
	cases := []Case{
		{ID: "a", Input: "x", Tags: []string{"json"}, OutputSchema: "order"},
		{ID: "b", Messages: []event.Message{{Role: "user", Content: "hi"}}, Context: []event.Passage{{ID: "p", Text: "t"}}},
	}
	h1, err := Hash(cases)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := WriteCases(&sb, cases); err != nil {
		t.Fatal(err)
	}
	again, err := ReadCases(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatalf("ReadCases(WriteCases(...)) = %v", err)
	}
	if diff := cmp.Diff(cases, again); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	h2, _ := Hash(again)
	if h1 != h2 || len(h1) != 64 {
		t.Errorf("Hash = %q then %q, want the same 64 hex digits", h1, h2)
	}
	swapped := []Case{cases[1], cases[0]}
	if h3, _ := Hash(swapped); h3 == h1 {
		t.Errorf("Hash ignores the order of cases")
	}
	msgs, _ := EncodeJSON(cases[1].Messages)
	ctx, _ := EncodeJSON(cases[1].Context)
	got, err := CaseFromColumns("b", "", msgs, "", ctx, "", nil, "")
	if err != nil || !cmp.Equal(got, cases[1]) {
		t.Errorf("CaseFromColumns = %+v, %v; want %+v", got, err, cases[1])
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		version uint32
		ok      bool
	}{
		{"faq", "faq", 0, true},
		{"faq@3", "faq", 3, true},
		{"faq@v3", "faq", 3, true},
		{"faq@latest", "faq", 0, true},
		{"shop.faq-v2_x@12", "shop.faq-v2_x", 12, true},
		{"faq@0", "", 0, false},
		{"faq@-1", "", 0, false},
		{"faq@x", "", 0, false},
		{"@3", "", 0, false},
		{"my faq", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		name, version, err := ParseRef(tt.in)
		if (err == nil) != tt.ok || name != tt.name || version != tt.version {
			t.Errorf("ParseRef(%q) = %q, %d, %v; want %q, %d, ok=%v", tt.in, name, version, err, tt.name, tt.version, tt.ok)
		}
	}
	if got := Ref("faq", 3); got != "faq@3" {
		t.Errorf("Ref = %q", got)
	}
}
