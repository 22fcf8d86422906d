package scoring

import (
	"errors"
	"regexp"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "regex_match", Kind: event.KindCheck,
		Description: "Does the whole output match a configured regular expression?",
		Applies:     "configured; status is not error",
		Fails:       "the output (surrounding white space trimmed) is not a full match of pattern",
		Params: []ParamInfo{
			{Name: "pattern", Type: "string", Required: true, Doc: "RE2 regular expression the whole output must match, e.g. \"(?i)(yes|no)\"; (?s) lets . match newlines"},
			{Name: "trim", Type: "boolean", Default: true, Doc: "ignore white space around the output"},
		},
	}, newRegexMatch)
}

// regexMatch is the "regex_match" check: does the whole output match a pattern?
//
// Inputs: Output. Applies when configured (it needs pattern) and the status is not "error".
// Output: value 1 and pass when the pattern matches the whole output (surrounding white space
// trimmed unless trim is false); otherwise value 0, fail, label "no_match". The pattern is RE2,
// so matching is linear in the output whatever the pattern.
// Parameters: pattern (string, required), trim (boolean, default true).
type regexMatch struct {
	re      *regexp.Regexp
	pattern string
	trim    bool
}

var _ Check = regexMatch{}

func newRegexMatch(_ Env, p Params) (Check, error) {
	pattern, err1 := p.String("pattern", "")
	trim, err2 := p.Bool("trim", true)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, paramErr("pattern", "%v", err)
	}
	return regexMatch{re: re, pattern: pattern, trim: trim}, nil
}

func (regexMatch) Name() string     { return "regex_match" }
func (regexMatch) Kind() event.Kind { return event.KindCheck }

func (c regexMatch) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	out := ev.Output
	if c.trim {
		out = strings.TrimSpace(out)
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	if c.re.MatchString(out) {
		sc.Value, sc.Pass = 1, true
	} else {
		sc.Label = "no_match"
		sc.Reason = reasonf("Output does not match the pattern %s; check the format instructions of the prompt.", quote(c.pattern, 60))
	}
	return sc, true
}
