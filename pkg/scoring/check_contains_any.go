package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "contains_any", Kind: event.KindCheck,
		Description: "Does the output contain at least one of the configured phrases?",
		Applies:     "configured; status is not error",
		Fails:       "none of phrases occurs",
		Params:      containsParams,
	}, newContainsAny)
}

// newContainsAny builds the "contains_any" check: does the output mention at least one of the
// configured phrases (a product name, a required disclaimer in one of its wordings)?
//
// Inputs: Output. Applies when configured (it needs phrases) and the status is not "error".
// Output: value 1 and pass when a phrase occurs as whole words in one sentence of the output
// (case, apostrophe style and Unicode normalisation ignored); otherwise value 0, fail, label
// "none_found", and the reason lists the phrases.
// Parameters: phrases (strings, required; {a|b} alternatives, word* prefixes and ~N gaps
// allowed).
func newContainsAny(_ Env, p Params) (Check, error) { return newContains("contains_any", false, p) }
