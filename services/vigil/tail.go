package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func runTail(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	dlq := fs.Bool("dlq", false, "follow the dead-letter stream instead of alerts")
	all := fs.Bool("all", false, "start from the oldest message kept instead of new ones")
	raw := fs.Bool("json", false, "print each message's JSON body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	nc, err := app.DialNATS(c, "vigil-tail")
	if err != nil {
		return fmt.Errorf("connect to NATS at %s (is vigil running? set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	name := stream.Alerts
	if *dlq {
		name = stream.DLQ
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if *all {
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, name, cfg)
	if err != nil {
		return fmt.Errorf("follow stream %s: %w", name, err)
	}
	fmt.Fprintf(out, "following %s on %s (Ctrl-C to stop)\n", name, config.Redact(c.NATSURL))
	return tail(ctx, cons, out, *dlq, *raw)
}

func tail(ctx context.Context, cons jetstream.Consumer, out io.Writer, dlq, raw bool) error {
	for ctx.Err() == nil {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoHeartbeat) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read next message: %w", err)
		}
		switch {
		case raw:
			fmt.Fprintf(out, "%s\n", readableBody(msg))
		case dlq:
			h := msg.Headers()
			fmt.Fprintf(out, "%s stage=%s from=%s#%s reason=%q\n  %s\n", msg.Subject(), h.Get(stream.HeaderStage),
				h.Get(stream.HeaderSourceSubject), h.Get(stream.HeaderSourceSeq), h.Get(stream.HeaderReason), preview(readableBody(msg)))
		default:
			a, err := event.DecodeAlert(msg.Data())
			if err != nil {
				fmt.Fprintf(out, "%s: undecodable alert (%v): %s\n", msg.Subject(), err, preview(msg.Data()))
				continue
			}
			fmt.Fprintln(out, FormatAlert(a))
		}
	}
	return nil
}

// FormatAlert renders an alert as one line a person can read in a terminal.
func FormatAlert(a *event.Alert) string {
	kind := strings.ToUpper(a.State)
	if a.Resend {
		kind += " (re-sent)"
	}
	e := a.Evidence
	return fmt.Sprintf("%s %-8s %-9s %s\n    %s=%.3g (threshold %.3g) p=%.2g  baseline %.4g (n=%d, %s)  current %.4g (n=%d)  examples %v",
		a.At.UTC().Format(time.RFC3339), a.Severity, kind, a.Summary,
		e.Detector, e.Statistic, e.Threshold, e.PValue, e.Baseline.Value, e.Baseline.N, e.BaselineSource,
		e.Current.Value, e.Current.N, e.ExampleEventIDs)
}

// readableBody is a message's body as its producer wrote it: decompressed when its headers say
// it is compressed (packed scored records), as stored when it does not decompress.
func readableBody(msg jetstream.Msg) []byte {
	if body, err := stream.DecodedBody(msg.Headers(), msg.Data()); err == nil {
		return body
	}
	return msg.Data()
}

func preview(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
