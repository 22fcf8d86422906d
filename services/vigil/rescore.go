package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/rules"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/rescore"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const rescoreUsage = `usage: vigil rescore --since T (--rules V | -f FILE) [--until T] [--app A] [--feature F] [--dry-run]

Replays the events the EVENTS stream still holds from T on through rules version V (a version
in the vigil_rules history, see vigil rules show) or the rules document FILE (validated as
vigil rules apply does; - reads standard input), and stores the new score rows beside the live
ones in ClickHouse, under V. Rows already stored are skipped, so running it again stores
nothing twice. Nothing is published on SCORED, so drift never sees history as live traffic.
T is a duration ago (2h, 7d) or an RFC 3339 time, compared with when the stream stored each
event. Progress goes to standard error.
`

func runRescore(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(out, rescoreUsage)
		return nil
	}
	fs := flag.NewFlagSet("rescore", flag.ContinueOnError)
	fs.SetOutput(errOut)
	sinceFlag := fs.String("since", "", "replay events stored since this long ago (2h, 7d) or this RFC 3339 time; required")
	untilFlag := fs.String("until", "", "stop at events stored after this (same forms); default: the last event stored when the replay starts")
	version := fs.String("rules", "", "rules version from the vigil_rules history")
	file := fs.String("f", "", "rules document (JSON) instead of --rules; - reads standard input")
	appName := fs.String("app", "", "only this app's events")
	feature := fs.String("feature", "", "only this feature's events")
	dryRun := fs.Bool("dry-run", false, "score and count, store nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rescore: unexpected argument %q", fs.Arg(0))
	}
	now := time.Now()
	var opts rescore.Options
	var errs []error
	if *sinceFlag == "" {
		errs = append(errs, errors.New("--since: required (a duration ago such as 2h, or an RFC 3339 time)"))
	} else if t, err := parseSince(*sinceFlag, now); err != nil {
		errs = append(errs, err)
	} else {
		opts.Since = t
	}
	if *untilFlag != "" {
		t, err := parseSince(*untilFlag, now)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--until %q: want a duration ago such as 1h or 7d, or an RFC 3339 time", *untilFlag))
		case !opts.Since.IsZero() && !t.After(opts.Since):
			errs = append(errs, fmt.Errorf("--until %s: must be after --since %s", t.UTC().Format(time.RFC3339), opts.Since.UTC().Format(time.RFC3339)))
		default:
			opts.Until = t
		}
	}
	if (*version == "") == (*file == "") {
		errs = append(errs, errors.New("--rules, -f: give exactly one (a version in the vigil_rules history, or a rules document)"))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprint(errOut, rescoreUsage)
		return fmt.Errorf("rescore: %w", err)
	}
	opts.App, opts.Feature, opts.DryRun = *appName, *feature, *dryRun

	// A document from a file is validated before anything connects, as vigil rules apply does.
	var doc *rules.Document
	if *file != "" {
		d, err := readRules(*file, in)
		if err != nil {
			return err
		}
		doc = d
	}
	var common config.Common
	var scorer scorersvc.Config
	if err := config.Load(settings.Known(), &common, &scorer); err != nil {
		return err
	}
	opts.MaxEvent = common.Streams.MaxEvent
	contracts := scoring.NewContracts()
	if scorer.ContractsDir != "" {
		if err := contracts.LoadDir(scorer.ContractsDir); err != nil {
			return fmt.Errorf("load VIGIL_SCORER_CONTRACTS_DIR: %w", err)
		}
	}
	nc, err := app.DialNATS(common, "vigil-rescore", nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s (set VIGIL_NATS_URL): %w", config.Redact(common.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	if doc == nil {
		if doc, err = rescore.Version(ctx, js, *version); err != nil {
			return err
		}
	}
	set, err := rules.Compile(doc, contracts)
	if err != nil {
		return fmt.Errorf("rules %s: %w", doc.Version, err)
	}
	chOpts, err := store.ConnOptions(common)
	if err != nil {
		return err
	}
	conn, err := store.Open(ctx, chOpts)
	if err != nil {
		return err
	}
	defer conn.Close()

	var lastReport time.Time
	opts.Progress = func(p rescore.Progress) {
		if time.Since(lastReport) < time.Second {
			return
		}
		lastReport = time.Now()
		fmt.Fprintf(errOut, "rescore: %d/%d events read (%.0f/s), %d rows new, %d already stored\n",
			p.Read, p.Total, p.Rate(), p.Stored, p.Existing)
	}
	p, err := rescore.Run(ctx, js, conn, set, opts)
	if !opts.Since.IsZero() && p.Oldest.After(opts.Since) {
		fmt.Fprintf(errOut, "rescore: the stream holds events stored since %s only; earlier ones are past its retention (VIGIL_STREAM_MAX_AGE)\n",
			p.Oldest.UTC().Format(time.RFC3339))
	}
	verb := "stored"
	if opts.DryRun {
		verb = "would store (dry run)"
	}
	fmt.Fprintf(out, "rescore with rules %s since %s: %d events read in %s (%.0f/s); %s %d score rows, %d already stored; %d left to the default set (no rule of %s selects them), %d of other features, %d invalid\n",
		doc.Version, opts.Since.UTC().Format(time.RFC3339), p.Read, p.Elapsed.Round(time.Millisecond), p.Rate(),
		verb, p.Stored, p.Existing, p.Unmatched, doc.Version, p.Skipped, p.Invalid)
	if err != nil {
		return fmt.Errorf("rescore stopped after %d events (run it again to finish; stored rows are skipped): %w", p.Read, err)
	}
	return nil
}
