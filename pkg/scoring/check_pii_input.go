package scoring

import "github.com/vigilhq/vigil/pkg/event"

func init() {
	RegisterInfo(Info{
		Name: "pii_input", Kind: event.KindCheck,
		Description: "Does the prompt (input and user or tool messages) contain personal data?",
		Applies:     "input or a user or tool message is set",
		Fails:       "a hit of a selected kind that is not in ignore",
		Params:      piiParams,
	}, newPIIInput)
}

// newPIIInput builds the "pii_input" check: the pii check run on the prompt, which is what users
// and tools send the model and what the provider and the application's logs receive.
//
// Inputs: Input and the content of every message whose role is not system, developer or
// assistant ([Input.Prompt]). Applies when that text is not empty, whatever the status.
// Output: as pii: value = number of hits, pass when there are none, label = the kinds found
// ("card", "email", "iban", "national_id", "phone"), a reason that counts them without
// repeating them.
// Parameters: kinds (strings, default card, email, iban, national_id, phone), ignore (strings,
// default none); see pii.
func newPIIInput(_ Env, p Params) (Check, error) {
	return newPII("pii_input", "Input", (*Input).Prompt, p)
}
