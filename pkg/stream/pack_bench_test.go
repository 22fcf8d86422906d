package stream_test

import (
	"testing"

	"github.com/vigilhq/vigil/pkg/stream"
)

// BenchmarkPackScored packs a scorer batch of 1,000 records over 16 partitions, afresh each
// time and with one packer kept from batch to batch as the scorer does.
func BenchmarkPackScored(b *testing.B) {
	recs := scoredRecords(1000, 40, "")
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := stream.PackScored(recs, 16, featureKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reused", func(b *testing.B) {
		var k stream.ScoredPacker
		b.ReportAllocs()
		for range b.N {
			if _, err := k.Pack(recs, 16, featureKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}
