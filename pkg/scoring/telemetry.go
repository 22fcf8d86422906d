package scoring

import (
	"math"

	"github.com/vigilhq/vigil/pkg/event"
)

// Telemetry metrics: the event's own latency, token counts and cost, recorded as measures beside the
// checks so that drift watches them like any quality score (their mean and distribution against the
// baseline) and a prompt or model change that makes calls slower, longer or dearer alerts.
const (
	MetricLatency      = "latency_ms"
	MetricTTFT         = "ttft_ms"
	MetricInputTokens  = "input_tokens"
	MetricOutputTokens = "output_tokens"
	MetricCost         = "cost_usd"
)

// AppendTelemetry appends to dst a measure for each of the event's latency_ms, ttft_ms,
// input_tokens, output_tokens and cost_usd that is set (positive and finite; the schema leaves an
// unknown value out, which decodes as 0), in that order, and returns the extended slice. The
// measures have no pass/fail: Pass is always true, so they never count as failures and only their
// values can drift.
func AppendTelemetry(ev *event.Event, dst []event.Score) []event.Score {
	if ev == nil {
		return dst
	}
	add := func(metric string, v float64) {
		if v > 0 && !math.IsInf(v, 1) {
			dst = append(dst, event.Score{Metric: metric, Kind: event.KindMeasure, Value: v, Pass: true})
		}
	}
	add(MetricLatency, ev.LatencyMS)
	add(MetricTTFT, ev.TTFTMS)
	add(MetricInputTokens, float64(ev.InputTokens))
	add(MetricOutputTokens, float64(ev.OutputTokens))
	add(MetricCost, ev.CostUSD)
	return dst
}
