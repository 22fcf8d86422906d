package store

import (
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

func TestAppendStrsKeepsEveryValue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
	}{
		{"none", nil},
		{"empty strings", []string{"", "", ""}},
		{"mixed", []string{"ev-1", "", strings.Repeat("ü", 70_000), "長い"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := metricColumns(t, "String")[0]
			str, err := protoColumn[proto.ColStr](col)
			if err != nil {
				t.Fatal(err)
			}
			appendStrs(str, []string{"before"})
			appendStrs(str, tc.values)
			want := append([]string{"before"}, tc.values...)
			if col.Rows() != len(want) {
				t.Fatalf("column holds %d rows, want %d", col.Rows(), len(want))
			}
			for i, v := range want {
				if got := col.Row(i, false).(string); got != v {
					t.Errorf("row %d = %.10q, want %.10q", i, got, v)
				}
			}
		})
	}
}

func TestDirectColumnsRejectOtherKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func(column.Interface) error
		typ  column.Type
	}{
		{"string from a number", func(c column.Interface) error { _, err := protoColumn[proto.ColStr](c); return err }, "UInt64"},
		{"number from a string", func(c column.Interface) error { _, err := protoColumn[proto.ColUInt64](c); return err }, "String"},
		{"string from a nullable", func(c column.Interface) error { _, err := protoColumn[proto.ColStr](c); return err }, "Nullable(String)"},
		{"array from a string", func(c column.Interface) error { _, _, err := arrayColumn[proto.ColStr](c); return err }, "String"},
		{"array of other elements", func(c column.Interface) error { _, _, err := arrayColumn[proto.ColStr](c); return err }, "Array(Float64)"},
		{"array of arrays", func(c column.Interface) error { _, _, err := arrayColumn[proto.ColStr](c); return err }, "Array(Array(String))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := metricColumns(t, tc.typ)[0]
			err := tc.get(c)
			if err == nil || !strings.Contains(err.Error(), c.Name()) {
				t.Fatalf("error = %v, want one naming column %s", err, c.Name())
			}
		})
	}
}
