package store

import (
	"context"
	"slices"
	"sync"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
)

// An Inserter inserts batches as InsertModelCalls and InsertScores do, and keeps the byte and
// position arrays of their String columns from one batch to the next of the same table. Each
// insert would otherwise allocate them afresh for its first block (1.5 MB for 1,000 events of
// 1.5 KB), which the runtime clears first and the collector then frees. It keeps at most one
// block's worth per table; concurrent inserts of a table share it, the others allocating as before.
type Inserter struct {
	mu                 sync.Mutex
	modelCalls, scores *columnBuffers
}

// ModelCalls inserts events into model_calls, as InsertModelCalls does.
func (in *Inserter) ModelCalls(ctx context.Context, conn driver.Conn, events []*event.Event) error {
	b := in.take(&in.modelCalls)
	defer in.give(&in.modelCalls, b)
	return insertModelCallsWith(ctx, conn, events, b)
}

// Scores inserts records into scores and the quality_5m rollup, as InsertScores does.
func (in *Inserter) Scores(ctx context.Context, conn driver.Conn, records []*event.Scored) error {
	b := in.take(&in.scores)
	defer in.give(&in.scores, b)
	return insertScoresWith(ctx, conn, records, b)
}

// take checks a table's arrays out for one insert; an insert running alongside gets none.
func (in *Inserter) take(kept **columnBuffers) *columnBuffers {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := *kept
	*kept = nil
	if b == nil {
		b = &columnBuffers{}
	}
	return b
}

// give returns them once the insert is over, unless another insert returned its own first.
func (in *Inserter) give(kept **columnBuffers, b *columnBuffers) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if *kept == nil {
		*kept = b
	}
}

// maxSpareBytes bounds the arrays a column keeps: an outsized batch leaves them to the collector
// rather than staying resident.
const maxSpareBytes = 64 << 20

// columnBuffers keeps the arrays of one table's String columns between inserts. The fill code
// lends them to the columns in the same order for every batch, so the n-th column lent to gets
// the arrays the n-th column had last time, and with them its room. A nil *columnBuffers keeps
// nothing.
type columnBuffers struct {
	spare []strArrays
	lent  []*proto.ColStr
}

type strArrays struct {
	buf []byte
	pos []proto.Position
}

// lend gives the empty column col the arrays kept for its place, if any. A column lent to before
// keeps what it has: an insert sent in several blocks fills the same columns again.
func (b *columnBuffers) lend(col *proto.ColStr) {
	if b == nil || slices.Contains(b.lent, col) {
		return
	}
	if i := len(b.lent); i < len(b.spare) {
		col.Buf, col.Pos = b.spare[i].buf[:0], b.spare[i].pos[:0]
		b.spare[i] = strArrays{}
	}
	b.lent = append(b.lent, col)
}

// reclaim takes the arrays back from the columns lent to. It runs once the insert is over, sent
// or not: clickhouse-go reads a block only while Send runs.
func (b *columnBuffers) reclaim() {
	if b == nil {
		return
	}
	for len(b.spare) < len(b.lent) {
		b.spare = append(b.spare, strArrays{})
	}
	for i, col := range b.lent {
		if cap(col.Buf) <= maxSpareBytes {
			b.spare[i] = strArrays{col.Buf[:0], col.Pos[:0]}
		}
		col.Buf, col.Pos = nil, nil
		b.lent[i] = nil
	}
	b.lent = b.lent[:0]
}
