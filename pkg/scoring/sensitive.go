package scoring

import (
	"sort"

	"github.com/vigilhq/vigil/pkg/event"
)

// Span is a piece of personal data or a secret in a text: its kind (email, phone, card, iban,
// national_id, or a secret label such as openai_key or private_key) and byte offsets.
type Span struct {
	Kind       string
	Start, End int
}

// defaultSecrets finds secrets the way the secrets check does with its defaults.
var defaultSecrets = secrets{entropy: true, minEntropy: 4, minLength: 20}

// FindSensitive returns the e-mail addresses, phone numbers, payment cards, IBANs, national
// identity numbers and secrets in s, as the pii and secrets checks find them, ordered by offset
// and without overlaps. It is what redaction uses, so that what is masked before storage is
// exactly what the checks report.
func FindSensitive(s string) []Span {
	// Prose without digits, '@' or long tokens, most of what is stored, cannot hold a hit: skip
	// the word analysis (see sensitive_fast.go).
	if !mayHoldSensitive(s) {
		return nil
	}
	return findSensitiveSlow(s)
}

// findSensitiveSlow is FindSensitive without the fast path: the detectors run on every text.
func findSensitiveSlow(s string) []Span {
	if s == "" {
		return nil
	}
	// Redaction calls this for every text field of every stored event: recycle the analysis
	// buffers as Score does, or their garbage dominates the writer's allocations.
	in := inputs.Get().(*Input)
	defer func() { in.release(); inputs.Put(in) }()
	in.reset(&event.Event{Output: s})
	words := in.Output().Words()
	var spans []Span
	piiScan(s, words, func(kind, start, end int) {
		spans = append(spans, Span{Kind: piiKinds[kind].kind, Start: start, End: end})
	})
	defaultSecrets.scan(s, words, func(kind, start, end int) {
		spans = append(spans, Span{Kind: secretKinds[kind].label, Start: start, End: end})
	})
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	out := spans[:0]
	for _, sp := range spans {
		if len(out) > 0 && sp.Start < out[len(out)-1].End {
			if sp.End > out[len(out)-1].End {
				out[len(out)-1].End = sp.End
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}
