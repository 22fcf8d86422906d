package event

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func scoredExample(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "schemas", "examples", "scored.json"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestDecodeScoredBatch(t *testing.T) {
	one := scoredExample(t)
	other := strings.Replace(one, `"event_id": "`, `"event_id": "b-`, 1)
	if other == one {
		t.Fatal("example has no event_id to vary")
	}
	tests := []struct {
		name      string
		body      string
		records   int
		wantField string
	}{
		{"one record", `{"records":[` + one + `]}`, 1, ""},
		{"two records", `{"records":[` + one + `,` + other + `]}`, 2, ""},
		{"no records", `{"records":[]}`, 0, "records"},
		{"records missing", `{}`, 0, "records"},
		{"a bare record", one, 0, "event_id"},
		{"second record lacks source", `{"records":[` + one + `,` + strings.Replace(other, `"source"`, `"sourc"`, 1) + `]}`, 0, "records[1]"},
		{"second record has no app", `{"records":[` + one + `,` + strings.Replace(other, `"app": "support-bot"`, `"app": ""`, 1) + `]}`, 0, "records[1].series.app"},
		{"wrong type", `{"records":{}}`, 0, "records"},
		{"trailing data", `{"records":[` + one + `]} x`, 0, "(event)"},
		{"an array", `[` + one + `]`, 0, "(event)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, alias := range []bool{false, true} {
				recs, err := DecodeScoredBatch([]byte(tt.body), alias, 2)
				if tt.wantField == "" {
					if err != nil || len(recs) != tt.records {
						t.Fatalf("DecodeScoredBatch(alias %v) = %d records, %v; want %d records", alias, len(recs), err, tt.records)
					}
					continue
				}
				if err == nil {
					t.Fatalf("DecodeScoredBatch(alias %v) accepted %s", alias, tt.body)
				}
				fields := errorFields(err)
				if len(fields) == 0 || !strings.HasPrefix(fields[0], tt.wantField) {
					t.Errorf("DecodeScoredBatch(alias %v) = %v naming %v; want a field starting %q", alias, err, fields, tt.wantField)
				}
			}
		})
	}
}

func FuzzDecodeScoredBatch(f *testing.F) {
	one := scoredExample(f)
	f.Add([]byte(`{"records":[` + one + `]}`))
	f.Add([]byte(`{"records":[` + one + `,` + one + `]}`))
	f.Add([]byte(`{"records":[]}`))
	f.Add([]byte(one))
	// The compact form the scorer packs, which takes the decoder's fast path.
	var rec Scored
	if err := json.Unmarshal([]byte(one), &rec); err != nil {
		f.Fatal(err)
	}
	compact, err := AppendMarshal(nil, &ScoredBatch{Records: []Scored{rec, rec}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(compact)
	decode := func(b []byte) (*ScoredBatch, error) {
		recs, err := DecodeScoredBatch(b, false, 0)
		if err != nil {
			return nil, err
		}
		return &ScoredBatch{Records: recs}, nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decode(data)
		if err != nil {
			checkRejection(t, "DecodeScoredBatch", data, err)
			return
		}
		checkAccepted(t, "DecodeScoredBatch", data, b, decode)
		// Aliasing the input must not change what is decoded.
		aliased, err := DecodeScoredBatch(append([]byte(nil), data...), true, len(b.Records))
		if err != nil {
			t.Fatalf("DecodeScoredBatch(%q, alias) = %v, accepted without alias", data, err)
		}
		if diff := cmp.Diff(b.Records, aliased, roundTripOpts); diff != "" {
			t.Fatalf("aliased decoding differs (-copied +aliased):\n%s", diff)
		}
	})
}
