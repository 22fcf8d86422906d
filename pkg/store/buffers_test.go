package store_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// allocated is how many bytes the process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// An Inserter's second batch of a table fills the arrays its first one left, and no row of an
// earlier, larger batch shows through in a later one.
func TestInserterKeepsColumnArrays(t *testing.T) {
	ctx := context.Background()
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	batch := func(name string, n, size int) []*event.Event {
		events := make([]*event.Event, n)
		for i := range events {
			events[i] = &event.Event{EventID: fmt.Sprintf("%s-%04d", name, i), Timestamp: ts, App: "shop", Model: "m",
				Output: strings.Repeat(name[:1], size-i%7)}
		}
		return events
	}
	const outputBytes = 400 * 8 << 10
	batches := [][]*event.Event{batch("warm", 400, 8<<10), batch("fresh", 400, 8<<10), batch("kept1", 400, 8<<10),
		batch("kept2", 400, 8<<10), batch("small", 3, 100)}
	// The first insert grows the connection's own buffers; the next ones compare fairly.
	if err := store.InsertModelCalls(ctx, conn, batches[0]); err != nil {
		t.Fatal(err)
	}
	before := allocated()
	if err := store.InsertModelCalls(ctx, conn, batches[1]); err != nil {
		t.Fatal(err)
	}
	fresh := allocated() - before
	in := &store.Inserter{}
	var kept uint64
	for i, events := range batches[2:] {
		before := allocated()
		if err := in.ModelCalls(ctx, conn, events); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			kept = allocated() - before
		}
	}
	t.Logf("allocated per insert of 400 rows: %d bytes with the arrays kept, %d without", kept, fresh)
	if kept > fresh-outputBytes/2 {
		t.Errorf("an insert allocated %d bytes with the arrays kept, %d without: the %d bytes of outputs were not kept",
			kept, fresh, outputBytes)
	}

	want := map[string]string{}
	for _, events := range batches {
		for _, ev := range events {
			want[ev.EventID] = ev.Output
		}
	}
	rows, err := conn.Query(ctx, "SELECT event_id, output FROM v_model_calls")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, output string
		if err := rows.Scan(&id, &output); err != nil {
			t.Fatal(err)
		}
		got[id] = output
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored outputs (-want +got):\n%s", diff)
	}

	records := benchScored(300, 18)
	for _, chunk := range [][]*event.Scored{records[:200], records[200:203], records[203:]} {
		if err := in.Scores(ctx, conn, chunk); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(wantScoresRows(records), readScoresRows(t, ctx, dsn), scoresRowsEqual); diff != "" {
		t.Errorf("stored scores (-want +got):\n%s", diff)
	}
}
