package store

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/vigilhq/vigil/pkg/event"
)

// metricColumns returns empty columns of the given types, named as in insertScores.
func metricColumns(tb testing.TB, types ...column.Type) []column.Interface {
	tb.Helper()
	names := []string{"metric_names", "metric_kinds", "metric_values", "metric_passed", "metric_labels", "metric_reasons"}
	cols := make([]column.Interface, len(types))
	for i, typ := range types {
		c, err := typ.Column(names[i%len(names)], &column.ServerContext{})
		if err != nil {
			tb.Fatalf("column of type %s: %v", typ, err)
		}
		cols[i] = c
	}
	return cols
}

// arrayRows reads back what fillScoreArrays put in cols, as scores per row.
func arrayRows(cols []column.Interface) [][]event.Score {
	rows := make([][]event.Score, cols[0].Rows())
	for i := range rows {
		names := cols[0].Row(i, false).([]string)
		kinds := cols[1].Row(i, false).([]string)
		values := cols[2].Row(i, false).([]float64)
		passed := cols[3].Row(i, false).([]uint8)
		labels := cols[4].Row(i, false).([]string)
		reasons := cols[5].Row(i, false).([]string)
		for j := range names {
			rows[i] = append(rows[i], event.Score{Metric: names[j], Kind: event.Kind(kinds[j]), Value: values[j],
				Pass: passed[j] == 1, Label: labels[j], Reason: reasons[j]})
		}
	}
	return rows
}

func checkArraysRoundTrip(t *testing.T, records []*event.Scored) {
	t.Helper()
	cols := metricColumns(t, scoreArrayTypes[:]...)
	if err := fillScoreArrays(cols, records, nil); err != nil {
		t.Fatalf("fillScoreArrays: %v", err)
	}
	want := make([][]event.Score, len(records))
	for i, r := range records {
		want[i] = r.Scores
	}
	for i, c := range cols {
		if c.Rows() != len(records) {
			t.Errorf("column %d holds %d rows, want %d", i, c.Rows(), len(records))
		}
	}
	if diff := cmp.Diff(want, arrayRows(cols), cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("metric arrays read back (-want +got):\n%s", diff)
	}
}

func TestFillScoreArraysKeepsEveryElement(t *testing.T) {
	long := strings.Repeat("ü", 70_000) // a length of three varint bytes
	for _, tc := range []struct {
		name    string
		records []*event.Scored
	}{
		{"no scores", []*event.Scored{{EventID: "a"}, {EventID: "b", Scores: []event.Score{}}}},
		{"empty strings", []*event.Scored{{Scores: []event.Score{{}, {Value: -0.5}}}}},
		{"mixed", []*event.Scored{
			{Scores: []event.Score{{Metric: "refusal", Kind: event.KindCheck, Value: 1, Pass: true}}},
			{},
			{Scores: []event.Score{
				{Metric: "length_chars", Kind: event.KindMeasure, Value: 1e300, Label: "長い", Reason: long},
				{Metric: "nan", Value: math.NaN(), Pass: true, Reason: strings.Repeat("r", 128)},
				{Metric: "inf", Value: math.Inf(-1), Label: "x"},
			}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkArraysRoundTrip(t, tc.records) })
	}
}

func TestFillScoreArraysRejectsOtherColumns(t *testing.T) {
	want := scoreArrayTypes[:]
	full := metricColumns(t, want...)
	if err := full[0].AppendRow([]string{"x"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cols []column.Interface
	}{
		{"too few", metricColumns(t, want[:5]...)},
		{"too many", metricColumns(t, append(want, "Array(String)")...)},
		{"not an array", metricColumns(t, "String", want[1], want[2], want[3], want[4], want[5])},
		{"other element type", metricColumns(t, want[0], want[1], "Array(Float32)", want[3], want[4], want[5])},
		{"not empty", full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fillScoreArrays(tc.cols, []*event.Scored{{Scores: []event.Score{{Metric: "m"}}}}, nil)
			if err == nil {
				t.Fatal("fillScoreArrays = nil, want an error")
			}
		})
	}
}

func FuzzFillScoreArrays(f *testing.F) {
	f.Add("refusal", "check", 1.0, true, "", "", uint8(3))
	f.Add("", "", math.Inf(1), false, "ünï", strings.Repeat("x", 200), uint8(0))
	f.Fuzz(func(t *testing.T, metric, kind string, value float64, pass bool, label, reason string, n uint8) {
		// Rows of 0, 1, ... n%8 scores, their strings cut differently so no two elements agree.
		var records []*event.Scored
		for i := range int(n%8) + 1 {
			r := &event.Scored{}
			for j := range i {
				r.Scores = append(r.Scores, event.Score{Metric: metric[:min(j, len(metric))], Kind: event.Kind(kind),
					Value: value * float64(j), Pass: pass != (j%2 == 0), Label: label[min(j, len(label)):], Reason: reason})
			}
			records = append(records, r)
		}
		checkArraysRoundTrip(t, records)
	})
}
