package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// LocalSuffix names the replicated table that holds a table's rows on each replica when the
// schema is migrated for a cluster; the original name becomes a Distributed table over it, so
// inserts and queries keep using the names they always did.
const LocalSuffix = "_local"

// Statement is one DDL statement of a cluster migration.
type Statement struct {
	SQL string
	// PerHost statements are run on every host of the cluster in turn, without ON CLUSTER:
	// ClickHouse 18.16 refuses ALTER ... ON CLUSTER for a table that is not replicated (a
	// Distributed one) when the cluster's shards have replicas.
	PerHost bool
}

// ClusterMigration is a migration rewritten for a cluster.
type ClusterMigration struct {
	Version    uint32
	Name       string
	Statements []Statement
}

var simpleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ClusterMigrations rewrites every embedded migration for database db on cluster: each
// *MergeTree table becomes a Replicated*MergeTree table <name>_local (ZooKeeper path
// /clickhouse/tables/{shard}/<db>/<name>_local, replica {replica}) with a Distributed table
// <name> in front of it, sharded by a hash of the sort key so that copies of a row meet on one
// shard and collapse there; materialized views read and write the local tables (each replica
// feeds its own rollup, which replication then copies); plain views read the Distributed names.
// Every statement carries ON CLUSTER. A statement it cannot rewrite safely is an error naming
// the migration, the statement and the reason.
func ClusterMigrations(db, cluster string) ([]ClusterMigration, error) {
	if err := checkClusterNames(db, cluster); err != nil {
		return nil, err
	}
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	r := &clusterRewriter{db: db, cluster: cluster, tables: map[string]bool{}, views: map[string]bool{}}
	out := make([]ClusterMigration, 0, len(migrations))
	for _, m := range migrations {
		cm := ClusterMigration{Version: m.Version, Name: m.Name}
		for i, stmt := range m.Statements {
			rewritten, err := r.rewrite(stmt)
			if err != nil {
				return nil, fmt.Errorf("cluster migration %s statement %d: %w", m.Name, i+1, err)
			}
			cm.Statements = append(cm.Statements, rewritten...)
		}
		out = append(out, cm)
	}
	return out, nil
}

func checkClusterNames(db, cluster string) error {
	var errs []error
	if !simpleName.MatchString(cluster) {
		errs = append(errs, fmt.Errorf("cluster %q: want letters, digits and underscores", cluster))
	}
	if !simpleName.MatchString(db) || db == "default" {
		errs = append(errs, fmt.Errorf("database %q: want a database of its own named with letters, digits and underscores", db))
	}
	return errors.Join(errs...)
}

type clusterRewriter struct {
	db, cluster string
	tables      map[string]bool // MergeTree tables: a Distributed <name> over <name>_local
	views       map[string]bool // plain and materialized views
}

// stmtParser walks the significant tokens of one statement while keeping the spacing of the
// original text for the pieces it copies.
type stmtParser struct {
	toks []token
	ix   []int // indexes of the significant tokens in toks
	p    int   // cursor into ix
}

func newStmtParser(sql string) *stmtParser {
	toks := tokenize(sql)
	sp := &stmtParser{toks: toks}
	for i, t := range toks {
		if t.kind != tokSpace {
			sp.ix = append(sp.ix, i)
		}
	}
	return sp
}

func (sp *stmtParser) at(k int) token {
	if k < 0 || k >= len(sp.ix) {
		return token{}
	}
	return sp.toks[sp.ix[k]]
}

// accept consumes the given keywords if they come next, in order.
func (sp *stmtParser) accept(words ...string) bool {
	for i, w := range words {
		if sp.at(sp.p+i).upper() != w {
			return false
		}
	}
	sp.p += len(words)
	return true
}

