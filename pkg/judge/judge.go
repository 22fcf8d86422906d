// Package judge scores model outputs with an LLM judge: any OpenAI-compatible chat-completions
// endpoint, prompted with a rubric, answering {"label", "score", "explanation"}. A judge samples
// events deterministically by a hash of the event id, caps its request rate and its daily spend,
// and caches answers by judge version and prompt hash. The package does no messaging; the judge
// service feeds it events and publishes its scores.
package judge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// MetricPrefix starts the metric name of every judge: a judge named helpfulness scores
// judge_helpfulness.
const MetricPrefix = "judge_"

// Source is the score source of judge records in event.Scored, beside the checks' "checks".
const Source = "judge"

// DefaultTimeout bounds one request when a judge names no timeout.
const DefaultTimeout = 30 * time.Second

// Judge configures one LLM judge. It is plain data, read from the judge file (see LoadFile); the
// API key itself never appears in it, only the name of the environment variable holding it.
type Judge struct {
	// Name identifies the judge; its metric is judge_<name>. Lower-case letters, digits and _.
	Name string `json:"name"`
	// Endpoint is the base URL of an OpenAI-compatible API (https://api.openai.com/v1,
	// http://localhost:11434/v1); /chat/completions is appended unless it is already there.
	Endpoint string `json:"endpoint"`
	// Model is the model the endpoint runs.
	Model string `json:"model"`
	// APIKeyEnv names the environment variable holding the endpoint's API key, sent as a bearer
	// token. Empty: no Authorization header (local endpoints).
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// Rubric is a text/template for the user prompt; see PromptData for the fields it can use.
	Rubric string `json:"rubric"`
	// Threshold is the lowest score that passes, in (0, 1].
	Threshold float64 `json:"threshold"`
	// SampleRate is the share of matching events judged, in (0, 1]; see Sampled.
	SampleRate float64 `json:"sample_rate"`
	// MaxPerMinute caps requests per minute to the endpoint, retries included (0: no cap).
	MaxPerMinute int `json:"max_per_minute,omitempty"`
	// MaxUSDPerDay caps the spend per UTC day (0: no cap); needs a price.
	MaxUSDPerDay float64 `json:"max_usd_per_day,omitempty"`
	// PricePer1KInput and PricePer1KOutput are the endpoint's prices in USD per 1,000 prompt and
	// completion tokens.
	PricePer1KInput  float64 `json:"price_per_1k_input,omitempty"`
	PricePer1KOutput float64 `json:"price_per_1k_output,omitempty"`
	// MaxOutputTokens, when positive, is sent as max_tokens.
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`
	// Timeout bounds one request (and the wait for its turn under MaxPerMinute); 0 means
	// DefaultTimeout.
	Timeout Duration `json:"timeout,omitempty"`
	// Retries is how many times a request that failed transiently (network error, timeout, HTTP
	// 408, 429 or 5xx) is sent again.
	Retries int `json:"retries,omitempty"`
	// Apps and Features restrict the judge to events whose app and feature match one of the
	// path.Match patterns ("support-*"); empty matches every event.
	Apps     []string `json:"apps,omitempty"`
	Features []string `json:"features,omitempty"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("30s", "1m30s").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "30s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`%q is not a duration such as "30s"`, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// Metric is the metric name of the judge's scores.
func (j *Judge) Metric() string { return MetricPrefix + j.Name }

// RequestTimeout is the bound of one request.
func (j *Judge) RequestTimeout() time.Duration {
	if j.Timeout <= 0 {
		return DefaultTimeout
	}
	return time.Duration(j.Timeout)
}

// URL is the chat-completions URL requests go to.
func (j *Judge) URL() string {
	u := strings.TrimRight(j.Endpoint, "/")
	if strings.HasSuffix(u, "/chat/completions") {
		return u
	}
	return u + "/chat/completions"
}

// Version is a short hash of what decides the judge's scores: its name, model, rubric and
// threshold, and the system prompt vigil sends. Rates, caps, prices, timeouts and the endpoint
// do not change it. Cached answers are keyed by it.
func (j *Judge) Version() string {
	h := sha256.New()
	for _, part := range []string{systemPromptVersion, j.Name, j.Model, j.Rubric, strconv.FormatFloat(j.Threshold, 'g', -1, 64)} {
		io.WriteString(h, part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Applies reports whether the judge judges events like ev: its app and feature match, and the
// call produced an answer (an event with status error has nothing to judge).
func (j *Judge) Applies(ev *event.Event) bool {
	if ev.Status == event.StatusError {
		return false
	}
	return matchAny(j.Apps, ev.App) && matchAny(j.Features, orDefault(ev.Feature, event.DefaultFeature))
}

// Sampled reports whether the event with id falls in the judge's sample. Each judge draws its
// own sample, the same on every replica and after every restart.
func (j *Judge) Sampled(eventID string) bool { return Sampled(j.Name+"\x00"+eventID, j.SampleRate) }

func matchAny(patterns []string, v string) bool {
	if len(patterns) == 0 {
		return true
	}
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, _ := path.Match(p, v)
		return ok
	})
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Validate reports every problem of the judge at once, each naming the field. It checks that the
// rubric renders, and that the API key variable, if named, is set; it never shows the key.
func (j *Judge) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if !nameRE.MatchString(j.Name) {
		bad("name", "%q: want a lower-case letter, then up to 47 lower-case letters, digits or _", j.Name)
	}
	if u, err := url.Parse(j.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("endpoint", "%q: want an http:// or https:// base URL such as https://api.openai.com/v1", redactURL(j.Endpoint))
	}
	if strings.TrimSpace(j.Model) == "" {
		bad("model", "required")
	}
	switch {
	case j.APIKeyEnv == "":
	case strings.HasPrefix(j.APIKeyEnv, "VIGIL_"):
		bad("api_key_env", "%s: name a variable outside VIGIL_ (a VIGIL_ variable no service reads is rejected as a typo)", j.APIKeyEnv)
	case os.Getenv(j.APIKeyEnv) == "":
		bad("api_key_env", "the variable %s is not set", j.APIKeyEnv)
	}
	if err := checkRubric(j.Rubric); err != nil {
		bad("rubric", "%v", err)
	}
	if !(j.Threshold > 0 && j.Threshold <= 1) {
		bad("threshold", "%v: want more than 0 and at most 1", j.Threshold)
	}
	if !(j.SampleRate > 0 && j.SampleRate <= 1) {
		bad("sample_rate", "%v: want more than 0 and at most 1", j.SampleRate)
	}
	if j.MaxPerMinute < 0 {
		bad("max_per_minute", "%d: must not be negative (0: no cap)", j.MaxPerMinute)
	}
	if j.MaxUSDPerDay < 0 {
		bad("max_usd_per_day", "%v: must not be negative (0: no cap)", j.MaxUSDPerDay)
	}
	if j.PricePer1KInput < 0 {
		bad("price_per_1k_input", "%v: must not be negative", j.PricePer1KInput)
	}
	if j.PricePer1KOutput < 0 {
		bad("price_per_1k_output", "%v: must not be negative", j.PricePer1KOutput)
	}
	if j.MaxUSDPerDay > 0 && j.PricePer1KInput == 0 && j.PricePer1KOutput == 0 {
		bad("max_usd_per_day", "a spend cap needs price_per_1k_input or price_per_1k_output")
	}
	if j.MaxOutputTokens < 0 {
		bad("max_output_tokens", "%d: must not be negative", j.MaxOutputTokens)
	}
	if j.Timeout < 0 || time.Duration(j.Timeout) > 10*time.Minute {
		bad("timeout", "%v: want 0 (30s) to 10m", time.Duration(j.Timeout))
	}
	if j.Retries < 0 || j.Retries > 10 {
		bad("retries", "%d: want 0 to 10", j.Retries)
	}
	for i, p := range j.Apps {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			bad(fmt.Sprintf("apps[%d]", i), "bad pattern %q", p)
		}
	}
	for i, p := range j.Features {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			bad(fmt.Sprintf("features[%d]", i), "bad pattern %q", p)
		}
	}
	return errors.Join(errs...)
}

