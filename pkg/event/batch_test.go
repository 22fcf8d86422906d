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

// Batches decoded one after another into the same buffers read as if each were decoded alone:
// a record without a label or reason must not show the one a previous batch left in its place.
func TestDecodeScoredBatchIntoReusesBuffers(t *testing.T) {
	clean := realisticScored(60)
	for i := range clean {
		for j := range clean[i].Scores {
			clean[i].Scores[j].Label, clean[i].Scores[j].Reason = "", ""
		}
	}
	varied := variedScored()[:6] // the last two break the validation both decoders apply
	bodies := [][]byte{
		packScored(t, realisticScored(50)), packScored(t, clean), packScored(t, varied),
		packScored(t, realisticScored(1)), packScored(t, realisticScored(200)), packScored(t, clean),
	}
	for _, alias := range []bool{false, true} {
		var buf ScoredBuffers
		for i, body := range bodies {
			want, err := DecodeScoredBatch(body, alias, 0)
			if err != nil {
				t.Fatalf("DecodeScoredBatch(body %d) = %v", i, err)
			}
			got, err := DecodeScoredBatchInto(&buf, body, alias, 0)
			if err != nil {
				t.Fatalf("DecodeScoredBatchInto(body %d, alias %v) = %v", i, alias, err)
			}
			if diff := cmp.Diff(want, got, sameInstantAndZone); diff != "" {
				t.Fatalf("body %d, alias %v: reused buffers decode differently (-alone +reused):\n%s", i, alias, diff)
			}
		}
	}
	// Once the buffers have grown to the batch, an aliasing decode allocates nothing.
	body := packScored(t, realisticScored(100))
	var buf ScoredBuffers
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := DecodeScoredBatchInto(&buf, body, true, 100); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeScoredBatchInto with grown buffers: %v allocations per batch, want 0", allocs)
	}
	// Buffers that run out partway through a batch grow to hold all of it, not only the rest:
	// the next batch of that size then fits from the start, instead of the buffers alternating
	// between the batch's head and its tail.
	for _, n := range []int{20, 150} {
		body := packScored(t, realisticScored(n))
		buf = ScoredBuffers{}
		allocs = testing.AllocsPerRun(20, func() {
			if _, err := DecodeScoredBatchInto(&buf, body, true, n); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("DecodeScoredBatchInto of %d records again and again: %v allocations per batch, want 0", n, allocs)
		}
	}
}
