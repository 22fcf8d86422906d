// Package faults holds the fault drills: the services run as separate processes under load while
// one fault is injected, then the books are checked: every acknowledged event stored and scored
// exactly once, no alert transition doubled, the DLQ holding only what was bad on purpose.
package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

const (
	drillEvents = 20000
	drillRate   = 4000
)

// underLoad publishes in the background and returns a wait function for the publisher.
func underLoad(t *testing.T, d *drill, n, rate int) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	errc := make(chan error, 1)
	go func() { errc <- d.publish(ctx, n, rate) }()
	return func() {
		defer cancel()
		if err := <-errc; err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// midStream waits until the writer stored at least n events: the fault lands mid-batch.
func midStream(t *testing.T, d *drill, n uint64) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() bool { return d.count("SELECT count() FROM model_calls") >= n },
		"the pipeline never stored %d events", n)
}

func TestKillStage(t *testing.T) {
	for _, stage := range []string{"scorer", "drift", "writer"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			natsServer(t, dir, port)
			d := newDrill(t, fmt.Sprintf("nats://127.0.0.1:%d", port))
			wait := underLoad(t, d, drillEvents, drillRate)
			midStream(t, d, drillEvents/4)
			p := map[string]*proc{"scorer": d.scorer, "drift": d.drift, "writer": d.writer}[stage]
			p.kill9()
			p.start(t)
			faultEnd := time.Now()
			wait()
			d.books("kill -9 "+stage, faultEnd)
		})
	}
}

func TestClickHouseDown60s(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	natsServer(t, dir, port)
	d := newDrill(t, fmt.Sprintf("nats://127.0.0.1:%d", port))
	wait := underLoad(t, d, drillEvents, drillRate/2)
	midStream(t, d, drillEvents/10)
	steady := rss(d.writer)
	ch.Kill()
	var peak int64
	outage := time.Now()
	for time.Since(outage) < 60*time.Second {
		peak = max(peak, rss(d.writer))
		time.Sleep(500 * time.Millisecond)
	}
	if err := ch.Restart(); err != nil {
		t.Fatalf("restart ClickHouse: %v", err)
	}
	faultEnd := time.Now()
	wait()
	d.books("ClickHouse down 60 s", faultEnd)
	t.Logf("writer resident memory: %d MiB before the outage, at most %d MiB during it", steady>>20, peak>>20)
	if peak > 2*steady+64<<20 {
		t.Errorf("writer memory grew from %d MiB to %d MiB while ClickHouse was down: it should hold only its configured batches", steady>>20, peak>>20)
	}
}

func TestNATSRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	ns := natsServer(t, dir, port)
	d := newDrill(t, fmt.Sprintf("nats://127.0.0.1:%d", port))
	wait := underLoad(t, d, drillEvents, drillRate)
	midStream(t, d, drillEvents/4)
	ns.kill9()
	time.Sleep(time.Second)
	ns.start(t)
	waitPort(t, port)
	faultEnd := time.Now()
	wait()
	d.books("NATS server kill -9 and restart", faultEnd)
}

func TestClusterNodeAndLeaderLoss(t *testing.T) {
	dir := t.TempDir()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	cports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range cports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := make([]*proc, 3)
	var urls []string
	for i := range nodes {
		nodeDir := filepath.Join(dir, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		nodes[i] = natsServer(t, nodeDir, ports[i], "-n", fmt.Sprintf("n%d", i), "--cluster_name", "vigil",
			"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", cports[i]), "--routes", strings.Join(routes, ","))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	url := strings.Join(urls, ",")
	waitForJetStreamCluster(t, url)
	d := newDrill(t, url, "VIGIL_STREAM_REPLICAS=3")
	wait := underLoad(t, d, drillEvents, drillRate/2)
	midStream(t, d, drillEvents/8)

	// One node (not the EVENTS leader) dies and comes back...
	leader := streamLeader(t, url)
	victim := (leader + 1) % 3
	nodes[victim].kill9()
	time.Sleep(3 * time.Second)
	nodes[victim].start(t)
	waitPort(t, ports[victim])
	time.Sleep(3 * time.Second)
	// ...then the leader itself.
	leader = streamLeader(t, url)
	nodes[leader].kill9()
	time.Sleep(3 * time.Second)
	nodes[leader].start(t)
	waitPort(t, ports[leader])
	faultEnd := time.Now()
	wait()
	d.books("3-node cluster: kill a node, then the leader", faultEnd)
}

func waitForJetStreamCluster(t *testing.T, url string) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() bool {
		nc, err := nats.Connect(url)
		if err != nil {
			return false
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil
	}, "the JetStream cluster never elected a meta leader")
}

// streamLeader returns the index of the node leading EVENTS (names are n0, n1, n2).
func streamLeader(t *testing.T, url string) int {
	t.Helper()
	var idx int
	testkit.Eventually(t, 30*time.Second, func() bool {
		nc, err := nats.Connect(url)
		if err != nil {
			return false
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream.Events)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false
		}
		idx, err = strconv.Atoi(strings.TrimPrefix(info.Cluster.Leader, "n"))
		return err == nil
	}, "EVENTS has no leader")
	return idx
}

// rss is the resident memory of a process in bytes (0 if it cannot be read).
func rss(p *proc) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
