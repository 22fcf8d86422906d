package scoring

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "pii", Kind: event.KindCheck,
		Description: "Does the output contain personal data (email addresses, payment card numbers, IBANs, national identity numbers, phone numbers)?",
		Applies:     "status is not error",
		Fails:       "a hit of a selected kind that is not in ignore",
		Params:      piiParams,
	}, func(_ Env, p Params) (Check, error) { return newPII("pii", "Output", nil, p) })
}

// piiParams are the parameters of pii and pii_input.
var piiParams = []ParamInfo{
	{Name: "kinds", Type: "strings", Default: piiKindNames(), Doc: "kinds of personal data to detect: card, email, iban, national_id, phone"},
	{Name: "ignore", Type: "strings", Default: []string{}, Doc: "values that are not personal data, such as the support address or hotline (emails compared in lower case, numbers by their digits, country code aside, IBANs and identity numbers by their letters and digits)"},
}

// pii is the "pii" check: does the output contain personal data? The same check on the prompt is
// "pii_input".
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of hits; pass when there are none. Otherwise fail, label = the kinds
// found, sorted and comma-separated ("card", "email", "iban", "national_id", "phone"), and a
// reason that counts the hits per kind without repeating them. Kinds:
//   - email: local@domain.tld; the reserved example domains (example.com/.net/.org and the
//     .example, .test, .invalid and .localhost TLDs) are ignored as placeholders, and so are image
//     names such as logo@2x.png.
//   - card: 13 to 19 digits, in groups separated by single spaces or dashes, starting with 2-6
//     (the major card networks) and passing the Luhn checksum, so random digit strings rarely fire.
//   - iban: an IBAN of its country's registered length whose ISO 13616 mod-97 checksum holds,
//     compact or in groups of four separated by single spaces (see check_pii_iban.go).
//   - national_id: a US Social Security number, UK National Insurance number, Spanish DNI or
//     NIE, French NIR, Italian codice fiscale or Brazilian CPF in its usual written shape, with
//     its checksum or, where it has none, its never-issued ranges excluded (see
//     check_pii_national_id.go).
//   - phone: 9 to 15 digits in E.164 ("+49 30 1234567", "+14155550132"), with an area code in
//     parentheses ("(415) 555-0132"), North American ("415-555-0132") or a national format with a
//     leading 0 and one kind of separator ("030 12345678", "06 12 34 56 78").
//
// Parameters: kinds (strings, default card, email, iban, national_id, phone: the kinds
// detected), ignore (strings, default none: values that are not personal data, such as a
// company's support address or hotline; emails are compared in lower case, numbers by their
// digits, a country code or trunk prefix aside, IBANs and identity numbers by their letters and
// digits).
type pii struct {
	name   string
	what   string             // "Output" or "Input", for reasons
	text   func(*Input) *Text // nil: the output
	kinds  [numPIIKinds]bool
	ignore []string // normalised values
}

var _ Check = (*pii)(nil)

// Kinds of personal data, in the order they are reported.
const (
	piiCard = iota
	piiEmail
	piiIBAN
	piiNationalID
	piiPhone
	numPIIKinds
)

var piiKinds = [numPIIKinds]struct{ kind, one, many string }{
	{"card", "payment card number", "payment card numbers"},
	{"email", "email address", "email addresses"},
	{"iban", "IBAN", "IBANs"},
	{"national_id", "national identity number", "national identity numbers"},
	{"phone", "phone number", "phone numbers"},
}

func newPII(name, what string, text func(*Input) *Text, p Params) (Check, error) {
	kinds, err1 := p.Strings("kinds", piiKindNames())
	ignore, err2 := p.Strings("ignore", nil)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	c := &pii{name: name, what: what, text: text}
	var errs []error
	for i, k := range kinds {
		j := slices.IndexFunc(piiKinds[:], func(pk struct{ kind, one, many string }) bool { return pk.kind == k })
		if j < 0 {
			errs = append(errs, &ParamError{Param: fmt.Sprintf("%q[%d]", "kinds", i), Problem: fmt.Sprintf("unknown kind %q (known: %s)", clip(k, 20), strings.Join(piiKindNames(), ", "))})
			continue
		}
		c.kinds[j] = true
	}
	if len(kinds) == 0 {
		errs = append(errs, paramErr("kinds", "want at least one kind"))
	}
	for _, v := range ignore {
		c.ignore = append(c.ignore, normalizePII(v))
	}
	return c, errors.Join(errs...)
}