// redactURL hides a password in a URL shown in an error.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if strings.Contains(s, "@") {
		return "(unparsable URL with credentials)"
	}
	return s
}

// File is the judge file the judge service reads.
type File struct {
	Judges []Judge `json:"judges"`
}

// LoadFile reads and validates a judge file.
func LoadFile(name string) (*File, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read judge file: %w", err)
	}
	f, err := ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("judge file %s: %w", name, err)
	}
	return f, nil
}

// ParseFile decodes a judge file strictly (an unknown field is an error naming it, so a typo does
// not silently drop a cap) and validates every judge, reporting every problem at once.
func ParseFile(b []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("%s: wrong type: got JSON %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse: unexpected data after the JSON object")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate reports every problem of every judge, each prefixed by judges[i].
func (f *File) Validate() error {
	var errs []error
	if len(f.Judges) == 0 {
		errs = append(errs, errors.New("judges: at least one judge required"))
	}
	seen := map[string]bool{}
	for i := range f.Judges {
		j := &f.Judges[i]
		if err := j.Validate(); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("judges[%d].%w", i, e))
			}
		}
		if j.Name != "" && seen[j.Name] {
			errs = append(errs, fmt.Errorf("judges[%d].name: %q is used twice", i, j.Name))
		}
		seen[j.Name] = true
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// Version is the rules version of the records the judges produce: a short hash of every judge's
// Version, in file order. Adding, removing or changing a judge changes it.
func (f *File) Version() string {
	h := sha256.New()
	for i := range f.Judges {
		io.WriteString(h, f.Judges[i].Version())
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
