// Command publish sends one model-call event to vigil over NATS JetStream.
//
//	VIGIL_NATS_URL=nats://localhost:4222 go run . <event-id>
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	id := os.Args[1] // unique per model call: vigil de-duplicates on it
	nc, err := nats.Connect(os.Getenv("VIGIL_NATS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{
		"event_id":  id,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"app":       "shop",
		"model":     "gpt-4o-mini",
		"input":     "Where is my order?",
		"output":    "Your order shipped yesterday.",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "vigil.events.shop", ev, jetstream.WithMsgID(id)); err != nil {
		log.Fatal(err)
	}
}
