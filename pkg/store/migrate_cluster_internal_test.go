package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestRewriter() *clusterRewriter {
	return &clusterRewriter{db: "vigil", cluster: "prod", tables: map[string]bool{"scores": true}, views: map[string]bool{"v_scores": true}}
}

func TestClusterRewrite(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Statement
	}{
		{"summing table keyed on a single column", "CREATE TABLE t (k String, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY k SETTINGS index_granularity = 8192",
			[]Statement{
				{SQL: "CREATE TABLE vigil.t_local ON CLUSTER prod (k String, n UInt64)\nENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/vigil/t_local', '{replica}', (n))\nORDER BY k SETTINGS index_granularity = 8192"},
				{SQL: "CREATE TABLE vigil.t ON CLUSTER prod AS vigil.t_local\nENGINE = Distributed(prod, vigil, t_local, cityHash64(k))"},
			}},
		{"unordered table is spread at random", "CREATE TABLE IF NOT EXISTS t (k String) ENGINE = MergeTree ORDER BY tuple()",
			[]Statement{
				{SQL: "CREATE TABLE IF NOT EXISTS vigil.t_local ON CLUSTER prod (k String)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/vigil/t_local', '{replica}')\nORDER BY tuple()"},
				{SQL: "CREATE TABLE IF NOT EXISTS vigil.t ON CLUSTER prod AS vigil.t_local\nENGINE = Distributed(prod, vigil, t_local, rand())"},
			}},
		{"column change reaches the Distributed table on each host", "ALTER TABLE scores ADD COLUMN region String AFTER app, DROP PARTITION ID '20261120'",
			[]Statement{
				{SQL: "ALTER TABLE vigil.scores_local ON CLUSTER prod ADD COLUMN region String AFTER app, DROP PARTITION ID '20261120'"},
				{SQL: "ALTER TABLE vigil.scores ADD COLUMN region String AFTER app", PerHost: true},
			}},
		{"partition drop stays local", "ALTER TABLE scores DROP PARTITION ID '20261120'",
			[]Statement{{SQL: "ALTER TABLE vigil.scores_local ON CLUSTER prod DROP PARTITION ID '20261120'"}}},
		{"drop a table drops both", "DROP TABLE IF EXISTS scores",
			[]Statement{{SQL: "DROP TABLE IF EXISTS vigil.scores ON CLUSTER prod"}, {SQL: "DROP TABLE IF EXISTS vigil.scores_local ON CLUSTER prod"}}},
		{"views read the Distributed names, strings and ARRAY JOIN untouched",
			"CREATE VIEW v AS SELECT 'FROM scores' AS s, metric FROM scores FINAL ARRAY JOIN metric_names AS metric LEFT JOIN v_scores USING event_id",
			[]Statement{{SQL: "CREATE VIEW vigil.v ON CLUSTER prod AS\nSELECT 'FROM scores' AS s, metric FROM vigil.scores FINAL ARRAY JOIN metric_names AS metric LEFT JOIN vigil.v_scores USING event_id"}}},
		{"materialized views read and write local tables",
			"CREATE MATERIALIZED VIEW mv TO scores AS SELECT * FROM scores",
			[]Statement{{SQL: "CREATE MATERIALIZED VIEW vigil.mv ON CLUSTER prod TO vigil.scores_local AS\nSELECT * FROM vigil.scores_local"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newTestRewriter().rewrite(tc.in)
			if err != nil {
				t.Fatalf("rewrite(%q) = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rewrite(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestClusterRewriteRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE TABLE t (k String) ENGINE = Memory", "engine Memory"},
		{"CREATE TABLE t (k String) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY k", "engine ReplicatedMergeTree"},
		{"CREATE TABLE other.t (k String) ENGINE = MergeTree ORDER BY k", "must not name a database"},
		{"CREATE TABLE t AS scores", "column list"},
		{"CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY k AS SELECT 1", "needs TO"},
		{"CREATE MATERIALIZED VIEW mv TO nowhere AS SELECT 1", "target nowhere"},
		{"ALTER TABLE v_scores ADD COLUMN x String", "ALTER TABLE v_scores"},
		{"INSERT INTO scores SELECT 1", `"INSERT INTO scores SELECT"`},
		{"RENAME TABLE scores TO s2", `"RENAME TABLE scores TO"`},
	} {
		_, err := newTestRewriter().rewrite(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rewrite(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestTokenizeRoundTrips(t *testing.T) {
	for _, s := range []string{"SELECT 'a''b\\'c' -- x\n, `q``r`, 1.5e3 FROM t", "x -> x.1", "'unterminated"} {
		if got := joinTokens(tokenize(s)); got != s {
			t.Errorf("joinTokens(tokenize(%q)) = %q", s, got)
		}
	}
}

// FuzzClusterRewrite: any statement is rewritten or refused, never a panic, and tokenizing
// loses nothing.
func FuzzClusterRewrite(f *testing.F) {
	migrations, err := Migrations()
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range migrations {
		for _, s := range m.Statements {
			f.Add(s)
		}
	}
	f.Add("ALTER TABLE scores ADD COLUMN x String, MODIFY COLUMN y UInt8")
	f.Add("CREATE TABLE t (a String) ENGINE = MergeTree ORDER BY (a")
	f.Fuzz(func(t *testing.T, stmt string) {
		if got := joinTokens(tokenize(stmt)); got != stmt {
			t.Fatalf("joinTokens(tokenize(%q)) = %q", stmt, got)
		}
		out, err := newTestRewriter().rewrite(stmt)
		if err == nil && len(out) == 0 {
			t.Fatalf("rewrite(%q) gave no statements and no error", stmt)
		}
	})
}
