package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishAll publishes msgs asynchronously and waits until JetStream has stored every one (a
// duplicate Nats-Msg-Id counts as stored). It returns the first error; on error some messages may
// have been stored, which de-duplication makes safe to retry.
func PublishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	// Chunks stay below the client's limit of outstanding async publishes.
	for len(msgs) > publishChunk {
		if err := publishChunkOf(ctx, js, msgs[:publishChunk]); err != nil {
			return err
		}
		msgs = msgs[publishChunk:]
	}
	return publishChunkOf(ctx, js, msgs)
}

const publishChunk = 1024

// AckTimeout bounds the wait for JetStream's acknowledgements of one chunk. An ack can be lost
// (a stream leader dies mid-publish); without a bound the stage would wait forever. On timeout the
// stage retries the batch and de-duplication drops what was stored after all.
const AckTimeout = 20 * time.Second

func publishChunkOf(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, AckTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	var errs []error
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("publish to %s: %w", m.Subject, err))
			break
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish to %s: %w", f.Msg().Subject, err))
		case <-ctx.Done():
			return fmt.Errorf("wait for publish acks: %w", ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// NewMsg builds a message whose Nats-Msg-Id is id, so JetStream stores it once however often it
// is published within the stream's de-duplication window.
func NewMsg(subject, id string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, id)
	return m
}
