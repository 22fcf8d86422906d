package scorersvc

import (
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// Record scores ev with the rules of set and returns the scored record the scorer publishes for
// it: the checks of the first rule that matches ev, recorded under the document's version, or the
// default set under scoring.RulesVersion, followed by the event's telemetry measures
// (scoring.AppendTelemetry). The scores are appended to buf[:0], so the record
// shares buf's array; pass nil to keep records apart. Re-scoring builds its rows here too, so
// that a replay scores exactly as the live scorer does.
func Record(set *rules.Set, ev *event.Event, buf []event.Score) event.Scored {
	scorer, version := set.For(ev)
	return event.Scored{
		EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(), Stage: ev.Stage,
		Source: scoring.Source, RulesVersion: version,
		// Latency, tokens and cost ride along as measures, so drift watches them like any score.
		Scores: scoring.AppendTelemetry(ev, scorer.Score(ev, buf[:0])),
	}
}
