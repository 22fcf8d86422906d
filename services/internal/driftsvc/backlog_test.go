package driftsvc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/stream"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// TestBacklogClosesWindowsAsItReads: a partition that starts behind a backlog reads it in one
// batch, and a record arriving after the watermark passed its window's end and grace is late,
// as it would be had the records come one batch each. Closing windows only once a batch was
// read let it in, and kept every window a batch spanned open at once.
func TestBacklogClosesWindowsAsItReads(t *testing.T) {
	ns := testkit.NATS(t)
	d := NewTestDeps(t, ns.ClientURL(), 1)
	const window = 10 * time.Second
	cfg := ConfigForTest("r1", window, time.Minute)
	ctx := context.Background()

	t0 := time.Now().Add(-time.Hour).Truncate(window)
	series := event.Series{App: "shop", Environment: "prod", Feature: "search", Model: "m", PromptVersion: "v1"}
	var msgs []*nats.Msg
	for i, at := range []time.Time{
		t0.Add(time.Second),     // window 0
		t0.Add(5 * window),      // the watermark moves five windows on
		t0.Add(2 * time.Second), // window 0 again, long past its grace
	} {
		rec := event.Scored{EventID: fmt.Sprintf("e%d", i), Timestamp: at, Series: series, Source: "checks", RulesVersion: "r1",
			Scores: []event.Score{{Metric: "truncated", Kind: event.KindCheck, Pass: true}}}
		body, err := event.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, stream.NewMsg(stream.ScoredSubject(series.FeatureKey(), 1), "scored:"+rec.EventID, body))
	}
	if err := stream.PublishAll(ctx, d.JS, msgs); err != nil {
		t.Fatal(err)
	}

	m := startManager(t, d, cfg, 1)
	stats := func() (seq uint64, late uint64) {
		m.mu.Lock()
		p := m.owned[0]
		m.mu.Unlock()
		if p == nil {
			return 0, 0
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.seq, p.engine.Stats().Late
	}
	testkit.Eventually(t, 10*time.Second, func() bool { seq, _ := stats(); return seq == 3 }, "the backlog of 3 records was not read")
	if _, late := stats(); late != 1 {
		t.Errorf("%d late records, want 1: the third record's window closed when the second moved the watermark", late)
	}
	// The replica's counters say so too, for an operator to alert on.
	want := `
# HELP vigil_drift_late_records_total Scored records that arrived after their window closed (its end plus VIGIL_DRIFT_GRACE) and changed no statistic.
# TYPE vigil_drift_late_records_total counter
vigil_drift_late_records_total 1
# HELP vigil_drift_records_total Scored records the partitions of this replica applied.
# TYPE vigil_drift_records_total counter
vigil_drift_records_total 3
`
	// The counters move under the partition's lock with the sequence, so they are current now.
	if err := testutil.GatherAndCompare(d.Registry, strings.NewReader(want), "vigil_drift_records_total", "vigil_drift_late_records_total"); err != nil {
		t.Errorf("record counters: %v", err)
	}
}