// piiKindNames returns the names of all kinds, the default of the kinds parameter.
func piiKindNames() []string {
	names := make([]string, len(piiKinds))
	for i, k := range piiKinds {
		names[i] = k.kind
	}
	return names
}

// normalizePII returns the form in which a hit is compared with the ignore list: an email in
// lower case, a value with letters (an IBAN, an identity number) as its letters and digits in
// upper case, a number as its digits without leading zeros.
func normalizePII(v string) string {
	if strings.ContainsRune(v, '@') {
		return strings.ToLower(strings.TrimSpace(v))
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < utf8.RuneSelf && isAlnum(byte(r)) && !isDigit(byte(r)) }) >= 0 {
		return strings.Map(func(r rune) rune {
			switch {
			case '0' <= r && r <= '9', 'A' <= r && r <= 'Z':
				return r
			case 'a' <= r && r <= 'z':
				return r - 'a' + 'A'
			}
			return -1
		}, v)
	}
	return strings.TrimLeft(strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, v), "0")
}

// ignored reports whether the hit v is on the ignore list. Numbers match when one ends with the
// other and the shorter has 7 digits or more, so a country code or trunk prefix makes no
// difference: "+1 (800) 555-0100" ignores "800-555-0100", "+49 30 1234567" ignores
// "030 1234567".
func (c *pii) ignored(v string) bool {
	n := normalizePII(v)
	for _, ig := range c.ignore {
		if n == ig || len(n) >= 7 && len(ig) >= 7 && allDigits(n) && allDigits(ig) &&
			(strings.HasSuffix(n, ig) || strings.HasSuffix(ig, n)) {
			return true
		}
	}
	return false
}

func (c *pii) Name() string     { return c.name }
func (c *pii) Kind() event.Kind { return event.KindCheck }

func (c *pii) Score(in *Input) (event.Score, bool) {
	var t *Text
	if c.text == nil {
		if !hasOutput(in.ev) {
			return event.Score{}, false
		}
		t = in.Output()
	} else if t = c.text(in); t.Empty() {
		return event.Score{}, false
	}
	var counts [numPIIKinds]int
	total := 0
	words := t.Words()
	for seg, s := range t.Segments() {
		n, _ := slices.BinarySearchFunc(words, int32(seg+1), func(w Word, seg int32) int { return cmp.Compare(w.Seg, seg) })
		segWords := words[:n]
		words = words[n:]
		piiScan(s, segWords, func(kind, start, end int) {
			if c.kinds[kind] && (len(c.ignore) == 0 || !c.ignored(s[start:end])) {
				counts[kind]++
				total++
			}
		})
	}
	sc := event.Score{Metric: c.name, Kind: event.KindCheck, Value: float64(total)}
	if total == 0 {
		sc.Pass = true
		return sc, true
	}
	var kinds, found []string
	for k, n := range counts {
		if n > 0 {
			kinds = append(kinds, piiKinds[k].kind)
			found = append(found, plural(n, piiKinds[k].one, piiKinds[k].many))
		}
	}
	sc.Label = strings.Join(kinds, ",")
	if c.text == nil {
		sc.Reason = "Output contains " + strings.Join(found, ", ") + "; redact personal data in the prompt, context or output before it is shown or stored."
	} else {
		sc.Reason = c.what + " contains " + strings.Join(found, ", ") + "; mask personal data before prompts reach the model provider and the logs."
	}
	return sc, true
}

// The patterns run only on short candidates (a domain after '@', a number span), never on the
// whole text.
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

