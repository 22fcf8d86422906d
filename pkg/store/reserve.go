package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// minReserve is the smallest column worth reserving, counting its values and their positions:
// below it, growing costs little.
const minReserve = 16 << 10

// positionSize is what the column keeps per value besides its bytes: its start and end.
const positionSize = int(unsafe.Sizeof(proto.Position{}))

// reserveStrings gives a String column room for rows values of size bytes in all, so that
// appending them does not copy the column each time it grows: for a batch of long texts that
// copying was the writer's largest cost, and for the short labels of a batch (ids, app names,
// empty strings) the positions alone grow through a dozen sizes. clickhouse-go has no call for
// it; decoding rows values (the last one size bytes long) into the column sizes its buffers
// exactly, and Reset empties them keeping the room. Other columns, and small ones, are left alone.
func reserveStrings(col column.Interface, rows, size int) error {
	s, ok := col.(*column.String)
	if !ok || rows == 0 || size+rows*positionSize < minReserve {
		return nil
	}
	rr := reserveReaders.Get().(*reserveReader)
	rr.buf = slices.Grow(rr.buf[:0], rows-1+binary.MaxVarintLen64)[:rows-1]
	clear(rr.buf) // rows-1 empty values
	rr.buf = binary.AppendUvarint(rr.buf, uint64(size))
	rr.header, rr.zeros = rr.buf, size
	if err := s.Decode(rr.r, rows); err != nil {
		return fmt.Errorf("reserve %d bytes in column %s: %w", size, s.Name(), err)
	}
	if len(rr.header) == 0 && rr.zeros == 0 {
		// Read to the end and no further, so its buffer holds nothing for the next column.
		reserveReaders.Put(rr)
	}
	s.Reset()
	if s.Rows() != 0 {
		return fmt.Errorf("reserve %d bytes in column %s: %d rows left after reset", size, s.Name(), s.Rows())
	}
	return nil
}

// reserveReaders keep the readers reservations decode from: each buffers 128 KiB, more than
// most columns it reserves.
var reserveReaders = sync.Pool{New: func() any {
	rr := &reserveReader{}
	rr.r = proto.NewReader(&rr.zeroValues)
	return rr
}}

type reserveReader struct {
	zeroValues
	buf []byte // room for the header
	r   *proto.Reader
}

// zeroValues reads as header followed by zeros zero bytes.
type zeroValues struct {
	header []byte
	zeros  int
}

func (z *zeroValues) Read(p []byte) (int, error) {
	if len(z.header) > 0 {
		n := copy(p, z.header)
		z.header = z.header[n:]
		return n, nil
	}
	if z.zeros == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.zeros)
	clear(p[:n])
	z.zeros -= n
	return n, nil
}
