package store

import (
	"fmt"
	"slices"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/vigilhq/vigil/pkg/event"
)

// scoreArrayTypes are the types of the metric_* columns in the order insertScores names them.
var scoreArrayTypes = [...]column.Type{"Array(String)", "Array(String)", "Array(Float64)", "Array(UInt8)",
	"Array(String)", "Array(String)"}

// fillScoreArrays fills the empty metric_* columns cols with one row per record, writing the
// offsets and elements of each array straight into its ch-go columns, room made once; the
// string elements go into arrays lent by buffers.
func fillScoreArrays(cols []column.Interface, records []*event.Scored, buffers *columnBuffers) error {
	a, err := scoreArrayColumns(cols)
	if err != nil {
		return err
	}
	rows, elements := len(records), 0
	var text [4]int // bytes of names, kinds, labels and reasons
	for _, r := range records {
		elements += len(r.Scores)
		for j := range r.Scores {
			sc := &r.Scores[j]
			text[0] += len(sc.Metric)
			text[1] += len(sc.Kind)
			text[2] += len(sc.Label)
			text[3] += len(sc.Reason)
		}
	}
	for _, o := range a.offsets {
		*o = slices.Grow(*o, rows)
	}
	for i, c := range [...]*proto.ColStr{a.names, a.kinds, a.labels, a.reasons} {
		buffers.lend(c)
		c.Buf = slices.Grow(c.Buf, text[i])
		c.Pos = slices.Grow(c.Pos, elements)
	}
	*a.values = slices.Grow(*a.values, elements)
	*a.passed = slices.Grow(*a.passed, elements)
	end := uint64(0)
	for _, r := range records {
		for j := range r.Scores {
			sc := &r.Scores[j]
			a.names.Append(sc.Metric)
			a.kinds.Append(string(sc.Kind))
			*a.values = append(*a.values, sc.Value)
			var pass uint8
			if sc.Pass {
				pass = 1
			}
			*a.passed = append(*a.passed, pass)
			a.labels.Append(sc.Label)
			a.reasons.Append(sc.Reason)
		}
		// Every array of a row has one element per score: all six share their offsets.
		end += uint64(len(r.Scores))
		for _, o := range a.offsets {
			*o = append(*o, end)
		}
	}
	return nil
}

// scoreArrays are the ch-go columns behind the metric_* columns.
type scoreArrays struct {
	offsets                       [len(scoreArrayTypes)]*proto.ColUInt64
	names, kinds, labels, reasons *proto.ColStr
	values                        *proto.ColFloat64
	passed                        *proto.ColUInt8
}

// scoreArrayColumns checks that cols are empty columns of scoreArrayTypes and returns what they keep.
func scoreArrayColumns(cols []column.Interface) (a scoreArrays, err error) {
	if len(cols) != len(scoreArrayTypes) {
		return a, fmt.Errorf("fill metric arrays: got %d columns, want %d", len(cols), len(scoreArrayTypes))
	}
	for i, c := range cols {
		if c.Type() != scoreArrayTypes[i] {
			return a, fmt.Errorf("fill column %s: got %T of type %s, want %s", c.Name(), c, c.Type(), scoreArrayTypes[i])
		}
		if c.Rows() != 0 {
			return a, fmt.Errorf("fill column %s: it already holds %d rows", c.Name(), c.Rows())
		}
	}
	for i, c := range cols {
		switch i {
		case 0:
			a.offsets[i], a.names, err = arrayColumn[proto.ColStr](c)
		case 1:
			a.offsets[i], a.kinds, err = arrayColumn[proto.ColStr](c)
		case 2:
			a.offsets[i], a.values, err = arrayColumn[proto.ColFloat64](c)
		case 3:
			a.offsets[i], a.passed, err = arrayColumn[proto.ColUInt8](c)
		case 4:
			a.offsets[i], a.labels, err = arrayColumn[proto.ColStr](c)
		case 5:
			a.offsets[i], a.reasons, err = arrayColumn[proto.ColStr](c)
		}
		if err != nil {
			return a, fmt.Errorf("fill metric arrays: %w", err)
		}
	}
	return a, nil
}
