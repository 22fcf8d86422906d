package scoring

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "links", Kind: event.KindMeasure,
		Description: "Number of links (http, https and www. URLs) in the output, checked against an allow-list of domains.",
		Applies:     "status is not error",
		Fails:       "allow is set and a link's domain is outside it",
		Params: []ParamInfo{
			{Name: "allow", Type: "strings", Default: []string{}, Doc: "domains links may point to, subdomains included (\"example.com\" allows docs.example.com); empty allows all"},
		},
	}, newLinks)
}

// links is the "links" measure: how many links does the output hold, and where do they point?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of links: URLs with scheme http or https (any case), and host names
// starting with "www.". Fails with label "disallowed_domain" when allow is set and a link's host
// is neither an allowed domain nor a subdomain of one; the reason names up to three such hosts.
// A model that starts inventing links shows as a rise of the mean.
// Parameters: allow (strings, default none: every domain is allowed).
type links struct {
	allow []string // lower case, without a leading dot
}

var _ Check = links{}

func newLinks(_ Env, p Params) (Check, error) {
	allow, err := p.Strings("allow", nil)
	if err != nil {
		return nil, err
	}
	for i, d := range allow {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || strings.ContainsAny(d, "/: ") {
			return nil, &ParamError{Param: fmt.Sprintf("%q[%d]", "allow", i), Problem: fmt.Sprintf("want a domain such as \"example.com\", got %q", clip(allow[i], 40))}
		}
		allow[i] = d
	}
	return links{allow: allow}, nil
}

func (links) Name() string     { return "links" }
func (links) Kind() event.Kind { return event.KindMeasure }

func (c links) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	n := 0
	var bad []string
	scanLinks(ev.Output, func(host string) {
		n++
		if len(c.allow) > 0 && !c.allowed(host) && len(bad) < 4 {
			bad = append(bad, host)
		}
	})
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(n), Pass: len(bad) == 0}
	if !sc.Pass {
		sc.Label = "disallowed_domain"
		sc.Reason = reasonf("Output links to %s, outside the allowed domains; check for invented or injected links.", quoteList(bad, 3))
	}
	return sc, true
}

func (c links) allowed(host string) bool {
	for _, d := range c.allow {
		if len(host) == len(d) && strings.EqualFold(host, d) ||
			len(host) > len(d) && host[len(host)-len(d)-1] == '.' && strings.EqualFold(host[len(host)-len(d):], d) {
			return true
		}
	}
	return false
}

// scanLinks calls found with the host of every link in s.
func scanLinks(s string, found func(host string)) {
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], "://")
		if i < 0 {
			break
		}
		at := off + i
		off = at + 3
		scheme := at
		for scheme > 0 && isSchemeByte(s[scheme-1]) {
			scheme--
		}
		if name := s[scheme:at]; !strings.EqualFold(name, "http") && !strings.EqualFold(name, "https") {
			continue
		}
		if host, end := hostAt(s, at+3); host != "" {
			found(host)
			off = end
		}
	}
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], "www.")
		if i < 0 {
			break
		}
		at := off + i
		off = at + 4
		if at > 0 && (isHostByte(s[at-1]) || s[at-1] == '/' || s[at-1] == '@') {
			continue // inside a URL counted above, or not a host name
		}
		if host, end := hostAt(s, at); strings.Contains(host[min(len(host), 4):], ".") {
			found(host)
			off = end
		}
	}
}

// hostAt returns the host name that starts at s[i] (after any user info) and where it ends.
func hostAt(s string, i int) (string, int) {
	if j := strings.IndexAny(s[i:min(len(s), i+64)], "@/ \n"); j >= 0 && s[i+j] == '@' {
		i += j + 1
	}
	j := i
	for j < len(s) {
		if c := s[j]; c < utf8.RuneSelf {
			if !isHostByte(c) {
				break
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		j += size
	}
	host := strings.TrimRight(s[i:j], ".-")
	return host, j
}

func isHostByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func isSchemeByte(c byte) bool { return isAlnum(c) || c == '+' || c == '.' || c == '-' }
