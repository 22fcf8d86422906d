package event

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// FuzzAppendScoredMatchesJSON holds the hand-written encoder to the JSON library's bytes, which
// the batch decoder's fast path expects.
func FuzzAppendScoredMatchesJSON(f *testing.F) {
	f.Add("01JD00000000000000000001", int64(1764240000123456789), "shop", "production", "search", "gpt-4o-mini", "v12",
		"live", "checks", "r-1", "refusal", "boolean", 0.5, true, "", "", uint8(18))
	f.Add("é\"\\\n<>&\u2028\x7f\xff", int64(-62135596800000000000/1e9), "", "", "", "", "", "", "", "", "", "", 1e21, false, "lbl", "reason\t", uint8(0))
	f.Add("x", int64(0), "a", "b", "c", "d", "e", "", "s", "r", "m", "k", 1e-7, false, "", "", uint8(255))
	f.Add("x", int64(0), "a", "b", "c", "d", "e", "", "s", "r", "m", "k", math.NaN(), false, "", "", uint8(1))
	f.Add("x", int64(0), "a", "b", "c", "d", "e", "", "s", "r", "m", "k", -0.0, true, "", "", uint8(2))
	f.Fuzz(func(t *testing.T, id string, nanos int64, app, env, feature, model, version, stage, source, rules,
		metric, kind string, value float64, pass bool, label, reason string, scores uint8) {
		r := &Scored{EventID: id, Timestamp: time.Unix(0, nanos).UTC(), Series: Series{App: app, Environment: env,
			Feature: feature, Model: model, PromptVersion: version}, Stage: stage, Source: source, RulesVersion: rules}
		switch scores {
		case 0: // nil
		case 1:
			r.Scores = []Score{}
		default:
			for i := range int(scores % 20) {
				sc := Score{Metric: metric, Kind: Kind(kind), Value: value * float64(i), Pass: pass != (i%2 == 0)}
				if i%3 == 0 {
					sc.Label, sc.Reason = label, reason
				}
				r.Scores = append(r.Scores, sc)
			}
		}
		prefix := []byte("prefix:")
		want, wantErr := AppendMarshal(bytes.Clone(prefix), r)
		got, gotErr := AppendScored(bytes.Clone(prefix), r)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("error %v, the JSON library's %v", gotErr, wantErr)
		}
		if wantErr != nil {
			if !bytes.Equal(got, prefix) {
				t.Fatalf("on error the buffer holds %q, want the prefix alone", got)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendScored:\n%s\nthe JSON library:\n%s", got, want)
		}
	})
}

func BenchmarkAppendScored(b *testing.B) {
	r := benchScoredRecord()
	for _, bc := range []struct {
		name   string
		encode func([]byte, *Scored) ([]byte, error)
	}{
		{"hand-written", AppendScored},
		{"json-library", func(dst []byte, r *Scored) ([]byte, error) { return AppendMarshal(dst, r) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for range b.N {
				var err error
				if buf, err = bc.encode(buf[:0], r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchScoredRecord() *Scored {
	r := &Scored{EventID: "01JD00000000000000000001", Timestamp: time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC),
		Series: Series{App: "shop", Environment: "production", Feature: "product-search", Model: "gpt-4o-mini", PromptVersion: "v12"},
		Stage:  "live", Source: "checks", RulesVersion: "r-2026-11-20"}
	for i := range 18 {
		// Checks score mostly 0 or 1; ratios and measures the rest.
		sc := Score{Metric: "metric_" + string(rune('a'+i)), Kind: "ratio", Value: float64(i % 2), Pass: i%5 != 0}
		if i%3 == 0 {
			sc.Value = float64(i) / 7
		}
		if i%4 == 0 {
			sc.Label, sc.Reason = "flagged", "phrase matched: as an AI language model"
		}
		r.Scores = append(r.Scores, sc)
	}
	return r
}
