package scoring

import "github.com/vigilhq/vigil/pkg/event"

// Helpers of the checks on retrieved context (context_coverage, ungrounded_numbers,
// ungrounded_entities, citation_validity).

// hasContext reports whether ev carries retrieved passages to check the output against.
func hasContext(ev *event.Event) bool {
	if !hasOutput(ev) {
		return false
	}
	for _, p := range ev.Context {
		if p.Text != "" || p.ID != "" {
			return true
		}
	}
	return false
}

// groundWords fills t and f with the keys of every word of the context and, when withPrompt is
// set, of the prompt: what an answer may take as given.
func groundWords(in *Input, t *table, f *keyFilter, withPrompt bool) {
	ctx := in.Context().Words()
	n := len(ctx)
	var prompt []Word
	if withPrompt {
		prompt = in.Prompt().Words()
		n += len(prompt)
	}
	t.reset(n)
	for i := range ctx {
		t.put(ctx[i].Key, 1)
		f.add(ctx[i].Key)
	}
	for i := range prompt {
		t.put(prompt[i].Key, 1)
		f.add(prompt[i].Key)
	}
}
