package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/vigilhq/vigil/pkg/event"
)

// scoreArrayTypes are the types of the metric_* columns in the order insertScores names them;
// encodeScoreArrays writes their elements in that order.
var scoreArrayTypes = [...]column.Type{"Array(String)", "Array(String)", "Array(Float64)", "Array(UInt8)",
	"Array(String)", "Array(String)"}

// fillScoreArrays fills the empty metric_* columns cols with one row per record. Appending an
// array row by row boxes each element and grows the column many times over; instead each column
// is encoded whole in the native format (the offsets, cumulative element counts as UInt64, then
// the elements) and decoded into the column at once. A String array's elements are first given
// room for their bytes, which decoding would otherwise guess at and grow.
func fillScoreArrays(cols []column.Interface, records []*event.Scored) error {
	arrays, err := scoreArrayColumns(cols)
	if err != nil {
		return err
	}
	rows := len(records)
	// Every array of a row has one element per score, so all six share their offsets.
	offsets := make([]byte, 0, 8*rows)
	elements := 0
	for _, r := range records {
		elements += len(r.Scores)
		offsets = binary.LittleEndian.AppendUint64(offsets, uint64(elements))
	}
	values, text := encodeScoreArrays(records, elements)
	var src feed
	reader := proto.NewReader(&src)
	for i, a := range arrays {
		if err := reserveElements(reader, &src, a, text[i], values[i]); err != nil {
			return err
		}
		src.head, src.tail = offsets, values[i]
		if err := a.Decode(reader, rows); err != nil {
			return fmt.Errorf("fill column %s: %w", a.Name(), err)
		}
		if err := drained(reader); err != nil {
			return fmt.Errorf("fill column %s: %w", a.Name(), err)
		}
		if a.Rows() != rows {
			return fmt.Errorf("fill column %s: %d rows, want %d", a.Name(), a.Rows(), rows)
		}
	}
	return nil
}

// encodeScoreArrays writes the elements of every metric_* column in the native format (String:
// uvarint length and bytes; Float64: 8 bytes little-endian; UInt8: 1 byte) in one pass over the
// scores, which are too many to walk six times. text holds the bytes of a String column's
// strings alone.
func encodeScoreArrays(records []*event.Scored, elements int) (values [len(scoreArrayTypes)][]byte, text [len(scoreArrayTypes)]int) {
	for _, r := range records {
		for j := range r.Scores {
			sc := &r.Scores[j]
			text[0] += len(sc.Metric)
			text[1] += len(sc.Kind)
			text[4] += len(sc.Label)
			text[5] += len(sc.Reason)
		}
	}
	for _, i := range [...]int{0, 1, 4, 5} {
		// A length under 128 takes one byte; longer strings grow the buffer.
		values[i] = make([]byte, 0, text[i]+elements)
	}
	values[2], values[3] = make([]byte, 0, 8*elements), make([]byte, 0, elements)
	for _, r := range records {
		for j := range r.Scores {
			sc := &r.Scores[j]
			values[0] = appendString(values[0], sc.Metric)
			values[1] = appendString(values[1], string(sc.Kind))
			values[2] = binary.LittleEndian.AppendUint64(values[2], math.Float64bits(sc.Value))
			var pass byte
			if sc.Pass {
				pass = 1
			}
			values[3] = append(values[3], pass)
			values[4] = appendString(values[4], sc.Label)
			values[5] = appendString(values[5], sc.Reason)
		}
	}
	return values, text
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// scoreArrayColumns checks that cols are empty columns of scoreArrayTypes.
func scoreArrayColumns(cols []column.Interface) ([len(scoreArrayTypes)]*column.Array, error) {
	var arrays [len(scoreArrayTypes)]*column.Array
	if len(cols) != len(arrays) {
		return arrays, fmt.Errorf("fill metric arrays: got %d columns, want %d", len(cols), len(arrays))
	}
	for i, c := range cols {
		a, ok := c.(*column.Array)
		if !ok || a.Type() != scoreArrayTypes[i] {
			return arrays, fmt.Errorf("fill column %s: got %T of type %s, want %s", c.Name(), c, c.Type(), scoreArrayTypes[i])
		}
		if a.Rows() != 0 {
			return arrays, fmt.Errorf("fill column %s: it already holds %d rows", c.Name(), a.Rows())
		}
		arrays[i] = a
	}
	return arrays, nil
}

// reserveElements gives the String elements of array a room for size bytes: decoding the elements
// sizes the buffer from the first short string times the count, then grows it. Decoding one
// string of size bytes sizes it exactly; its bytes, any size bytes of encoded (the encoded column,
// which holds more), are discarded by Reset. Unlike reserveStrings it leaves the positions to
// grow: reserving them means decoding every one of the elements, 18 a row, which cost more than
// the growth (a 10,000-row block: 38 to 55 ms).
func reserveElements(reader *proto.Reader, src *feed, a *column.Array, size int, encoded []byte) error {
	if size == 0 || size > len(encoded) {
		return nil
	}
	elems := a.Base()
	src.head, src.tail = binary.AppendUvarint(nil, uint64(size)), encoded[:size]
	if err := elems.Decode(reader, 1); err != nil {
		return fmt.Errorf("reserve %d bytes in column %s: %w", size, a.Name(), err)
	}
	elems.Reset()
	if err := drained(reader); err != nil {
		return fmt.Errorf("reserve %d bytes in column %s: %w", size, a.Name(), err)
	}
	return nil
}

// drained reports an error unless reader has nothing left: a column that decoded fewer bytes than
// it was given was encoded wrong.
func drained(reader *proto.Reader) error {
	_, err := reader.ReadByte()
	switch {
	case err == nil:
		return errors.New("bytes left after decoding")
	case !errors.Is(err, io.EOF):
		return err
	}
	return nil
}

// feed reads head, then tail; the proto.Reader over it is refilled for each column.
type feed struct{ head, tail []byte }

func (f *feed) Read(p []byte) (int, error) {
	if len(f.head) == 0 {
		f.head, f.tail = f.tail, nil
	}
	if len(f.head) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.head)
	f.head = f.head[n:]
	return n, nil
}
