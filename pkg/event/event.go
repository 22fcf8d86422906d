// Package event defines vigil's wire contract: the v1 model-call event that applications publish,
// the scored record the scorer derives from it, and the alert the drift service emits. It is the
// one place that encodes and decodes JSON; decoders are strict and every rejection names the field.
package event

import "time"

// SchemaVersion is the version of the event, scored-record and alert contracts in this package.
const SchemaVersion = "v1"

// Event is one call of a monitored model, as published by an application on vigil.events.<app>.
// Field names follow the OpenTelemetry GenAI semantic conventions where one exists.
type Event struct {
	EventID            string            `json:"event_id"`
	Timestamp          time.Time         `json:"timestamp"`
	App                string            `json:"app"`
	Feature            string            `json:"feature,omitempty"`
	Stage              string            `json:"stage,omitempty"`
	TraceID            string            `json:"trace_id,omitempty"`
	SpanID             string            `json:"span_id,omitempty"`
	ParentSpanID       string            `json:"parent_span_id,omitempty"`
	Environment        string            `json:"environment,omitempty"`
	Provider           string            `json:"provider,omitempty"`
	Model              string            `json:"model"`
	PromptID           string            `json:"prompt_id,omitempty"`
	PromptVersion      string            `json:"prompt_version,omitempty"`
	Input              string            `json:"input,omitempty"`
	Messages           []Message         `json:"messages,omitempty"`
	Output             string            `json:"output"`
	SystemInstructions string            `json:"system_instructions,omitempty"`
	Expected           string            `json:"expected,omitempty"`
	Context            []Passage         `json:"context,omitempty"`
	OutputSchema       string            `json:"output_schema,omitempty"`
	LatencyMS          float64           `json:"latency_ms,omitempty"`
	TTFTMS             float64           `json:"ttft_ms,omitempty"`
	InputTokens        int64             `json:"input_tokens,omitempty"`
	OutputTokens       int64             `json:"output_tokens,omitempty"`
	CostUSD            float64           `json:"cost_usd,omitempty"`
	FinishReason       string            `json:"finish_reason,omitempty"`
	Status             string            `json:"status,omitempty"`
	Error              string            `json:"error,omitempty"`
	UserID             string            `json:"user_id,omitempty"`
	SessionID          string            `json:"session_id,omitempty"`
	Attributes         map[string]string `json:"attributes,omitempty"`
}

// Message is one chat message of the model's input.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Passage is one retrieved passage handed to the model as context.
type Passage struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Status values an event may carry.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Defaults applied to optional identity labels so that every series has a full label set.
const (
	DefaultEnvironment   = "production"
	DefaultFeature       = "default"
	DefaultPromptVersion = "unversioned"
)

// Series is the identity of a monitored stream of model calls; a quality series adds the metric.
type Series struct {
	App           string `json:"app"`
	Environment   string `json:"environment"`
	Feature       string `json:"feature"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
}

// Series returns the event's series labels with defaults filled in for empty optional labels.
func (e *Event) Series() Series {
	return Series{
		App:           e.App,
		Environment:   orDefault(e.Environment, DefaultEnvironment),
		Feature:       orDefault(e.Feature, DefaultFeature),
		Model:         e.Model,
		PromptVersion: orDefault(e.PromptVersion, DefaultPromptVersion),
	}
}

// Key returns a stable string form of the series, usable as a map key and as a hash input.
func (s Series) Key() string {
	return s.App + "\x1f" + s.Environment + "\x1f" + s.Feature + "\x1f" + s.Model + "\x1f" + s.PromptVersion
}

// FeatureKey identifies the feature the series belongs to, whatever its model or prompt version.
// Scored records are partitioned by it, so every version of a feature lands in one partition and
// a new version can inherit the baseline of the one before.
func (s Series) FeatureKey() string {
	return s.App + "\x1f" + s.Environment + "\x1f" + s.Feature
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Kind tells drift detection how to read a score.
type Kind string

const (
	// KindCheck is a pass/fail check: drift watches its failure rate.
	KindCheck Kind = "check"
	// KindMeasure is a continuous measurement: drift watches its failure rate and its mean value.
	KindMeasure Kind = "measure"
)

// Score is the result of one check on one event.
type Score struct {
	Metric string  `json:"metric"`
	Kind   Kind    `json:"kind"`
	Value  float64 `json:"value"`
	Pass   bool    `json:"pass"`
	Label  string  `json:"label,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// Scored is the small record the scorer publishes for each event on vigil.scored.<partition>: ids,
// series labels and scores, never the event body.
type Scored struct {
	EventID      string    `json:"event_id"`
	Timestamp    time.Time `json:"timestamp"`
	Series       Series    `json:"series"`
	Stage        string    `json:"stage,omitempty"`
	Source       string    `json:"source"`
	RulesVersion string    `json:"rules_version"`
	Scores       []Score   `json:"scores"`
}

// Alert states, following Prometheus/Alertmanager semantics.
const (
	StatePending  = "pending"
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Severities an alert may carry; they form the last token of the alert subject.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert is one transition of a drift alert (or a re-send of a firing one), published on
// vigil.alerts.<app>.<severity>.
type Alert struct {
	AlertID     string            `json:"alert_id"`
	Fingerprint string            `json:"fingerprint"`
	Sequence    uint64            `json:"sequence"`
	State       string            `json:"state"`
	Previous    string            `json:"previous_state"`
	Resend      bool              `json:"resend"`
	Severity    string            `json:"severity"`
	Labels      map[string]string `json:"labels"`
	Summary     string            `json:"summary"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      *time.Time        `json:"ends_at,omitempty"`
	At          time.Time         `json:"at"`
	Evidence    Evidence          `json:"evidence"`
}

// Evidence is what a person needs to judge an alert without re-running the statistics.
type Evidence struct {
	Detector        string    `json:"detector"`
	Signal          string    `json:"signal"`
	Statistic       float64   `json:"statistic"`
	Threshold       float64   `json:"threshold"`
	PValue          float64   `json:"p_value"`
	Baseline        Sample    `json:"baseline"`
	Current         Sample    `json:"current"`
	BaselineSource  string    `json:"baseline_source"`
	WindowStart     time.Time `json:"window_start"`
	WindowEnd       time.Time `json:"window_end"`
	ExampleEventIDs []string  `json:"example_event_ids"`
}

// Sample summarises one side of a comparison.
type Sample struct {
	Value         float64 `json:"value"`
	N             int64   `json:"n"`
	PromptVersion string  `json:"prompt_version,omitempty"`
	Model         string  `json:"model,omitempty"`
}
