package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestMigrateClusterReplicatesThroughDistributed runs the cluster migration on one shard with
// two replicas, inserts through the Distributed tables with the writer's insert functions, and
// reads every row back from each replica: the local tables directly, the views, the rollup fed
// by the materialized view, and the stored keys.
func TestMigrateClusterReplicatesThroughDistributed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const db = "vigil_cluster"
	cl := testkit.StartClusterFor(t, "vigil_test", func(cl *testkit.Cluster) error {
		opts, err := store.ParseDSN(fmt.Sprintf("clickhouse://%s/%s", cl.Replicas[0].Addr(), db))
		if err != nil {
			return err
		}
		start := time.Now()
		if err := store.MigrateCluster(ctx, opts, cl.Name, slog.New(slog.DiscardHandler)); err != nil {
			return fmt.Errorf("MigrateCluster: %w", err)
		}
		t.Logf("cluster migration took %v", time.Since(start))
		return nil
	})
	// A second run, from the other replica, finds everything recorded and changes nothing.
	opts2, _ := store.ParseDSN(fmt.Sprintf("clickhouse://%s/%s", cl.Replicas[1].Addr(), db))
	if err := store.MigrateCluster(ctx, opts2, cl.Name, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("MigrateCluster again: %v", err)
	}

	migrations, _ := store.Migrations()
	conns := make([]driver.Conn, len(cl.Replicas))
	for i, r := range cl.Replicas {
		conns[i] = testkit.Conn(t, fmt.Sprintf("clickhouse://%s/%s", r.Addr(), db))
		var n uint64
		if err := conns[i].QueryRow(ctx, "SELECT count() FROM schema_migrations FINAL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != uint64(len(migrations)) {
			t.Errorf("replica %d: schema_migrations rows = %d, want %d", i+1, n, len(migrations))
		}
		// Every MergeTree table is replicated, and each has a Distributed table of the
		// original name in front of it.
		rows, err := conns[i].Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ? ORDER BY name", db)
		if err != nil {
			t.Fatal(err)
		}
		engines := map[string]string{}
		for rows.Next() {
			var name, engine string
			if err := rows.Scan(&name, &engine); err != nil {
				t.Fatal(err)
			}
			engines[name] = engine
		}
		rows.Close()
		if len(engines) < 10 {
			t.Fatalf("replica %d: only %d tables: %v", i+1, len(engines), engines)
		}
		for name, engine := range engines {
			switch {
			case strings.HasSuffix(engine, "MergeTree") && !strings.HasPrefix(engine, "Replicated"):
				t.Errorf("replica %d: table %s has engine %s, want a Replicated one", i+1, name, engine)
			case strings.HasSuffix(name, store.LocalSuffix):
				front := strings.TrimSuffix(name, store.LocalSuffix)
				if engines[front] != "Distributed" {
					t.Errorf("replica %d: %s has engine %q in front of %s, want Distributed", i+1, front, engines[front], name)
				}
			}
		}
	}

	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var events []*event.Event
	var scored []*event.Scored
	for i := 0; i < 50; i++ {
		ev := &event.Event{EventID: fmt.Sprintf("ev-%d", i), Timestamp: ts.Add(time.Duration(i) * time.Second),
			App: "shop", Feature: "chat", Model: "m", Output: "hi"}
		events = append(events, ev)
		scored = append(scored, &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(),
			Source: "checks", RulesVersion: "r1", Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true}}})
	}
	for i := 0; i < 2; i++ { // the second batch is a redelivery of the first
		if err := store.InsertModelCalls(ctx, conns[0], events); err != nil {
			t.Fatalf("InsertModelCalls through Distributed: %v", err)
		}
	}
	// Once only: the rollup counts a copy (it is documented as approximate).
	if err := store.InsertScores(ctx, conns[0], scored); err != nil {
		t.Fatalf("InsertScores through Distributed: %v", err)
	}

	want := map[string]uint64{
		"SELECT count() FROM v_model_calls":                                      50,
		"SELECT count() FROM v_scores":                                           50,
		"SELECT count() FROM model_calls_local FINAL":                            50,
		"SELECT sum(events) FROM quality_5m_local WHERE metric = 'non_empty'":    50,
		"SELECT count() FROM stored_keys_local FINAL WHERE kind = 'model_calls'": 50,
	}
	for i, conn := range conns {
		got := map[string]uint64{}
		// Distributed inserts reach the replicas asynchronously: poll, bounded.
		testkit.Eventually(t, 60*time.Second, func() bool {
			for q := range want {
				var n uint64
				if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
					t.Fatalf("replica %d: %s: %v", i+1, q, err)
				}
				got[q] = n
			}
			return cmp.Equal(want, got)
		}, "replica %d: counts %v, want %v", i+1, got, want)
		var raw uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM model_calls_local").Scan(&raw); err == nil {
			t.Logf("replica %d: model_calls_local holds %d rows before merges (50 distinct inserted twice; FINAL reads 50)", i+1, raw)
		}
		found, err := store.StoredKeys(ctx, conn, store.TableModelCalls, []string{"ev-0", "ev-49", "ev-50"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]bool{"ev-0": true, "ev-49": true}, found); diff != "" {
			t.Errorf("replica %d: StoredKeys (-want +got):\n%s", i+1, diff)
		}
	}

	// Retention drops the expired day on the replicated local tables of every replica, and
	// keeps the recent one.
	old := &event.Event{EventID: "ev-old", Timestamp: ts.AddDate(0, 0, -40), App: "shop", Feature: "chat", Model: "m", Output: "hi"}
	if err := store.InsertModelCalls(ctx, conns[0], []*event.Event{old}); err != nil {
		t.Fatal(err)
	}
	countOld := "SELECT count() FROM model_calls_local WHERE event_id = 'ev-old'"
	for i, conn := range conns {
		testkit.Eventually(t, 60*time.Second, func() bool {
			var n uint64
			return conn.QueryRow(ctx, countOld).Scan(&n) == nil && n == 1
		}, "replica %d: the old event did not arrive", i+1)
	}
	dropped, err := store.DropExpiredOnCluster(ctx, conns[0], cl.Name, store.Retention{store.TableModelCalls: 30 * 24 * time.Hour}, ts)
	if err != nil {
		t.Fatalf("DropExpiredOnCluster: %v", err)
	}
	if want := []string{"model_calls_local/" + old.Timestamp.Format("20060102")}; !cmp.Equal(want, dropped) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	for i, conn := range conns {
		testkit.Eventually(t, 60*time.Second, func() bool {
			var gone, kept uint64
			return conn.QueryRow(ctx, countOld).Scan(&gone) == nil && gone == 0 &&
				conn.QueryRow(ctx, "SELECT count() FROM model_calls_local FINAL").Scan(&kept) == nil && kept == 50
		}, "replica %d: the expired day is still there, or recent rows went with it", i+1)
	}
}

