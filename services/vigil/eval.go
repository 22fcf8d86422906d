package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

const evalUsage = `usage:
  vigil eval dataset add FILE --name NAME [--version V]
                        store a JSONL golden set as the next version of NAME
  vigil eval dataset ls [NAME]
                        list dataset versions
  vigil eval dataset show NAME[@V] [--jsonl]
                        list a version's cases (--jsonl: print them as a dataset file)
  vigil eval dataset from-traffic --app A --feature F --since 24h --sample N --name NAME
                        draw live calls into a new version: half that failed a check, half
                        that passed
  vigil eval run --dataset NAME[@V] --app A --feature F --prompt-version V TARGET [--concurrency N]
                        run every case through the target, score each output with the live
                        checks and store the results as they finish; TARGET is one of
                          --target openai --base-url URL --model M [--prompt-template FILE]
                                          [--api-key-env OPENAI_API_KEY]
                          --target http --url URL      (POST the case JSON, read {"output": ...})
                          --target command --cmd CMD   (case JSON on stdin, output on stdout)
                          --outputs FILE               (JSONL of {"case_id", "output"})
  vigil eval run --resume RUN_ID
                        finish an interrupted run: only cases without a result are called
  vigil eval runs [--dataset NAME] [--limit N]
                        list runs, newest first
  vigil eval compare RUN_A RUN_B
                        per metric: means, pass rates, paired differences with 95% bootstrap
                        intervals, and the cases that passed in A and fail in B
  vigil eval gate --baseline RUN --candidate RUN [--margin 0.02] [--alpha 0.05]
                        exit 1 when a metric dropped significantly by more than the margin;
                        --baseline latest:PROMPT_VERSION takes that version's newest done run
                        of the candidate's dataset, app and feature
  vigil eval report RUN [--against RUN|none] [-o FILE]
                        write one self-contained HTML file: each metric across the dataset's
                        runs over time, the comparison with the earlier run, and word diffs
                        of the outputs that changed
  vigil eval accept RUN [--any-model]
                        make a done run the expected quality of its prompt version (and
                        model): live traffic of that version alerts when it falls below it

ClickHouse comes from VIGIL_CLICKHOUSE_DSN; output contracts from VIGIL_SCORER_CONTRACTS_DIR
(or --contracts DIR), as for the live scorer.
`

// runEval dispatches the eval subcommands. Results and tables go to out, progress to errOut.
func runEval(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, evalUsage)
		return errors.New("eval: no subcommand given")
	}
	switch args[0] {
	case "dataset":
		return runEvalDataset(ctx, args[1:], out)
	case "run":
		return runEvalRun(ctx, args[1:], out, errOut)
	case "runs":
		return runEvalRuns(ctx, args[1:], out)
	case "compare":
		return runEvalCompare(ctx, args[1:], out)
	case "gate":
		return runEvalGate(ctx, args[1:], out)
	case "accept":
		return runEvalAccept(ctx, args[1:], out)
	case "report":
		return runEvalReport(ctx, args[1:], out)
	case "help", "-h", "--help":
		fmt.Fprint(out, evalUsage)
		return nil
	}
	fmt.Fprint(out, evalUsage)
	return fmt.Errorf("eval: unknown subcommand %q", args[0])
}

// evalConfig is the configuration eval commands read: the shared settings and the scorer's
// contracts directory, so that eval scores exactly as the live scorer does.
type evalConfig struct {
	common config.Common
	scorer scorersvc.Config
}

func loadEvalConfig() (evalConfig, error) {
	var c evalConfig
	err := config.Load(settings.Known(), &c.common, &c.scorer)
	return c, err
}

// openEvalStore connects to ClickHouse and applies any missing migration, so eval works against
// a database no writer has touched yet.
func openEvalStore(ctx context.Context, c config.Common) (driver.Conn, error) {
	opts, err := store.ConnOptions(c)
	if err != nil {
		return nil, err
	}
	if err := store.MigrateConfigured(ctx, opts, c, slog.New(slog.DiscardHandler)); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", config.Redact(c.ClickHouseDSN), err)
	}
	return store.Open(ctx, opts)
}

// openConfiguredEvalStore loads the eval configuration and opens the store it names, for the
// commands that read runs.
func openConfiguredEvalStore(ctx context.Context) (evalConfig, driver.Conn, error) {
	cfg, err := loadEvalConfig()
	if err != nil {
		return cfg, nil, err
	}
	conn, err := openEvalStore(ctx, cfg.common)
	return cfg, conn, err
}

// parseInterleaved parses flags that may come before or after the positional arguments, and
// returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		rest := fs.Args()
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagSet returns a FlagSet whose usage and errors go to out.
func flagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// printDatasetError prints each problem of a dataset file on its own line, prefixed with the
// file name the way compilers do, and returns a short error.
func printDatasetError(out io.Writer, file string, err error) error {
	var derr *eval.DatasetError
	if !errors.As(err, &derr) {
		return err
	}
	for _, p := range derr.Problems {
		if p.Line > 0 {
			fmt.Fprintf(out, "%s:%d: %s: %s\n", file, p.Line, p.Field, p.Reason)
		} else {
			fmt.Fprintf(out, "%s: %s: %s\n", file, p.Field, p.Reason)
		}
	}
	if derr.Omitted > 0 {
		fmt.Fprintf(out, "%s: %d more problems not shown\n", file, derr.Omitted)
	}
	return fmt.Errorf("%s is not a valid dataset: %d problems", file, len(derr.Problems)+derr.Omitted)
}

// parseSince reads a duration back from now ("24h") or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--since %s: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if dur, err := time.ParseDuration(d + "h"); err == nil && dur > 0 {
			return now.Add(-24 * dur), nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration such as 24h or 7d, or an RFC 3339 time", s)
}

// shorten cuts s to n runes on one line, for tables.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
