package event

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// packScored builds a packed SCORED body the way stream.PackScored does: each record encoded by
// AppendMarshal, joined inside {"records":[...]}.
func packScored(tb testing.TB, recs []Scored) []byte {
	tb.Helper()
	body := []byte(`{"records":[`)
	var scratch []byte
	for i := range recs {
		var err error
		if scratch, err = AppendMarshal(scratch[:0], &recs[i]); err != nil {
			tb.Fatalf("AppendMarshal(records[%d]) = %v", i, err)
		}
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, scratch...)
	}
	return append(body, "]}"...)
}

// scorerMetrics are the checks and measurements a realistic record carries, in the scorer's order.
var scorerMetrics = []struct {
	metric string
	kind   Kind
}{
	{"non_empty", KindCheck}, {"refusal", KindCheck}, {"pii", KindCheck}, {"truncated", KindCheck},
	{"json_valid", KindCheck}, {"schema_valid", KindCheck}, {"toxicity", KindCheck}, {"language", KindCheck},
	{"prompt_leak", KindCheck}, {"secret_leak", KindCheck}, {"url_valid", KindCheck}, {"finish_ok", KindCheck},
	{"length_chars", KindMeasure}, {"word_count", KindMeasure}, {"repetition", KindMeasure},
	{"latency_ms", KindMeasure}, {"cost_usd", KindMeasure}, {"expected_similarity", KindMeasure},
}

// realisticScored returns n records shaped like the scorer's output: 18 scores each, a few
// failing with a label and a reason, times in UTC with milliseconds.
func realisticScored(n int) []Scored {
	base := time.Date(2026, 11, 26, 14, 3, 27, 0, time.UTC)
	recs := make([]Scored, n)
	for i := range recs {
		scores := make([]Score, len(scorerMetrics))
		for j, m := range scorerMetrics {
			sc := Score{Metric: m.metric, Kind: m.kind, Value: 1, Pass: true}
			switch {
			case m.kind == KindMeasure:
				sc.Value = float64((i*7+j*13)%1000) * 0.137
			case (i+j)%23 == 0:
				sc.Value, sc.Pass = 0, false
				sc.Label = "email"
				sc.Reason = fmt.Sprintf("%d email address in the output", 1+i%3)
			}
			scores[j] = sc
		}
		recs[i] = Scored{
			EventID:   fmt.Sprintf("3f6d2b7a-9c41-4e8b-a0d5-%012x", i),
			Timestamp: base.Add(time.Duration(i) * 1234567 * time.Microsecond),
			Series: Series{
				App: "support-bot", Environment: "production", Feature: fmt.Sprintf("ticket-reply-%d", i%3),
				Model: "gpt-4o-2024-08-06", PromptVersion: "v14",
			},
			Stage:        "draft",
			Source:       "checks",
			RulesVersion: "builtin-1",
			Scores:       scores,
		}
	}
	return recs
}

// variedScored returns records that exercise every form the encoder writes: empty optional
// fields, escapes, non-ASCII text, extreme and negative numbers, no scores at all.
func variedScored() []Scored {
	recs := realisticScored(8)
	recs[0].Stage = ""
	recs[0].Scores = nil
	recs[1].Scores = []Score{}
	recs[2].Series.Feature = "réponse-ticket"
	recs[2].Scores[0].Reason = "quote \" backslash \\ slash / tab \t newline \n ctrl \x01 html <a&b> sep \u2028 bad \xff end"
	recs[2].Scores[1].Label = "日本語 🙂"
	recs[3].Scores[0].Value = 1e-7
	recs[3].Scores[1].Value = -123456.789
	recs[3].Scores[2].Value = 1e21
	recs[3].Scores[3].Value = math.MaxFloat64
	recs[3].Scores[4].Value = math.SmallestNonzeroFloat64
	recs[3].Scores[5].Value = math.Copysign(0, -1)
	recs[3].Scores[6].Value = 0.1 + 0.2
	recs[4].Timestamp = time.Date(2026, 2, 28, 23, 59, 59, 999999999, time.FixedZone("", 2*3600))
	recs[5].Timestamp = time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	recs[6].Source = ""
	recs[6].RulesVersion = ""
	recs[7].Scores[0].Kind = "other"
	return recs
}

// sameInstantAndZone compares times as strictly as decoding can be expected to reproduce them:
// the same instant, zone name and offset, and neither carrying a monotonic reading.
var sameInstantAndZone = cmp.Comparer(func(a, b time.Time) bool {
	an, ao := a.Zone()
	bn, bo := b.Zone()
	return a.Equal(b) && an == bn && ao == bo && a.Location().String() == b.Location().String() &&
		a == a.Round(0) && b == b.Round(0)
})

// strictScored is the reference: what the reflection decoder yields for data, before validation.
func strictScored(data []byte, alias bool) ([]Scored, error) {
	return decodeScoredStrict(data, alias, 0)
}

