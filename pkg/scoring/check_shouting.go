package scoring

import (
	"errors"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "shouting", Kind: event.KindMeasure,
		Description: "Share of upper-case letters among the output's cased letters, and runs of exclamation marks.",
		Applies:     "the output has at least min_letters cased letters; status is not error",
		Fails:       "share >= max_upper_share, or max_bangs exclamation marks in a row",
		Params: []ParamInfo{
			{Name: "max_upper_share", Type: "number", Default: 0.5, Doc: "share of upper-case letters at which the check fails; acronym-heavy technical text stays well under 0.5"},
			{Name: "min_letters", Type: "integer", Default: 20, Doc: "fewest cased letters on which the share is measured"},
			{Name: "max_bangs", Type: "integer", Default: 3, Doc: "exclamation marks in a row (! or ！) at which the check fails; 0 disables"},
		},
		Threshold: "max_upper_share",
	}, newShouting)
}

// shouting is the "shouting" measure: does the output shout?
//
// Inputs: Output. Applies when the output has at least min_letters letters with case (Latin,
// Greek, Cyrillic, ...; CJK has none) and the status is not "error".
// Output: value = upper-case letters / cased letters, in [0, 1]. Fails with label "uppercase"
// when value >= max_upper_share, else with label "exclamation" when max_bangs or more
// exclamation marks (! or the full-width ！) stand in a row.
// Parameters: max_upper_share (number, default 0.5; the threshold), min_letters (integer,
// default 20), max_bangs (integer, default 3; 0 disables the exclamation part).
type shouting struct {
	maxShare   float64
	minLetters int
	bangs      string // the run of ! that fails, or ""
	wideBangs  string // the same run of ！
}

var _ Check = shouting{}

func newShouting(_ Env, p Params) (Check, error) {
	share, err1 := p.Float("max_upper_share", 0.5)
	minLetters, err2 := p.Int("min_letters", 20)
	bangs, err3 := p.Int("max_bangs", 3)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if err := errors.Join(between("max_upper_share", share, 0, 1), atLeast("min_letters", minLetters, 1), between("max_bangs", bangs, 0, 100)); err != nil {
		return nil, err
	}
	c := shouting{maxShare: share, minLetters: minLetters}
	if bangs > 0 {
		c.bangs, c.wideBangs = strings.Repeat("!", bangs), strings.Repeat("！", bangs)
	}
	return c, nil
}

func (shouting) Name() string     { return "shouting" }
func (shouting) Kind() event.Kind { return event.KindMeasure }

func (c shouting) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	st := in.Output().Stats()
	cased := st.Upper + st.Lower
	if cased < c.minLetters {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(st.Upper) / float64(cased), Pass: true}
	out := in.Event().Output
	switch {
	case sc.Value >= c.maxShare:
		sc.Pass, sc.Label = false, "uppercase"
		sc.Reason = reasonf("%.0f%% of the output's letters are upper case; the output shouts, check the prompt and the tone instructions.", sc.Value*100)
	case c.bangs != "" && (strings.Contains(out, c.bangs) || strings.Contains(out, c.wideBangs)):
		sc.Pass, sc.Label = false, "exclamation"
		sc.Reason = reasonf("Output has %d or more exclamation marks in a row; the tone is off, check the prompt and the tone instructions.", len(c.bangs))
	}
	return sc, true
}
