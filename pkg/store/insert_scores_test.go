package store_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// scoresRow is one scores row as read back, every column of insertScores.
type scoresRow struct {
	EventID, App, Environment, Feature, Stage, Model, PromptVersion, Source, RulesVersion string
	Timestamp                                                                             time.Time
	Names, Kinds, Labels, Reasons                                                         []string
	Values                                                                                []float64
	Passed                                                                                []uint8
}

func wantScoresRows(records []*event.Scored) []scoresRow {
	var rows []scoresRow
	for _, r := range records {
		s := r.Series
		row := scoresRow{EventID: r.EventID, App: s.App, Environment: s.Environment, Feature: s.Feature, Stage: r.Stage,
			Model: s.Model, PromptVersion: s.PromptVersion, Source: r.Source, RulesVersion: r.RulesVersion,
			Timestamp: r.Timestamp.UTC().Truncate(time.Second)}
		for _, sc := range r.Scores {
			row.Names, row.Kinds, row.Labels = append(row.Names, sc.Metric), append(row.Kinds, string(sc.Kind)), append(row.Labels, sc.Label)
			row.Reasons, row.Values = append(row.Reasons, sc.Reason), append(row.Values, sc.Value)
			var pass uint8
			if sc.Pass {
				pass = 1
			}
			row.Passed = append(row.Passed, pass)
		}
		rows = append(rows, row)
	}
	return rows
}

func readScoresRows(t testing.TB, ctx context.Context, dsn string) []scoresRow {
	t.Helper()
	conn := testkit.Conn(t, dsn)
	rows, err := conn.Query(ctx, `SELECT event_id, timestamp, app, environment, feature, stage, model, prompt_version,
		source, rules_version, metric_names, metric_kinds, metric_values, metric_passed, metric_labels, metric_reasons
		FROM scores ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []scoresRow
	for rows.Next() {
		var r scoresRow
		if err := rows.Scan(&r.EventID, &r.Timestamp, &r.App, &r.Environment, &r.Feature, &r.Stage, &r.Model,
			&r.PromptVersion, &r.Source, &r.RulesVersion, &r.Names, &r.Kinds, &r.Values, &r.Passed, &r.Labels,
			&r.Reasons); err != nil {
			t.Fatal(err)
		}
		r.Timestamp = r.Timestamp.UTC()
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

var scoresRowsEqual = cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateNaNs()}

// TestScoresKeepEveryColumn inserts records that differ in every field, with odd values and
// arrays of every length from none up, and reads each column back: an element written to the
// wrong row or column, or encoded wrong, shows.
func TestScoresKeepEveryColumn(t *testing.T) {
	ctx := context.Background()
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("the answer cites no passage; ", 5000) // lengths past one and two varint bytes
	records := []*event.Scored{
		{EventID: "a-no-scores", Timestamp: ts, Series: event.Series{App: "shop", Environment: "prod", Feature: "search",
			Model: "m1", PromptVersion: "v1"}, Stage: "live", Source: "checks", RulesVersion: "r1"},
		{EventID: "b-one", Timestamp: ts.Add(time.Second), Series: event.Series{App: "bücher", Environment: "staging",
			Feature: "検索", Model: "m2", PromptVersion: "v2"}, Stage: "", Source: "judge", RulesVersion: "r2",
			Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Value: -1.5, Pass: false, Label: "", Reason: ""}}},
		{EventID: "c-odd-values", Timestamp: ts.Add(time.Hour), Series: event.Series{App: "", Environment: "",
			Feature: "", Model: "", PromptVersion: ""}, Stage: "shadow", Source: "", RulesVersion: "",
			Scores: []event.Score{
				{Metric: "length_chars", Kind: event.KindMeasure, Value: 1e300, Pass: true, Label: "long", Reason: long},
				{Metric: "", Kind: "", Value: math.NaN(), Label: "ünïcödé ✓", Reason: strings.Repeat("é", 100)},
				{Metric: "inf", Kind: event.KindMeasure, Value: math.Inf(1), Pass: true},
				{Metric: "-inf", Kind: event.KindMeasure, Value: math.Inf(-1)},
				{Metric: "tiny", Kind: event.KindMeasure, Value: math.SmallestNonzeroFloat64, Reason: "\x00\n\t"},
				{Metric: "fraction", Kind: event.KindCheck, Value: 0.1 + 0.2, Pass: true, Label: "x"},
			}},
		{EventID: "d-no-scores-again", Timestamp: ts.Add(48 * time.Hour), Series: event.Series{App: "shop"},
			Source: "checks", RulesVersion: "r3", Scores: []event.Score{}},
		{EventID: "e-many", Timestamp: ts.Add(2 * time.Second), Series: event.Series{App: "shop", Model: "m5"},
			Source: "checks", RulesVersion: "r4"},
	}
	for i := range 40 {
		records[4].Scores = append(records[4].Scores, event.Score{Metric: strings.Repeat("m", i), Kind: event.KindCheck,
			Value: -float64(i) * 1e-3, Pass: i%2 == 0, Label: strings.Repeat("l", 40-i), Reason: strings.Repeat("r", i*7)})
	}
	if err := store.InsertScores(ctx, conn, records); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantScoresRows(records), readScoresRows(t, ctx, dsn), scoresRowsEqual); diff != "" {
		t.Errorf("scores read back (-want +got):\n%s", diff)
	}
}

// TestScoresLargeBatch inserts a batch whose String columns are large enough to be reserved
// before they are filled, and reads every row back.
func TestScoresLargeBatch(t *testing.T) {
	ctx := context.Background()
	dsn := ch.Database(t)
	conn := testkit.Conn(t, dsn)
	records := benchScored(3000, 18)
	for i, r := range records {
		// Over 256 KiB in event_id alone, and scores of varying count.
		r.EventID += strings.Repeat("x", 100)
		r.Scores = r.Scores[:i%19]
	}
	if err := store.InsertScores(ctx, conn, records); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantScoresRows(records), readScoresRows(t, ctx, dsn), scoresRowsEqual); diff != "" {
		t.Errorf("scores read back (-want +got):\n%s", diff)
	}
}
