// Package gen produces realistic model-call events for load tests: 1-2 KB each, mixed apps,
// features, models and prompt versions, with a configurable share of bad outputs.
package gen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Options shape the generated traffic.
type Options struct {
	Apps, Features, Models, Versions int
	// BadShare is the share of events whose output is refused, truncated or malformed JSON.
	BadShare float64
	Seed     uint64
}

// Generator builds events; it is not safe for concurrent use.
type Generator struct {
	opts Options
	rng  *rand.Rand
	seq  int
}

// New returns a generator with at least one of each label.
func New(o Options) *Generator {
	o.Apps, o.Features, o.Models, o.Versions = max(o.Apps, 1), max(o.Features, 1), max(o.Models, 1), max(o.Versions, 1)
	return &Generator{opts: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5eed))}
}

var sentences = []string{
	"The customer asked about delivery times for orders shipped to rural addresses in the north.",
	"Our records show the package left the regional warehouse yesterday afternoon and is on schedule.",
	"Returns are accepted within thirty days as long as the item is unused and in its original box.",
	"The premium plan includes priority support, extended storage and early access to new features.",
	"If the device does not power on, hold the button for ten seconds and connect the original charger.",
	"We could not find an invoice with that number; please check the last four digits on your receipt.",
}

// Next returns the next event, stamped at ts.
func (g *Generator) Next(ts time.Time) *event.Event {
	g.seq++
	r := g.rng
	var b strings.Builder
	for b.Len() < 900+r.IntN(700) {
		b.WriteString(sentences[r.IntN(len(sentences))])
		b.WriteByte(' ')
	}
	ev := &event.Event{
		EventID:       fmt.Sprintf("lt-%d-%d", ts.UnixNano(), g.seq),
		Timestamp:     ts,
		App:           fmt.Sprintf("app-%d", r.IntN(g.opts.Apps)),
		Feature:       fmt.Sprintf("feature-%d", r.IntN(g.opts.Features)),
		Environment:   "production",
		Provider:      "openai",
		Model:         fmt.Sprintf("model-%d", r.IntN(g.opts.Models)),
		PromptVersion: fmt.Sprintf("v%d", 1+r.IntN(g.opts.Versions)),
		Input:         "Answer the customer's question using the order history.",
		Output:        strings.TrimSpace(b.String()),
		FinishReason:  "stop",
		Status:        event.StatusOK,
		LatencyMS:     float64(200 + r.IntN(1800)),
		InputTokens:   int64(300 + r.IntN(500)),
		OutputTokens:  int64(200 + r.IntN(300)),
	}
	if r.Float64() < g.opts.BadShare {
		switch r.IntN(3) {
		case 0:
			ev.Output = "I'm sorry, but I can't help with that request."
		case 1:
			ev.Output = ev.Output[:len(ev.Output)/2]
			ev.FinishReason = "length"
		default:
			ev.Attributes = map[string]string{"output_format": "json"}
			ev.Output = `{"answer": "` + ev.Output[:80]
		}
	}
	return ev
}
