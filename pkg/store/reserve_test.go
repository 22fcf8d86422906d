package store

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

func TestReserveStringsMakesRoomAndKeepsNoRows(t *testing.T) {
	values := make([]string, 64)
	size := 0
	for i := range values {
		values[i] = strings.Repeat(string(rune('a'+i%26)), 8<<10)
		size += len(values[i])
	}
	var col column.String
	if err := reserveStrings(&col, len(values), size); err != nil {
		t.Fatal(err)
	}
	if col.Rows() != 0 {
		t.Fatalf("reserved column holds %d rows, want 0", col.Rows())
	}
	// Without the room, the buffer of 512 KiB grows through a dozen sizes, copying each time, so
	// appending allocates more than the values' size. Bytes rather than allocations are counted:
	// other goroutines in the test binary (connection pools of earlier tests) allocate a little
	// now and then, never hundreds of KiB.
	var bare column.String
	if grown := bytesAllocated(t, &bare, values); grown < uint64(size) {
		t.Fatalf("appending into an unreserved column allocated %d bytes, want at least %d", grown, size)
	}
	if reserved := bytesAllocated(t, &col, values); reserved > uint64(size/8) {
		t.Errorf("appending into the reserved room allocated %d bytes, want under %d", reserved, size/8)
	}
	for i, v := range values {
		if got := col.Row(i, false).(string); got != v {
			t.Fatalf("row %d = %.10q..., want %.10q...", i, got, v)
		}
	}
}

// bytesAllocated appends values to col and returns the bytes the process allocated meanwhile.
func bytesAllocated(t *testing.T, col *column.String, values []string) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := col.Append(values); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
