package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestMigratePrintsClusterDDL(t *testing.T) {
	t.Setenv("VIGIL_CLICKHOUSE_DSN", "clickhouse://127.0.0.1:9000/vigil")
	var out bytes.Buffer
	if err := dispatch(context.Background(), []string{"migrate", "--cluster", "prod", "--print"}, &out); err != nil {
		t.Fatalf("vigil migrate --cluster prod --print: %v", err)
	}
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS vigil ON CLUSTER prod;",
		"CREATE TABLE IF NOT EXISTS vigil.model_calls_local ON CLUSTER prod",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/model_calls_local', '{replica}')",
		"ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/vigil/quality_5m_local', '{replica}')",
		"CREATE TABLE IF NOT EXISTS vigil.model_calls ON CLUSTER prod AS vigil.model_calls_local\nENGINE = Distributed(prod, vigil, model_calls_local,",
		"TO vigil.quality_5m_local AS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("vigil migrate --print output lacks %q", want)
		}
	}
}

func TestMigrateRejectsBadCluster(t *testing.T) {
	t.Setenv("VIGIL_CLICKHOUSE_DSN", "clickhouse://127.0.0.1:9000/vigil")
	err := dispatch(context.Background(), []string{"migrate", "--cluster", "a b", "--print"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `VIGIL_CLICKHOUSE_CLUSTER="a b"`) {
		t.Errorf("vigil migrate --cluster 'a b' = %v, want an error naming the cluster", err)
	}
}

func TestMigrateOnACluster(t *testing.T) {
	cl := testkit.StartClusterFor(t, "vigil_test", func(cl *testkit.Cluster) error {
		t.Setenv("VIGIL_CLICKHOUSE_DSN", fmt.Sprintf("clickhouse://%s/vigil_cli_cluster", cl.Replicas[1].Addr()))
		if err := dispatch(context.Background(), []string{"migrate", "--cluster", cl.Name}, io.Discard); err != nil {
			return fmt.Errorf("vigil migrate --cluster %s: %w", cl.Name, err)
		}
		return nil
	})
	for i, r := range cl.Replicas {
		var engine string
		conn := testkit.Conn(t, fmt.Sprintf("clickhouse://%s/vigil_cli_cluster", r.Addr()))
		if err := conn.QueryRow(context.Background(), "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'scores'").Scan(&engine); err != nil || engine != "Distributed" {
			t.Errorf("replica %d: scores engine = %q, %v; want Distributed", i+1, engine, err)
		}
	}
	// Migrating the clustered database as a single server would create tables on one host only.
	err := dispatch(context.Background(), []string{"migrate"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "migrated for a cluster") {
		t.Errorf("vigil migrate without --cluster on a clustered database = %v, want refused", err)
	}
}
