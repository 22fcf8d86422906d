// Package ingestsvc is the ingest service: an HTTP gateway that authenticates applications by API
// key, validates their events (POST /v1/events) or maps their OpenTelemetry traces (POST
// /v1/traces), and publishes them on vigil.events.<app> with de-duplication; feedback about
// earlier calls (POST /v1/feedback) goes the same way to vigil.feedback.<app>.
package ingestsvc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the ingest service's own configuration.
type Config struct {
	Addr           string        `envconfig:"INGEST_ADDR" default:":8080" desc:"listen address of the ingest HTTP API (POST /v1/events, POST /v1/traces, POST /v1/feedback)"`
	APIKeys        string        `envconfig:"INGEST_API_KEYS" desc:"API keys as comma-separated app:key pairs; a key publishes only for its app (secret: prefer the file)"`
	APIKeysFile    string        `envconfig:"INGEST_API_KEYS_FILE" desc:"file of app:key pairs, one a line (# starts a comment), read at start; adds to VIGIL_INGEST_API_KEYS"`
	MaxBodyBytes   int64         `envconfig:"INGEST_MAX_BODY_BYTES" default:"10485760" desc:"largest request body, before and after gzip decompression (larger: 413)"`
	MaxPending     int           `envconfig:"INGEST_MAX_PENDING" default:"4096" desc:"events published but not yet acknowledged by JetStream, across requests, before a request waits and then answers 503"`
	PublishTimeout time.Duration `envconfig:"INGEST_PUBLISH_TIMEOUT" default:"10s" desc:"longest wait for JetStream to acknowledge an event before the request answers 503"`
	AdminAddr      string        `envconfig:"INGEST_ADMIN_ADDR" default:":9101" desc:"listen address of the ingest service's /metrics, /healthz and /readyz"`
}

// minKeyLen is the shortest API key accepted: keys are bearer secrets.
const minKeyLen = 16

// Validate reports every bad field at once. It reads VIGIL_INGEST_API_KEYS_FILE; no message
// contains a key.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("VIGIL_INGEST_ADDR: must not be empty"))
	}
	if c.AdminAddr == "" {
		errs = append(errs, errors.New("VIGIL_INGEST_ADMIN_ADDR: must not be empty"))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("VIGIL_INGEST_MAX_BODY_BYTES=%d: want 1024 to 1073741824", c.MaxBodyBytes))
	}
	if c.MaxPending < 1 || c.MaxPending > 1_000_000 {
		errs = append(errs, fmt.Errorf("VIGIL_INGEST_MAX_PENDING=%d: want 1 to 1000000", c.MaxPending))
	}
	if c.PublishTimeout < 100*time.Millisecond || c.PublishTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("VIGIL_INGEST_PUBLISH_TIMEOUT=%v: want 100ms to 5m", c.PublishTimeout))
	}
	if _, err := c.Keys(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Keys are the API keys the service accepts, by the SHA-256 of the key, each naming its app.
// Looking a hash up, not the key, keeps the comparison's timing independent of the secret.
type Keys map[[sha256.Size]byte]string

// App returns the app of key.
func (k Keys) App(key string) (string, bool) {
	app, ok := k[sha256.Sum256([]byte(key))]
	return app, ok
}

// Keys reads the API keys from VIGIL_INGEST_API_KEYS and VIGIL_INGEST_API_KEYS_FILE. An app may
// have several keys (for rotation); one key may not serve two apps. Errors name the variable and
// the entry, never the key.
func (c Config) Keys() (Keys, error) {
	keys := Keys{}
	var errs []error
	add := func(where, entry string) {
		app, key, ok := strings.Cut(strings.TrimSpace(entry), ":")
		app, key = strings.TrimSpace(app), strings.TrimSpace(key)
		switch {
		case !ok || app == "" || key == "":
			errs = append(errs, fmt.Errorf("%s: want app:key", where))
			return
		case !isAppToken(app):
			errs = append(errs, fmt.Errorf("%s: app %q: use 1 to 64 letters, digits, - and _ (it becomes the subject vigil.events.<app>)", where, app))
			return
		case len(key) < minKeyLen:
			errs = append(errs, fmt.Errorf("%s: the key of app %q has %d characters; use at least %d", where, app, len(key), minKeyLen))
			return
		}
		h := sha256.Sum256([]byte(key))
		if other, dup := keys[h]; dup && other != app {
			errs = append(errs, fmt.Errorf("%s: the key of app %q is also the key of app %q; a key serves one app", where, app, other))
			return
		}
		keys[h] = app
	}
	if c.APIKeys != "" {
		for i, entry := range strings.Split(c.APIKeys, ",") {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			add(fmt.Sprintf("VIGIL_INGEST_API_KEYS entry %d", i+1), entry)
		}
	}
	if c.APIKeysFile != "" {
		data, err := os.ReadFile(c.APIKeysFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_INGEST_API_KEYS_FILE=%q: %w", c.APIKeysFile, err))
		} else {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for line := 1; sc.Scan(); line++ {
				entry, _, _ := strings.Cut(sc.Text(), "#")
				if strings.TrimSpace(entry) == "" {
					continue
				}
				add(fmt.Sprintf("VIGIL_INGEST_API_KEYS_FILE=%q line %d", c.APIKeysFile, line), entry)
			}
			if err := sc.Err(); err != nil {
				errs = append(errs, fmt.Errorf("VIGIL_INGEST_API_KEYS_FILE=%q: %w", c.APIKeysFile, err))
			}
		}
	}
	if len(errs) == 0 && len(keys) == 0 {
		errs = append(errs, errors.New("VIGIL_INGEST_API_KEYS, VIGIL_INGEST_API_KEYS_FILE: no API key configured; the ingest service would refuse every request"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return keys, nil
}

// isAppToken reports whether app can be an event's app and a subject token, as the event
// contract requires.
func isAppToken(app string) bool {
	if app == "" || len(app) > 64 {
		return false
	}
	for i := 0; i < len(app); i++ {
		c := app[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
