package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestLeastPrivilegeUsers starts ClickHouse with deploy/clickhouse/users.xml as its users file
// and checks what each user can and cannot do.
func TestLeastPrivilegeUsers(t *testing.T) {
	passwords := map[string]string{"default": "admin-pw", "vigil_writer": "writer-pw", "vigil_reader": "reader-pw", "vigil_reader_shop": "shop-pw"}
	for user, env := range map[string]string{"default": "ADMIN", "vigil_writer": "WRITER", "vigil_reader": "READER", "vigil_reader_shop": "READER_SHOP"} {
		sum := sha256.Sum256([]byte(passwords[user]))
		t.Setenv("CLICKHOUSE_"+env+"_PASSWORD_SHA256", hex.EncodeToString(sum[:])) // read by the server process
	}
	usersFile, err := filepath.Abs("../../deploy/clickhouse/users.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := testkit.StartServer(t, func(dir string, p testkit.Ports) (string, error) {
		return testkit.BaseConfig(dir, p) + "    <users_config>" + usersFile + "</users_config>\n</yandex>\n", nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	options := func(user, db string) *clickhouse.Options {
		t.Helper()
		opts, err := store.ParseDSN(fmt.Sprintf("clickhouse://%s:%s@%s/%s", user, passwords[user], srv.Addr(), db))
		if err != nil {
			t.Fatal(err)
		}
		return opts
	}
	open := func(user, db string) (driver.Conn, error) {
		conn, err := store.Open(ctx, options(user, db))
		if err == nil {
			t.Cleanup(func() { conn.Close() })
		}
		return conn, err
	}

	// The operator creates the database, the schema and the per-app views.
	if err := store.Migrate(ctx, options("default", "vigil"), log); err != nil {
		t.Fatalf("operator: Migrate: %v", err)
	}
	admin, err := open("default", "default")
	if err != nil {
		t.Fatal(err)
	}
	views, err := os.ReadFile("../../deploy/clickhouse/app_views.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(string(views), ";\n") {
		if stmt = stripComments(stmt); stmt != "" {
			if err := admin.Exec(ctx, stmt); err != nil {
				t.Fatalf("operator: %s: %v", stmt, err)
			}
		}
	}
	if _, err := open("default", "vigil"); err != nil {
		t.Fatalf("operator: %v", err)
	}

	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	events := []*event.Event{
		{EventID: "shop-1", Timestamp: ts, App: "shop", Model: "m", Output: "a"},
		{EventID: "bank-1", Timestamp: ts, App: "bank", Model: "m", Output: "b"},
	}
	var scored []*event.Scored
	for _, ev := range events {
		scored = append(scored, &event.Scored{EventID: ev.EventID, Timestamp: ts, Series: ev.Series(), Source: "checks",
			RulesVersion: "r1", Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true}}})
	}
	t.Run("writer inserts and reads its database only", func(t *testing.T) {
		// The writer's start-up path: migrate (nothing left to do), then insert.
		if err := store.Migrate(ctx, options("vigil_writer", "vigil"), log); err != nil {
			t.Fatalf("writer: Migrate on a migrated database: %v", err)
		}
		w, err := open("vigil_writer", "vigil")
		if err != nil {
			t.Fatal(err)
		}
		if err := store.InsertModelCalls(ctx, w, events); err != nil {
			t.Fatalf("writer: InsertModelCalls: %v", err)
		}
		if err := store.InsertScores(ctx, w, scored); err != nil {
			t.Fatalf("writer: InsertScores: %v", err)
		}
		if _, err := store.StoredKeys(ctx, w, store.TableModelCalls, []string{"shop-1"}); err != nil {
			t.Errorf("writer: StoredKeys: %v", err)
		}
		if _, err := open("vigil_writer", "default"); err == nil {
			t.Error("writer: connected to database default, want access denied")
		}
		if err := w.Exec(ctx, "CREATE DATABASE other"); err == nil {
			t.Error("writer: CREATE DATABASE other succeeded, want access denied")
		}
		if err := w.Exec(ctx, "SELECT count() FROM default.nothing"); err == nil || !isCode(err, 291) {
			t.Errorf("writer: read from database default = %v, want code 291 (database access denied)", err)
		}
	})

	t.Run("reader queries the views and changes nothing", func(t *testing.T) {
		r, err := open("vigil_reader", "vigil")
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := r.QueryRow(ctx, "SELECT count() FROM v_model_calls").Scan(&n); err != nil || n != 2 {
			t.Errorf("reader: v_model_calls rows = %d, %v; want 2", n, err)
		}
		for _, q := range []string{"SELECT count() FROM v_scores", "SELECT count() FROM v_alerts", "SELECT count() FROM quality_5m"} {
			if err := r.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Errorf("reader: %s: %v", q, err)
			}
		}
		if err := store.InsertModelCalls(ctx, r, events[:1]); err == nil || !isCode(err, 164) {
			t.Errorf("reader: insert = %v, want code 164 (readonly)", err)
		}
		for _, stmt := range []string{
			"ALTER TABLE model_calls DELETE WHERE 1",
			"ALTER TABLE model_calls ADD COLUMN x String",
			"ALTER TABLE model_calls DROP PARTITION ID '20261127'",
			"DROP TABLE v_model_calls",
			"DROP TABLE model_calls",
			"TRUNCATE TABLE model_calls",
			"CREATE TABLE t (a UInt8) ENGINE = Memory",
			"SET readonly = 0",
		} {
			if err := r.Exec(ctx, stmt); err == nil || !isCode(err, 164) {
				t.Errorf("reader: %s = %v, want code 164 (readonly)", stmt, err)
			}
		}
		if _, err := open("vigil_reader", "vigil_shop"); err == nil {
			t.Error("reader: connected to database vigil_shop, want access denied")
		}
	})

	t.Run("app reader sees only its app", func(t *testing.T) {
		s, err := open("vigil_reader_shop", "vigil_shop")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.Query(ctx, "SELECT event_id FROM v_model_calls ORDER BY event_id")
		if err != nil {
			t.Fatalf("app reader: %v", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if strings.Join(ids, ",") != "shop-1" {
			t.Errorf("app reader: event ids = %v, want [shop-1]", ids)
		}
		for q, want := range map[string]uint64{
			"SELECT count() FROM v_scores":                     1,
			"SELECT count() FROM v_scores WHERE app != 'shop'": 0,
			"SELECT sum(events) FROM quality_5m":               1,
			"SELECT count() FROM v_alerts":                     0,
		} {
			var n uint64
			if err := s.QueryRow(ctx, q).Scan(&n); err != nil || n != want {
				t.Errorf("app reader: %s = %d, %v; want %d", q, n, err, want)
			}
		}
		if err := s.Exec(ctx, "SELECT count() FROM vigil.model_calls"); err == nil || !isCode(err, 291) {
			t.Errorf("app reader: read vigil.model_calls = %v, want code 291 (database access denied)", err)
		}
		if _, err := open("vigil_reader_shop", "vigil"); err == nil {
			t.Error("app reader: connected to database vigil, want access denied")
		}
		if err := s.Exec(ctx, "DROP TABLE v_model_calls"); err == nil || !isCode(err, 164) {
			t.Errorf("app reader: DROP TABLE = %v, want code 164 (readonly)", err)
		}
	})

	// Nothing the reader tried changed the data.
	var n uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM vigil.v_model_calls").Scan(&n); err != nil || n != 2 {
		t.Errorf("operator: rows after the reader's attempts = %d, %v; want 2", n, err)
	}
}

func isCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == code
}

func stripComments(stmt string) string {
	var lines []string
	for _, l := range strings.Split(stmt, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
}
