package testkit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Cluster is a ClickHouse cluster of one shard with two replicas on loopback, coordinated by a
// throwaway ZooKeeper: the smallest setup where replication, ON CLUSTER DDL and Distributed
// tables behave as in production.
type Cluster struct {
	Name      string
	ZooKeeper *ZooKeeper
	Replicas  []*Server
}

// StartCluster starts ZooKeeper and two clickhouse-server replicas of cluster name, and stops
// them when the test ends. Missing ZooKeeper fails the test when CI is set (see RequireZooKeeper).
func StartCluster(tb testing.TB, name string) *Cluster {
	tb.Helper()
	zk := StartZooKeeper(tb)
	replicas, err := onFreshPorts(func() ([]*Server, error) { return startReplicas(tb, name, zk) }, func(err error) bool {
		if !strings.Contains(err.Error(), "Address already in use") {
			return false
		}
		tb.Logf("%v; starting the replicas again on other ports", err)
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{Name: name, ZooKeeper: zk, Replicas: replicas}
	for i, s := range c.Replicas {
		if err := waitZooKeeperSession(s, 30*time.Second); err != nil {
			tb.Fatalf("replica r%d: %v", i+1, err)
		}
	}
	return c
}

// startReplicas starts the two replicas of cluster name; when one fails, those started are
// discarded.
func startReplicas(tb testing.TB, name string, zk *ZooKeeper) ([]*Server, error) {
	// Each replica's config lists both, so every port is picked before either server starts.
	ports := make([]Ports, 2)
	for i := range ports {
		p, err := PickPorts()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	var replicas []*Server
	for i := range ports {
		replica := fmt.Sprintf("r%d", i+1)
		s, err := startServer(tb.TempDir(), ports[i], func(dir string, p Ports) (string, error) {
			return BaseConfig(dir, p) + OpenUsers + ClusterConfig(name, replica, p, zk, ports) + "</yandex>\n", nil
		})
		if err != nil {
			for _, started := range replicas {
				started.Discard()
			}
			return nil, fmt.Errorf("start replica %s: %w", replica, err)
		}
		tb.Cleanup(s.Discard)
		replicas = append(replicas, s)
	}
	return replicas, nil
}

// StartClusterFor starts a cluster as StartCluster does and runs first, the test's first ON
// CLUSTER work, on it. ClickHouse 18.16 sometimes crashes on the first ON CLUSTER query of a fresh
// cluster (a null pointer in zkutil::ZooKeeper::createImpl, about once in thirty starts even after
// waitZooKeeperSession): when first fails because a replica died, a fresh cluster is started and
// first runs again, at most three times. Any other failure of first fails the test.
func StartClusterFor(tb testing.TB, name string, first func(*Cluster) error) *Cluster {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		c := StartCluster(tb, name)
		err := first(c)
		if err == nil {
			return c
		}
		// The query sees the connection drop a moment before the process is reaped.
		crashed := false
		for wait := time.Now().Add(3 * time.Second); !crashed && time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
			crashed = slices.ContainsFunc(c.Replicas, func(s *Server) bool { return s.exited() })
		}
		if !crashed || attempt == 3 {
			tb.Fatalf("%v\nreplica 1 log: %s\nreplica 2 log: %s", err, c.Replicas[0].LogTail(), c.Replicas[1].LogTail())
		}
		tb.Logf("a ClickHouse replica crashed on its first ON CLUSTER query (%v); starting a fresh cluster", err)
	}
}

// waitZooKeeperSession waits until the server reads ZooKeeper and its distributed DDL queue
// exists. ClickHouse 18.16 opens its ZooKeeper session and starts the DDL worker in the
// background after it starts answering, and an ON CLUSTER query that arrives too early can crash
// the server (a null pointer in zkutil::ZooKeeper::createImpl).
func waitZooKeeperSession(s *Server, timeout time.Duration) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr()}, DialTimeout: time.Second})
	if err != nil {
		return fmt.Errorf("open clickhouse: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var n uint64
		err = conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue' AND name = 'ddl'").Scan(&n)
		cancel()
		if err == nil && n > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no ZooKeeper session after %v (last error %v): %s", timeout, err, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ClusterConfig is the part of a replica's config.xml that joins it to cluster name: ZooKeeper,
// the distributed DDL queue, its macros ({cluster}, {shard}, {replica}) and the one-shard cluster
// of all replicas with internal replication (a Distributed insert goes to one replica, which
// replicates it).
func ClusterConfig(name, replica string, self Ports, zk *ZooKeeper, all []Ports) string {
	var replicas strings.Builder
	for _, p := range all {
		fmt.Fprintf(&replicas, "            <replica><host>127.0.0.1</host><port>%d</port></replica>\n", p.TCP)
	}
	return fmt.Sprintf(`    <interserver_http_port>%d</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <zookeeper><node><host>127.0.0.1</host><port>%d</port></node></zookeeper>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    <macros><cluster>%s</cluster><shard>01</shard><replica>%s</replica></macros>
    <remote_servers><%s><shard>
        <internal_replication>true</internal_replication>
%s    </shard></%s></remote_servers>
`, self.Interserver, zk.Port, name, replica, name, replicas.String(), name)
}
