package scoring

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilhq/vigil/pkg/event"
)

func TestAppendTelemetry(t *testing.T) {
	m := func(metric string, v float64) event.Score {
		return event.Score{Metric: metric, Kind: event.KindMeasure, Value: v, Pass: true}
	}
	for _, c := range []struct {
		name string
		ev   *event.Event
		want []event.Score
	}{
		{"nil event", nil, nil},
		{"none set", &event.Event{}, nil},
		{"all set", &event.Event{LatencyMS: 420, TTFTMS: 80, InputTokens: 12, OutputTokens: 20, CostUSD: 0.0004},
			[]event.Score{m("latency_ms", 420), m("ttft_ms", 80), m("input_tokens", 12), m("output_tokens", 20), m("cost_usd", 0.0004)}},
		{"some set", &event.Event{LatencyMS: 1, OutputTokens: 3}, []event.Score{m("latency_ms", 1), m("output_tokens", 3)}},
		{"negative and infinite left out", &event.Event{LatencyMS: -5, TTFTMS: math.Inf(1), CostUSD: math.NaN()}, nil},
	} {
		got := AppendTelemetry(c.ev, nil)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: AppendTelemetry (-want +got):\n%s", c.name, diff)
		}
	}
	// Appends after existing scores.
	dst := []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Pass: true}}
	if got := AppendTelemetry(&event.Event{LatencyMS: 5}, dst); len(got) != 2 || got[0].Metric != "non_empty" || got[1].Metric != "latency_ms" {
		t.Errorf("AppendTelemetry kept %v, want the check then latency_ms", got)
	}
}
