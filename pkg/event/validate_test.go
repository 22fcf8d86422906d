package event

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// validEvent returns a minimal event that passes Validate.
func validEvent() *Event {
	return &Event{
		EventID:   "evt-1",
		Timestamp: time.Date(2026, 11, 26, 9, 15, 2, 0, time.UTC),
		App:       "helpdesk",
		Model:     "gpt-4o-mini",
		Output:    "ok",
	}
}

func TestEventValidate(t *testing.T) {
	many := make(map[string]string, maxAttributes+1)
	for i := range maxAttributes + 1 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	full := make(map[string]string, maxAttributes)
	for i := range maxAttributes {
		full[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", maxAttrValueLen)
	}
	tests := []struct {
		name string
		edit func(e *Event)
		// want lists the fields the error must name, in order; nil means valid.
		want []string
	}{
		{name: "minimal", edit: func(e *Event) {}},
		{name: "every field", edit: func(e *Event) { *e = *fullEvent() }},
		{name: "empty output", edit: func(e *Event) { e.Output, e.Status, e.Error = "", StatusError, "timeout" }},
		{name: "id with every allowed character", edit: func(e *Event) { e.EventID = "aZ09-_.:" }},
		{name: "id of 128 bytes", edit: func(e *Event) { e.EventID = strings.Repeat("e", maxIDLen) }},
		{name: "app of 64 bytes", edit: func(e *Event) { e.App = strings.Repeat("a", 64) }},
		{name: "label of 128 bytes", edit: func(e *Event) { e.Feature = strings.Repeat("f", maxLabelLen) }},
		{name: "non-ASCII label within 128 bytes", edit: func(e *Event) { e.Feature = strings.Repeat("日", 42) }},
		{name: "timestamp at 2000-01-01", edit: func(e *Event) { e.Timestamp = minTimestamp }},
		{name: "timestamp 23h ahead", edit: func(e *Event) { e.Timestamp = time.Now().Add(23 * time.Hour) }},
		{name: "64 attributes of the largest size", edit: func(e *Event) { e.Attributes = full }},
		{name: "zero numbers", edit: func(e *Event) { e.LatencyMS, e.CostUSD, e.InputTokens = 0, 0, 0 }},

		{name: "zero event", edit: func(e *Event) { *e = Event{} }, want: []string{"event_id", "timestamp", "app", "model"}},
		{name: "id of 129 bytes", edit: func(e *Event) { e.EventID = strings.Repeat("e", maxIDLen+1) }, want: []string{"event_id"}},
		{name: "id with slash", edit: func(e *Event) { e.EventID = "a/b" }, want: []string{"event_id"}},
		{name: "id with non-ASCII", edit: func(e *Event) { e.EventID = "évt" }, want: []string{"event_id"}},
		{name: "timestamp before 2000", edit: func(e *Event) { e.Timestamp = minTimestamp.Add(-time.Nanosecond) }, want: []string{"timestamp"}},
		{name: "timestamp 25h ahead", edit: func(e *Event) { e.Timestamp = time.Now().Add(25 * time.Hour) }, want: []string{"timestamp"}},
		{name: "app with dot", edit: func(e *Event) { e.App = "a.b" }, want: []string{"app"}},
		{name: "app with space", edit: func(e *Event) { e.App = "a b" }, want: []string{"app"}},
		{name: "app wildcard", edit: func(e *Event) { e.App = ">" }, want: []string{"app"}},
		{name: "app of 65 bytes", edit: func(e *Event) { e.App = strings.Repeat("a", 65) }, want: []string{"app"}},
		{name: "environment with dot", edit: func(e *Event) { e.Environment = "prod.eu" }, want: []string{"environment"}},
		{name: "model of 129 bytes", edit: func(e *Event) { e.Model = strings.Repeat("m", maxLabelLen+1) }, want: []string{"model"}},
		// Limits count bytes: 43 three-byte characters are 129 bytes.
		{name: "non-ASCII label over 128 bytes", edit: func(e *Event) { e.Feature = strings.Repeat("日", 43) }, want: []string{"feature"}},
		{name: "label not UTF-8", edit: func(e *Event) { e.Provider = "open\xffai" }, want: []string{"provider"}},
		{name: "every label too long", edit: func(e *Event) {
			long := strings.Repeat("x", maxLabelLen+1)
			e.Feature, e.Stage, e.TraceID, e.SpanID, e.ParentSpanID, e.Provider = long, long, long, long, long, long
			e.PromptID, e.PromptVersion, e.OutputSchema, e.FinishReason, e.UserID, e.SessionID = long, long, long, long, long, long
		}, want: []string{"feature", "stage", "trace_id", "span_id", "parent_span_id", "provider", "prompt_id", "prompt_version", "output_schema", "finish_reason", "user_id", "session_id"}},
		{name: "status unknown", edit: func(e *Event) { e.Status = "timeout" }, want: []string{"status"}},
		{name: "message without role", edit: func(e *Event) { e.Messages = []Message{{Role: "user"}, {Content: "hi"}} }, want: []string{"messages[1].role"}},
		{name: "passage without id", edit: func(e *Event) { e.Context = []Passage{{Text: "t"}} }, want: []string{"context[0].id"}},
		{name: "negative numbers", edit: func(e *Event) {
			e.LatencyMS, e.TTFTMS, e.CostUSD, e.InputTokens, e.OutputTokens = -1, -0.5, -0.01, -1, -2
		}, want: []string{"latency_ms", "ttft_ms", "cost_usd", "input_tokens", "output_tokens"}},
		{name: "NaN latency", edit: func(e *Event) { e.LatencyMS = math.NaN() }, want: []string{"latency_ms"}},
		{name: "infinite cost", edit: func(e *Event) { e.CostUSD = math.Inf(1) }, want: []string{"cost_usd"}},
		{name: "65 attributes", edit: func(e *Event) { e.Attributes = many }, want: []string{"attributes"}},
		{name: "attribute key empty", edit: func(e *Event) { e.Attributes = map[string]string{"": "v"} }, want: []string{"attributes"}},
		{name: "attribute key of 129 bytes", edit: func(e *Event) { e.Attributes = map[string]string{strings.Repeat("k", maxAttrKeyLen+1): "v"} }, want: []string{"attributes"}},
		{name: "attribute value too long", edit: func(e *Event) { e.Attributes = map[string]string{"tenant": strings.Repeat("v", maxAttrValueLen+1)} }, want: []string{"attributes.tenant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.edit(e)
			err := e.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want a *ValidationError naming %q", err, tt.want)
			}
			if got := errorFields(err); !slices.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, fields %q, want %q", err, got, tt.want)
			}
			for _, f := range verr.Fields {
				if f.Reason == "" {
					t.Errorf("Validate(): field %s has no reason", f.Field)
				}
			}
		})
	}
}

func TestScoredValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *Scored)
		want []string
	}{
		{name: "full", edit: func(s *Scored) {}},
		{name: "no scores", edit: func(s *Scored) { s.Scores = nil }},
		{name: "zero", edit: func(s *Scored) { *s = Scored{} }, want: []string{"event_id", "timestamp", "series.app", "series.model", "source"}},
		{name: "bad event id", edit: func(s *Scored) { s.EventID = "a b" }, want: []string{"event_id"}},
		{name: "app with dot", edit: func(s *Scored) { s.Series.App = "a.b" }, want: []string{"series.app"}},
		{name: "score problems", edit: func(s *Scored) {
			s.Scores = []Score{{Metric: "ok", Kind: KindCheck}, {Kind: "gauge", Value: math.Inf(-1)}, {Metric: "m", Kind: KindMeasure, Value: math.NaN()}}
		}, want: []string{"scores[1].metric", "scores[1].kind", "scores[1].value", "scores[2].value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fullScored()
			tt.edit(s)
			err := s.Validate()
			if got := errorFields(err); !slices.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, fields %q, want %q", err, got, tt.want)
			}
		})
	}
}

func TestAlertValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *Alert)
		want []string
	}{
		{name: "full", edit: func(a *Alert) {}},
		{name: "pending", edit: func(a *Alert) { a.State, a.EndsAt = StatePending, nil }},
		{name: "warning", edit: func(a *Alert) { a.Severity = SeverityWarning }},
		{name: "zero", edit: func(a *Alert) { *a = Alert{} }, want: []string{"alert_id", "fingerprint", "state", "severity", "labels.app", "at"}},
		{name: "fingerprint 15 characters", edit: func(a *Alert) { a.Fingerprint = "c6eadffa33fcdf3" }, want: []string{"fingerprint"}},
		{name: "fingerprint not hex", edit: func(a *Alert) { a.Fingerprint = "c6eadffa33fcdfzz" }, want: []string{"fingerprint"}},
		{name: "fingerprint upper case", edit: func(a *Alert) { a.Fingerprint = "C6EADFFA33FCDF37" }, want: []string{"fingerprint"}},
		{name: "state unknown", edit: func(a *Alert) { a.State = "recovering" }, want: []string{"state"}},
		{name: "severity unknown", edit: func(a *Alert) { a.Severity = "info" }, want: []string{"severity"}},
		{name: "labels without app", edit: func(a *Alert) { a.Labels = map[string]string{"metric": "refusal"} }, want: []string{"labels.app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := fullAlert()
			tt.edit(a)
			err := a.Validate()
			if got := errorFields(err); !slices.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, fields %q, want %q", err, got, tt.want)
			}
		})
	}
}

