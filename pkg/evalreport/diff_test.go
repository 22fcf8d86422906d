package evalreport

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWordDiff(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []Op
	}{
		{"both empty", "", "", []Op{}},
		{"same", "a b", "a b", []Op{{Equal, "a b"}}},
		{"insert at end", "ships today", "ships today, tracked",
			[]Op{{Equal, "ships "}, {Delete, "today"}, {Insert, "today, tracked"}}},
		{"replace a word", "a light bag", "a sturdy bag",
			[]Op{{Equal, "a "}, {Delete, "light"}, {Insert, "sturdy"}, {Equal, " bag"}}},
		{"delete words", "one two three four", "one four",
			[]Op{{Equal, "one "}, {Delete, "two three "}, {Equal, "four"}}},
		{"from empty", "", "new text", []Op{{Insert, "new text"}}},
		{"to empty", "old text", "", []Op{{Delete, "old text"}}},
		{"whitespace change", "a b", "a\n\nb", []Op{{Equal, "a"}, {Delete, " "}, {Insert, "\n\n"}, {Equal, "b"}}},
		{"markup is just words", "<b>x</b> y", "<i>x</i> y", []Op{{Delete, "<b>x</b>"}, {Insert, "<i>x</i>"}, {Equal, " y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WordDiff(tc.old, tc.new)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WordDiff(%q, %q) mismatch (-want +got):\n%s", tc.old, tc.new, diff)
			}
		})
	}
}

func TestWordDiffLongInputsStayBounded(t *testing.T) {
	old := strings.Repeat("alpha beta ", 3000)
	new := strings.Repeat("beta alpha ", 3000)
	ops := WordDiff(old, new)
	checkReconstructs(t, old, new, ops)
}

// TestWordDiffLongTextsDiffBySentence: two changes far apart in a long answer leave a middle
// too large to align word by word; aligning sentences first still finds just the two words.
func TestWordDiffLongTextsDiffBySentence(t *testing.T) {
	var a, b strings.Builder
	for n := range 600 {
		s := fmt.Sprintf("Sentence %d says the parcel ships within two days.\n", n)
		a.WriteString(s)
		switch n {
		case 3:
			s = strings.Replace(s, "two", "three", 1)
		case 590:
			s = strings.Replace(s, "parcel", "order", 1)
		}
		b.WriteString(s)
	}
	ops := WordDiff(a.String(), b.String())
	checkReconstructs(t, a.String(), b.String(), ops)
	var changes []Op
	for _, op := range ops {
		if op.Kind != Equal {
			changes = append(changes, op)
		}
	}
	want := []Op{{Delete, "two"}, {Insert, "three"}, {Delete, "parcel"}, {Insert, "order"}}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes of a long text (-want +got):\n%s", diff)
	}
}

func checkReconstructs(tb testing.TB, old, new string, ops []Op) {
	tb.Helper()
	var a, b strings.Builder
	for i, op := range ops {
		if op.Text == "" {
			tb.Fatalf("WordDiff(%q, %q): op %d is empty", old, new, i)
		}
		if i > 0 && ops[i-1].Kind == op.Kind {
			tb.Fatalf("WordDiff(%q, %q): ops %d and %d share kind %d", old, new, i-1, i, op.Kind)
		}
		switch op.Kind {
		case Equal:
			a.WriteString(op.Text)
			b.WriteString(op.Text)
		case Delete:
			a.WriteString(op.Text)
		case Insert:
			b.WriteString(op.Text)
		}
	}
	if a.String() != old || b.String() != new {
		tb.Fatalf("WordDiff(%q, %q) rebuilds (%q, %q)", old, new, a.String(), b.String())
	}
}

func FuzzWordDiff(f *testing.F) {
	f.Add("a light bag", "a sturdy bag")
	f.Add("", "x")
	f.Add("<script>alert(1)</script>", "<script>alert(2)</script> ok")
	f.Add("a\xffb c", "a\xffb  d")
	f.Add("naïve café\u00a0x", "naïve  cafe\u2003x")
	f.Add("One. Two three.\nFour five. Six.", "One. Two 3.\nFour five! Six.")
	f.Fuzz(func(t *testing.T, old, new string) {
		checkReconstructs(t, old, new, WordDiff(old, new))
		// Again with a tiny table, so the sentence-first path runs on small inputs too.
		defer func(n int) { maxCells = n }(maxCells)
		maxCells = 4
		checkReconstructs(t, old, new, WordDiff(old, new))
	})
}
