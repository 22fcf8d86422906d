package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// A batch larger than one block goes out in several blocks of one INSERT: every row arrives with
// its own arrays (their offsets restart with each block), and ClickHouse makes one part of the
// whole batch, not one per block.
func TestBatchesSentInBlocksMakeOnePart(t *testing.T) {
	ctx := context.Background()
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	const n = 2345 // two whole blocks and a partial one
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	events := make([]*event.Event, n)
	wantAttrs := map[string]string{}
	for i := range events {
		attrs := map[string]string{}
		for k := range i % 4 {
			attrs[fmt.Sprintf("k%d", k)] = fmt.Sprintf("v%d-%d", i, k)
		}
		id := fmt.Sprintf("ev-%05d", i)
		events[i] = &event.Event{EventID: id, Timestamp: ts.Add(time.Duration(i%50) * time.Second), App: "shop",
			Feature: fmt.Sprintf("f%d", i%3), Model: "m", Output: strings.Repeat("o", 1+i%300), Attributes: attrs}
		wantAttrs[id] = fmt.Sprint(len(events[i].Output), attrs)
	}
	in := &store.Inserter{}
	if err := in.ModelCalls(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT event_id, length(output), attribute_keys, attribute_values FROM v_model_calls")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	gotAttrs := map[string]string{}
	for rows.Next() {
		var id string
		var length uint64
		var keys, values []string
		if err := rows.Scan(&id, &length, &keys, &values); err != nil {
			t.Fatal(err)
		}
		attrs := map[string]string{}
		for k, key := range keys {
			attrs[key] = values[k]
		}
		gotAttrs[id] = fmt.Sprint(length, attrs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantAttrs, gotAttrs); diff != "" {
		t.Errorf("model_calls outputs and attributes (-want +got):\n%s", diff)
	}

	records := benchScored(n, 18)
	for i, r := range records {
		r.Scores = r.Scores[:i%19] // from none to all, so every block's offsets differ
	}
	if err := in.Scores(ctx, conn, records); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantScoresRows(records), readScoresRows(t, ctx, dsn), scoresRowsEqual); diff != "" {
		t.Errorf("stored scores (-want +got):\n%s", diff)
	}

	// Parts a merge replaced stay listed, inactive, for minutes: an insert that made a part per
	// block shows more than one part of level 0 even when merged already.
	for _, table := range []string{store.TableModelCalls, store.TableScores} {
		var parts, partRows uint64
		if err := conn.QueryRow(ctx, `SELECT count(), sum(rows) FROM system.parts
			WHERE database = currentDatabase() AND table = ? AND level = 0`, table).Scan(&parts, &partRows); err != nil {
			t.Fatal(err)
		}
		if parts != 1 || partRows != n {
			t.Errorf("%s: the insert made %d parts of %d rows in all, want one of %d", table, parts, partRows, n)
		}
	}
}
