package scoring

import (
	"errors"
	"math"
	"strings"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "secrets", Kind: event.KindCheck,
		Description: "Does the output contain credentials: API keys, tokens, private keys or high-entropy strings?",
		Applies:     "status is not error",
		Fails:       "a key of a known shape, a private key block, a JWT or a high-entropy token",
		Params: []ParamInfo{
			{Name: "entropy", Type: "boolean", Default: true, Doc: "also report high-entropy tokens of no known shape"},
			{Name: "min_entropy", Type: "number", Default: 4.0, Doc: "Shannon entropy, in bits per character, from which a token counts as random"},
			{Name: "min_length", Type: "integer", Default: 20, Doc: "shortest token checked for entropy"},
		},
	}, newSecrets)
}

// secrets is the "secrets" check: does the output leak credentials?
//
// Inputs: Output. Applies to every event whose status is not "error".
// Output: value = number of secrets found; pass when there are none. Otherwise fail, label = the
// kinds found, sorted and comma-separated, and a reason that counts them without repeating them.
// Kinds, matched on tokens of letters, digits and _ - + / = . :
//   - aws_key: AKIA or ASIA and 16 upper-case letters or digits;
//   - github_token: ghp_, gho_, ghu_, ghs_ or ghr_ and 30 or more letters and digits, or
//     github_pat_ and 20 or more;
//   - openai_key: sk- (sk-proj-, sk-svcacct-, ...) and 20 or more letters, digits, _ or -;
//     anthropic_key: the same with sk-ant-;
//   - stripe_key: sk_live_, sk_test_, rk_live_ or rk_test_ and 16 or more;
//   - google_api_key: AIza and 35 letters, digits, _ or -;
//   - slack_token: xoxa-, xoxb-, xoxp-, xoxo-, xoxr- or xoxs- and 10 or more;
//   - jwt: three dot-separated base64url parts, the first two starting with eyJ;
//   - private_key: a "-----BEGIN ... PRIVATE KEY-----" block;
//   - high_entropy: a token of min_length or more characters without dots, with upper- and
//     lower-case letters and at least two digits, whose Shannon entropy is min_entropy bits per
//     character or more (English words and identifiers stay under it; random base62 and base64
//     strings of 20 characters reach about 4.1 to 4.3); UUIDs are not reported.
//
// Parameters: entropy (boolean, default true), min_entropy (number, default 4.0), min_length
// (integer, default 20).
type secrets struct {
	entropy    bool
	minEntropy float64
	minLength  int
}

var _ Check = secrets{}

func newSecrets(_ Env, p Params) (Check, error) {
	entropy, err1 := p.Bool("entropy", true)
	minEntropy, err2 := p.Float("min_entropy", 4)
	minLength, err3 := p.Int("min_length", 20)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if err := errors.Join(between("min_entropy", minEntropy, 1, 8), between("min_length", minLength, 8, 1000)); err != nil {
		return nil, err
	}
	return secrets{entropy: entropy, minEntropy: minEntropy, minLength: minLength}, nil
}

func (secrets) Name() string     { return "secrets" }
func (secrets) Kind() event.Kind { return event.KindCheck }

// Kinds of secrets, in the order they are reported.
const (
	secretAnthropic = iota
	secretAWS
	secretGitHub
	secretGoogle
	secretHighEntropy
	secretJWT
	secretOpenAI
	secretPrivateKey
	secretSlack
	secretStripe
	numSecretKinds
)

var secretKinds = [numSecretKinds]struct{ label, one, many string }{
	{"anthropic_key", "Anthropic API key", "Anthropic API keys"},
	{"aws_key", "AWS access key", "AWS access keys"},
	{"github_token", "GitHub token", "GitHub tokens"},
	{"google_api_key", "Google API key", "Google API keys"},
	{"high_entropy", "high-entropy token", "high-entropy tokens"},
	{"jwt", "JSON Web Token", "JSON Web Tokens"},
	{"openai_key", "OpenAI API key", "OpenAI API keys"},
	{"private_key", "private key block", "private key blocks"},
	{"slack_token", "Slack token", "Slack tokens"},
	{"stripe_key", "Stripe key", "Stripe keys"},
}

// tokenBytes are the bytes secrets are made of.
var tokenBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || strings.IndexByte("_-+/=.", byte(c)) >= 0
	}
	return t
}()

