package stream

import (
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a dead letter carries besides the original message's own.
const (
	HeaderReason        = "Vigil-Dlq-Reason"
	HeaderStage         = "Vigil-Dlq-Stage"
	HeaderSourceStream  = "Vigil-Dlq-Source-Stream"
	HeaderSourceSubject = "Vigil-Dlq-Source-Subject"
	HeaderSourceSeq     = "Vigil-Dlq-Source-Sequence"
	HeaderDeliveries    = "Vigil-Dlq-Deliveries"
)

// maxReasonLen keeps a reason within what a header comfortably carries.
const maxReasonLen = 1024

// DeadLetter builds the DLQ message for m: the original body and headers, the reason and where
// it came from. Its Nats-Msg-Id is the source stream and sequence, so an input rejected by
// several stages is stored once.
func DeadLetter(stage string, m jetstream.Msg, reason string) (*nats.Msg, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, fmt.Errorf("read metadata of message on %s: %w", m.Subject(), err)
	}
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	dl := nats.NewMsg(DLQSubject(stage))
	dl.Data = m.Data()
	for k, v := range m.Headers() {
		if k != jetstream.MsgIDHeader {
			dl.Header[k] = v
		}
	}
	dl.Header.Set(HeaderReason, reason)
	dl.Header.Set(HeaderStage, stage)
	dl.Header.Set(HeaderSourceStream, md.Stream)
	dl.Header.Set(HeaderSourceSubject, m.Subject())
	seq := strconv.FormatUint(md.Sequence.Stream, 10)
	dl.Header.Set(HeaderSourceSeq, seq)
	dl.Header.Set(HeaderDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	dl.Header.Set(jetstream.MsgIDHeader, "dlq:"+md.Stream+":"+seq)
	return dl, nil
}
