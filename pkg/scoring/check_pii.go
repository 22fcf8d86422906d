package scoring

import (
	"iter"
	"regexp"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	Register("pii", func(Env) (Check, error) { return pii{}, nil })
}

// pii is the "pii" check: does the output contain personal data?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of hits; pass when there are none. Otherwise fail, label = the kinds
// found, sorted and comma-separated ("card", "email", "phone"), and a reason that counts the hits
// per kind without repeating them. Kinds:
//   - email: local@domain.tld; the reserved example domains (example.com/.net/.org and the
//     .example, .test, .invalid and .localhost TLDs) are ignored as placeholders, and so are image
//     names such as logo@2x.png.
//   - card: 13 to 19 digits, in groups separated by single spaces or dashes, starting with 2-6
//     (the major card networks) and passing the Luhn checksum, so random digit strings rarely fire.
//   - phone: 9 to 15 digits in E.164 ("+49 30 1234567", "+14155550132"), with an area code in
//     parentheses ("(415) 555-0132"), North American ("415-555-0132") or a national format with a
//     leading 0 and one kind of separator ("030 12345678", "06 12 34 56 78").
//
// Parameters: none.
type pii struct{}

func (pii) Name() string     { return "pii" }
func (pii) Kind() event.Kind { return event.KindCheck }

