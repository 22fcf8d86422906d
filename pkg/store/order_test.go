package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// sortedBlocks is how many blocks the server has written without sorting them first.
func sortedBlocks(t *testing.T, conn driver.Conn) uint64 {
	t.Helper()
	var n uint64
	err := conn.QueryRow(context.Background(),
		"SELECT toUInt64(sum(value)) FROM system.events WHERE event = 'MergeTreeDataWriterBlocksAlreadySorted'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A batch in arrival order must reach ClickHouse in the table's key order, so that the server
// writes it as it is: as many blocks skip the server's sort as when the batch is sorted by hand.
// Within a second the event id decides, as the DateTime column keeps whole seconds.
func TestInsertsArriveInKeyOrder(t *testing.T) {
	ctx := context.Background()
	conn := testkit.Conn(t, ch.Database(t))
	second := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	keyOrder := []*event.Event{ // (app, feature, second, event_id); ids out of order across apps
		{EventID: "id-9", Timestamp: second, App: "billing", Feature: "chat"},
		{EventID: "id-3", Timestamp: second.Add(900 * time.Millisecond), App: "shop", Feature: "chat"},
		{EventID: "id-4", Timestamp: second.Add(100 * time.Millisecond), App: "shop", Feature: "chat"},
		{EventID: "id-1", Timestamp: second.Add(2 * time.Second), App: "shop", Feature: "chat"},
		{EventID: "id-8", Timestamp: second, App: "shop", Feature: "search"},
	}
	arrival := []*event.Event{keyOrder[3], keyOrder[2], keyOrder[4], keyOrder[0], keyOrder[1]}
	scored := func(events []*event.Event) []*event.Scored {
		var records []*event.Scored
		for _, ev := range events {
			for _, source := range []string{"judge", "checks"} {
				records = append(records, &event.Scored{EventID: ev.EventID, Timestamp: ev.Timestamp, Series: ev.Series(),
					Source: source, RulesVersion: "r1", Scores: []event.Score{{Metric: "non_empty", Kind: event.KindCheck, Value: 1, Pass: true}}})
			}
		}
		return records
	}
	byHand := scored(keyOrder)
	for i := 0; i < len(byHand); i += 2 {
		byHand[i], byHand[i+1] = byHand[i+1], byHand[i] // checks before judge
	}
	arrivalScored := scored(arrival)
	slices.Reverse(arrivalScored)

	insert := func(name string, do func() error) uint64 {
		t.Helper()
		before := sortedBlocks(t, conn)
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return sortedBlocks(t, conn) - before
	}
	for _, table := range []struct {
		name            string
		byHand, arrival func() error
	}{
		{store.TableModelCalls,
			func() error { return store.InsertModelCalls(ctx, conn, keyOrder) },
			func() error { return store.InsertModelCalls(ctx, conn, arrival) }},
		{store.TableScores,
			func() error { return store.InsertScores(ctx, conn, byHand) },
			func() error { return store.InsertScores(ctx, conn, arrivalScored) }},
	} {
		want := insert(table.name+" sorted by hand", table.byHand)
		if want == 0 {
			t.Fatalf("%s: no block sorted by hand was written as it arrived; the test's key order is wrong", table.name)
		}
		if got := insert(table.name+" in arrival order", table.arrival); got != want {
			t.Errorf("%s: %d blocks written without a sort for a batch in arrival order, %d for the same batch sorted by hand",
				table.name, got, want)
		}
	}
}
