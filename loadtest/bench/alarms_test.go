package bench

import (
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestFalseAlarmsSummary(t *testing.T) {
	alert := func(name, metric string) *event.Alert {
		return &event.Alert{Labels: map[string]string{"alertname": name, "metric": metric, "app": "app-1"}}
	}
	tests := []struct {
		name   string
		alerts []*event.Alert
		want   string
	}{
		{"none", nil, ""},
		{"most frequent first", []*event.Alert{
			alert("QualityRegression", "refusal"), alert("ValueShift", "latency_ms"), alert("ValueShift", "latency_ms"),
		}, "ValueShift latency_ms: 2, QualityRegression refusal: 1"},
		{"ties by name", []*event.Alert{alert("B", "m"), alert("A", "m")}, "A m: 1, B m: 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f falseAlarms
			for _, a := range tt.alerts {
				f.add(a)
			}
			if got := f.summary(); got != tt.want {
				t.Errorf("summary() = %q, want %q", got, tt.want)
			}
			if got := f.count(); got != len(tt.alerts) {
				t.Errorf("count() = %d, want %d", got, len(tt.alerts))
			}
		})
	}
}
