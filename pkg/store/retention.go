package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention says how long each table keeps rows. Old data goes by dropping whole partitions
// (days for model_calls and scores, months for the others): cheap, and portable to servers
// without TTL. Zero keeps a table forever.
type Retention map[string]time.Duration

// Tables whose retention can be set, with the kinds of their partitions.
var partitionedTables = []string{TableModelCalls, TableScores, TableAlerts, TableFeedback, TableQuality, "stored_keys"}

// DropExpired drops every partition of the tables in r whose newest possible row is older than
// now minus the table's retention, and returns the partitions it dropped as "table/partition_id".
func DropExpired(ctx context.Context, conn driver.Conn, r Retention, now time.Time) ([]string, error) {
	return DropExpiredOnCluster(ctx, conn, "", r, now)
}

// DropExpiredOnCluster is DropExpired for a schema migrated with MigrateCluster (cluster not
// empty): the rows live in the replicated <table>_local tables behind the Distributed ones, so
// their partitions are dropped there, ON CLUSTER so that every shard drops them (each shard's
// replicas follow through replication). Partitions are listed on this host; a partition a shard
// does not have is a no-op there.
func DropExpiredOnCluster(ctx context.Context, conn driver.Conn, cluster string, r Retention, now time.Time) ([]string, error) {
	onCluster := ""
	if cluster != "" {
		onCluster = " ON CLUSTER " + cluster // a validated name: letters, digits, underscores
	}
	var dropped []string
	for _, name := range partitionedTables {
		keep := r[name]
		if keep <= 0 {
			continue
		}
		table := name
		if cluster != "" {
			table += LocalSuffix
		}
		cutoff := now.Add(-keep)
		ids, err := partitionIDs(ctx, conn, table)
		if err != nil {
			return dropped, err
		}
		for _, id := range ids {
			end, ok := partitionEnd(id)
			if !ok || end.After(cutoff) {
				continue
			}
			if err := conn.Exec(ctx, "ALTER TABLE "+quoteIdent(table)+onCluster+" DROP PARTITION ID ?", id); err != nil {
				return dropped, fmt.Errorf("drop partition %s of %s: %w", id, table, err)
			}
			dropped = append(dropped, table+"/"+id)
		}
	}
	return dropped, nil
}

func partitionIDs(ctx context.Context, conn driver.Conn, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT DISTINCT partition_id FROM system.parts
		WHERE database = currentDatabase() AND table = ? AND active`, table)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// partitionEnd is the first instant after a partition: the day after YYYYMMDD, the month after
// YYYYMM.
func partitionEnd(id string) (time.Time, bool) {
	switch len(id) {
	case 8:
		t, err := time.Parse("20060102", id)
		return t.AddDate(0, 0, 1), err == nil
	case 6:
		t, err := time.Parse("200601", id)
		return t.AddDate(0, 1, 0), err == nil
	}
	return time.Time{}, false
}
