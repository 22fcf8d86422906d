package event

import (
	"errors"
	"testing"
)

func TestDecodeRejectsDuplicatesAndInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"duplicate output", `{"event_id":"a","timestamp":"2026-11-27T10:00:00Z","app":"s","model":"m","output":"x","output":"y"}`, "output"},
		{"invalid UTF-8 in output", "{\"event_id\":\"a\",\"timestamp\":\"2026-11-27T10:00:00Z\",\"app\":\"s\",\"model\":\"m\",\"output\":\"bad \xff here\"}", "output"},
		{"invalid UTF-8 in a message", "{\"event_id\":\"a\",\"timestamp\":\"2026-11-27T10:00:00Z\",\"app\":\"s\",\"model\":\"m\",\"output\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", "messages"},
	}
	for _, tt := range tests {
		_, err := Decoder{}.Decode([]byte(tt.body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: Decode = %v, want a rejection naming %s", tt.name, err, tt.field)
		}
	}
	// Nested objects may repeat keys of the outer one, and escaped quotes do not end a string.
	ok := `{"event_id":"a","timestamp":"2026-11-27T10:00:00Z","app":"s","model":"m","output":"say \"output\": twice","attributes":{"output":"o","app":"p"}}`
	if _, err := (Decoder{}).Decode([]byte(ok)); err != nil {
		t.Errorf("Decode(nested repeats) = %v, want nil", err)
	}
}
