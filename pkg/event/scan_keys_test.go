package event

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// appendTopLevelKeysReference is appendTopLevelKeys reading strings byte by byte: the oracle
// FuzzTopLevelKeysMatchReference holds the faster scan to.
func appendTopLevelKeysReference(keys []keyAt, b []byte) []keyAt {
	depth := 0
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
			if depth == 0 {
				return keys
			}
		case ',':
			expectKey = depth == 1
		case '"':
			start := i + 1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 1 && expectKey && i <= len(b) {
				keys = append(keys, keyAt{key: b[start:min(i, len(b))], end: i})
				expectKey = false
			}
		}
	}
	return keys
}

func FuzzTopLevelKeysMatchReference(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"x","c":{"a":2}}`, `{"a\"b":1,"a\\":"\\"}`, `{"k":"\`, `{"k":"v\\`, `{"k`, `{"k":"v"`,
		`{"k":"` + strings.Repeat(`long text \" with \\ escapes `, 20) + `","k2":[1,{"k3":"x"}]}`, `{}`, `"`, `\`,
	} {
		f.Add([]byte(s))
	}
	addSeeds(f, "valid/*.json", "invalid/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		got := appendTopLevelKeys(nil, data)
		want := appendTopLevelKeysReference(nil, data)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(keyAt{})); diff != "" {
			t.Fatalf("keys of %q (-reference +scan):\n%s", data, diff)
		}
	})
}

func BenchmarkTopLevelKeys(b *testing.B) {
	text := strings.Repeat("The package left the regional warehouse yesterday afternoon and is on schedule. ", 16)
	data := []byte(`{"event_id":"e-1","timestamp":"2026-11-27T10:00:00Z","app":"shop","model":"m","input":"Where is my order?","output":"` + text + `","attributes":{"a":"b"}}`)
	b.SetBytes(int64(len(data)))
	var buf [64]keyAt
	for b.Loop() {
		appendTopLevelKeys(buf[:0], data)
	}
}