// name consumes an unqualified identifier.
func (sp *stmtParser) name() (string, error) {
	t := sp.at(sp.p)
	if t.kind != tokWord {
		return "", fmt.Errorf("expected a name at %q", t.text)
	}
	if sp.at(sp.p+1).text == "." {
		return "", fmt.Errorf("name %s.%s: migrations must not name a database (they run in the configured one)", t.name(), sp.at(sp.p+2).name())
	}
	sp.p++
	return t.name(), nil
}

// createHead consumes the optional IF NOT EXISTS and the name that follow CREATE TABLE or VIEW,
// returning the clause to repeat ("" or "IF NOT EXISTS ") and the name.
func (sp *stmtParser) createHead() (ifNot, name string, err error) {
	if sp.accept("IF", "NOT", "EXISTS") {
		ifNot = "IF NOT EXISTS "
	}
	name, err = sp.name()
	return ifNot, name, err
}

// closing returns the cursor index of the ")" matching the "(" at cursor index open, or -1.
func (sp *stmtParser) closing(open int) int {
	depth := 0
	for k := open; k < len(sp.ix); k++ {
		switch sp.at(k).text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// text returns the original text from cursor index a up to (not including) b.
func (sp *stmtParser) text(a, b int) string {
	if a >= len(sp.ix) {
		return ""
	}
	end := len(sp.toks)
	if b < len(sp.ix) {
		end = sp.ix[b]
	}
	return strings.TrimSpace(joinTokens(sp.toks[sp.ix[a]:end]))
}

func (r *clusterRewriter) qualified(name string) string {
	if simpleName.MatchString(name) {
		return r.db + "." + name
	}
	return r.db + "." + quoteIdent(name)
}

func (r *clusterRewriter) onCluster() string { return " ON CLUSTER " + r.cluster }

func (r *clusterRewriter) rewrite(stmt string) ([]Statement, error) {
	sp := newStmtParser(stmt)
	switch {
	case sp.accept("CREATE", "TABLE"):
		return r.createTable(sp)
	case sp.accept("CREATE", "MATERIALIZED", "VIEW"):
		return r.createMaterializedView(sp)
	case sp.accept("CREATE", "VIEW"):
		return r.createView(sp)
	case sp.accept("ALTER", "TABLE"):
		return r.alterTable(sp)
	case sp.accept("DROP", "TABLE"), sp.accept("DROP", "VIEW"):
		return r.drop(sp)
	}
	return nil, fmt.Errorf("statement %q: only CREATE TABLE/VIEW/MATERIALIZED VIEW, ALTER TABLE and DROP TABLE/VIEW can be rewritten for a cluster", firstWords(stmt))
}

func firstWords(stmt string) string {
	f := strings.Fields(stmt)
	return strings.Join(f[:min(len(f), 4)], " ")
}

func (r *clusterRewriter) createTable(sp *stmtParser) ([]Statement, error) {
	ifNot, name, err := sp.createHead()
	if err != nil {
		return nil, err
	}
	if sp.at(sp.p).text != "(" {
		return nil, fmt.Errorf("table %s: a column list must follow the name (CREATE TABLE ... AS is not rewritten)", name)
	}
	colsEnd := sp.closing(sp.p)
	if colsEnd < 0 {
		return nil, fmt.Errorf("table %s: unbalanced parentheses in the column list", name)
	}
	cols := sp.text(sp.p, colsEnd+1)
	sp.p = colsEnd + 1
	if !sp.accept("ENGINE") || sp.at(sp.p).text != "=" {
		return nil, fmt.Errorf("table %s: ENGINE = must follow the column list", name)
	}
	sp.p++
	engine := sp.at(sp.p).text
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("table %s: engine %s: only non-replicated *MergeTree tables can be made replicated", name, engine)
	}
	sp.p++
	args := ""
	if sp.at(sp.p).text == "(" {
		end := sp.closing(sp.p)
		if end < 0 {
			return nil, fmt.Errorf("table %s: unbalanced parentheses in the engine arguments", name)
		}
		args = sp.text(sp.p+1, end)
		sp.p = end + 1
	}
	restStart := sp.p
	key := "rand()"
	if expr := orderBy(sp, restStart); expr != "" && expr != "tuple()" {
		key = "cityHash64(" + expr + ")"
	}
	rest := sp.text(restStart, len(sp.ix))

	local := name + LocalSuffix
	zkPath := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s'", r.db, local)
	engineArgs := zkPath + ", '{replica}'"
	if args != "" {
		engineArgs += ", " + args
	}
	r.tables[name] = true
	return []Statement{
		{SQL: fmt.Sprintf("CREATE TABLE %s%s%s %s\nENGINE = Replicated%s(%s)\n%s",
			ifNot, r.qualified(local), r.onCluster(), cols, engine, engineArgs, rest)},
		{SQL: fmt.Sprintf("CREATE TABLE %s%s%s AS %s\nENGINE = Distributed(%s, %s, %s, %s)",
			ifNot, r.qualified(name), r.onCluster(), r.qualified(local), r.cluster, r.db, local, key)},
	}, nil
}

// orderBy returns the table's sort key with any outer parentheses removed, or "".
func orderBy(sp *stmtParser, from int) string {
	depth := 0
	for k := from; k < len(sp.ix); k++ {
		switch t := sp.at(k); {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case depth == 0 && t.upper() == "ORDER" && sp.at(k+1).upper() == "BY":
			start, end := k+2, k+2
			for d := 0; end < len(sp.ix); end++ {
				switch u := sp.at(end); {
				case u.text == "(":
					d++
				case u.text == ")":
					d--
				case d == 0 && (u.upper() == "PRIMARY" || u.upper() == "SAMPLE" || u.upper() == "SETTINGS" ||
					u.upper() == "TTL" || u.upper() == "PARTITION"):
					goto done
				}
			}
		done:
			if sp.at(start).text == "(" && sp.closing(start) == end-1 {
				return sp.text(start+1, end-1)
			}
			return sp.text(start, end)
		}
	}
	return ""
}

func (r *clusterRewriter) createMaterializedView(sp *stmtParser) ([]Statement, error) {
	ifNot, name, err := sp.createHead()
	if err != nil {
		return nil, err
	}
	if !sp.accept("TO") {
		return nil, fmt.Errorf("materialized view %s: needs TO <table> (an inner engine cannot be replicated)", name)
	}
	target, err := sp.name()
	if err != nil {
		return nil, fmt.Errorf("materialized view %s: %w", name, err)
	}
	if !r.tables[target] {
		return nil, fmt.Errorf("materialized view %s: target %s is not a MergeTree table created by an earlier migration", name, target)
	}
	cols := ""
	if sp.at(sp.p).text == "(" {
		end := sp.closing(sp.p)
		if end < 0 {
			return nil, fmt.Errorf("materialized view %s: unbalanced parentheses in the column list", name)
		}
		cols = " " + sp.text(sp.p, end+1)
		sp.p = end + 1
	}
	if !sp.accept("AS") {
		return nil, fmt.Errorf("materialized view %s: AS SELECT must follow the target", name)
	}
	r.views[name] = true
	return []Statement{{SQL: fmt.Sprintf("CREATE MATERIALIZED VIEW %s%s%s TO %s%s AS\n%s",
		ifNot, r.qualified(name), r.onCluster(), r.qualified(target+LocalSuffix), cols, r.selectRefs(sp, true))}}, nil
}

func (r *clusterRewriter) createView(sp *stmtParser) ([]Statement, error) {
	ifNot, name, err := sp.createHead()
	if err != nil {
		return nil, err
	}
	if !sp.accept("AS") {
		return nil, fmt.Errorf("view %s: AS SELECT must follow the name", name)
	}
	r.views[name] = true
	return []Statement{{SQL: fmt.Sprintf("CREATE VIEW %s%s%s AS\n%s",
		ifNot, r.qualified(name), r.onCluster(), r.selectRefs(sp, false))}}, nil
}

// selectRefs returns the rest of the statement with every table or view it reads qualified with
// the database (ON CLUSTER DDL runs in no particular database on the other hosts); with local,
// MergeTree tables are read through their replicated local table instead of the Distributed one.
func (r *clusterRewriter) selectRefs(sp *stmtParser, local bool) string {
	var b strings.Builder
	var prev1, prev2 string
	start := len(sp.toks)
	if sp.p < len(sp.ix) {
		start = sp.ix[sp.p]
	}
	for i := start; i < len(sp.toks); i++ {
		t := sp.toks[i]
		if t.kind == tokSpace {
			b.WriteString(t.text)
			continue
		}
		out := t.text
		if t.kind == tokWord && (prev1 == "FROM" || (prev1 == "JOIN" && prev2 != "ARRAY")) && !followedBy(sp.toks, i, ".", "(") {
			switch n := t.name(); {
			case r.tables[n] && local:
				out = r.qualified(n + LocalSuffix)
			case r.tables[n] || r.views[n]:
				out = r.qualified(n)
			}
		}
		b.WriteString(out)
		prev2, prev1 = prev1, t.upper()
	}
	return strings.TrimSpace(b.String())
}

// followedBy reports whether the next significant token after toks[i] is one of texts.
func followedBy(toks []token, i int, texts ...string) bool {
	for j := i + 1; j < len(toks); j++ {
		if toks[j].kind == tokSpace {
			continue
		}
		for _, s := range texts {
			if toks[j].text == s {
				return true
			}
		}
		return false
	}
	return false
}

func (r *clusterRewriter) alterTable(sp *stmtParser) ([]Statement, error) {
	name, err := sp.name()
	if err != nil {
		return nil, err
	}
	if !r.tables[name] {
		return nil, fmt.Errorf("ALTER TABLE %s: not a MergeTree table created by an earlier migration", name)
	}
	out := []Statement{{SQL: fmt.Sprintf("ALTER TABLE %s%s %s", r.qualified(name+LocalSuffix), r.onCluster(), sp.text(sp.p, len(sp.ix)))}}
	// The Distributed table must learn about column changes too; partition and mutation
	// commands concern only the data.
	var columnCmds []string
	for _, cmd := range splitTopLevel(sp, sp.p) {
		f := strings.Fields(strings.ToUpper(cmd))
		if len(f) >= 2 && f[1] == "COLUMN" && (f[0] == "ADD" || f[0] == "DROP" || f[0] == "MODIFY" || f[0] == "RENAME") {
			columnCmds = append(columnCmds, cmd)
		}
	}
	if len(columnCmds) > 0 {
		out = append(out, Statement{SQL: fmt.Sprintf("ALTER TABLE %s %s", r.qualified(name), strings.Join(columnCmds, ", ")), PerHost: true})
	}
	return out, nil
}

// splitTopLevel splits the statement from cursor index from on commas outside parentheses.
func splitTopLevel(sp *stmtParser, from int) []string {
	var parts []string
	depth, start := 0, from
	for k := from; k < len(sp.ix); k++ {
		switch sp.at(k).text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				parts = append(parts, sp.text(start, k))
				start = k + 1
			}
		}
	}
	return append(parts, sp.text(start, len(sp.ix)))
}

