package ingestsvc

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// stallWait is how long a publish waits for a free slot when VIGIL_INGEST_MAX_PENDING events are
// already awaiting their acknowledgement; after it, the request answers 503.
const stallWait = time.Second

// publishEach publishes msgs asynchronously and waits for each acknowledgement, like
// stream.PublishAll, but reports the outcome of every message, so that a client learns exactly
// which events were stored. It returns one error per message: nil when JetStream stored it (a
// duplicate Nats-Msg-Id counts as stored). Once a message cannot be sent (too many publishes
// pending, connection closed), the rest are not sent and carry that error. A message whose
// acknowledgement has not arrived when ctx ends carries ctx's error: it may have been stored,
// which de-duplication makes safe to send again.
func publishEach(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) []error {
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := js.PublishMsgAsync(m, jetstream.WithStallWait(stallWait))
		if err != nil {
			err = fmt.Errorf("publish to %s: %w", m.Subject, err)
			for j := i; j < len(msgs); j++ {
				errs[j] = err
			}
			break
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("publish to %s: %w", msgs[i].Subject, err)
		case <-ctx.Done():
			for j := i; j < len(futures); j++ {
				if futures[j] == nil {
					continue
				}
				select { // settled already?
				case <-futures[j].Ok():
				case err := <-futures[j].Err():
					errs[j] = fmt.Errorf("publish to %s: %w", msgs[j].Subject, err)
				default:
					errs[j] = fmt.Errorf("wait for the publish acknowledgement: %w", ctx.Err())
				}
			}
			return errs
		}
	}
	return errs
}