func TestScoredFastPathAcceptsEncoderOutput(t *testing.T) {
	tests := []struct {
		name string
		recs []Scored
	}{
		{"realistic", realisticScored(50)},
		{"varied", variedScored()},
		{"one record", realisticScored(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := packScored(t, tt.recs)
			for _, alias := range []bool{false, true} {
				got, ok := decodeScoredFast(data, alias, len(tt.recs), nil)
				if !ok {
					t.Fatalf("decodeScoredFast(alias %v) declined the encoder's output %s", alias, data)
				}
				want, err := strictScored(data, alias)
				if err != nil {
					t.Fatalf("strict decoding of the encoder's output = %v", err)
				}
				if diff := cmp.Diff(want, got, sameInstantAndZone); diff != "" {
					t.Fatalf("decodeScoredFast(alias %v) mismatch (-strict +fast):\n%s", alias, diff)
				}
			}
		})
	}
}

func TestScoredFastPathDeclines(t *testing.T) {
	one := string(packScored(t, realisticScored(1)))
	tests := []struct {
		name string
		body string
	}{
		{"leading space", " " + one},
		{"trailing newline", one + "\n"},
		{"space after colon", replaceOnce(one, `"source":`, `"source": `)},
		{"keys out of order", replaceOnce(one, `"source":"checks","rules_version":"builtin-1"`, `"rules_version":"builtin-1","source":"checks"`)},
		{"unknown key", replaceOnce(one, `"source":`, `"extra":1,"source":`)},
		{"duplicate key", replaceOnce(one, `"source":"checks"`, `"source":"checks","source":"checks"`)},
		{"key in another case", replaceOnce(one, `"source":`, `"Source":`)},
		{"escaped key", replaceOnce(one, `"source":`, `"sourc\u0065":`)},
		{"null string", replaceOnce(one, `"source":"checks"`, `"source":null`)},
		{"surrogate escape", replaceOnce(one, `"source":"checks"`, `"source":"\ud83d\ude42"`)},
		{"unknown escape", replaceOnce(one, `"source":"checks"`, `"source":"\x"`)},
		{"control character", replaceOnce(one, `"source":"checks"`, "\"source\":\"a\x01b\"")},
		{"invalid UTF-8", replaceOnce(one, `"source":"checks"`, "\"source\":\"a\xffb\"")},
		{"leading zero", replaceOnce(one, `"value":1,`, `"value":01,`)},
		{"plus sign", replaceOnce(one, `"value":1,`, `"value":+1,`)},
		{"number out of range", replaceOnce(one, `"value":1,`, `"value":1e400,`)},
		{"string value", replaceOnce(one, `"value":1,`, `"value":"1",`)},
		{"null pass", replaceOnce(one, `"pass":true`, `"pass":null`)},
		{"escaped time", replaceOnce(one, `"timestamp":"2026`, `"timestamp":"\u0032026`)},
		{"bad time", replaceOnce(one, `"timestamp":"2026`, `"timestamp":"x026`)},
		{"missing required key", replaceOnce(one, `"source":"checks",`, ``)},
		{"null records", `{"records":null}`},
		{"trailing data", one + `x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body == one {
				t.Fatal("the variant equals the original")
			}
			for _, alias := range []bool{false, true} {
				if _, ok := decodeScoredFast([]byte(tt.body), alias, 1, nil); ok {
					t.Errorf("decodeScoredFast(%q, alias %v) accepted it", tt.body, alias)
				}
			}
		})
	}
}

func replaceOnce(s, old, new string) string {
	return string(bytes.Replace([]byte(s), []byte(old), []byte(new), 1))
}

func FuzzScoredFastPathMatchesStrict(f *testing.F) {
	for _, recs := range [][]Scored{realisticScored(1), realisticScored(3), variedScored()} {
		data := packScored(f, recs)
		f.Add(data)
		// Mutations near what the fast path understands: each must be declined or decoded as
		// the strict decoder decodes it.
		for _, m := range [][2]string{
			{`"value":1,`, `"value":1.0e0,`}, {`"value":1,`, `"value":-0,`}, {`"value":1,`, `"value":1E+2,`},
			{`"pass":true`, `"pass":false`}, {`"stage":"draft",`, ``}, {`"scores":[`, `"scores":null,"x":[`},
			{`"label":"email",`, ``}, {`.`, `,`}, {`Z"`, `+01:00"`}, {`Z"`, `.000Z"`}, {`Z"`, `z"`},
			{`"checks"`, `"ch\u00e9cks\/\n"`}, {`"checks"`, `"\u00"`}, {`}]}`, `},]}`}, {`,{`, `{`},
		} {
			f.Add(bytes.Replace(data, []byte(m[0]), []byte(m[1]), 1))
		}
	}
	f.Add([]byte(`{"records":[]}`))
	f.Add([]byte(`{"records":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, alias := range []bool{false, true} {
			got, ok := decodeScoredFast(data, alias, 0, nil)
			if !ok {
				continue
			}
			want, err := strictScored(data, alias)
			if err != nil {
				t.Fatalf("decodeScoredFast(%q, alias %v) accepted what the strict decoder rejects: %v", data, alias, err)
			}
			if diff := cmp.Diff(want, got, sameInstantAndZone); diff != "" {
				t.Fatalf("decodeScoredFast(%q, alias %v) mismatch (-strict +fast):\n%s", data, alias, diff)
			}
			// Dropping reasons changes nothing else, and accepts nothing the strict decoder rejects.
			dropped, ok := decodeScoredFast(data, alias, 0, &ScoredBuffers{DropReasons: true})
			if !ok {
				t.Fatalf("decodeScoredFast(%q, alias %v) declined with DropReasons what it accepts without", data, alias)
			}
			if diff := cmp.Diff(withoutReasons(want), dropped, sameInstantAndZone, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decodeScoredFast(%q, alias %v, DropReasons) mismatch (-strict +fast):\n%s", data, alias, diff)
			}
		}
	})
}

