package eval

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecodeCase checks the decoder's contract on any input: no panic; a rejection is a
// *DatasetError naming a field; an accepted case is JSON to encoding/json too, and survives
// MarshalCase and a second decode unchanged.
func FuzzDecodeCase(f *testing.F) {
	for _, pattern := range []string{"valid/*.jsonl", "invalid/*.jsonl"} {
		for _, path := range exampleFiles(f, pattern) {
			for _, line := range bytes.Split(readFile(f, path), []byte("\n")) {
				f.Add(line)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCase(data)
		if err != nil {
			if c != nil {
				t.Fatalf("DecodeCase(%q) = %+v, %v; want a nil case with the error", data, c, err)
			}
			for _, p := range problemsOf(t, err) {
				if p.Field == "" || p.Reason == "" {
					t.Fatalf("DecodeCase(%q) = %v, which names no field or reason", data, err)
				}
			}
			return
		}
		if !stdjson.Valid(data) {
			t.Fatalf("DecodeCase(%q) accepted input that encoding/json.Valid rejects", data)
		}
		enc, err := MarshalCase(c)
		if err != nil {
			t.Fatalf("MarshalCase(DecodeCase(%q)) = %v", data, err)
		}
		again, err := DecodeCase(enc)
		if err != nil {
			t.Fatalf("DecodeCase(%q) = %v: the encoding of DecodeCase(%q)", enc, err, data)
		}
		if diff := cmp.Diff(c, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("DecodeCase(MarshalCase(DecodeCase(%q))) mismatch (-first +second):\n%s", data, diff)
		}
	})
}
