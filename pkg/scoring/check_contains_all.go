package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "contains_all", Kind: event.KindCheck,
		Description: "Does the output contain every configured phrase?",
		Applies:     "configured; status is not error",
		Fails:       "a phrase is missing",
		Params:      containsParams,
	}, newContainsAll)
}

// newContainsAll builds the "contains_all" check: does the output mention every configured
// phrase (required disclaimers, fields of a template)?
//
// Inputs: Output. Applies when configured (it needs phrases) and the status is not "error".
// Output: value 1 and pass when every phrase occurs as whole words in one sentence of the output
// (case, apostrophe style and Unicode normalisation ignored); otherwise value 0, fail, label
// "missing", and the reason names the missing phrases.
// Parameters: phrases (strings, required; {a|b} alternatives, word* prefixes and ~N gaps
// allowed).
func newContainsAll(_ Env, p Params) (Check, error) { return newContains("contains_all", true, p) }
