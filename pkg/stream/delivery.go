package stream

import (
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Delivery is what a message's ack subject says about its delivery.
type Delivery struct {
	// Count is how many times JetStream has delivered the message, this time included.
	Count uint64
	// StreamSeq is the message's sequence in its stream.
	StreamSeq uint64
}

// DeliveryOf reads the delivery count and stream sequence from m's ack subject in place. Every
// stage asks this of every message, and jetstream.Msg.Metadata allocates a struct of eleven
// fields each time. ok is false for a message that JetStream did not deliver to a consumer.
func DeliveryOf(m jetstream.Msg) (d Delivery, ok bool) {
	return parseAckSubject(m.Reply())
}

// parseAckSubject reads an ack subject in either of its two forms:
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>
//	$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>[.<token>...]
//
// The second form has eleven tokens or more, as nats.go accepts it.
func parseAckSubject(reply string) (Delivery, bool) {
	const prefix = "$JS.ACK."
	if !strings.HasPrefix(reply, prefix) {
		return Delivery{}, false
	}
	var skip int // tokens after the prefix that come before <delivered>
	switch tokens := strings.Count(reply, ".") + 1; {
	case tokens == 9:
		skip = 2
	case tokens >= 11:
		skip = 4
	default:
		return Delivery{}, false
	}
	rest := reply[len(prefix):]
	for range skip {
		_, rest, _ = strings.Cut(rest, ".")
	}
	delivered, rest, _ := strings.Cut(rest, ".")
	sseq, _, _ := strings.Cut(rest, ".")
	var d Delivery
	var err error
	if d.Count, err = strconv.ParseUint(delivered, 10, 64); err != nil {
		return Delivery{}, false
	}
	if d.StreamSeq, err = strconv.ParseUint(sseq, 10, 64); err != nil {
		return Delivery{}, false
	}
	return d, true
}
