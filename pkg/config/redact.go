package config

import (
	"net/url"
	"strings"
)

// Redact hides the passwords in a URL or DSN, or in a comma-separated list of them, so that
// connection strings can be logged and put in error messages.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			if strings.Contains(p, "@") {
				parts[i] = "(unparsable URL with credentials)"
			}
			continue
		}
		q := u.Query()
		for _, k := range []string{"password", "token", "secret"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}
