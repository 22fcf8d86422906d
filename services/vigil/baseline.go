package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const baselineUsage = `usage:
  vigil baseline pin --app A --feature F [--environment E] [--model M] [--prompt-version V]
                     [--metric NAME] (--current | --from T --to T)
                        pin the baselines of the matching series: --current pins what the
                        drift service holds now (the newest closed window and the open ones);
                        --from/--to (RFC 3339 times, or durations back from now such as 2h)
                        pins what the live checks scored in that range, from ClickHouse
  vigil baseline ls [--app A] [--json]
                        list the baseline of every series (source, window, n, values), the
                        accepted eval runs and the pins requested
`

func runBaseline(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, baselineUsage)
		return errors.New("baseline: no subcommand given")
	}
	switch args[0] {
	case "pin":
		return runBaselinePin(ctx, args[1:], out)
	case "ls":
		return runBaselineLs(ctx, args[1:], out)
	case "help", "-h", "--help":
		fmt.Fprint(out, baselineUsage)
		return nil
	}
	fmt.Fprint(out, baselineUsage)
	return fmt.Errorf("baseline: unknown subcommand %q", args[0])
}

// openBaselineBucket connects to NATS and opens the baselines bucket; close releases both.
func openBaselineBucket(ctx context.Context, c config.Common) (jetstream.KeyValue, func(), error) {
	nc, err := app.DialNATS(c, "vigil-baseline", nats.Timeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s (set VIGIL_NATS_URL): %w", config.Redact(c.NATSURL), err)
	}
	return openBucket(ctx, nc, driftsvc.OpenBaselines)
}

