package stream

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/s2"
)

// FuzzDecompressBody feeds arbitrary bodies marked as Snappy: none may panic or expand past
// the bound, and whatever the packer compresses comes back byte for byte.
func FuzzDecompressBody(f *testing.F) {
	f.Add([]byte(`{"records":[]}`))
	f.Add(s2.EncodeSnappy(nil, []byte(`{"records":[{"event_id":"a","scores":[]}]}`)))
	f.Add(append(binary.AppendUvarint(nil, 1<<30), 0, 0, 0))
	f.Add([]byte{})
	reused := new([]byte) // one buffer for every input, as a pooled one serves message after message
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, buf := range []*[]byte{nil, reused} {
			if body, err := decompressBody(EncodingSnappy, data, buf); err == nil && len(body) > maxDecodedBody {
				t.Fatalf("a %d-byte body expanded to %d bytes, over %d", len(data), len(body), maxDecodedBody)
			}
			back, err := decompressBody(EncodingSnappy, s2.EncodeSnappy(nil, data), buf)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("%d bytes compressed did not come back: %v", len(data), err)
			}
		}
	})
}