// withoutReasons returns a copy of recs whose scores have no reason.
func withoutReasons(recs []Scored) []Scored {
	out := make([]Scored, len(recs))
	for i, r := range recs {
		r.Scores = slices.Clone(r.Scores)
		out[i] = r
	}
	ClearReasons(out)
	return out
}

// A consumer that reads no reasons gets the same records without them, by the fast path and
// by the strict one, and the reasons cost it no copies.
func TestDecodeScoredBatchIntoDropsReasons(t *testing.T) {
	recs := realisticScored(100)
	fast := packScored(t, recs)
	strict := bytes.Replace(fast, []byte(`{"records":[`), []byte(`{"records": [`), 1) // declined by the fast path
	for name, body := range map[string][]byte{"fast": fast, "strict": strict} {
		for _, alias := range []bool{false, true} {
			want, err := DecodeScoredBatch(body, alias, 0)
			if err != nil {
				t.Fatal(err)
			}
			buf := ScoredBuffers{DropReasons: true}
			got, err := DecodeScoredBatchInto(&buf, body, alias, 0)
			if err != nil {
				t.Fatalf("%s, alias %v: %v", name, alias, err)
			}
			if diff := cmp.Diff(withoutReasons(want), got, sameInstantAndZone); diff != "" {
				t.Fatalf("%s, alias %v: (-want +got):\n%s", name, alias, diff)
			}
		}
	}
	// A bad escape in a dropped reason is still an error.
	bad := bytes.Replace(fast, []byte(`email address in the output`), []byte(`email \q address`), 1)
	if _, err := DecodeScoredBatchInto(&ScoredBuffers{DropReasons: true}, bad, false, 0); err == nil {
		t.Error("a reason with an invalid escape was accepted")
	}
	allocs := func(drop bool) float64 {
		buf := ScoredBuffers{DropReasons: drop}
		return testing.AllocsPerRun(20, func() {
			if _, err := DecodeScoredBatchInto(&buf, fast, false, 100); err != nil {
				t.Fatal(err)
			}
		})
	}
	if kept, dropped := allocs(false), allocs(true); dropped >= kept {
		t.Errorf("%v allocations per batch dropping reasons, %v keeping them: dropping should copy none", dropped, kept)
	}
}

func BenchmarkDecodeScoredBatch(b *testing.B) {
	const n = 500
	data := packScored(b, realisticScored(n))
	// The strict runs measure the path every body took before the fast one, for comparison.
	strict := func(data []byte, alias bool, n int) ([]Scored, error) {
		recs, err := decodeScoredStrict(data, alias, n)
		for i := range recs {
			if err == nil {
				err = recs[i].Validate()
			}
		}
		return recs, err
	}
	for _, path := range []struct {
		name   string
		decode func([]byte, bool, int) ([]Scored, error)
	}{{"", DecodeScoredBatch}, {"strict/", strict}} {
		for _, alias := range []bool{false, true} {
			b.Run(fmt.Sprintf("%salias=%v", path.name, alias), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					recs, err := path.decode(data, alias, n)
					if err != nil || len(recs) != n {
						b.Fatalf("DecodeScoredBatch = %d records, %v; want %d", len(recs), err, n)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeScoredBatchInto measures decoding into kept buffers, as a drift partition does:
// drop=true leaves out the reasons drift does not read.
func BenchmarkDecodeScoredBatchInto(b *testing.B) {
	const n = 500
	data := packScored(b, realisticScored(n))
	for _, drop := range []bool{false, true} {
		b.Run(fmt.Sprintf("drop=%v", drop), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			buf := ScoredBuffers{DropReasons: drop}
			for b.Loop() {
				if recs, err := DecodeScoredBatchInto(&buf, data, false, n); err != nil || len(recs) != n {
					b.Fatalf("DecodeScoredBatchInto = %d records, %v; want %d", len(recs), err, n)
				}
			}
		})
	}
}
