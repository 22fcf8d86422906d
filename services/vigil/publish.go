package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

// runPublish validates events (one JSON object per line, from the arguments or stdin) and
// publishes each on its app's subject with its event_id as Nats-Msg-Id.
func runPublish(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	var lines [][]byte
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			lines = append(lines, []byte(a))
		}
	} else {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), c.Streams.MaxEvent+1)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				lines = append(lines, append([]byte(nil), line...))
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read events from stdin: %w", err)
		}
	}
	dec := event.Decoder{MaxBytes: c.Streams.MaxEvent}
	msgs := make([]*nats.Msg, 0, len(lines))
	var rejected int
	for i, line := range lines {
		ev, err := dec.Decode(line)
		if err != nil {
			rejected++
			fmt.Fprintf(out, "line %d rejected: %v\n", i+1, err)
			continue
		}
		msgs = append(msgs, stream.NewMsg(stream.EventsSubject(ev.App), ev.EventID, line))
	}
	if len(msgs) > 0 {
		nc, err := app.DialNATS(c, "vigil-publish", nats.Timeout(5*time.Second))
		if err != nil {
			return fmt.Errorf("connect to NATS at %s (is vigil running? set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("open JetStream: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := stream.PublishAll(pctx, js, msgs); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "published %d events, rejected %d\n", len(msgs), rejected)
	if rejected > 0 {
		return fmt.Errorf("%d of %d events rejected", rejected, len(lines))
	}
	return nil
}
