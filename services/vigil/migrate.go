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

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c config.Common
	if err := config.Load(settings.Known(), &c); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(os.Stderr, "text", c.LogLevel)
	if err != nil {
		return err
	}
	opts, err := store.ParseDSN(c.ClickHouseDSN)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, opts, log); err != nil {
		return fmt.Errorf("migrate %s: %w", config.Redact(c.ClickHouseDSN), err)
	}
	log.Info("schema is up to date", "dsn", config.Redact(c.ClickHouseDSN))
	return nil
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
