package store

import (
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
)

// FillScores exposes the client-side half of InsertScores to benchmarks. With an Inserter, the
// arrays it keeps are lent to the block and taken back, as its inserts do.
func FillScores(batch driver.Batch, records []*event.Scored, in *Inserter) error {
	if in == nil {
		return newScoresBlock(batch, len(records), nil).fill(records)
	}
	b := in.take(&in.scores)
	defer in.give(&in.scores, b)
	defer b.reclaim()
	return newScoresBlock(batch, len(records), b).fill(records)
}

// InsertScoresSQL is the statement InsertScores prepares.
const InsertScoresSQL = insertScores
