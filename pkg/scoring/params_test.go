package scoring

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// decoded returns params as JSON decoding produces them.
func decoded(tb testing.TB, s string) Params {
	tb.Helper()
	var p Params
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestParamsGetters(t *testing.T) {
	p := decoded(t, `{"f": 0.25, "i": 12, "big": 1e20, "frac": 1.5, "s": "x", "l": ["a", "b"], "b": true, "d": "1.5s", "n": null, "o": {}}`)
	p["go_int"], p["go_strings"], p["go_duration"] = 7, []string{"c"}, 2*time.Second

	if v, err := p.Float("f", 1); v != 0.25 || err != nil {
		t.Errorf("Float(f) = %v, %v, want 0.25", v, err)
	}
	if v, err := p.Float("i", 1); v != 12 || err != nil {
		t.Errorf("Float(i) = %v, %v, want 12", v, err)
	}
	if v, err := p.Float("go_int", 1); v != 7 || err != nil {
		t.Errorf("Float(go_int) = %v, %v, want 7", v, err)
	}
	if v, err := p.Float("absent", 0.5); v != 0.5 || err != nil {
		t.Errorf("Float(absent) = %v, %v, want the default", v, err)
	}
	if v, err := p.Int("i", 1); v != 12 || err != nil {
		t.Errorf("Int(i) = %v, %v, want 12", v, err)
	}
	if v, err := p.Int("go_int", 1); v != 7 || err != nil {
		t.Errorf("Int(go_int) = %v, %v, want 7", v, err)
	}
	if v, err := p.String("s", ""); v != "x" || err != nil {
		t.Errorf("String(s) = %v, %v, want x", v, err)
	}
	if v, err := p.Strings("l", nil); !cmp.Equal(v, []string{"a", "b"}) || err != nil {
		t.Errorf("Strings(l) = %v, %v, want [a b]", v, err)
	}
	if v, err := p.Strings("go_strings", nil); !cmp.Equal(v, []string{"c"}) || err != nil {
		t.Errorf("Strings(go_strings) = %v, %v, want [c]", v, err)
	}
	def := []string{"d"}
	if v, err := p.Strings("absent", def); !cmp.Equal(v, def) || err != nil || &v[0] == &def[0] {
		t.Errorf("Strings(absent) = %v, %v, want a copy of the default", v, err)
	}
	if v, err := p.Bool("b", false); !v || err != nil {
		t.Errorf("Bool(b) = %v, %v, want true", v, err)
	}
	if v, err := p.Duration("d", 0); v != 1500*time.Millisecond || err != nil {
		t.Errorf("Duration(d) = %v, %v, want 1.5s", v, err)
	}
	if v, err := p.Duration("go_duration", 0); v != 2*time.Second || err != nil {
		t.Errorf("Duration(go_duration) = %v, %v, want 2s", v, err)
	}
	if !p.Has("n") || p.Has("absent") {
		t.Errorf("Has: want n set and absent unset")
	}
	var none Params
	if v, err := none.Int("x", 3); v != 3 || err != nil || none.Has("x") {
		t.Errorf("nil Params Int(x) = %v, %v, want the default", v, err)
	}
}

func TestParamsErrors(t *testing.T) {
	p := decoded(t, `{"f": 0.25, "i": 12, "big": 1e20, "frac": 1.5, "s": "x", "l": ["a", 2, true], "b": true, "d": "soon", "n": null, "o": {}}`)
	tests := []struct {
		get  func() error
		want string
	}{
		{func() error { _, err := p.Float("s", 0); return err }, `parameter "s": want a number, got string "x"`},
		{func() error { _, err := p.Float("n", 0); return err }, `parameter "n": want a number, got null`},
		{func() error { _, err := p.Int("frac", 0); return err }, `parameter "frac": want an integer, got number 1.5`},
		{func() error { _, err := p.Int("big", 0); return err }, `parameter "big": want an integer, got number 1e+20`},
		{func() error { _, err := p.Int("b", 0); return err }, `parameter "b": want an integer, got boolean true`},
		{func() error { _, err := p.String("i", ""); return err }, `parameter "i": want a string, got number 12`},
		{func() error { _, err := p.Strings("s", nil); return err }, `parameter "s": want a list of strings, got string "x"`},
		{func() error { _, err := p.Strings("l", nil); return err }, "parameter \"l\"[1]: want a string, got number 2\nparameter \"l\"[2]: want a string, got boolean true"},
		{func() error { _, err := p.Bool("o", false); return err }, `parameter "o": want true or false, got an object`},
		{func() error { _, err := p.Duration("d", 0); return err }, `parameter "d": want a duration such as "1.5s", got string "soon"`},
		{func() error { _, err := p.Duration("f", 0); return err }, `parameter "f": want a duration such as "1.5s", got number 0.25`},
		{func() error { return p.Only("f", "i") }, `parameter "b": unknown parameter (accepted: f, i)`},
		{func() error { return Params{"x": 1}.Only() }, `parameter "x": unknown parameter (accepted: none)`},
		{func() error { return p.Require("f", "pattern", "words") }, "parameter \"pattern\": required\nparameter \"words\": required"},
	}
	for i, tt := range tests {
		err := tt.get()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("case %d: error = %v, want %q", i, err, tt.want)
		}
		var perr *ParamError
		if !errors.As(err, &perr) || perr.Param == "" {
			t.Errorf("case %d: error %v holds no *ParamError", i, err)
		}
	}
	if err := p.Only("f", "i", "big", "frac", "s", "l", "b", "d", "n", "o"); err != nil {
		t.Errorf("Only(all) = %v, want nil", err)
	}
	if _, err := (Params{"nan": json.Number("NaN")}).Float("nan", 0); err == nil {
		t.Errorf("Float(NaN) = nil error, want one")
	}
}

func TestStopwords(t *testing.T) {
	for _, w := range []string{"the", "The", "und", "les", "の", "это"} {
		if !isStopword(foldKey(w)) {
			t.Errorf("isStopword(%q) = false, want true", w)
		}
	}
	for _, w := range []string{"refund", "Berlin", "東京"} {
		if isStopword(foldKey(w)) {
			t.Errorf("isStopword(%q) = true, want false", w)
		}
	}
}
