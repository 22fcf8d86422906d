package scoring

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/vigilhq/vigil/pkg/event"
)

// family is one kind of phrase a detector reports, in priority order: when phrases of several
// families occur, the first family is reported.
type family struct {
	label   string
	reason  string   // a format with one %s verb for the quoted matched text
	phrases []string // built-in phrases (see phraseSet for the syntax)
}

// detector is a check that fails when a phrase of one of its families occurs in a text: the
// shape of refusal, fallback, stale_knowledge and prompt_injection.
type detector struct {
	name     string
	families []family
	set      *phraseSet
	text     func(*Input) *Text // the text searched; nil means the output
}

var _ Check = (*detector)(nil)

func (d *detector) Name() string     { return d.name }
func (d *detector) Kind() event.Kind { return event.KindCheck }

// Score reports value 1, fail, the family's label and the matched text when a phrase occurs, and
// value 0 and pass otherwise. A detector on the output applies when the status is not "error";
// one on another text applies when that text is not empty.
func (d *detector) Score(in *Input) (event.Score, bool) {
	var t *Text
	if d.text == nil {
		if !hasOutput(in.ev) {
			return event.Score{}, false
		}
		t = in.Output()
	} else if t = d.text(in); t.Empty() {
		return event.Score{}, false
	}
	sc := event.Score{Metric: d.name, Kind: event.KindCheck, Pass: true}
	best, first, last := len(d.families), 0, 0
	d.set.scan(t, func(id int32, a, b int) bool {
		if g := d.set.phrases[id].group; g < best {
			best, first, last = g, a, b
		}
		return best > 0
	})
	if best < len(d.families) {
		words := t.Words()
		f := d.families[best]
		sc.Value, sc.Pass, sc.Label = 1, false, f.label
		sc.Reason = reasonf(f.reason, quote(t.span(words[first], words[last]), 60))
	}
	return sc, true
}

// phraseParams are the parameters every detector takes.
var phraseParams = []ParamInfo{
	{Name: "phrases", Type: "strings", Default: []string{}, Doc: "more phrases to detect; whole words, case-insensitive, with {a|b} alternatives, word* prefixes and ~N gaps of up to N words"},
	{Name: "builtin", Type: "boolean", Default: true, Doc: "detect the built-in phrases; false keeps only the configured ones"},
}

// builtinSets caches the compiled built-in phrases of each detector: they are the same for every
// Scorer.
var builtinSets sync.Map // name → *phraseSet

// newDetector builds a detector from its built-in families and the phrases and builtin
// parameters; configured phrases join families[configured]. It fails when no phrase is left.
func newDetector(name string, families []family, configured int, text func(*Input) *Text, p Params) (Check, error) {
	extra, err1 := p.Strings("phrases", nil)
	builtin, err2 := p.Bool("builtin", true)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if len(extra) == 0 && !builtin {
		return nil, paramErr("phrases", "required when builtin is false")
	}
	d := &detector{name: name, families: families, text: text}
	if len(extra) == 0 {
		if s, ok := builtinSets.Load(name); ok {
			d.set = s.(*phraseSet)
			return d, nil
		}
	}
	var patterns []string
	var groups []int
	if builtin {
		for i, f := range families {
			patterns = append(patterns, f.phrases...)
			groups = append(groups, slices.Repeat([]int{i}, len(f.phrases))...)
		}
	}
	set, err := newPhraseSet(patterns, groups)
	if err != nil {
		panic(fmt.Sprintf("scoring: %s built-in phrases: %v", name, err))
	}
	var errs []error
	for i, ph := range extra {
		if err := set.add(ph, configured); err != nil {
			errs = append(errs, &ParamError{Param: fmt.Sprintf("%q[%d]", "phrases", i), Problem: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(extra) == 0 {
		builtinSets.Store(name, set)
	}
	d.set = set
	return d, nil
}