func runBaselinePin(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("baseline pin", out)
	var m drift.Match
	fs.StringVar(&m.App, "app", "", "app of the series (required)")
	fs.StringVar(&m.Feature, "feature", "", "feature of the series (required)")
	fs.StringVar(&m.Environment, "environment", "", "environment (default: every one)")
	fs.StringVar(&m.Model, "model", "", "model (default: every one)")
	fs.StringVar(&m.PromptVersion, "prompt-version", "", "prompt version (default: every one)")
	fs.StringVar(&m.Metric, "metric", "", "metric (default: every one)")
	current := fs.Bool("current", false, "pin the drift service's current windows")
	fromFlag := fs.String("from", "", "start of the range of stored scores to pin (RFC 3339, or a duration back from now)")
	toFlag := fs.String("to", "", "end of the range (RFC 3339, or a duration back from now; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	if m.App == "" {
		errs = append(errs, errors.New("--app: required"))
	}
	if m.Feature == "" {
		errs = append(errs, errors.New("--feature: required"))
	}
	if *current == (*fromFlag != "") {
		errs = append(errs, errors.New("--current or --from: give exactly one"))
	}
	if *current && *toFlag != "" {
		errs = append(errs, errors.New("--to: only with --from"))
	}
	now := time.Now().UTC()
	var from, to time.Time
	if *fromFlag != "" {
		var err error
		if from, err = parseSince(*fromFlag, now); err != nil {
			errs = append(errs, fmt.Errorf("--from: %w", err))
		}
		to = now
		if *toFlag != "" {
			if to, err = parseSince(*toFlag, now); err != nil {
				errs = append(errs, fmt.Errorf("--to: %w", err))
			}
		}
		if err == nil && !to.After(from) {
			errs = append(errs, fmt.Errorf("--to %s: must be after --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprint(out, baselineUsage)
		return err
	}
	var common config.Common
	var dcfg driftsvc.Config
	if err := config.Load(settings.Known(), &common, &dcfg); err != nil {
		return err
	}
	by := os.Getenv("USER")
	id := fmt.Sprintf("pin-%s-%06x", now.Format("20060102-150405"), now.Nanosecond()&0xffffff)
	if *current {
		kv, closeKV, err := openBaselineBucket(ctx, common)
		if err != nil {
			return err
		}
		defer closeKV()
		p := &drift.Pin{ID: id, Match: m, Current: true, RequestedAt: now, By: by}
		if err := driftsvc.PutPin(ctx, kv, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "pin %s requested: the drift replica owning %s/%s pins the current windows of every matching series within seconds (vigil baseline ls shows them)\n",
			id, m.App, m.Feature)
		return nil
	}
	conn, err := openEvalStore(ctx, common)
	if err != nil {
		return err
	}
	defer conn.Close()
	found, err := store.BaselinesFromScores(ctx, conn, m, from, to, drift.DefaultConfig().SampleSize, int64(dcfg.MinSamples))
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("no series of %s/%s has %d or more live scores between %s and %s (VIGIL_DRIFT_MIN_SAMPLES)",
			m.App, m.Feature, dcfg.MinSamples, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	kv, closeKV, err := openBaselineBucket(ctx, common)
	if err != nil {
		return err
	}
	defer closeKV()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PIN\tENVIRONMENT\tMODEL\tPROMPT_VERSION\tMETRIC\tN\tFAILURE_RATE\tMEAN")
	for i := range found {
		sb := &found[i]
		s := sb.Series
		p := &drift.Pin{ID: fmt.Sprintf("%s-%d", id, i), RequestedAt: now, By: by, Baseline: &sb.Baseline,
			Match: drift.Match{App: s.App, Environment: s.Environment, Feature: s.Feature, Model: s.Model, PromptVersion: s.PromptVersion, Metric: sb.Metric}}
		if err := driftsvc.PutPin(ctx, kv, p); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.2f%%\t%.4g\n", p.ID, s.Environment, s.Model, s.PromptVersion, sb.Metric,
			sb.Baseline.N, 100*sb.Baseline.FailureRate(), sb.Baseline.Mean)
	}
	return tw.Flush()
}

func runBaselineLs(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("baseline ls", out)
	app := fs.String("app", "", "only this app")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var common config.Common
	if err := config.Load(settings.Known(), &common); err != nil {
		return err
	}
	kv, closeKV, err := openBaselineBucket(ctx, common)
	if err != nil {
		return err
	}
	defer closeKV()
	st, readErr := driftsvc.ReadBaselines(ctx, kv, *app)
	if *asJSON {
		doc := struct {
			Baselines   []drift.Record     `json:"baselines"`
			Acceptances []drift.Acceptance `json:"acceptances"`
			Pins        []drift.Pin        `json:"pins"`
		}{nonNil(st.Records), nonNil(st.Acceptances), nonNil(st.Pins)}
		for i := range doc.Pins {
			doc.Pins[i].Baseline = nil // the sample is no use in a listing
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("print baselines: %w", err)
		}
		return readErr
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tENVIRONMENT\tFEATURE\tMODEL\tPROMPT_VERSION\tMETRIC\tSOURCE\tORIGIN\tWINDOW\tN\tFAILURE_RATE\tMEAN")
	for _, r := range st.Records {
		origin := "-"
		if r.Origin != r.Series {
			origin = r.Origin.Model + "/" + r.Origin.PromptVersion
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f%%\t%s\n", r.Series.App, r.Series.Environment, r.Series.Feature,
			r.Series.Model, r.Series.PromptVersion, r.Metric, r.Source, origin, window(r.From, r.To), r.N, 100*r.FailureRate, mean(&r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Acceptances) > 0 {
		fmt.Fprintln(out, "\naccepted eval runs (live traffic of the version alerts when it falls below them):")
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tFEATURE\tPROMPT_VERSION\tMODEL\tRUN\tACCEPTED\tMETRICS (pass rate)")
		for _, a := range st.Acceptances {
			var ms []string
			for _, m := range a.Metrics {
				ms = append(ms, fmt.Sprintf("%s %.1f%%", m.Metric, 100*m.PassRate))
			}
			model := a.Model
			if model == "" {
				model = "(any)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.App, a.Feature, a.PromptVersion, model, a.RunID,
				a.AcceptedAt.Format(time.RFC3339), strings.Join(ms, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(st.Pins) > 0 {
		fmt.Fprintln(out, "\npins requested (the newest per selection):")
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PIN\tSELECTION\tKIND\tREQUESTED\tBY")
		for _, p := range st.Pins {
			kind := "current"
			if p.Baseline != nil {
				kind = fmt.Sprintf("range %s (n=%d)", window(p.Baseline.From, p.Baseline.To), p.Baseline.N)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, selection(p.Match), kind, p.RequestedAt.Format(time.RFC3339), p.By)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return readErr
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func window(from, to time.Time) string {
	if from.IsZero() || from.Unix() <= 0 {
		return "-"
	}
	return from.UTC().Format("2006-01-02T15:04:05") + ".." + to.UTC().Format("15:04:05")
}

func mean(r *drift.Record) string {
	if r.Values == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4g±%.3g", r.Mean, r.Stddev)
}

func selection(m drift.Match) string {
	parts := []string{"app=" + m.App, "feature=" + m.Feature}
	for _, f := range []struct{ k, v string }{{"environment", m.Environment}, {"model", m.Model}, {"prompt_version", m.PromptVersion}, {"metric", m.Metric}} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	return strings.Join(parts, " ")
}
