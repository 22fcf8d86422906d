package event

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Limits of the v1 contract, mirrored in schemas/event.v1.schema.json.
const (
	maxIDLen        = 128
	maxLabelLen     = 128
	maxAttributes   = 64
	maxAttrKeyLen   = 128
	maxAttrValueLen = 4096
	maxFutureSkew   = 24 * time.Hour
)

var minTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Validate checks the event against the v1 contract and reports every problem at once.
func (e *Event) Validate() error {
	var p problems
	checkID(&p, "event_id", e.EventID)
	switch {
	case e.Timestamp.IsZero():
		p.add("timestamp", "required")
	case e.Timestamp.Before(minTimestamp):
		p.add("timestamp", "before 2000-01-01; send the time of the model call")
	case e.Timestamp.After(time.Now().Add(maxFutureSkew)):
		p.add("timestamp", "more than 24h in the future; check the sender's clock")
	}
	checkToken(&p, "app", e.App, true)
	checkToken(&p, "environment", e.Environment, false)
	checkLabel(&p, "feature", e.Feature)
	checkLabel(&p, "stage", e.Stage)
	checkLabel(&p, "trace_id", e.TraceID)
	checkLabel(&p, "span_id", e.SpanID)
	checkLabel(&p, "parent_span_id", e.ParentSpanID)
	checkLabel(&p, "provider", e.Provider)
	if e.Model == "" {
		p.add("model", "required")
	} else {
		checkLabel(&p, "model", e.Model)
	}
	checkLabel(&p, "prompt_id", e.PromptID)
	checkLabel(&p, "prompt_version", e.PromptVersion)
	checkLabel(&p, "output_schema", e.OutputSchema)
	checkLabel(&p, "finish_reason", e.FinishReason)
	checkLabel(&p, "user_id", e.UserID)
	checkLabel(&p, "session_id", e.SessionID)
	switch e.Status {
	case "", StatusOK, StatusError:
	default:
		p.add("status", fmt.Sprintf("%q is not one of ok, error", e.Status))
	}
	for i, m := range e.Messages {
		if m.Role == "" {
			p.add(fmt.Sprintf("messages[%d].role", i), "required")
		}
	}
	for i, c := range e.Context {
		if c.ID == "" {
			p.add(fmt.Sprintf("context[%d].id", i), "required")
		}
	}
	checkNonNegative(&p, "latency_ms", e.LatencyMS)
	checkNonNegative(&p, "ttft_ms", e.TTFTMS)
	checkNonNegative(&p, "cost_usd", e.CostUSD)
	if e.InputTokens < 0 {
		p.add("input_tokens", "must not be negative")
	}
	if e.OutputTokens < 0 {
		p.add("output_tokens", "must not be negative")
	}
	if len(e.Attributes) > maxAttributes {
		p.add("attributes", fmt.Sprintf("%d keys exceeds the maximum of %d", len(e.Attributes), maxAttributes))
	}
	for k, v := range e.Attributes {
		if k == "" || len(k) > maxAttrKeyLen {
			p.add("attributes", fmt.Sprintf("key %.40q must be 1 to %d bytes", k, maxAttrKeyLen))
		}
		if len(v) > maxAttrValueLen {
			p.add("attributes."+keyName(k), fmt.Sprintf("value exceeds %d bytes", maxAttrValueLen))
		}
	}
	return p.err()
}

// Validate checks that a scored record carries what downstream stages rely on.
func (s *Scored) Validate() error {
	var p problems
	checkID(&p, "event_id", s.EventID)
	if s.Timestamp.IsZero() {
		p.add("timestamp", "required")
	}
	checkToken(&p, "series.app", s.Series.App, true)
	if s.Series.Model == "" {
		p.add("series.model", "required")
	}
	if s.Source == "" {
		p.add("source", "required")
	}
	for i, sc := range s.Scores {
		if sc.Metric == "" {
			p.add(fmt.Sprintf("scores[%d].metric", i), "required")
		}
		if sc.Kind != KindCheck && sc.Kind != KindMeasure {
			p.add(fmt.Sprintf("scores[%d].kind", i), fmt.Sprintf("%q is not one of check, measure", sc.Kind))
		}
		if math.IsNaN(sc.Value) || math.IsInf(sc.Value, 0) {
			p.add(fmt.Sprintf("scores[%d].value", i), "must be a finite number")
		}
	}
	return p.err()
}

// Validate checks an alert's identity and state.
func (a *Alert) Validate() error {
	var p problems
	if a.AlertID == "" {
		p.add("alert_id", "required")
	}
	if !isFingerprint(a.Fingerprint) {
		p.add("fingerprint", "must be 16 lowercase hex characters")
	}
	switch a.State {
	case StatePending, StateFiring, StateResolved:
	default:
		p.add("state", fmt.Sprintf("%q is not one of pending, firing, resolved", a.State))
	}
	switch a.Severity {
	case SeverityWarning, SeverityCritical:
	default:
		p.add("severity", fmt.Sprintf("%q is not one of warning, critical", a.Severity))
	}
	if a.Labels["app"] == "" {
		p.add("labels.app", "required")
	}
	if a.At.IsZero() {
		p.add("at", "required")
	}
	return p.err()
}

func checkID(p *problems, field, v string) {
	if v == "" {
		p.add(field, "required")
		return
	}
	if len(v) > maxIDLen {
		p.add(field, fmt.Sprintf("%d bytes exceeds the maximum of %d", len(v), maxIDLen))
		return
	}
	for i := 0; i < len(v); i++ {
		if !isIDByte(v[i]) {
			p.add(field, fmt.Sprintf("character %q at offset %d; use letters, digits and - _ . :", v[i], i))
			return
		}
	}
}

// checkToken checks a label that becomes a NATS subject token.
func checkToken(p *problems, field, v string, required bool) {
	if v == "" {
		if required {
			p.add(field, "required")
		}
		return
	}
	if len(v) > 64 {
		p.add(field, fmt.Sprintf("%d bytes exceeds the maximum of 64", len(v)))
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			p.add(field, fmt.Sprintf("character %q at offset %d; use letters, digits, - and _", c, i))
			return
		}
	}
}

func checkLabel(p *problems, field, v string) {
	if len(v) > maxLabelLen {
		p.add(field, fmt.Sprintf("%d bytes exceeds the maximum of %d", len(v), maxLabelLen))
	} else if !utf8.ValidString(v) {
		p.add(field, "not valid UTF-8")
	}
}

func checkNonNegative(p *problems, field string, v float64) {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		p.add(field, "must be a finite number >= 0")
	}
}

// isFingerprint reports whether v has the form of a 64-bit label-set fingerprint, "%016x".
func isFingerprint(v string) bool {
	if len(v) != 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}
