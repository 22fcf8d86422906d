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
	// Without the room, the buffer of 512 KiB grows through a dozen sizes, copying each time.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := col.Append(values); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if allocs := after.Mallocs - before.Mallocs; allocs > 3 {
		t.Errorf("appending into the reserved room allocated %d times", allocs)
	}
	for i, v := range values {
		if got := col.Row(i, false).(string); got != v {
			t.Fatalf("row %d = %.10q..., want %.10q...", i, got, v)
		}
	}
}