func TestSeries(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want Series
	}{
		{
			name: "defaults",
			ev:   Event{App: "a", Model: "m"},
			want: Series{App: "a", Environment: DefaultEnvironment, Feature: DefaultFeature, Model: "m", PromptVersion: DefaultPromptVersion},
		},
		{
			name: "set",
			ev:   Event{App: "a", Environment: "staging", Feature: "f", Model: "m", PromptVersion: "v2"},
			want: Series{App: "a", Environment: "staging", Feature: "f", Model: "m", PromptVersion: "v2"},
		},
	}
	for _, tt := range tests {
		if got := tt.ev.Series(); got != tt.want {
			t.Errorf("%s: Series() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSeriesKey(t *testing.T) {
	a := Series{App: "a", Environment: "b", Feature: "c", Model: "d", PromptVersion: "e"}
	if got, want := a.Key(), "a\x1fb\x1fc\x1fd\x1fe"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	// Labels are joined with a separator, so moving text between labels changes the key.
	b := Series{App: "ab", Environment: "", Feature: "c", Model: "d", PromptVersion: "e"}
	if a.Key() == b.Key() {
		t.Errorf("Key() of %+v and %+v are both %q, want them distinct", a, b, a.Key())
	}
}

func TestErrors(t *testing.T) {
	inner := errors.New("inner")
	fe := &FieldError{Field: "latency_ms", Reason: "must be a finite number >= 0", err: inner}
	if got, want := fe.Error(), "latency_ms: must be a finite number >= 0"; got != want {
		t.Errorf("FieldError.Error() = %q, want %q", got, want)
	}
	if !errors.Is(fe, inner) {
		t.Errorf("errors.Is(%v, inner) = false, want true", fe)
	}

	err := validEventWith(func(e *Event) { e.App, e.Status = "", "bad" }).Validate()
	want := `invalid event: app: required; status: "bad" is not one of ok, error`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
	var ferr *FieldError
	if !errors.As(err, &ferr) || ferr.Field != "app" {
		t.Errorf("errors.As(%v, *FieldError) = %v, want the first field error (app)", err, ferr)
	}
}

func validEventWith(edit func(e *Event)) *Event {
	e := validEvent()
	edit(e)
	return e
}