func (r *clusterRewriter) drop(sp *stmtParser) ([]Statement, error) {
	ifExists := ""
	if sp.accept("IF", "EXISTS") {
		ifExists = "IF EXISTS "
	}
	name, err := sp.name()
	if err != nil {
		return nil, err
	}
	out := []Statement{{SQL: fmt.Sprintf("DROP TABLE %s%s%s", ifExists, r.qualified(name), r.onCluster())}}
	if r.tables[name] {
		out = append(out, Statement{SQL: fmt.Sprintf("DROP TABLE %s%s%s", ifExists, r.qualified(name+LocalSuffix), r.onCluster())})
	}
	delete(r.tables, name)
	delete(r.views, name)
	return out, nil
}

// MigrateCluster is Migrate for a ClickHouse cluster: it creates the database on every host and
// applies the ClusterMigrations not yet recorded, with ON CLUSTER DDL sent to the host in opts
// (the others run it from the distributed DDL queue; the call returns once every host has). The
// record of applied migrations is one replicated table shared by every host of every shard. The
// database must be new or migrated by MigrateCluster before: a database migrated for a single
// server is refused.
func MigrateCluster(ctx context.Context, opts *clickhouse.Options, cluster string, log *slog.Logger) error {
	db := opts.Auth.Database
	plan, err := ClusterMigrations(db, cluster)
	if err != nil {
		return err
	}
	conn, err := openDefault(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	hosts, err := clusterHosts(ctx, conn, cluster)
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s ON CLUSTER %s", db, cluster)); err != nil {
		return fmt.Errorf("create database %s on cluster %s: %w", db, cluster, err)
	}
	var engine string
	row := conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = 'schema_migrations'", db)
	if err := row.Scan(&engine); err == nil && !strings.HasPrefix(engine, "Replicated") {
		return fmt.Errorf("database %s was migrated for a single server (schema_migrations is %s): a cluster needs a new database", db, engine)
	}
	// No {shard} in the path: every host of every shard shares one record.
	if err := conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.schema_migrations ON CLUSTER %s (
		version UInt32, name String, applied_at DateTime
	) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{replica}') ORDER BY version`,
		db, cluster, db)); err != nil {
		return fmt.Errorf("create schema_migrations on cluster %s: %w", cluster, err)
	}
	dbConn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("open clickhouse: %w", err)
	}
	defer dbConn.Close()
	applied, err := appliedVersions(ctx, dbConn)
	if err != nil {
		return err
	}
	for _, m := range plan {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := execClusterStatement(ctx, dbConn, opts, hosts, stmt); err != nil {
				return fmt.Errorf("apply migration %s statement %d on cluster %s: %w", m.Name, i+1, cluster, err)
			}
		}
		if err := recordMigration(ctx, dbConn, m.Version, m.Name); err != nil {
			return err
		}
		log.Info("applied migration", "version", m.Version, "name", m.Name, "cluster", cluster)
	}
	return nil
}

