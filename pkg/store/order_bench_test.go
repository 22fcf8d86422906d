package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// BenchmarkKeyOrder sorts a 10,000-row batch in arrival order: 8 series, one second apart.
func BenchmarkKeyOrder(b *testing.B) {
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	events := make([]*event.Event, 10_000)
	records := make([]*event.Scored, len(events))
	for i := range events {
		ev := &event.Event{EventID: fmt.Sprintf("01JD%022d", i), Timestamp: ts.Add(time.Duration(i) * 100 * time.Microsecond),
			App: fmt.Sprintf("app-%d", i%4), Feature: fmt.Sprintf("feature-%d", i%8)}
		events[i] = ev
		records[i] = &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(), Source: "checks", RulesVersion: "r1"}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(records), func(i, j int) { records[i], records[j] = records[j], records[i] })
	b.Run("model_calls", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			modelCallsInKeyOrder(events)
		}
	})
	b.Run("scores", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			scoresInKeyOrder(records)
		}
	})
}
