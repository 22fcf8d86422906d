// Command vigil is the operator's tool: `vigil dev` runs the whole pipeline in one process,
// `vigil migrate` applies the ClickHouse schema, and `vigil tail` follows the alert stream (or
// the dead-letter stream).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vigilhq/vigil/services/internal/app"
)

const usage = `vigil: quality monitoring for AI features

usage:
  vigil dev [--demo]        run NATS (embedded), scorer, drift and writer in one process;
                            --demo adds traffic with a regression that fires an alert
  vigil migrate [--cluster NAME [--print]]
                            create or upgrade the ClickHouse schema (VIGIL_CLICKHOUSE_DSN);
                            --cluster makes replicated tables behind Distributed ones with
                            ON CLUSTER DDL, --print shows that DDL without running it
  vigil tail [--dlq] [--all] [--json]
                            print alerts (or dead letters) as they arrive; --all starts
                            from the oldest one kept
  vigil publish [EVENT_JSON ...]
                            validate and publish events (arguments, or one per line on stdin)
  vigil dlq ls|show|replay  inspect dead letters and send them back after a fix
  vigil rules check|apply|show
                            validate and apply the rules that choose each event's checks
                            (scorers follow within seconds; vigil rules help)
  vigil rescore --since T (--rules V | -f FILE) [--until T] [--app A] [--feature F] [--dry-run]
                            score the events still in the stream under other rules and
                            store the rows beside the live ones (vigil rescore help)
  vigil baseline pin|ls     pin the baselines series are compared with (now, or a past
                            time range), and list every baseline with its source
  vigil silence add|ls|expire
                            mute alerts matching labels for a while (the notifier honours it)
  vigil eval dataset|run|runs|compare|gate|report|accept
                            golden datasets, offline runs of a prompt version scored by the
                            live checks, and a statistical gate for CI (vigil eval help)
  vigil versions [--app A] [--since 1h] [--json]
                            which prompt and model versions each feature serves: share of
                            traffic, latest eval run, live quality against its baseline, alerts
  vigil probe URL           exit 0 when URL answers 2xx (container health checks)
  vigil config              print every VIGIL_* variable with its default

Configuration comes from VIGIL_* environment variables; see README.md.
`

func main() {
	os.Exit(app.Main(func(ctx context.Context) error { return dispatch(ctx, os.Args[1:], os.Stdout) }))
}

func dispatch(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], out)
	case "migrate":
		return runMigrate(ctx, args[1:], out)
	case "publish":
		return runPublish(ctx, args[1:], os.Stdin, out)
	case "eval":
		return runEval(ctx, args[1:], out, os.Stderr)
	case "versions":
		return runVersions(ctx, args[1:], out)
	case "probe":
		return runProbe(ctx, args[1:], out)
	case "baseline":
		return runBaseline(ctx, args[1:], out)
	case "silence":
		return runSilence(ctx, args[1:], out)
	case "rules":
		return runRules(ctx, args[1:], os.Stdin, out)
	case "rescore":
		return runRescore(ctx, args[1:], os.Stdin, out, os.Stderr)
	case "dlq":
		return runDLQ(ctx, args[1:], out)
	case "tail":
		return runTail(ctx, args[1:], out)
	case "config":
		return runConfig(out)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
