package store

import (
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// clickhouse-go fills a block through Append and AppendRow, which take any: a String column takes
// a []string at once, but an array is walked by reflection element by element, and nothing gives a
// column room before it grows. Underneath, each column keeps ch-go's plain column (proto.ColStr,
// proto.ColUInt64...), which the writer fills directly: room once, then no boxing and no copying.
// The fields are reached by name and type; a clickhouse-go that lays them out otherwise makes every
// insert fail with an error naming the column, which the insert tests catch before a release.

// protoColumn returns the ch-go column of type T that c keeps.
func protoColumn[T any](c column.Interface) (*T, error) {
	v := reflect.ValueOf(c)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("col"); f.IsValid() && f.Type() == reflect.TypeFor[T]() {
			return (*T)(unsafe.Pointer(f.UnsafeAddr())), nil
		}
	}
	return nil, fmt.Errorf("column %s (%T, %s) keeps no %v: this clickhouse-go lays out its columns otherwise",
		c.Name(), c, c.Type(), reflect.TypeFor[T]())
}

// arrayColumn returns the offsets (cumulative element counts) and the element column of type T
// of a one-dimensional Array column.
func arrayColumn[T any](c column.Interface) (offsets *proto.ColUInt64, elements *T, err error) {
	a, ok := c.(*column.Array)
	if !ok {
		return nil, nil, fmt.Errorf("column %s (%T, %s) is not an array", c.Name(), c, c.Type())
	}
	if elements, err = protoColumn[T](a.Base()); err != nil {
		return nil, nil, err
	}
	levels := reflect.ValueOf(a).Elem().FieldByName("offsets")
	if !levels.IsValid() || levels.Kind() != reflect.Slice || levels.Len() != 1 ||
		levels.Index(0).Kind() != reflect.Pointer || levels.Index(0).Elem().Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("column %s (%s): no single level of offsets: this clickhouse-go lays out its arrays otherwise",
			c.Name(), c.Type())
	}
	f := levels.Index(0).Elem().FieldByName("values")
	if !f.IsValid() || f.Type() != reflect.TypeFor[column.UInt64]() {
		return nil, nil, fmt.Errorf("column %s (%s): its offsets are no UInt64 column: this clickhouse-go lays out its arrays otherwise",
			c.Name(), c.Type())
	}
	offsets, err = protoColumn[proto.ColUInt64]((*column.UInt64)(unsafe.Pointer(f.UnsafeAddr())))
	return offsets, elements, err
}

// appendStrs appends values to col with room made first for their bytes and positions.
func appendStrs(col *proto.ColStr, values []string) {
	size := 0
	for _, v := range values {
		size += len(v)
	}
	col.Buf = slices.Grow(col.Buf, size)
	col.Pos = slices.Grow(col.Pos, len(values))
	for _, v := range values {
		col.Append(v)
	}
}
