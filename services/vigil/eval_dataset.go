package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/store"
)

func runEvalDataset(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, evalUsage)
		return errors.New("eval dataset: no subcommand given (add, ls, show, from-traffic)")
	}
	fs := flagSet("eval dataset "+args[0], out)
	name := fs.String("name", "", "dataset name (add, from-traffic)")
	version := fs.Uint("version", 0, "version to create (default: the next one)")
	jsonl := fs.Bool("jsonl", false, "show: print the cases as a dataset file")
	app := fs.String("app", "", "from-traffic: the application")
	feature := fs.String("feature", "", "from-traffic: the feature")
	since := fs.String("since", "24h", "from-traffic: calls since this long ago (24h, 7d) or this RFC 3339 time")
	sample := fs.Int("sample", 100, "from-traffic: how many calls to draw")
	seed := fs.Uint64("seed", 1, "from-traffic: picks the sample; the same seed draws the same calls")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if *version > math.MaxUint32 {
		return fmt.Errorf("eval dataset %s: --version %d is too large", args[0], *version)
	}
	cfg, err := loadEvalConfig()
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		if len(pos) != 1 || *name == "" {
			return errors.New("eval dataset add: give one FILE and --name NAME")
		}
		if !eval.ValidName(*name) {
			return fmt.Errorf("eval dataset add: --name %q: want 1 to 64 letters, digits and - _ .", *name)
		}
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("eval dataset add: %w", err)
		}
		cases, err := eval.ReadCases(f)
		f.Close()
		if err != nil {
			return printDatasetError(out, pos[0], err)
		}
		conn, err := openEvalStore(ctx, cfg.common)
		if err != nil {
			return err
		}
		defer conn.Close()
		return addDataset(ctx, conn, out, *name, uint32(*version), cases, filepath.Base(pos[0]))
	case "ls":
		conn, err := openEvalStore(ctx, cfg.common)
		if err != nil {
			return err
		}
		defer conn.Close()
		filter := ""
		if len(pos) > 0 {
			filter = pos[0]
		}
		list, err := store.Datasets(ctx, conn, filter)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-24s %-8s %-7s %-20s %-14s %s\n", "NAME", "VERSION", "CASES", "CREATED", "SHA256", "SOURCE")
		for _, d := range list {
			fmt.Fprintf(out, "%-24s %-8d %-7d %-20s %-14s %s\n", d.Name, d.Version, d.Cases,
				d.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), d.Hash[:min(12, len(d.Hash))], d.Source)
		}
		return nil
	case "show":
		if len(pos) != 1 {
			return errors.New("eval dataset show: give one NAME[@VERSION]")
		}
		dsName, dsVersion, err := eval.ParseRef(pos[0])
		if err != nil {
			return err
		}
		conn, err := openEvalStore(ctx, cfg.common)
		if err != nil {
			return err
		}
		defer conn.Close()
		info, err := store.Dataset(ctx, conn, dsName, dsVersion)
		if err != nil {
			return err
		}
		cases, err := store.DatasetCases(ctx, conn, info.Name, info.Version)
		if err != nil {
			return err
		}
		if *jsonl {
			return eval.WriteCases(out, cases)
		}
		fmt.Fprintf(out, "%s: %d cases, sha256 %s, from %s, created %s\n\n", eval.Ref(info.Name, info.Version),
			info.Cases, info.Hash, info.Source, info.CreatedAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(out, "%-28s %-28s %s\n", "ID", "TAGS", "INPUT")
		for _, c := range cases {
			input := c.Input
			if input == "" && len(c.Messages) > 0 {
				input = c.Messages[len(c.Messages)-1].Content
			}
			fmt.Fprintf(out, "%-28s %-28s %s\n", c.ID, shorten(strings.Join(c.Tags, ","), 28), shorten(input, 70))
		}
		return nil
	case "from-traffic":
		var problems []string
		if *app == "" || *feature == "" {
			problems = append(problems, "--app and --feature are required")
		}
		if !eval.ValidName(*name) {
			problems = append(problems, fmt.Sprintf("--name %q: want 1 to 64 letters, digits and - _ .", *name))
		}
		if *sample < 1 || *sample > eval.MaxCases {
			problems = append(problems, fmt.Sprintf("--sample %d: want 1 to %d", *sample, eval.MaxCases))
		}
		from, err := parseSince(*since, time.Now())
		if err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) > 0 {
			return fmt.Errorf("eval dataset from-traffic: %s", strings.Join(problems, "; "))
		}
		conn, err := openEvalStore(ctx, cfg.common)
		if err != nil {
			return err
		}
		defer conn.Close()
		drawn, err := store.SampleTraffic(ctx, conn, store.TrafficSample{App: *app, Feature: *feature, Since: from, N: *sample, Seed: *seed})
		if err != nil {
			return err
		}
		var cases []eval.Case
		failing, skipped := 0, 0
		for _, c := range drawn {
			if c.Validate() != nil {
				skipped++ // e.g. a message without a role, which the event contract allows
				continue
			}
			if len(c.Tags) > 1 && c.Tags[1] == "traffic:failing" {
				failing++
			}
			cases = append(cases, c)
		}
		if len(cases) == 0 {
			return fmt.Errorf("eval dataset from-traffic: no scored calls of %s/%s since %s with an input", *app, *feature, from.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(out, "drew %d calls of %s/%s since %s: %d that failed a check, %d that passed",
			len(cases), *app, *feature, from.UTC().Format(time.RFC3339), failing, len(cases)-failing)
		if skipped > 0 {
			fmt.Fprintf(out, " (%d left out: not valid as cases)", skipped)
		}
		fmt.Fprintln(out)
		return addDataset(ctx, conn, out, *name, uint32(*version), cases, fmt.Sprintf("traffic:%s/%s", *app, *feature))
	}
	fmt.Fprint(out, evalUsage)
	return fmt.Errorf("eval dataset: unknown subcommand %q", args[0])
}

// addDataset stores cases as a new version of name: the next one, or version when it is not 0.
// Versions are immutable; adding the same cases as the latest version again stores nothing.
func addDataset(ctx context.Context, conn driver.Conn, out io.Writer, name string, version uint32, cases []eval.Case, source string) error {
	hash, err := eval.Hash(cases)
	if err != nil {
		return err
	}
	existing, err := store.Datasets(ctx, conn, name)
	if err != nil {
		return err
	}
	if version == 0 {
		if n := len(existing); n > 0 {
			latest := existing[n-1]
			if latest.Hash == hash {
				fmt.Fprintf(out, "%s already holds these %d cases (sha256 %.12s); no new version\n", eval.Ref(name, latest.Version), len(cases), hash)
				return nil
			}
			version = latest.Version + 1
		} else {
			version = 1
		}
	}
	for _, d := range existing {
		if d.Version != version {
			continue
		}
		if d.Hash == hash {
			fmt.Fprintf(out, "%s already holds these %d cases (sha256 %.12s)\n", eval.Ref(name, version), len(cases), hash)
			return nil
		}
		return fmt.Errorf("%s exists with other cases; versions are immutable, add a new one", eval.Ref(name, version))
	}
	info := store.DatasetInfo{Name: name, Version: version, Cases: uint32(len(cases)), Hash: hash, Source: source, CreatedAt: time.Now().UTC()}
	if err := store.InsertDataset(ctx, conn, info, cases); err != nil {
		return err
	}
	fmt.Fprintf(out, "added %s: %d cases, sha256 %.12s\n", eval.Ref(name, version), len(cases), hash)
	return nil
}