// joined reports whether s[a:b], the bytes between two words, are token bytes that join them.
func joined(s string, a, b int) bool {
	if b <= a {
		return false
	}
	for i := a; i < b; i++ {
		if !tokenBytes[s[i]] {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool { return tokenBytes[c] }

// minSecret is the length of the shortest token of a known shape.
const minSecret = 15

func (c secrets) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) {
		return event.Score{}, false
	}
	var counts [numSecretKinds]int
	total := 0
	c.scan(ev.Output, in.Output().Words(), func(kind, _, _ int) {
		counts[kind]++
		total++
	})
	sc := event.Score{Metric: c.Name(), Kind: c.Kind(), Value: float64(total)}
	if total == 0 {
		sc.Pass = true
		return sc, true
	}
	var labels, found []string
	for k, n := range counts {
		if n > 0 {
			labels = append(labels, secretKinds[k].label)
			found = append(found, plural(n, secretKinds[k].one, secretKinds[k].many))
		}
	}
	sc.Label = strings.Join(labels, ",")
	sc.Reason = clip("Output contains "+strings.Join(found, ", ")+"; rotate exposed credentials and keep secrets out of prompts, context and tools' results.", maxReason)
	return sc, true
}

// scan calls found with the kind and byte span of every secret in s, whose words are words.
func (c secrets) scan(s string, words []Word, found func(kind, start, end int)) {
	// Private key blocks; their base64 body is not counted again as a high-entropy token.
	var blocks [][2]int
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], "PRIVATE KEY-----")
		if i < 0 {
			break
		}
		at := off + i
		off = at + 16
		if b := strings.LastIndex(s[max(0, at-40):at], "-----BEGIN "); b >= 0 {
			end := len(s)
			if e := strings.Index(s[off:], "-----END "); e >= 0 {
				end = off + e
			}
			found(secretPrivateKey, max(0, at-40)+b, end)
			blocks = append(blocks, [2]int{off, end})
			off = end
		}
	}
	// Tokens are maximal runs of token bytes; they are found from the words (runs of letters and
	// digits), joined across the token bytes that separate them, so prose costs one step a word.
	for i := 0; i < len(words); i++ {
		start, end := int(words[i].Start), int(words[i].End)
		if end-start < minSecret && (end == len(s) || !tokenBytes[s[end]]) && (start == 0 || !tokenBytes[s[start-1]]) {
			continue // a short word standing alone: most of prose
		}
		for start > 0 && tokenBytes[s[start-1]] {
			start--
		}
		for i+1 < len(words) && joined(s, end, int(words[i+1].Start)) {
			i++
			end = int(words[i].End)
		}
		for end < len(s) && tokenBytes[s[end]] {
			end++
		}
		if end-start < minSecret || !all(s[start:end], isTokenByte) || overlaps(blocks, start, end) {
			continue
		}
		if k := c.classifyToken(s[start:end]); k >= 0 {
			found(k, start, end)
		}
	}
}

// classifyToken returns the kind of secret tok is, or -1. A token may be an assignment such as
// KEY=value: the parts around "=" signs that are not base64 padding are classified too. Known
// shapes are looked for before entropy.
func (c secrets) classifyToken(tok string) int {
	whole := strings.Trim(tok, ".-_+/")
	body := strings.TrimRight(tok, "=")
	assignment := strings.IndexByte(body, '=') >= 0
	for _, entropy := range []bool{false, c.entropy} {
		if k := c.classify(whole, entropy); k >= 0 {
			return k
		}
		if !assignment {
			continue
		}
		for part := range strings.SplitSeq(body, "=") {
			if len(part) >= minSecret {
				if k := c.classify(strings.Trim(part, ".-_+/"), entropy); k >= 0 {
					return k
				}
			}
		}
	}
	return -1
}

// classify returns the kind of secret tok is, or -1; high-entropy tokens count only when entropy
// is set.
func (c secrets) classify(tok string, entropy bool) int {
	switch {
	case len(tok) >= 20 && (strings.HasPrefix(tok, "AKIA") || strings.HasPrefix(tok, "ASIA")) && all(tok[4:20], isUpperAlnum):
		return secretAWS
	case len(tok) >= 34 && tok[0] == 'g' && tok[1] == 'h' && strings.IndexByte("pousr", tok[2]) >= 0 && tok[3] == '_' && all(tok[4:], isAlnum):
		return secretGitHub
	case len(tok) >= 31 && strings.HasPrefix(tok, "github_pat_") && all(tok[11:], isWordByte):
		return secretGitHub
	case len(tok) >= 23 && strings.HasPrefix(tok, "sk-") && all(tok[3:], isKeyByte):
		if strings.HasPrefix(tok, "sk-ant-") {
			return secretAnthropic
		}
		return secretOpenAI
	case len(tok) >= 24 && (strings.HasPrefix(tok, "sk_live_") || strings.HasPrefix(tok, "sk_test_") ||
		strings.HasPrefix(tok, "rk_live_") || strings.HasPrefix(tok, "rk_test_")) && all(tok[8:], isAlnum):
		return secretStripe
	case len(tok) == 39 && strings.HasPrefix(tok, "AIza") && all(tok[4:], isKeyByte):
		return secretGoogle
	case len(tok) >= 15 && strings.HasPrefix(tok, "xox") && strings.IndexByte("abposr", tok[3]) >= 0 && tok[4] == '-' && all(tok[5:], isKeyByte):
		return secretSlack
	case strings.HasPrefix(tok, "eyJ") && isJWT(tok):
		return secretJWT
	case entropy && len(tok) >= c.minLength && c.random(tok):
		return secretHighEntropy
	}
	return -1
}

// random reports whether tok looks like a random string: no dots, mixed case, two digits or
// more, not a UUID, and high entropy.
func (c secrets) random(tok string) bool {
	if strings.IndexByte(tok, '.') >= 0 || isUUID(tok) {
		return false
	}
	var upper, lower, digits int
	var counts [256]uint16
	for i := 0; i < len(tok); i++ {
		b := tok[i]
		counts[b]++
		switch {
		case 'A' <= b && b <= 'Z':
			upper++
		case 'a' <= b && b <= 'z':
			lower++
		case '0' <= b && b <= '9':
			digits++
		}
	}
	if upper == 0 || lower == 0 || digits < 2 {
		return false
	}
	n := float64(len(tok))
	var h float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h >= c.minEntropy
}

func isJWT(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[0]) < 10 || len(parts[1]) < 10 || !strings.HasPrefix(parts[1], "eyJ") {
		return false
	}
	for _, p := range parts {
		if !all(p, isKeyByte) {
			return false
		}
	}
	return true
}

func isUUID(tok string) bool {
	if len(tok) != 36 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func all(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return true
}

func isUpperAlnum(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
func isWordByte(c byte) bool   { return isAlnum(c) || c == '_' }
func isKeyByte(c byte) bool    { return isAlnum(c) || c == '_' || c == '-' }