func execClusterStatement(ctx context.Context, conn driver.Conn, opts *clickhouse.Options, hosts []string, stmt Statement) error {
	if !stmt.PerHost {
		return conn.Exec(ctx, stmt.SQL)
	}
	for _, host := range hosts {
		hostOpts := *opts
		hostOpts.Addr = []string{host}
		hc, err := clickhouse.Open(&hostOpts)
		if err != nil {
			return fmt.Errorf("open clickhouse at %s: %w", host, err)
		}
		err = hc.Exec(ctx, stmt.SQL)
		hc.Close()
		if err != nil {
			var ex *clickhouse.Exception
			// A host that already has the change (a re-run after a partial failure) is done:
			// 44 is a column that already exists, 10 one that is already gone.
			if errors.As(err, &ex) && (ex.Code == 44 || ex.Code == 10) {
				continue
			}
			return fmt.Errorf("on host %s: %w", host, err)
		}
	}
	return nil
}

// clusterHosts lists the native addresses of the cluster's hosts as the server sees them.
func clusterHosts(ctx context.Context, conn driver.Conn, cluster string) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT host_address, port FROM system.clusters WHERE cluster = ?", cluster)
	if err != nil {
		return nil, fmt.Errorf("read system.clusters: %w", err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return nil, fmt.Errorf("read system.clusters: %w", err)
		}
		hosts = append(hosts, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read system.clusters: %w", err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("cluster %q: not in the server's remote_servers (system.clusters has no such cluster)", cluster)
	}
	return hosts, nil
}
