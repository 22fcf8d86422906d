package scoring

import (
	"math/rand/v2"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

// ref returns an ok event with output and a reference answer.
func ref(output, expected string) *event.Event {
	return with(out(output), func(e *event.Event) { e.Expected = expected })
}

func TestExactMatch(t *testing.T) {
	runCases(t, "exact_match", event.KindCheck, nil, []checkCase{
		{"squad normalisation", ref("The Eiffel Tower.", "eiffel tower"), pass(1)},
		{"articles in the middle", ref("Tower of the Winds", "tower of winds"), pass(1)},
		{"german", ref("Die Hauptstadt ist Berlin!", "die Hauptstadt ist Berlin"), pass(1)},
		{"japanese", ref("東京です。", "東京です"), pass(1)},
		{"nfd", ref("Café", "cafe\u0301"), pass(1)},
		{"more words", ref("Paris, France", "Paris"), fail(0, "mismatch")},
		{"accents matter", ref("resume", "résumé"), fail(0, "mismatch")},
		{"order matters", ref("Tower Eiffel", "Eiffel Tower"), fail(0, "mismatch")},
		{"no reference", out("Paris"), skip},
		{"error event", failed(ref("", "Paris")), skip},
	})
	runSpec(t, Spec{Name: "exact_match", Params: Params{"normalize": false}}, event.KindCheck, nil, []checkCase{
		{"surrounding space", ref(" Paris\n", "Paris"), pass(1)},
		{"case", ref("paris", "Paris"), fail(0, "mismatch")},
	})
}

func TestTokenF1(t *testing.T) {
	runCases(t, "token_f1", event.KindMeasure, nil, []checkCase{
		{"same words", ref("the cat sat on the mat", "a cat sat on a mat"), pass(1)},
		{"partial overlap", ref("Paris is the capital of France", "The capital is Paris"), pass(0.75)},
		{"repeated words clipped", ref("yes yes yes", "yes no"), fail(0.4, "low_similarity")},
		{"no overlap", ref("London", "Paris"), fail(0, "low_similarity")},
		{"spanish", ref("La capital de Francia es París", "París"), fail(2.0/7, "low_similarity")},
		{"both without words", ref("...", "!!!"), pass(1)},
		{"empty output", ref("", "Paris"), fail(0, "low_similarity")},
		{"no reference", out("Paris"), skip},
	})
}

func TestRougeL(t *testing.T) {
	runCases(t, "rouge_l", event.KindMeasure, nil, []checkCase{
		{"identical", ref("the cat was under the bed", "The cat was under the bed."), pass(1)},
		{"one extra word", ref("the cat was found under the bed", "the cat was under the bed"), about(pass(12.0 / 13))},
		{"reordered", ref("bed the under was cat the", "the cat was under the bed"), pass(0.5)},
		{"little in common", ref("a dog barked at the mailman outside", "the cat was under the bed"), about(fail(2.0/13, "low_similarity"))},
		{"japanese characters", ref("東京は日本の首都", "日本の首都は東京"), pass(0.625)},
		{"no overlap", ref("London", "Paris"), fail(0, "low_similarity")},
		{"no reference", out("Paris"), skip},
	})
}

func TestBLEU(t *testing.T) {
	runCases(t, "bleu", event.KindMeasure, nil, []checkCase{
		{"identical", ref("the cat sat on the mat", "the cat sat on the mat"), pass(1)},
		{"single word", ref("Paris", "paris"), pass(1)},
		{"clipped and short", ref("the cat the cat", "the cat sat on the mat"), about(fail(0.1141, "low_similarity"))},
		{"no overlap", ref("London is big", "Paris"), about(fail(0.0550, "low_similarity"))},
		{"no reference", out("Paris"), skip},
	})
}

func TestLevenshteinRatio(t *testing.T) {
	runCases(t, "levenshtein_ratio", event.KindMeasure, nil, []checkCase{
		{"kitten sitting", ref("kitten", "sitting"), about(pass(8.0 / 13))},
		{"case and spaces", ref("Hello   World\n", "hello world"), pass(1)},
		{"japanese", ref("東京都", "東京"), pass(0.8)},
		{"nfd", ref("Crème brûlée", "Cre\u0300me bru\u0302le\u0301e"), pass(1)},
		{"different", ref("abc", "xyz"), fail(0, "low_similarity")},
		{"no reference", out("abc"), skip},
	})
	runSpec(t, Spec{Name: "levenshtein_ratio", Params: Params{"max_chars": 3.0}}, event.KindMeasure, nil, []checkCase{
		{"cut to max_chars", ref("abcdef", "abcxyz"), pass(1)},
	})
}

func TestJSONEqual(t *testing.T) {
	runCases(t, "json_equal", event.KindCheck, nil, []checkCase{
		{"key order and number form", ref(`{"b":[1,2.0],"a":{"x":"ü"}}`, `{"a": {"x": "ü"}, "b": [1, 2]}`), pass(1)},
		{"exponent", ref(`[1e2, true, null]`, `[100, true, null]`), pass(1)},
		{"different value", ref(`{"a":1,"b":[1,3]}`, `{"a":1,"b":[1,2]}`), fail(0, "different")},
		{"missing key", ref(`{"a":1}`, `{"a":1,"b":2}`), fail(0, "different")},
		{"extra key", ref(`{"a":1,"c":2}`, `{"a":1}`), fail(0, "different")},
		{"type", ref(`{"a":"1"}`, `{"a":1}`), fail(0, "different")},
		{"array length", ref(`[1,2,3]`, `[1,2]`), fail(0, "different")},
		{"not json", ref("```json\n{\"a\":1}\n```", `{"a":1}`), fail(0, "not_json")},
		{"trailing text", ref(`{"a":1} done`, `{"a":1}`), fail(0, "not_json")},
		{"reference not json", ref(`{"a":1}`, "Paris"), skip},
		{"reference is a scalar", ref(`42`, `42`), skip},
		{"reference broken", ref(`{"a":1}`, `{"a":`), skip},
		{"no reference", out(`{}`), skip},
	})
	s, err := New(Options{Checks: []Spec{{Name: "json_equal"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ output, expected, reason string }{
		{`{"a":1,"b":[1,3]}`, `{"a":1,"b":[1,2]}`, "Output differs from the expected JSON at /b/1: got 3, want 2."},
		{`{"a/b":1}`, `{"a/b":2}`, "Output differs from the expected JSON at /a~1b: got 1, want 2."},
		{`{"a":1}`, `{"a":1,"b":2}`, "Output differs from the expected JSON at /b: missing."},
		{`[1]`, `{"a":1}`, "Output differs from the expected JSON at the top level: got an array, want an object."},
	} {
		got := s.Score(ref(tt.output, tt.expected), nil)
		if len(got) != 1 || got[0].Reason != tt.reason {
			t.Errorf("Score(%q) = %v, want reason %q", tt.output, got, tt.reason)
		}
	}
}

// TestLCSLength compares the bit-parallel LCS with dynamic programming.
func TestLCSLength(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := new(Input)
	for range 500 {
		a := make([]uint64, rng.IntN(150))
		b := make([]uint64, rng.IntN(150))
		alphabet := 1 + rng.IntN(6)
		for i := range a {
			a[i] = uint64(1 + rng.IntN(alphabet))
		}
		for i := range b {
			b[i] = uint64(1 + rng.IntN(alphabet))
		}
		if got, want := lcsLength(in, a, b), lcsDP(a, b); got != want {
			t.Fatalf("lcsLength(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
}

func lcsDP(a, b []uint64) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
