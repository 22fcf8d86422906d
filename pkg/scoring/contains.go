package scoring

import (
	"github.com/vigilhq/vigil/pkg/event"
)

// containsParams are the parameters of contains_any and contains_all.
var containsParams = []ParamInfo{
	{Name: "phrases", Type: "strings", Required: true, Doc: "phrases to look for; whole words, case-insensitive, with {a|b} alternatives, word* prefixes and ~N gaps of up to N words"},
}

// contains is the "contains_any" and "contains_all" checks.
type contains struct {
	name string
	all  bool
	set  *phraseSet
}

var _ Check = (*contains)(nil)

func newContains(name string, all bool, p Params) (Check, error) {
	phrases, err := p.Strings("phrases", nil)
	if err != nil {
		return nil, err
	}
	if len(phrases) == 0 {
		return nil, paramErr("phrases", "want at least one phrase")
	}
	set, err := newPhraseSet(phrases, nil)
	if err != nil {
		return nil, &ParamError{Param: `"phrases"`, Problem: err.Error()}
	}
	return &contains{name: name, all: all, set: set}, nil
}

func (c *contains) Name() string     { return c.name }
func (c *contains) Kind() event.Kind { return event.KindCheck }

func (c *contains) Score(in *Input) (event.Score, bool) {
	if !hasOutput(in.Event()) {
		return event.Score{}, false
	}
	n := len(c.set.phrases)
	if cap(in.marks) < n {
		in.marks = make([]bool, n)
	}
	found := in.marks[:n]
	clear(found)
	count := 0
	c.set.scan(in.Output(), func(id int32, _, _ int) bool {
		if !found[id] {
			found[id] = true
			count++
		}
		return c.all && count < n
	})
	sc := event.Score{Metric: c.name, Kind: event.KindCheck}
	switch {
	case !c.all && count > 0, c.all && count == n:
		sc.Value, sc.Pass = 1, true
	case !c.all:
		sc.Label = "none_found"
		sc.Reason = reasonf("Output contains none of the required phrases (%s); check the prompt's instructions.", quoteList(c.texts(nil), 3))
	default:
		sc.Label = "missing"
		sc.Reason = reasonf("Output lacks %s; check the prompt's instructions.", quoteList(c.texts(found), 3))
	}
	return sc, true
}

// texts returns the phrases not marked in found (all of them when found is nil).
func (c *contains) texts(found []bool) []string {
	var out []string
	for i, p := range c.set.phrases {
		if found == nil || !found[i] {
			out = append(out, p.text)
		}
	}
	return out
}
