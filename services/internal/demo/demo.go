// Package demo generates model-call traffic for `vigil dev --demo`: a product-summary feature
// that behaves for a while, then a new prompt version whose outputs break their JSON contract
// and refuse more often, so a newcomer watches a real regression become an alert.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
)

// Labels of the demo traffic.
const (
	App      = "demo-shop"
	Feature  = "product-summary"
	Model    = "gpt-4o-mini"
	Contract = "product_summary"
)

// ContractSchema is the JSON Schema the demo's structured outputs must satisfy.
const ContractSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["title", "summary", "rating"],
  "properties": {
    "title": {"type": "string", "minLength": 1},
    "summary": {"type": "string", "minLength": 20},
    "rating": {"type": "number", "minimum": 0, "maximum": 5}
  },
  "additionalProperties": false
}`

var products = []string{"trail running shoes", "espresso machine", "noise-cancelling headphones", "standing desk",
	"cast-iron skillet", "e-reader", "mechanical keyboard", "down jacket", "robot vacuum", "yoga mat"}

// Generator publishes demo events at a fixed rate: prompt_version v1 (healthy) for HealthyFor,
// then v2 (regressed).
type Generator struct {
	JS         jetstream.JetStream
	Rate       int
	HealthyFor time.Duration
	Log        *slog.Logger

	published atomic.Int64
	regressed atomic.Bool
	stop      chan struct{}
	done      chan struct{}
	once      sync.Once
	started   atomic.Bool
}

// Published is the number of events JetStream acknowledged so far.
func (g *Generator) Published() int64 { return g.published.Load() }

// Regressed reports whether the generator switched to the regressed version.
func (g *Generator) Regressed() bool { return g.regressed.Load() }

// Start publishes in the background until Shutdown or ctx ends.
func (g *Generator) Start(ctx context.Context) error {
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	g.started.Store(true)
	go g.run(ctx)
	return nil
}

// Shutdown stops publishing; idempotent.
func (g *Generator) Shutdown(ctx context.Context) error {
	if !g.started.Load() {
		return nil
	}
	g.once.Do(func() { close(g.stop) })
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop demo traffic: %w", ctx.Err())
	}
}

func (g *Generator) run(ctx context.Context) {
	defer close(g.done)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	perTick := max(g.Rate/10, 1)
	seq := 0
	for {
		select {
		case <-g.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		regressed := time.Since(start) >= g.HealthyFor
		if regressed && !g.regressed.Swap(true) {
			g.Log.Info("demo: shipping prompt_version v2 of product-summary; its outputs break the JSON contract and refuse more often")
		}
		msgs := make([]*nats.Msg, 0, perTick)
		for range perTick {
			seq++
			ev := Event(rng, seq, time.Now().UTC(), regressed)
			data, err := event.Marshal(ev)
			if err != nil {
				g.Log.Error("demo: encode event", "err", err)
				return
			}
			msgs = append(msgs, stream.NewMsg(stream.EventsSubject(App), ev.EventID, data))
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := stream.PublishAll(pctx, g.JS, msgs)
		cancel()
		if err != nil {
			g.Log.Warn("demo: publish events", "err", err)
			continue
		}
		g.published.Add(int64(len(msgs)))
	}
}

// Event builds the n-th demo event. Healthy outputs (v1) satisfy the contract with a 1% refusal
// rate; regressed ones (v2) are cut off mid-JSON 30% of the time and refuse 25% of the time.
func Event(rng *rand.Rand, n int, ts time.Time, regressed bool) *event.Event {
	product := products[rng.IntN(len(products))]
	ev := &event.Event{
		EventID:       fmt.Sprintf("demo-%d-%d", ts.UnixNano(), n),
		Timestamp:     ts,
		App:           App,
		Feature:       Feature,
		Environment:   "production",
		Provider:      "openai",
		Model:         Model,
		PromptID:      "summarize-product",
		PromptVersion: "v1",
		Input:         "Summarize the customer reviews of the " + product + " as JSON.",
		OutputSchema:  Contract,
		FinishReason:  "stop",
		Status:        event.StatusOK,
		LatencyMS:     float64(300 + rng.IntN(900)),
		InputTokens:   int64(400 + rng.IntN(300)),
		UserID:        fmt.Sprintf("user-%d", rng.IntN(500)),
	}
	good := fmt.Sprintf(`{"title":"%s","summary":"Reviewers praise the %s for build quality and value; a few mention slow shipping.","rating":%.1f}`,
		product, product, 3.5+rng.Float64()*1.5)
	refusalRate, truncRate := 0.01, 0.0
	if regressed {
		ev.PromptVersion = "v2"
		refusalRate, truncRate = 0.25, 0.30
	}
	switch r := rng.Float64(); {
	case r < refusalRate:
		ev.Output = "I'm sorry, but I can't help with summarizing these reviews."
	case r < refusalRate+truncRate:
		ev.Output = good[:len(good)/2]
		ev.FinishReason = "length"
	default:
		ev.Output = good
	}
	ev.OutputTokens = int64(len(ev.Output) / 4)
	return ev
}
