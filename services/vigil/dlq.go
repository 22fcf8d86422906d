package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const dlqUsage = `usage:
  vigil dlq ls [--stage S] [--limit N]   list dead letters: sequence, time, stage, source, reason
  vigil dlq show SEQ                     one dead letter's headers and body
  vigil dlq replay [--stage S] SEQ...|--all
                                         send dead letters back to the subject they came from
                                         (after a fix) and remove them from the DLQ
`

func runDLQ(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, dlqUsage)
		return fmt.Errorf("dlq: no subcommand given")
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	nc, err := app.DialNATS(c, "vigil-dlq", nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s (set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	fs := flag.NewFlagSet("dlq "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	stage := fs.String("stage", "", "only dead letters of this stage (scorer, drift, writer-events, ...)")
	limit := fs.Int("limit", 100, "list at most this many (0: all)")
	all := fs.Bool("all", false, "replay every dead letter (of --stage, if given)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "ls":
		letters, err := stream.Letters(ctx, js, *stage, *limit)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-8s %-20s %-14s %-28s %s\n", "SEQ", "TIME", "STAGE", "SOURCE", "REASON")
		for _, l := range letters {
			fmt.Fprintf(out, "%-8d %-20s %-14s %-28s %s\n", l.Sequence, l.Time.UTC().Format("2006-01-02T15:04:05Z"), l.Stage,
				l.SourceSubject+"#"+l.SourceSeq, clip(l.Reason, 120))
		}
		fmt.Fprintf(out, "%d dead letters\n", len(letters))
		return nil
	case "show":
		if fs.NArg() != 1 {
			return fmt.Errorf("dlq show: give one sequence number")
		}
		seq, err := strconv.ParseUint(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("dlq show: sequence %q: %w", fs.Arg(0), err)
		}
		l, err := stream.ReadLetter(ctx, js, seq)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(l.Header))
		for k := range l.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(out, "sequence %d, dead-lettered %s\n", l.Sequence, l.Time.UTC().Format(time.RFC3339))
		for _, k := range keys {
			fmt.Fprintf(out, "%s: %s\n", k, l.Header.Get(k))
		}
		switch body, err := stream.DecodedBody(l.Header, l.Data); {
		case err != nil:
			fmt.Fprintf(out, "\n(the body does not decode as its headers say: %v; its bytes as stored:)\n%q\n", err, l.Data)
		case l.Header.Get(stream.EncodingHeader) != "":
			fmt.Fprintf(out, "\n(%d bytes %s-compressed on the bus, shown decompressed)\n%s\n", len(l.Data), l.Header.Get(stream.EncodingHeader), body)
		default:
			fmt.Fprintf(out, "\n%s\n", body)
		}
		return nil
	case "replay":
		var seqs []uint64
		if *all {
			letters, err := stream.Letters(ctx, js, *stage, 0)
			if err != nil {
				return err
			}
			for _, l := range letters {
				seqs = append(seqs, l.Sequence)
			}
		}
		for _, a := range fs.Args() {
			seq, err := strconv.ParseUint(a, 10, 64)
			if err != nil {
				return fmt.Errorf("dlq replay: sequence %q: %w", a, err)
			}
			seqs = append(seqs, seq)
		}
		if len(seqs) == 0 {
			return fmt.Errorf("dlq replay: give sequence numbers or --all")
		}
		for _, seq := range seqs {
			if err := stream.Replay(ctx, js, seq); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "replayed %d dead letters\n", len(seqs))
		return nil
	}
	fmt.Fprint(out, dlqUsage)
	return fmt.Errorf("dlq: unknown subcommand %q", args[0])
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
