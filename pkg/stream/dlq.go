package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// Letter is one dead letter as operators see it.
type Letter struct {
	Sequence      uint64
	Time          time.Time
	Stage         string
	Reason        string
	SourceSubject string
	SourceSeq     string
	Data          []byte
	Header        nats.Header
}

// Letters reads up to limit dead letters (0: all) in stream order, optionally only those a stage
// dead-lettered.
func Letters(ctx context.Context, js jetstream.JetStream, stage string, limit int) ([]Letter, error) {
	s, err := js.Stream(ctx, DLQ)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", DLQ, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", DLQ, err)
	}
	subject := DLQRoot + ".>"
	if stage != "" {
		subject = DLQSubject(stage)
	}
	var out []Letter
	if info.State.Msgs == 0 {
		return out, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", DLQ, err)
	}
	for limit <= 0 || len(out) < limit {
		m, err := cons.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", DLQ, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return nil, err
		}
		out = append(out, letterOf(md.Sequence.Stream, md.Timestamp, m.Headers(), m.Data()))
		if md.NumPending == 0 {
			break
		}
	}
	return out, nil
}

// ReadLetter reads one dead letter by its sequence in the DLQ stream.
func ReadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) (Letter, error) {
	s, err := js.Stream(ctx, DLQ)
	if err != nil {
		return Letter{}, fmt.Errorf("open stream %s: %w", DLQ, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	return letterOf(raw.Sequence, raw.Time, raw.Header, raw.Data), nil
}

// Replay publishes a dead letter back to the subject it came from, with its original headers,
// and removes it from the DLQ once JetStream stored the copy. The copy's Nats-Msg-Id names the
// dead letter, so replaying twice in a row stores it once.
func Replay(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	l, err := ReadLetter(ctx, js, seq)
	if err != nil {
		return err
	}
	if l.SourceSubject == "" {
		return fmt.Errorf("dead letter %d has no %s header: nowhere to replay it", seq, HeaderSourceSubject)
	}
	m := nats.NewMsg(l.SourceSubject)
	m.Data = l.Data
	for k, v := range l.Header {
		if !strings.HasPrefix(k, "Vigil-Dlq-") && k != jetstream.MsgIDHeader {
			m.Header[k] = v
		}
	}
	m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("replay:%s:%d", DLQ, seq))
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("replay dead letter %d to %s: %w", seq, l.SourceSubject, err)
	}
	s, err := js.Stream(ctx, DLQ)
	if err != nil {
		return fmt.Errorf("open stream %s: %w", DLQ, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("remove replayed dead letter %d: %w", seq, err)
	}
	return nil
}

func letterOf(seq uint64, t time.Time, h nats.Header, data []byte) Letter {
	return Letter{
		Sequence: seq, Time: t, Stage: h.Get(HeaderStage), Reason: h.Get(HeaderReason),
		SourceSubject: h.Get(HeaderSourceSubject), SourceSeq: h.Get(HeaderSourceSeq), Data: data, Header: h,
	}
}
