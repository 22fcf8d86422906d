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
  vigil migrate             create or upgrade the ClickHouse schema (VIGIL_CLICKHOUSE_DSN)
  vigil tail [--dlq] [--all] [--json]
                            print alerts (or dead letters) as they arrive; --all starts
                            from the oldest one kept
  vigil publish [EVENT_JSON ...]
                            validate and publish events (arguments, or one per line on stdin)
  vigil dlq ls|show|replay  inspect dead letters and send them back after a fix
  vigil rules check|apply|show
                            validate and apply the rules that choose each event's checks
                            (scorers follow within seconds; vigil rules help)
  vigil silence add|ls|expire
                            mute alerts matching labels for a while (the notifier honours it)
  vigil eval dataset|run|runs|compare|gate
                            golden datasets, offline runs of a prompt version scored by the
                            live checks, and a statistical gate for CI (vigil eval help)
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
		return runMigrate(ctx, args[1:])
	case "publish":
		return runPublish(ctx, args[1:], os.Stdin, out)
	case "eval":
		return runEval(ctx, args[1:], out, os.Stderr)
	case "probe":
		return runProbe(ctx, args[1:], out)
	case "silence":
		return runSilence(ctx, args[1:], out)
	case "rules":
		return runRules(ctx, args[1:], os.Stdin, out)
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
