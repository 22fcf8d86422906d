package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const rulesUsage = `usage:
  vigil rules check -f FILE   validate a rules document (JSON, schemas/rules.v1.schema.json);
                              every error names the rule and the field
  vigil rules apply -f FILE   validate it and make it the rules every scorer runs (within
                              seconds, no restart); an invalid document changes nothing
  vigil rules show            print the rules in force
FILE - reads standard input.
`

func runRules(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, rulesUsage)
		return fmt.Errorf("rules: no subcommand given")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, rulesUsage)
		return nil
	}
	fs := flag.NewFlagSet("rules "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	file := fs.String("f", "", "rules document (JSON); - reads standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rules %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	switch args[0] {
	case "check":
		doc, err := readRules(*file, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: rules %s are valid (%d rules)\n", *file, doc.Version, len(doc.Rules))
		return nil
	case "apply":
		// Validate before connecting: an invalid document never reaches the bucket.
		doc, err := readRules(*file, in)
		if err != nil {
			return err
		}
		store, done, err := openRules(ctx)
		if err != nil {
			return err
		}
		defer done()
		changed, err := store.Put(ctx, doc)
		if err != nil {
			return err
		}
		if !changed {
			fmt.Fprintf(out, "rules %s are already in force; nothing changed\n", doc.Version)
			return nil
		}
		fmt.Fprintf(out, "rules %s applied (%d rules); running scorers switch within seconds\n", doc.Version, len(doc.Rules))
		return nil
	case "show":
		store, done, err := openRules(ctx)
		if err != nil {
			return err
		}
		defer done()
		doc, _, err := store.Get(ctx)
		if errors.Is(err, rules.ErrNotFound) {
			fmt.Fprintf(out, "no rules stored: every event gets the default set (rules version %s)\n", scoring.RulesVersion)
			return nil
		}
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", b)
		return nil
	}
	fmt.Fprint(out, rulesUsage)
	return fmt.Errorf("rules: unknown subcommand %q", args[0])
}

// readRules reads, parses and validates a rules document, listing every error.
func readRules(file string, in io.Reader) (*rules.Document, error) {
	if file == "" {
		return nil, errors.New("rules: give the document with -f FILE")
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(in, rules.MaxDocumentBytes+1))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read rules document: %w", err)
	}
	doc, err := rules.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := doc.Validate(); err != nil {
		lines := strings.Split(err.Error(), "\n")
		return nil, fmt.Errorf("%s: rules %q rejected with %d errors:\n  %s", file, doc.Version, len(lines), strings.Join(lines, "\n  "))
	}
	return doc, nil
}

// openRules connects to NATS and opens the rules bucket; done closes the connection.
func openRules(ctx context.Context) (*rules.Store, func(), error) {
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return nil, nil, err
	}
	nc, err := app.DialNATS(c, "vigil-rules", nats.Timeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s (set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
	}
	return openBucket(ctx, nc, rules.OpenStore)
}

// openBucket opens a JetStream bucket over nc with open and returns it with nc.Close; nc is
// closed at once if that fails.
func openBucket[T any](ctx context.Context, nc *nats.Conn, open func(context.Context, jetstream.JetStream) (T, error)) (T, func(), error) {
	var zero T
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return zero, nil, fmt.Errorf("open JetStream: %w", err)
	}
	b, err := open(ctx, js)
	if err != nil {
		nc.Close()
		return zero, nil, err
	}
	return b, nc.Close, nil
}
