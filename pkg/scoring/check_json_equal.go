package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "json_equal", Kind: event.KindCheck,
		Description: "Is the output the same JSON value as the expected answer, key order and formatting aside?",
		Applies:     "expected is a JSON object or array; status is not error",
		Fails:       "the output is not JSON or differs from the expected value",
	}, func(Env, Params) (Check, error) { return jsonEqual{}, nil })
}

// jsonEqual is the "json_equal" check: is the output the expected JSON value?
//
// Inputs: Output, Expected. Applies when Expected, surrounding white space aside, is a valid JSON
// object or array and the status is not "error".
// Output: value 1 and pass when the output parses to the same value: objects compared by key
// whatever their order, arrays element by element, numbers by value (1 = 1.0 = 1e0), strings and
// literals exactly. Otherwise value 0, fail, label "not_json" (the output does not parse;
// json_valid says where) or "different", with the JSON pointer of the first difference in key
// order and what differs there.
// Parameters: none.
type jsonEqual struct{}

var _ Check = jsonEqual{}

func (jsonEqual) Name() string     { return "json_equal" }
func (jsonEqual) Kind() event.Kind { return event.KindCheck }

func (c jsonEqual) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasReference(ev) {
		return event.Score{}, false
	}
	exp := strings.TrimSpace(ev.Expected)
	if exp == "" || exp[0] != '{' && exp[0] != '[' {
		return event.Score{}, false
	}
	want, err := decodeJSON(exp)
	if err != nil {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	got, err := decodeJSON(ev.Output)
	if err != nil {
		sc.Label = "not_json"
		sc.Reason = "Output is not valid JSON, so it cannot equal the expected value; see json_valid for the parse error."
		return sc, true
	}
	if path, diff := jsonDiff(got, want, ""); diff != "" {
		if path == "" {
			path = "the top level"
		}
		sc.Label = "different"
		sc.Reason = clip(fmt.Sprintf("Output differs from the expected JSON at %s: %s.", path, diff), 200)
		return sc, true
	}
	sc.Value, sc.Pass = 1, true
	return sc, true
}

// decodeJSON parses one JSON value, numbers kept as json.Number.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// jsonDiff returns the JSON pointer of the first difference between got and want (keys in sorted
// order) and what differs there, or "", "" when they are equal.
func jsonDiff(got, want any, path string) (string, string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, fmt.Sprintf("got %s, want an object", jsonKind(got))
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				return p, "missing"
			case !wok:
				return p, "unexpected"
			}
			if dp, d := jsonDiff(gv, wv, p); d != "" {
				return dp, d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return path, fmt.Sprintf("got %s, want an array", jsonKind(got))
		}
		for i := range min(len(g), len(w)) {
			if dp, d := jsonDiff(g[i], w[i], path+"/"+strconv.Itoa(i)); d != "" {
				return dp, d
			}
		}
		if len(g) != len(w) {
			return path, fmt.Sprintf("got %d elements, want %d", len(g), len(w))
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return path, fmt.Sprintf("got %s, want a number", jsonKind(got))
		}
		if !sameNumber(g, w) {
			return path, fmt.Sprintf("got %s, want %s", clip(g.String(), 30), clip(w.String(), 30))
		}
	default:
		if got != want {
			return path, fmt.Sprintf("got %s, want %s", jsonScalar(got), jsonScalar(want))
		}
	}
	return "", ""
}

func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	fa, errA := a.Float64()
	fb, errB := b.Float64()
	return errA == nil && errB == nil && fa == fb
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "null"
}

func jsonScalar(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(clip(x, 30))
	case bool:
		return strconv.FormatBool(x)
	}
	return jsonKind(v)
}
