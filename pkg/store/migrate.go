// Package store writes vigil's events, scores and alerts to ClickHouse and owns its schema
// migrations. Every statement sticks to the subset that runs on ClickHouse 18.16 and on current
// releases (native protocol, explicit column lists, no server-side parameters).
package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:generate sh -c "cp ../../schemas/clickhouse/*.sql migrations/"

// migrationFiles are copies of schemas/clickhouse/*.sql (kept identical by go generate and a test).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema file.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(entries)
	out := make([]Migration, 0, len(entries))
	for _, path := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", path)
		}
		body, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", path, err)
		}
		out = append(out, Migration{Version: uint32(version), Name: name, Statements: splitStatements(string(body))})
	}
	return out, nil
}

// splitStatements cuts a SQL file on semicolons that end a line, dropping comment lines.
func splitStatements(sql string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Migrate creates the database named in the options if needed and applies every migration not yet
// recorded in schema_migrations. It is idempotent and safe to run from several writers at once:
// every statement is CREATE ... IF NOT EXISTS.
func Migrate(ctx context.Context, opts *clickhouse.Options, log *slog.Logger) error {
	if err := createDatabase(ctx, opts); err != nil {
		return err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("open clickhouse: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied_at DateTime
	) ENGINE = ReplacingMergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	// A clustered database must not grow tables that exist on one host only.
	var engine string
	if err := conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'").Scan(&engine); err != nil {
		return fmt.Errorf("read schema_migrations engine: %w", err)
	}
	if strings.HasPrefix(engine, "Replicated") {
		return fmt.Errorf("database %s was migrated for a cluster: migrate it with --cluster (VIGIL_CLICKHOUSE_CLUSTER)", opts.Auth.Database)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	migrations, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("apply migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := recordMigration(ctx, conn, m.Version, m.Name); err != nil {
			return err
		}
		log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

func appliedVersions(ctx context.Context, conn driver.Conn) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func createDatabase(ctx context.Context, opts *clickhouse.Options) error {
	db := opts.Auth.Database
	if db == "" || db == "default" {
		return nil
	}
	// A database that exists needs no CREATE: a writer confined to its database (allow_databases
	// in deploy/clickhouse/users.xml) cannot even connect to "default".
	if conn, err := clickhouse.Open(opts); err == nil {
		err = conn.Exec(ctx, "SELECT 1")
		conn.Close()
		if err == nil {
			return nil
		}
	}
	conn, err := openDefault(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db)); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// recordMigration adds an applied migration to schema_migrations.
func recordMigration(ctx context.Context, conn driver.Conn, version uint32, name string) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	if err := batch.Append(version, name, time.Now()); err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	return nil
}

// openDefault connects as opts does but to the default database, which exists before any
// migration creates the configured one.
func openDefault(opts *clickhouse.Options) (driver.Conn, error) {
	bootstrap := *opts
	bootstrap.Auth.Database = "default"
	conn, err := clickhouse.Open(&bootstrap)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	return conn, nil
}

func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
