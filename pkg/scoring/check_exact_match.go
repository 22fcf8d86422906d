package scoring

import (
	"slices"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "exact_match", Kind: event.KindCheck,
		Description: "Is the output the expected answer, after SQuAD normalisation?",
		Applies:     "expected is set; status is not error",
		Fails:       "the normalised output differs from the normalised expected answer",
		Params: []ParamInfo{
			{Name: "normalize", Type: "boolean", Default: true, Doc: "compare words with case, punctuation and English articles ignored; false compares the texts exactly, surrounding white space aside"},
		},
	}, newExactMatch)
}

// exactMatch is the "exact_match" check: is the output the expected answer?
//
// Inputs: Output, Expected. Applies when Expected is set and the status is not "error".
// Output: value 1 and pass when the output equals the expected answer after SQuAD normalisation:
// the same words in the same order, with case, punctuation, white space and the articles a, an
// and the ignored (Unicode normalisation and apostrophe style too). Otherwise value 0, fail,
// label "mismatch". With normalize false the texts must be equal, surrounding white space aside.
// Parameters: normalize (boolean, default true).
type exactMatch struct {
	normalize bool
}

var _ Check = exactMatch{}

func newExactMatch(_ Env, p Params) (Check, error) {
	normalize, err := p.Bool("normalize", true)
	if err != nil {
		return nil, err
	}
	return exactMatch{normalize: normalize}, nil
}

func (exactMatch) Name() string     { return "exact_match" }
func (exactMatch) Kind() event.Kind { return event.KindCheck }

func (c exactMatch) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasReference(ev) {
		return event.Score{}, false
	}
	var same bool
	if c.normalize {
		a := normalizedKeys(in.seqs[0][:0], in.Output().Words(), true)
		b := normalizedKeys(in.seqs[1][:0], in.Expected().Words(), true)
		in.seqs[0], in.seqs[1] = a, b
		same = slices.Equal(a, b)
	} else {
		same = strings.TrimSpace(ev.Output) == strings.TrimSpace(ev.Expected)
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	if same {
		sc.Value, sc.Pass = 1, true
	} else {
		sc.Label = "mismatch"
		sc.Reason = "Output differs from the expected answer; compare the two and check the prompt and retrieval."
	}
	return sc, true
}
