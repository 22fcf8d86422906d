// Package config loads vigil's configuration from VIGIL_* environment variables with envconfig,
// validates it, and catches typos: a VIGIL_ variable that no vigil service knows is an error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/vigilhq/vigil/pkg/stream"
)

var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Prefix is the one prefix of every vigil variable.
const Prefix = "VIGIL"

// Common holds the settings every service shares.
type Common struct {
	NATSURL       string `envconfig:"NATS_URL" default:"nats://127.0.0.1:4222" desc:"NATS server URL(s), comma-separated"`
	NATSCreds     string `envconfig:"NATS_CREDS" desc:"path to a NATS credentials file (optional)"`
	ClickHouseDSN string `envconfig:"CLICKHOUSE_DSN" default:"clickhouse://127.0.0.1:9000/vigil" desc:"ClickHouse native-protocol DSN; the database is created if missing"`
	LogFormat     string `split_words:"true" default:"json" desc:"log format: json or text"`
	LogLevel      string `split_words:"true" default:"info" desc:"log level: debug, info, warn or error"`
	// ClickHouseCluster switches migrations to ON CLUSTER DDL with replicated tables.
	ClickHouseCluster string `envconfig:"CLICKHOUSE_CLUSTER" desc:"ClickHouse cluster (a remote_servers name) to migrate the schema on: replicated tables behind Distributed ones; empty for one server"`
	TLS
	Streams
}

// Streams are the JetStream limits applied when a service creates or updates the streams.
type Streams struct {
	Replicas   int           `envconfig:"STREAM_REPLICAS" default:"1" desc:"replicas of every stream (3 on a cluster)"`
	MaxAge     time.Duration `envconfig:"STREAM_MAX_AGE" default:"168h" desc:"oldest message a stream keeps"`
	MaxBytes   int64         `envconfig:"STREAM_MAX_BYTES" default:"-1" desc:"bytes a stream keeps before refusing publishes (-1: no limit)"`
	Duplicates time.Duration `envconfig:"STREAM_DUPLICATES" default:"30s" desc:"de-duplication window for Nats-Msg-Id: a copy published again within it is dropped"`
	Partitions int           `envconfig:"SCORED_PARTITIONS" default:"16" desc:"partitions of the scored stream (series hashed over them)"`
	MaxEvent   int           `envconfig:"MAX_EVENT_BYTES" default:"262144" desc:"largest accepted event; larger ones are dead-lettered"`
}

// Limits are the stream limits these settings give; streams are always stored in files.
func (s Streams) Limits() stream.Limits {
	return stream.Limits{Replicas: s.Replicas, MaxAge: s.MaxAge, MaxBytes: s.MaxBytes, Duplicates: s.Duplicates, FileStore: true}
}

// Validate reports every bad field at once.
func (c Common) Validate() error {
	var errs []error
	if c.NATSURL == "" {
		errs = append(errs, errors.New("VIGIL_NATS_URL: must not be empty"))
	}
	if !strings.HasPrefix(c.ClickHouseDSN, "clickhouse://") {
		errs = append(errs, fmt.Errorf("VIGIL_CLICKHOUSE_DSN=%q: must be a clickhouse:// native-protocol DSN", c.ClickHouseDSN))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("VIGIL_LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("VIGIL_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel))
	}
	if c.ClickHouseCluster != "" && !clusterName.MatchString(c.ClickHouseCluster) {
		errs = append(errs, fmt.Errorf("VIGIL_CLICKHOUSE_CLUSTER=%q: want letters, digits and underscores", c.ClickHouseCluster))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	s := c.Streams
	if s.Replicas < 1 || s.Replicas > 5 {
		errs = append(errs, fmt.Errorf("VIGIL_STREAM_REPLICAS=%d: want 1 to 5", s.Replicas))
	}
	if s.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("VIGIL_STREAM_MAX_AGE=%v: must not be negative", s.MaxAge))
	}
	if s.Duplicates <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_STREAM_DUPLICATES=%v: must be positive", s.Duplicates))
	}
	if s.Partitions < 1 || s.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("VIGIL_SCORED_PARTITIONS=%d: want 1 to 1024", s.Partitions))
	}
	if s.MaxEvent < 1024 {
		errs = append(errs, fmt.Errorf("VIGIL_MAX_EVENT_BYTES=%d: want at least 1024", s.MaxEvent))
	}
	return errors.Join(errs...)
}

// Validator is a configuration that can check itself.
type Validator interface{ Validate() error }

// Load fills each spec from the environment and validates them all, reporting every problem at
// once. known lists every variable any vigil service reads (see Keys); a VIGIL_ variable outside
// it is reported as a likely typo.
func Load(known map[string]bool, specs ...Validator) error {
	var errs []error
	for _, spec := range specs {
		if err := envconfig.Process(Prefix, spec); err != nil {
			errs = append(errs, fmt.Errorf("read configuration: %w", err))
			continue
		}
		if err := spec.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := CheckUnknown(os.Environ(), known); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckUnknown reports VIGIL_ variables in environ that are not in known.
func CheckUnknown(environ []string, known map[string]bool) error {
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("unknown variables %s: no vigil service reads them (a typo?); see the configuration reference in README.md", strings.Join(unknown, ", "))
}

// Keys returns the variable names specs read, for CheckUnknown.
func Keys(specs ...any) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, spec := range specs {
		var buf bytes.Buffer
		if err := envconfig.Usagef(Prefix, spec, &buf, "{{range .}}{{.Key}}\n{{end}}"); err != nil {
			return nil, fmt.Errorf("list configuration keys: %w", err)
		}
		for _, k := range strings.Fields(buf.String()) {
			keys[k] = true
		}
	}
	return keys, nil
}

// Reference writes a Markdown table of the variables specs read: name, type, default, meaning.
func Reference(w *bytes.Buffer, specs ...any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, spec := range specs {
		if err := envconfig.Usagef(Prefix, spec, tw, "{{range .}}| `{{.Key}}` | {{.Field.Type}} | `{{.Tags.Get \"default\"}}` | {{.Tags.Get \"desc\"}} |\n{{end}}"); err != nil {
			return fmt.Errorf("write configuration reference: %w", err)
		}
	}
	return tw.Flush()
}
