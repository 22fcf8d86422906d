package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// burstPublisher publishes bursts of messages with a Nats-Msg-Id and collects JetStream's ack of
// each on one inbox subscription. It runs on the machine under test, so it is kept light:
// nats.go's PublishMsgAsync decodes every ack with encoding/json and keeps a future, a map entry
// and a timer per message, which made up about a quarter of the load generator's CPU. Not safe
// for concurrent use.
type burstPublisher struct {
	nc    *nats.Conn
	inbox string // the ack of the k-th message of burst b arrives on inbox.b.k
	sub   *nats.Subscription
	msg   nats.Msg // reused: PublishMsg copies it into the connection's buffer before returning
	reply []byte

	mu        sync.Mutex
	burst     int   // the current burst's number
	sent      int   // messages of the current burst
	remaining int   // messages of the current burst not acknowledged yet
	acked     []ack // the acknowledged ones, in order of arrival
	err       error // the first refusal of the burst
	wake      chan struct{}
}

// ack is one acknowledged message: its position in the burst and when its ack arrived.
type ack struct {
	pos int
	at  time.Time
}

// ackWait bounds the wait for a burst's acks: far above a healthy server's, so that only a stuck
// one ends a run.
const ackWait = 30 * time.Second

func newBurstPublisher(nc *nats.Conn) (*burstPublisher, error) {
	p := &burstPublisher{nc: nc, inbox: nc.NewInbox(), wake: make(chan struct{}, 1),
		msg: nats.Msg{Header: nats.Header{jetstream.MsgIDHeader: {""}}}}
	// A callback subscription handles acks on its own goroutine as they come, without waking
	// the publisher for each.
	sub, err := nc.Subscribe(p.inbox+".*.*", p.onAck)
	if err != nil {
		return nil, fmt.Errorf("subscribe to publish acks: %w", err)
	}
	p.sub = sub
	return p, nil
}

func (p *burstPublisher) close() { _ = p.sub.Unsubscribe() }

// publish sends one message of the current burst. body may be reused once publish returns.
func (p *burstPublisher) publish(subject, id string, body []byte) error {
	p.mu.Lock()
	burst, k := p.burst, p.sent
	p.sent++
	p.remaining++
	p.mu.Unlock()
	p.reply = append(append(p.reply[:0], p.inbox...), '.')
	p.reply = append(strconv.AppendInt(p.reply, int64(burst), 10), '.')
	p.reply = strconv.AppendInt(p.reply, int64(k), 10)
	p.msg.Subject, p.msg.Reply, p.msg.Data = subject, string(p.reply), body
	p.msg.Header[jetstream.MsgIDHeader][0] = id
	if err := p.nc.PublishMsg(&p.msg); err != nil {
		p.mu.Lock()
		p.remaining--
		p.mu.Unlock()
		return fmt.Errorf("publish %s: %w", id, err)
	}
	return nil
}

func (p *burstPublisher) onAck(m *nats.Msg) {
	b, k, ok := strings.Cut(m.Subject[len(p.inbox)+1:], ".")
	burst, berr := strconv.Atoi(b)
	pos, kerr := strconv.Atoi(k)
	err := pubAckError(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !ok || berr != nil || kerr != nil || burst != p.burst || pos < 0 || pos >= p.sent:
		// Not the current burst's: an ack that came after its wait gave up.
		return
	case err != nil:
		if p.err == nil {
			p.err = err
		}
	default:
		p.acked = append(p.acked, ack{pos, time.Now()})
	}
	if p.remaining--; p.remaining == 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// wait waits until every message published since the last wait is acknowledged or refused,
// then calls acked with the position in the burst of each acknowledged one and when its ack
// arrived. A refusal ends the wait with its reason.
func (p *burstPublisher) wait(ctx context.Context, acked func(k int, at time.Time)) error {
	timeout := time.NewTimer(ackWait)
	defer timeout.Stop()
	for {
		p.mu.Lock()
		done, err := p.remaining == 0, p.err
		if done || err != nil {
			got := p.acked
			// The next burst starts: acks of this one still on their way (after a refusal) are
			// ignored.
			p.acked, p.err, p.sent, p.remaining = p.acked[:0], nil, 0, 0
			p.burst++
			p.mu.Unlock()
			if err != nil {
				return err
			}
			for _, a := range got {
				acked(a.pos, a.at)
			}
			return nil
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-timeout.C:
			return fmt.Errorf("publish: no ack from JetStream within %v", ackWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pubAckError returns why JetStream did not store a published message, or nil for an ack:
// {"stream":...,"seq":...} (with "duplicate":true for a copy it had already stored).
func pubAckError(m *nats.Msg) error {
	if len(m.Data) == 0 {
		if status := m.Header.Get("Status"); status == "503" {
			return fmt.Errorf("publish: no stream listens on the subject")
		}
		return fmt.Errorf("publish: an empty answer (status %q %q)", m.Header.Get("Status"), m.Header.Get("Description"))
	}
	if bytes.Contains(m.Data, []byte(`"error"`)) || !bytes.HasPrefix(m.Data, []byte(`{"stream":`)) {
		return fmt.Errorf("publish: JetStream answered %s", m.Data)
	}
	return nil
}