func TestClusterMigrationsRewriteEveryMigration(t *testing.T) {
	plan, err := store.ClusterMigrations("vigil", "prod")
	if err != nil {
		t.Fatalf("ClusterMigrations: %v", err)
	}
	migrations, _ := store.Migrations()
	if len(plan) != len(migrations) {
		t.Fatalf("ClusterMigrations gave %d migrations, want %d", len(plan), len(migrations))
	}
	for _, m := range plan {
		for _, s := range m.Statements {
			if !s.PerHost && !strings.Contains(s.SQL, " ON CLUSTER prod") {
				t.Errorf("%s: statement without ON CLUSTER:\n%s", m.Name, s.SQL)
			}
			if strings.Contains(s.SQL, "ENGINE = ReplacingMergeTree") || strings.Contains(s.SQL, "ENGINE = SummingMergeTree") ||
				strings.Contains(s.SQL, "ENGINE = MergeTree") || strings.Contains(s.SQL, "ENGINE = AggregatingMergeTree") {
				t.Errorf("%s: non-replicated engine left:\n%s", m.Name, s.SQL)
			}
		}
	}
}

func TestClusterMigrationsRejectBadNames(t *testing.T) {
	for _, tc := range []struct{ db, cluster, want string }{
		{"vigil", "a-b", `cluster "a-b"`},
		{"default", "c", `database "default"`},
		{"x;y", "c", `database "x;y"`},
	} {
		_, err := store.ClusterMigrations(tc.db, tc.cluster)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClusterMigrations(%q, %q) = %v, want an error naming %s", tc.db, tc.cluster, err, tc.want)
		}
	}
}
