package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Params are the parameters of one check, as decoded from JSON: values are float64, string, bool,
// []any or map[string]any (Go callers may also use int, int64, []string and json.Number). The
// getters return the default when a parameter is absent and a *[ParamError] naming the parameter
// when its value has the wrong type. A nil Params has no parameters.
type Params map[string]any

// ParamError reports a bad parameter.
type ParamError struct {
	// Param is the parameter's name, with an index for an element of a list: `phrases[2]`.
	Param string
	// Problem says what is wrong, e.g. `want a number, got string "high"`.
	Problem string
}

// Error returns `parameter "name": problem`.
func (e *ParamError) Error() string { return fmt.Sprintf("parameter %s: %s", e.Param, e.Problem) }

// paramErr returns a *ParamError for the parameter called name.
func paramErr(name, format string, args ...any) error {
	return &ParamError{Param: fmt.Sprintf("%q", name), Problem: fmt.Sprintf(format, args...)}
}

// Has reports whether the parameter called name is set.
func (p Params) Has(name string) bool {
	_, ok := p[name]
	return ok
}

// Only returns an error for every parameter whose name is not among names, listing the names a
// check accepts.
func (p Params) Only(names ...string) error {
	var unknown []string
	for name := range p {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	accepted := "none"
	if len(names) > 0 {
		accepted = strings.Join(names, ", ")
	}
	errs := make([]error, 0, len(unknown))
	for _, name := range unknown {
		errs = append(errs, paramErr(name, "unknown parameter (accepted: %s)", accepted))
	}
	return errors.Join(errs...)
}

// Require returns an error for every one of names that is not set.
func (p Params) Require(names ...string) error {
	var errs []error
	for _, name := range names {
		if !p.Has(name) {
			errs = append(errs, paramErr(name, "required"))
		}
	}
	return errors.Join(errs...)
}

// Float returns the number called name, or def when it is absent. Integers are accepted; NaN and
// infinities are not.
func (p Params) Float(name string, def float64) (float64, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return def, paramErr(name, "want a number, got %s", describe(v))
		}
	default:
		return def, paramErr(name, "want a number, got %s", describe(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return def, paramErr(name, "want a finite number, got %v", f)
	}
	return f, nil
}

// Int returns the integer called name, or def when it is absent. A JSON number must have no
// fractional part.
func (p Params) Int(name string, def int) (int, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		if x >= math.MinInt && x <= math.MaxInt {
			return int(x), nil
		}
	case json.Number:
		if n, err := x.Int64(); err == nil && n >= math.MinInt && n <= math.MaxInt {
			return int(n), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int(x), nil
		}
	default:
		return def, paramErr(name, "want an integer, got %s", describe(v))
	}
	return def, paramErr(name, "want an integer, got %s", describe(v))
}

// String returns the string called name, or def when it is absent.
func (p Params) String(name string, def string) (string, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, paramErr(name, "want a string, got %s", describe(v))
	}
	return s, nil
}

// Strings returns the list of strings called name, or def when it is absent. The result is a
// fresh slice.
func (p Params) Strings(name string, def []string) ([]string, error) {
	v, ok := p[name]
	if !ok {
		return slices.Clone(def), nil
	}
	switch x := v.(type) {
	case []string:
		return slices.Clone(x), nil
	case []any:
		out := make([]string, len(x))
		var errs []error
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				errs = append(errs, &ParamError{Param: fmt.Sprintf("%q[%d]", name, i), Problem: "want a string, got " + describe(e)})
				continue
			}
			out[i] = s
		}
		if len(errs) > 0 {
			return slices.Clone(def), errors.Join(errs...)
		}
		return out, nil
	}
	return slices.Clone(def), paramErr(name, "want a list of strings, got %s", describe(v))
}

// Bool returns the boolean called name, or def when it is absent.
func (p Params) Bool(name string, def bool) (bool, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return def, paramErr(name, "want true or false, got %s", describe(v))
	}
	return b, nil
}

// Duration returns the duration called name, or def when it is absent. It is written as a Go
// duration string such as "1.5s" or "250ms"; a Go caller may pass a time.Duration.
func (p Params) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return def, paramErr(name, "want a duration such as \"1.5s\", got %s", describe(v))
		}
		return d, nil
	}
	return def, paramErr(name, "want a duration such as \"1.5s\", got %s", describe(v))
}

// describe names the JSON type and value of v for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", clip(x, 40))
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case float64, float32, int, int64, json.Number:
		return fmt.Sprintf("number %v", x)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Range checks shared by the factories; each returns nil or a *ParamError.

func atLeast[T int | float64](name string, v, lo T) error {
	if v < lo {
		return paramErr(name, "want at least %v, got %v", lo, v)
	}
	return nil
}

func between[T int | float64](name string, v, lo, hi T) error {
	if v < lo || v > hi {
		return paramErr(name, "want %v to %v, got %v", lo, hi, v)
	}
	return nil
}

// countBounds reads the min and max parameters of a count measure (length, words, sentences):
// min defaults to 1, max to defaultMax, both at least 0, and max (0: no limit) not below min.
func countBounds(p Params, defaultMax int) (lo, hi int, err error) {
	lo, err1 := p.Int("min", 1)
	hi, err2 := p.Int("max", defaultMax)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	if err := errors.Join(atLeast("min", lo, 0), atLeast("max", hi, 0)); err != nil {
		return 0, 0, err
	}
	if hi > 0 && hi < lo {
		return 0, 0, paramErr("max", "want at least min (%d), got %d", lo, hi)
	}
	return lo, hi, nil
}
