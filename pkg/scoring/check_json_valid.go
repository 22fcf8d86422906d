package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "json_valid", Kind: event.KindCheck,
		Description: "Does a structured output parse as JSON?",
		Applies:     "output_schema is set or attribute output_format is json; status is not error",
		Fails:       "the output is not one JSON value (a Markdown code fence included)",
	}, func(Env, Params) (Check, error) { return jsonValid{}, nil })
}

// jsonValid is the "json_valid" check: does a structured output parse as JSON?
//
// Inputs: Output, OutputSchema, Attributes["output_format"]. Applies when OutputSchema is set or
// output_format is "json" (any case), and the status is not "error".
// Output: value 1 and pass when the whole output is one JSON value (surrounding white space
// allowed). Otherwise value 0, fail, and label "empty" (no output), "code_fence" (JSON wrapped in
// a Markdown ``` fence) or "syntax_error"; the reason gives the line and column of the error.
// Parameters: none.
type jsonValid struct{}

var _ Check = jsonValid{}

func (jsonValid) Name() string     { return "json_valid" }
func (jsonValid) Kind() event.Kind { return event.KindCheck }

func (c jsonValid) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) || !wantsJSON(ev) {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	out := ev.Output
	switch {
	case json.Valid([]byte(out)):
		sc.Value, sc.Pass = 1, true
	case strings.TrimSpace(out) == "":
		sc.Label = "empty"
		sc.Reason = "Output is empty where JSON was expected; check the provider response."
	case strings.HasPrefix(strings.TrimSpace(out), "```"):
		sc.Label = "code_fence"
		sc.Reason = "Output wraps JSON in a Markdown code fence; request raw JSON (structured output mode) or strip fences before parsing."
	default:
		sc.Label = "syntax_error"
		sc.Reason = "Output is not valid JSON: " + jsonSyntaxError(out) + "; use the provider's structured output mode or fix the prompt's format instructions."
	}
	return sc, true
}

// jsonSyntaxError describes why s is not JSON and where, as "invalid character 'x' ... at line
// L, column C" with the column counted in runes.
func jsonSyntaxError(s string) string {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	var serr *json.SyntaxError
	if !errors.As(err, &serr) {
		if err == nil {
			return "unknown error"
		}
		return err.Error()
	}
	// Offset counts the bytes read, including the offending one.
	off := min(max(int(serr.Offset), 0), len(s))
	line := 1 + strings.Count(s[:off], "\n")
	col := utf8.RuneCountInString(s[strings.LastIndexByte(s[:off], '\n')+1 : off])
	return fmt.Sprintf("%s at line %d, column %d", serr.Error(), line, max(col, 1))
}
