package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/notify"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const silenceUsage = `usage:
  vigil silence add --match LABEL=PATTERN [--match ...] --for DURATION [--comment TEXT]
                        mute matching alerts (labels: app, environment, feature, model,
                        prompt_version, metric, signal; patterns like demo-*)
  vigil silence ls      list silences with their state
  vigil silence expire ID
                        end a silence now
`

// matchers collects repeated --match flags.
type matchers map[string]string

func (m matchers) String() string { return fmt.Sprint(map[string]string(m)) }

func (m matchers) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("--match %q: want LABEL=PATTERN", v)
	}
	m[k] = val
	return nil
}

func runSilence(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, silenceUsage)
		return fmt.Errorf("silence: no subcommand given")
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	nc, err := app.DialNATS(c, "vigil-silence", nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s (set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	silences, err := notify.OpenSilences(ctx, js)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("silence "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	m := matchers{}
	fs.Var(m, "match", "LABEL=PATTERN an alert must match (repeatable)")
	dur := fs.Duration("for", 2*time.Hour, "how long the silence lasts")
	comment := fs.String("comment", "", "why (shown in vigil silence ls)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	now := time.Now().UTC()
	switch args[0] {
	case "add":
		user := os.Getenv("USER")
		s := notify.Silence{ID: fmt.Sprintf("s-%d", now.UnixNano()), Matchers: m, StartsAt: now, EndsAt: now.Add(*dur), CreatedBy: user, Comment: *comment}
		if err := silences.Put(ctx, s); err != nil {
			return err
		}
		fmt.Fprintf(out, "silence %s mutes %v until %s\n", s.ID, s.Matchers, s.EndsAt.Format(time.RFC3339))
		return nil
	case "ls":
		list, err := silences.List(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-24s %-8s %-20s %-40s %s\n", "ID", "STATE", "ENDS", "MATCHERS", "COMMENT")
		for _, s := range list {
			state := "expired"
			if s.Active(now) {
				state = "active"
			} else if now.Before(s.StartsAt) {
				state = "pending"
			}
			fmt.Fprintf(out, "%-24s %-8s %-20s %-40s %s\n", s.ID, state, s.EndsAt.Format("2006-01-02T15:04:05Z"), fmt.Sprint(s.Matchers), s.Comment)
		}
		return nil
	case "expire":
		if fs.NArg() != 1 {
			return fmt.Errorf("silence expire: give one silence id")
		}
		s, err := silences.Get(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		s.EndsAt = now
		if !s.StartsAt.Before(now) {
			s.StartsAt = now.Add(-time.Second)
		}
		if err := silences.Put(ctx, s); err != nil {
			return err
		}
		fmt.Fprintf(out, "silence %s expired\n", s.ID)
		return nil
	}
	fmt.Fprint(out, silenceUsage)
	return fmt.Errorf("silence: unknown subcommand %q", args[0])
}
