package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/telemetry"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func runMigrate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cluster := fs.String("cluster", "", "ClickHouse cluster (remote_servers name): replicated tables behind Distributed ones, ON CLUSTER DDL (default VIGIL_CLICKHOUSE_CLUSTER)")
	printDDL := fs.Bool("print", false, "print the cluster DDL for the configured database instead of running it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	if *cluster != "" {
		c.ClickHouseCluster = *cluster
		// The flag gets the same check as the variable.
		if err := c.Validate(); err != nil {
			return fmt.Errorf("--cluster: %w", err)
		}
	}
	log, err := telemetry.NewLogger(os.Stderr, "text", c.LogLevel)
	if err != nil {
		return err
	}
	opts, err := store.ConnOptions(c)
	if err != nil {
		return err
	}
	if *printDDL {
		if c.ClickHouseCluster == "" {
			return fmt.Errorf("--print: needs --cluster or VIGIL_CLICKHOUSE_CLUSTER")
		}
		return printClusterDDL(out, opts.Auth.Database, c.ClickHouseCluster)
	}
	if err := store.MigrateConfigured(ctx, opts, c, log); err != nil {
		return fmt.Errorf("migrate %s: %w", config.Redact(c.ClickHouseDSN), err)
	}
	log.Info("schema is up to date", "dsn", config.Redact(c.ClickHouseDSN), "cluster", c.ClickHouseCluster)
	return nil
}

// printClusterDDL writes every cluster migration as SQL a person can review or run by hand.
func printClusterDDL(out io.Writer, db, cluster string) error {
	plan, err := store.ClusterMigrations(db, cluster)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "CREATE DATABASE IF NOT EXISTS %s ON CLUSTER %s;\n", db, cluster)
	for _, m := range plan {
		fmt.Fprintf(&buf, "\n-- %s\n", m.Name)
		for _, s := range m.Statements {
			if s.PerHost {
				buf.WriteString("-- on every host of the cluster, one at a time:\n")
			}
			fmt.Fprintf(&buf, "%s;\n", s.SQL)
		}
	}
	_, err = out.Write(buf.Bytes())
	return err
}

func runConfig(out io.Writer) error {
	var buf bytes.Buffer
	buf.WriteString("| variable | type | default | meaning |\n|---|---|---|---|\n")
	if err := config.Reference(&buf, settings.Specs()...); err != nil {
		return err
	}
	_, err := out.Write(buf.Bytes())
	return err
}
