// Package bench measures vigil end to end against the machine's own ceiling: raw JetStream
// publish+consume and raw ClickHouse batch inserts of the same events, then the whole pipeline.
package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
)

// Result is one measured run.
type Result struct {
	Name     string
	Events   int
	Duration time.Duration
	Note     string
}

// PerSecond is the run's throughput.
func (r Result) PerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Events) / r.Duration.Seconds()
}

// Median runs measure runs times and returns the run of median throughput: on a shared machine
// one run of a few seconds can land on a busy or an idle moment.
func Median(runs int, measure func(run int) (Result, error)) (Result, error) {
	results := make([]Result, 0, runs)
	for i := range runs {
		r, err := measure(i)
		if err != nil {
			return Result{}, err
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].PerSecond() < results[j].PerSecond() })
	return results[len(results)/2], nil
}

// rawBurstSize is how many messages the ceiling publishes before waiting for their acks: more
// than the load's bursts, so that the bus is kept busy while acks return.
const rawBurstSize = 2000

// RawJetStream publishes bodies to a fresh JetStream server (file store; fsync on every write
// when fsync is set) while a pull consumer acks them, and times both until the last ack: the
// bus's ceiling on this machine.
func RawJetStream(ctx context.Context, bodies [][]byte, fsync bool) (Result, error) {
	dir, err := os.MkdirTemp("", "vigil-bench-nats-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true, SyncAlways: fsync})
	if err != nil {
		return Result{}, err
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return Result{}, fmt.Errorf("raw NATS server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Result{}, err
	}
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		return Result{}, fmt.Errorf("create raw stream: %w", err)
	}
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 20000})
	if err != nil {
		return Result{}, fmt.Errorf("create raw consumer: %w", err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	var consumeErr error
	go func() {
		defer wg.Done()
		got := 0
		for got < len(bodies) {
			batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				consumeErr = err
				return
			}
			for m := range batch.Messages() {
				_ = m.Ack()
				got++
			}
		}
	}()
	// The same publisher as the load: what the ceiling and the pipeline pay to publish matches.
	pub, err := newBurstPublisher(nc)
	if err != nil {
		return Result{}, err
	}
	defer pub.close()
	for from := 0; from < len(bodies); from += rawBurstSize {
		for i := from; i < min(from+rawBurstSize, len(bodies)); i++ {
			if err := pub.publish("raw."+strconv.Itoa(i%16), strconv.Itoa(i), bodies[i]); err != nil {
				return Result{}, fmt.Errorf("publish raw: %w", err)
			}
		}
		if err := pub.wait(ctx, func(int, time.Time) {}); err != nil {
			return Result{}, fmt.Errorf("publish raw: %w", err)
		}
	}
	wg.Wait()
	if consumeErr != nil {
		return Result{}, fmt.Errorf("consume raw: %w", consumeErr)
	}
	if err := nc.Flush(); err != nil {
		return Result{}, err
	}
	name := "raw JetStream publish+consume"
	if fsync {
		name += " (fsync every write)"
	}
	return Result{Name: name, Events: len(bodies), Duration: time.Since(start)}, nil
}

// RawClickHouse inserts the events into model_calls in batches of batchSize, the store's own
// insert path with nothing around it: ClickHouse's ceiling for these rows on this machine.
func RawClickHouse(ctx context.Context, conn driver.Conn, events []*event.Event, batchSize int) (Result, error) {
	inserter := &store.Inserter{} // as the writer inserts
	start := time.Now()
	for i := 0; i < len(events); i += batchSize {
		end := min(i+batchSize, len(events))
		if err := inserter.ModelCalls(ctx, conn, events[i:end]); err != nil {
			return Result{}, err
		}
	}
	return Result{Name: fmt.Sprintf("raw ClickHouse insert (%d-row batches)", batchSize), Events: len(events), Duration: time.Since(start)}, nil
}