// The patterns run only on short candidates (a domain after '@', a number span), never on the
// whole output.
var (
	// domainRE matches the domain of an email address at the start of its input.
	domainRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}\b`)
	// digitRunRE finds digit groups joined by single spaces or dashes: the card candidates.
	digitRunRE = regexp.MustCompile(`\d+(?:[ \-]\d+)*`)
	digitRE    = regexp.MustCompile(`\d+`)
	phoneRE    = regexp.MustCompile(`\+\d{1,3}(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{1,5}){2,6}` +
		`|\(\d{2,5}\)[ .\-]?\d{2,4}(?:[ .\-]?\d{2,5}){1,3}` +
		`|\b[2-9]\d{2}[ .\-]\d{3}[ .\-]\d{4}\b` +
		`|\b0\d{1,4}(?:[ .\-/]?\d{2,5}){2,5}`)
)

func (c pii) Score(ev *event.Event) (event.Score, bool) {
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	s := ev.Output
	emails := countEmails(s)
	var cards, phones int
	var taken [][2]int
	for a, b := range numberSpans(s) {
		// Cards first, so that a card number is not counted as a phone number too.
		taken = taken[:0]
		for _, m := range digitRunRE.FindAllStringIndex(s[a:b], -1) {
			if start := a + m[0]; start == 0 || s[start-1] != '+' {
				for _, span := range cardSpans(s, start, a+m[1]) {
					cards++
					taken = append(taken, span)
				}
			}
		}
		for _, m := range phoneRE.FindAllStringIndex(s[a:b], -1) {
			if start, end := a+m[0], a+m[1]; isPhone(s, start, end) && !overlaps(taken, start, end) {
				phones++
			}
		}
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(emails + cards + phones)}
	if sc.Value == 0 {
		sc.Pass = true
		return sc, true
	}
	var kinds, found []string
	for _, k := range []struct {
		n               int
		kind, one, many string
	}{
		{cards, "card", "payment card number", "payment card numbers"},
		{emails, "email", "email address", "email addresses"},
		{phones, "phone", "phone number", "phone numbers"},
	} {
		if k.n > 0 {
			kinds = append(kinds, k.kind)
			found = append(found, plural(k.n, k.one, k.many))
		}
	}
	sc.Label = strings.Join(kinds, ",")
	sc.Reason = "Output contains " + strings.Join(found, ", ") + "; redact personal data in the prompt, context or output before it is shown or stored."
	return sc, true
}

// countEmails counts the email addresses in s that are not placeholders.
func countEmails(s string) int {
	n := 0
	for off := 0; off < len(s); {
		i := strings.IndexByte(s[off:], '@')
		if i < 0 {
			break
		}
		at := off + i
		off = at + 1
		local := at
		for local > 0 && at-local < 64 && isLocalChar(s[local-1]) {
			local--
		}
		if local == at {
			continue
		}
		m := domainRE.FindStringIndex(s[at+1 : min(len(s), at+256)])
		if m == nil {
			continue
		}
		off = at + 1 + m[1]
		if domain := s[at+1 : off]; !placeholderDomain(domain) && !imageDensity(domain) {
			n++
		}
	}
	return n
}

func isLocalChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0
}

// placeholderDomain reports whether domain is reserved for examples and documentation (RFC 2606).
func placeholderDomain(domain string) bool {
	domain = strings.ToLower(domain)
	switch domain {
	case "example.com", "example.net", "example.org":
		return true
	}
	for _, suffix := range []string{".example.com", ".example.net", ".example.org", ".example", ".test", ".invalid", ".localhost"} {
		if strings.HasSuffix(domain, suffix) {
			return true
		}
	}
	return false
}

// imageDensity reports whether domain is the tail of an image file name such as logo@2x.png.
func imageDensity(domain string) bool {
	label, _, _ := strings.Cut(domain, ".")
	digits, ok := strings.CutSuffix(label, "x")
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// numberSpans yields the start and end of each stretch of s that may hold a phone or card
// number: it starts at a digit (or at '+' or '(' before one), runs over digits and over up to two
// separators (space . - / parentheses) followed by a digit, and holds at least 9 digits.
func numberSpans(s string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(s); {
			if !isDigit(s[i]) && !((s[i] == '+' || s[i] == '(') && i+1 < len(s) && isDigit(s[i+1])) {
				i++
				continue
			}
			j, digits := i, 0
			if !isDigit(s[j]) {
				j++
			}
			for j < len(s) {
				if isDigit(s[j]) {
					digits++
					j++
					continue
				}
				k := j
				for k < len(s) && k-j < 2 && strings.IndexByte(" .-/()", s[k]) >= 0 {
					k++
				}
				if k == j || k == len(s) || !isDigit(s[k]) {
					break
				}
				j = k
			}
			if digits >= 9 && !yield(i, j) {
				return
			}
			i = j
		}
	}
}

// cardSpans returns the spans of s[start:end] (a run of digit groups) that are card numbers: one
// or more whole consecutive groups holding 13 to 19 digits.
func cardSpans(s string, start, end int) [][2]int {
	groups := digitRE.FindAllStringIndex(s[start:end], -1)
	var spans [][2]int
	for i := 0; i < len(groups); i++ {
		n := 0
		for j := i; j < len(groups); j++ {
			n += groups[j][1] - groups[j][0]
			if n > 19 {
				break
			}
			first, last := start+groups[i][0], start+groups[j][1]
			if n >= 13 && s[first] >= '2' && s[first] <= '6' && luhn(s[first:last]) {
				spans = append(spans, [2]int{first, last})
				i = j
				break
			}
		}
	}
	return spans
}

// luhn reports whether the digits of s (other bytes are skipped) pass the Luhn checksum.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// isPhone filters a phoneRE match: 9 to 15 digits, not glued to further digits or letters, and in
// the national format a single kind of separator (so "01.02.2024 10:30" is a date, not a number).
func isPhone(s string, start, end int) bool {
	if start > 0 && isAlnum(s[start-1]) || end < len(s) && isAlnum(s[end]) {
		return false
	}
	// Digits after a decimal point or separator belong to a number such as 0.000123456789.
	if start > 1 && (s[start-1] == '.' || s[start-1] == ',') && isDigit(s[start-2]) {
		return false
	}
	m := s[start:end]
	digits, sep := 0, byte(0)
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case isDigit(c):
			digits++
		case m[0] == '0' && sep != 0 && c != sep:
			return false
		case m[0] == '0':
			sep = c
		}
	}
	return digits >= 9 && digits <= 15
}

func isAlnum(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func overlaps(spans [][2]int, start, end int) bool {
	for _, sp := range spans {
		if start < sp[1] && sp[0] < end {
			return true
		}
	}
	return false
}
