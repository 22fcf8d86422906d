package gen

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// BenchmarkDecodeAndScore measures the scorer's per-event CPU work (strict decode, validation,
// every built-in check, encoding the scored record) on generated 1-2 KB events.
func BenchmarkDecodeAndScore(b *testing.B) {
	g := New(Options{Apps: 3, Features: 4, Models: 2, Versions: 2, BadShare: 0.1, Seed: 2})
	bodies := make([][]byte, 1024)
	size := 0
	for i := range bodies {
		bodies[i], _ = event.Marshal(g.Next(time.Now().UTC()))
		size += len(bodies[i])
	}
	sc, err := scoring.New(scoring.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var dec event.Decoder
	var scores []event.Score
	var out []byte
	b.SetBytes(int64(size / len(bodies)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, err := dec.Decode(bodies[i%len(bodies)])
		if err != nil {
			b.Fatal(err)
		}
		scores = sc.Score(ev, scores[:0])
		out, _ = event.AppendMarshal(out[:0], &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(), Source: scoring.Source, Scores: scores})
	}
}
