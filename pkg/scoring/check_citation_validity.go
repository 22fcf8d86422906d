package scoring

import (
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "citation_validity", Kind: event.KindCheck,
		Description: "Do the output's citations ([1], [doc-3], [^2], 【1】) point to retrieved passages?",
		Applies:     "context is set and the output cites; status is not error",
		Fails:       "a citation names no passage",
	}, func(Env, Params) (Check, error) { return citationValidity{}, nil })
}

// citationValidity is the "citation_validity" check: do the output's citations point to passages
// that were retrieved?
//
// Inputs: Output, Context (passage ids and count). Applies when Context has a passage, the output
// has a citation and the status is not "error".
// Output: value = number of citations that name no passage; pass when there are none, otherwise
// fail with label "unknown_id" and a reason quoting up to three of them. A citation is the
// content of square brackets ("[1]", "[doc-3]", "[^2]" footnotes, "[1, 3]" lists, "[source:
// kb-7]") or of "【】" ("【2】", "【2†source】"): ids without white space of up to 64 characters, of
// which only those holding a digit, or equal to a passage id, count as citations. Markdown
// links, images and check boxes are not citations. An id is valid when it equals a passage id
// (case ignored) or, as a number n, when 1 <= n <= the number of passages.
// Parameters: none.
type citationValidity struct{}

var _ Check = citationValidity{}

func (citationValidity) Name() string     { return "citation_validity" }
func (citationValidity) Kind() event.Kind { return event.KindCheck }

func (c citationValidity) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasContext(ev) {
		return event.Score{}, false
	}
	cited, bad := 0, 0
	var quoted []string
	scanCitations(ev.Output, func(id string) {
		known := passageIndex(ev.Context, id) >= 0
		if !known && !strings.ContainsAny(id, "0123456789") {
			return // a word in brackets, not a citation
		}
		cited++
		if known {
			return
		}
		if n, err := strconv.Atoi(id); err == nil && n >= 1 && n <= len(ev.Context) {
			return
		}
		bad++
		if len(quoted) < 4 {
			quoted = append(quoted, id)
		}
	})
	if cited == 0 {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(bad), Pass: bad == 0}
	if !sc.Pass {
		sc.Label = "unknown_id"
		sc.Reason = reasonf("Output cites %s matching no retrieved passage (%s); the model may invent sources, check the citation instructions.", plural(bad, "id", "ids"), quoteList(quoted, 3))
	}
	return sc, true
}

func passageIndex(ctx []event.Passage, id string) int {
	for i, p := range ctx {
		if p.ID != "" && strings.EqualFold(p.ID, id) {
			return i
		}
	}
	return -1
}

// scanCitations calls found with every id cited in s.
func scanCitations(s string, found func(id string)) {
	for i := 0; i < len(s); i++ {
		var inner string
		switch {
		case s[i] == '[':
			j := strings.IndexAny(s[i+1:min(len(s), i+100)], "[]\n")
			if j < 0 || s[i+1+j] != ']' {
				continue
			}
			end := i + 1 + j
			if i > 0 && s[i-1] == '!' || end+1 < len(s) && (s[end+1] == '(' || s[end+1] == '[') {
				i = end // an image or a link
				continue
			}
			inner = strings.TrimPrefix(s[i+1:end], "^")
			i = end
		case strings.HasPrefix(s[i:], "【"):
			j := strings.Index(s[i:min(len(s), i+100)], "】")
			if j < 0 {
				continue
			}
			inner = s[i+len("【") : i+j]
			if k := strings.Index(inner, "†"); k >= 0 {
				inner = inner[:k]
			}
			i += j + len("】") - 1
		default:
			continue
		}
		inner = strings.TrimSpace(inner)
		if inner == "" || inner == "x" || inner == "X" {
			continue // a check box
		}
		if k := strings.IndexByte(inner, ':'); k >= 0 {
			switch strings.ToLower(strings.TrimSpace(inner[:k])) {
			case "source", "sources", "ref", "refs", "doc", "docs", "cite":
				inner = inner[k+1:]
			}
		}
		for id := range strings.FieldsFuncSeq(inner, func(r rune) bool { return r == ',' || r == ';' }) {
			id = strings.TrimSpace(id)
			if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t") {
				continue
			}
			found(id)
		}
	}
}
