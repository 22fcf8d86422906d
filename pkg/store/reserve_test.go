package store

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

func TestReserveStringsMakesRoomAndKeepsNoRows(t *testing.T) {
	for _, tt := range []struct {
		name   string
		values func(i int) string
		rows   int
	}{
		{"long texts", func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 8<<10) }, 64},
		{"short ids", func(i int) string { return fmt.Sprintf("ev-%d", i) }, 10_000},
		{"empty strings", func(int) string { return "" }, 10_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			values := make([]string, tt.rows)
			size := 0
			for i := range values {
				values[i] = tt.values(i)
				size += len(values[i])
			}
			var col column.String
			if err := reserveStrings(&col, len(values), size); err != nil {
				t.Fatal(err)
			}
			if col.Rows() != 0 {
				t.Fatalf("reserved column holds %d rows, want 0", col.Rows())
			}
			// Without the room, the values and their positions grow through a dozen sizes, copying
			// each time, so appending allocates more than they hold. Bytes rather than allocations
			// are counted: other goroutines in the test binary (connection pools of earlier tests)
			// allocate a little now and then, never hundreds of KiB.
			held := size + len(values)*positionSize
			var bare column.String
			if grown := bytesAllocated(t, &bare, values); grown < uint64(held) {
				t.Fatalf("appending into an unreserved column allocated %d bytes, want at least %d", grown, held)
			}
			if reserved := bytesAllocated(t, &col, values); reserved > uint64(held/8) {
				t.Errorf("appending into the reserved room allocated %d bytes, want under %d", reserved, held/8)
			}
			for i, v := range values {
				if got := col.Row(i, false).(string); got != v {
					t.Fatalf("row %d = %.10q..., want %.10q...", i, got, v)
				}
			}
		})
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