// piiScan calls found with the kind and byte span of every piece of personal data in s, whose
// words are words.
func piiScan(s string, words []Word, found func(kind, start, end int)) {
	scanEmails(s, func(start, end int) { found(piiEmail, start, end) })
	// IBANs and identity numbers first: their digits must not count as a card or phone too.
	// Both scans visit only the words that hold a digit: few in prose.
	var digitBuf [64]int32
	digits := digitBuf[:0]
	for wi := range words {
		if words[wi].Flags&WordDigit != 0 {
			digits = append(digits, int32(wi))
		}
	}
	var idBuf [4][2]int
	ids := idBuf[:0]
	idScan(s, words, digits, func(kind, start, end int) {
		found(kind, start, end)
		ids = append(ids, [2]int{start, end})
	})
	var taken [][2]int
	for a, b := range numberSpans(s, words, digits) {
		// Cards next, so that a card number is not counted as a phone number too.
		taken = taken[:0]
		for _, m := range digitRunRE.FindAllStringIndex(s[a:b], -1) {
			if start := a + m[0]; start == 0 || s[start-1] != '+' {
				for _, span := range cardSpans(s, start, a+m[1]) {
					if !overlaps(ids, span[0], span[1]) {
						found(piiCard, span[0], span[1])
						taken = append(taken, span)
					}
				}
			}
		}
		for _, m := range phoneRE.FindAllStringIndex(s[a:b], -1) {
			if start, end := a+m[0], a+m[1]; isPhone(s, start, end) && !overlaps(taken, start, end) && !overlaps(ids, start, end) {
				found(piiPhone, start, end)
			}
		}
	}
}

// idScan calls found with the kind and span of every IBAN and national identity number in s,
// whose words are words, of which those at the indexes digits hold a digit. Each starts at the start of a word that holds a digit, or, for a spaced
// UK National Insurance number ("AB 12 34 56 C"), at the two-letter word before one.
func idScan(s string, words []Word, digits []int32, found func(kind, start, end int)) {
	covered := 0 // s[:covered] holds a hit
	for _, wi := range digits {
		w := &words[wi]
		if int(w.Start) < covered {
			continue
		}
		start, n := int(w.Start), int(w.End-w.Start)
		// A spaced NINO or separated NIE starts at the letters before this word.
		if wi > 0 && start >= 2 && (s[start-1] == ' ' || s[start-1] == '-') {
			if p := &words[wi-1]; int(p.End) == start-1 && int(p.Start) >= covered && p.End-p.Start <= 2 && isUpper(s[p.Start]) {
				if end := nationalIDAt(s, int(p.Start), int(p.End-p.Start)); end > 0 {
					found(piiNationalID, int(p.Start), end)
					covered = end
					continue
				}
			}
		}
		if n == 4 || n >= 15 && n <= maxIBAN {
			if end := ibanAt(s, start); end > 0 && freeStart(s, start) {
				found(piiIBAN, start, end)
				covered = end
				continue
			}
		}
		if end := nationalIDAt(s, start, n); end > 0 {
			found(piiNationalID, start, end)
			covered = end
		}
	}
}

// scanEmails calls found with the span of every email address in s that is not a placeholder.
func scanEmails(s string, found func(start, end int)) {
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
			found(local, off)
		}
	}
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
// separators (space . - / parentheses) followed by a digit, and holds at least 9 digits. Digits
// are found through the words of s that hold one (at the indexes digits of words), so text
// without numbers costs nothing.
func numberSpans(s string, words []Word, digits []int32) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		covered := 0 // s[:covered] is scanned
		for _, wi := range digits {
			w := &words[wi]
			if int(w.End) <= covered {
				continue
			}
			for p := max(int(w.Start), covered); p < int(w.End); p++ {
				if !isDigit(s[p]) {
					continue
				}
				i := p
				if i-1 >= covered && (s[i-1] == '+' || s[i-1] == '(') {
					i--
				}
				j, digits := p, 0
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
				covered, p = j, j-1
			}
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

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func overlaps(spans [][2]int, start, end int) bool {
	for _, sp := range spans {
		if start < sp[1] && sp[0] < end {
			return true
		}
	}
	return false
}
