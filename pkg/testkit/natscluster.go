package testkit

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSCluster starts three in-process JetStream servers routed into one cluster, waits until
// they have elected a meta leader, and shuts them down when the test ends. It returns each
// node's client URL.
func NATSCluster(tb testing.TB) []string {
	tb.Helper()
	nodes, err := onFreshPorts(func() ([]*server.Server, error) { return startNATSNodes(tb) }, func(err error) bool {
		tb.Logf("%v; starting the nodes again on other ports", err)
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	urls := make([]string, len(nodes))
	for i, ns := range nodes {
		urls[i] = ns.ClientURL()
	}
	// A formed meta group is not enough: the leader places a replicated stream only on peers it
	// has heard statistics from, and answers "no suitable peers for placement, peer offline"
	// until then.
	Eventually(tb, 30*time.Second, func() bool {
		leaderSeesAll := false
		for _, ns := range nodes {
			if !ns.JetStreamIsCurrent() || ns.NumRoutes() < 2 {
				return false
			}
			if ns.JetStreamIsLeader() && len(ns.JetStreamClusterPeers()) == len(nodes) {
				leaderSeesAll = true
			}
		}
		return leaderSeesAll
	}, "the NATS cluster (%s) never formed", strings.Join(urls, ","))
	return urls
}

// startNATSNodes starts the three nodes on route ports picked first, since each lists all three;
// when one is not ready, all are shut down.
func startNATSNodes(tb testing.TB) ([]*server.Server, error) {
	routes := make([]*url.URL, 3)
	clusterPorts := make([]int, 3)
	for i := range routes {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		clusterPorts[i] = port
		routes[i] = &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", clusterPorts[i])}
	}
	nodes := make([]*server.Server, 3)
	shutdown := func() {
		for _, ns := range nodes {
			if ns != nil {
				ns.Shutdown()
				ns.WaitForShutdown()
			}
		}
	}
	for i := range nodes {
		opts := jetStreamOptions(fmt.Sprintf("n%d", i), tb.TempDir(), -1)
		opts.Cluster = server.ClusterOpts{Name: "vigil-test", Host: "127.0.0.1", Port: clusterPorts[i]}
		opts.Routes = routes
		ns, err := server.NewServer(opts)
		if err != nil {
			shutdown()
			return nil, fmt.Errorf("create NATS node %d: %w", i, err)
		}
		ns.Start()
		nodes[i] = ns
	}
	for i, ns := range nodes {
		if !ns.ReadyForConnections(10 * time.Second) {
			shutdown()
			return nil, fmt.Errorf("NATS node %d not ready after 10s (its route port %d may be taken)", i, clusterPorts[i])
		}
	}
	tb.Cleanup(shutdown)
	return nodes, nil
}
