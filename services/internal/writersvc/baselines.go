package writersvc

import (
	"context"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/pkg/drift"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
)

// DurableBaselines is the writer's consumer of baseline records.
const DurableBaselines = "writer-baselines"

// newBaselineSource copies every revision of the baseline records in the drift service's
// baselines bucket into the baselines table. The bucket is a stream like any other, so the writer
// reads it with a durable consumer and acks after the insert: a record written while the writer
// is down is stored when it returns (unless a newer record of the same series replaced it, the
// bucket keeping one revision per key).
func newBaselineSource(ctx context.Context, d app.Deps, cfg Config, conn driver.Conn, rows *prometheus.CounterVec) (*stream.Source[stream.Delivered[*drift.Record]], error) {
	if _, err := driftsvc.OpenBaselines(ctx, d.JS); err != nil {
		return nil, err
	}
	decode := func(m jetstream.Msg) (*drift.Record, error) {
		if op := m.Headers().Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			return nil, nil // a removed key: nothing to store, and no reason to dead-letter it
		}
		return drift.DecodeRecord(m.Data())
	}
	return newSource(ctx, d, cfg, driftsvc.RecordStream, DurableBaselines, strings.TrimSuffix(driftsvc.RecordSubject, "."),
		max(cfg.BatchSize/10, 10), 0, decode,
		sink[*drift.Record]{conn: conn, table: store.TableBaselines, rows: rows, insert: store.InsertBaselines, key: store.BaselineKey})
}
