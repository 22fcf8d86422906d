package scoring

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

// wordsOf returns the words of s as strings.
func wordsOf(s string) []string {
	t := Text{segs: []string{s}}
	var out []string
	for _, w := range t.Words() {
		out = append(out, t.WordString(w))
	}
	return out
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"The quick brown fox.", []string{"The", "quick", "brown", "fox"}},
		{"Don't worry, it’s fixed.", []string{"Don't", "worry", "it’s", "fixed"}},
		{"Aujourd'hui, c'est l'été.", []string{"Aujourd'hui", "c'est", "l'été"}},
		{"'quoted' words''", []string{"quoted", "words"}},
		{"Die Bestellung wurde am 12. März versandt.", []string{"Die", "Bestellung", "wurde", "am", "12", "März", "versandt"}},
		{"iPhone 15の価格は999ドルです", []string{"iPhone", "15", "の", "価", "格", "は", "999", "ド", "ル", "で", "す"}},
		{"नमस्ते दुनिया", []string{"नमस्ते", "दुनिया"}},
		{"Привет, как дела?", []string{"Привет", "как", "дела"}},
		{"3.5 GHz, e-mail_x", []string{"3", "5", "GHz", "e", "mail", "x"}},
		{"\xffab\xfecd", []string{"ab", "cd"}},
		{"", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, wordsOf(tt.in)); diff != "" {
			t.Errorf("Words(%q) differ (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestWordKeys(t *testing.T) {
	same := [][2]string{
		{"Hello", "hELLO"},
		{"don't", "DON’T"},
		{"café", "cafe\u0301"},                     // NFC and NFD
		{"ΣΟΦΟΣ", "σοφος"},                         // final sigma
		{"Straße", "STRAßE"},                       // ß has no single upper case in Go
		{"ÉLÈVE", "élève"},                         // accented capitals
		{"abcdefghijklmnopq", "ABCDEFGHIJKLMNOPQ"}, // longer than 8 bytes
	}
	for _, p := range same {
		if a, b := foldKey(p[0]), foldKey(p[1]); a != b {
			t.Errorf("foldKey(%q) = %x, foldKey(%q) = %x, want equal", p[0], a, p[1], b)
		}
	}
	differ := [][2]string{{"cafe", "café"}, {"resume", "résumé"}, {"ab", "ba"}, {"a", "aa"}, {"abcdefgh", "abcdefgh1"}}
	for _, p := range differ {
		if a, b := foldKey(p[0]), foldKey(p[1]); a == b {
			t.Errorf("foldKey(%q) = foldKey(%q) = %x, want different", p[0], p[1], a)
		}
	}
	// Keys from the analysis equal foldKey, whatever the surroundings.
	text := "Zürich, ABCDEFGHIJ and don’t; 東京 e\u0301te end"
	tx := Text{segs: []string{text}}
	for _, w := range tx.Words() {
		if want := foldKey(tx.WordString(w)); w.Key != want {
			t.Errorf("key of %q in %q = %x, want foldKey = %x", tx.WordString(w), text, w.Key, want)
		}
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"One sentence without an end", 1},
		{"First. Second! Third? Fourth…", 4},
		{"Dr. Smith arrived at 3.30 p.m. today, e.g. by train.", 1},
		{"Wait... what happened?", 1},
		{"He said \"stop.\" Then he left.", 2},
		{"Hard-wrapped text continues\non the next line without ending.", 1},
		{"Paragraph one\n\nParagraph two", 2},
		{"Steps:\n1. Open the app.\n2. Tap Settings\n3. Done", 4},
		{"Steps:\n- Open the app\n- Tap Settings\n* Done", 4},
		{"# Title\nBody text here.", 2},
		{"東京は日本の首都です。人口は約1400万人です。", 2},
		{"¿Dónde está? Aquí.", 2},
		{"Der Termin ist im März. Bitte kommen Sie z.B. um 9 Uhr.", 2},
		{"", 0},
		{"!!! ...", 0},
	}
	for _, tt := range tests {
		tx := Text{segs: []string{tt.in}}
		if got := tx.Stats().Sentences; got != tt.want {
			t.Errorf("Sentences(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestStats(t *testing.T) {
	tx := Text{segs: []string{"Ünïcödé ABC def 123 東京!! \u200b", "  second segment  "}}
	got := tx.Stats()
	want := Stats{Bytes: 54, Runes: 44, Visible: 33, Letters: 28, Upper: 4, Lower: 22, Latin: 26, Digits: 3,
		Words: 8, Sentences: 2, Run: 2, RunRune: '!'}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats() differ (-want +got):\n%s", diff)
	}
}

// TestBlockPathMatchesScalar compares the 64-byte block path of the analysis with the
// character-by-character path on texts that cross block boundaries in every way.
func TestBlockPathMatchesScalar(t *testing.T) {
	pieces := []string{"word", "Word", "WORD", "don't", "l'été", " ", "  ", "\n", "\n\n", ". ", "! ", "? ",
		"3.5", "1. ", "- ", "# ", "Dr. ", "e.g. ", "''", "'", "東京", "é", "e\u0301", "—", "…", "!!!",
		"aaaaaaaaaaaaaaa", "-----", "12345678901", "(415) 555-0132", "\"", "x", "\xff", "𝔸"}
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{benchmarkText, strings.Repeat("a", 200), strings.Repeat("ab ", 100), strings.Repeat("'a", 70)}
	for range 400 {
		var b strings.Builder
		for b.Len() < 300 {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		texts = append(texts, b.String())
	}
	for _, s := range texts {
		compareScalar(t, s)
	}
}

func compareScalar(tb testing.TB, s string) {
	tb.Helper()
	fast := Text{segs: []string{s, s[len(s)/3:]}}
	fast.analyze()
	scalarOnly = true
	slow := Text{segs: []string{s, s[len(s)/3:]}}
	slow.analyze()
	scalarOnly = false
	if diff := cmp.Diff(slow.words, fast.words); diff != "" {
		tb.Fatalf("block path words of %q differ from the scalar path (-scalar +block):\n%s", s, diff)
	}
	if diff := cmp.Diff(slow.stats, fast.stats); diff != "" {
		tb.Fatalf("block path stats of %q differ from the scalar path (-scalar +block):\n%s", s, diff)
	}
}

func FuzzAnalysis(f *testing.F) {
	f.Add(benchmarkText)
	f.Add(strings.Repeat("Hello, world! ", 10))
	f.Add(strings.Repeat("ab'cd ", 20) + "東京")
	f.Fuzz(func(t *testing.T, s string) {
		compareScalar(t, s)
		tx := Text{segs: []string{s}}
		st := tx.Stats()
		if st.Runes != utf8.RuneCountInString(s) {
			t.Errorf("Stats(%q).Runes = %d, want %d", s, st.Runes, utf8.RuneCountInString(s))
		}
		for _, w := range tx.Words() {
			if w.Start >= w.End || int(w.End) > len(s) {
				t.Errorf("Words(%q): bad word %+v", s, w)
			}
		}
	})
}

func TestInputTexts(t *testing.T) {
	ev := &event.Event{
		Input: "Where is my parcel?",
		Messages: []event.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "developer", Content: "Use tools."},
			{Role: "user", Content: "Hello"},
			{Role: "assistant", Content: "Hi!"},
			{Role: "tool", Content: `{"status":"in transit"}`},
			{Role: "user", Content: ""},
		},
		Context: []event.Passage{{ID: "a", Text: "one"}, {ID: "b"}, {ID: "c", Text: "three"}},
	}
	in := NewInput(ev)
	if diff := cmp.Diff([]string{"Where is my parcel?", "Hello", `{"status":"in transit"}`}, in.Prompt().Segments()); diff != "" {
		t.Errorf("Prompt() segments differ (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Be brief.", "Use tools."}, in.System().Segments()); diff != "" {
		t.Errorf("System() segments differ (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"one", "", "three"}, in.Context().Segments()); diff != "" {
		t.Errorf("Context() segments differ (-want +got):\n%s", diff)
	}
	if !in.Expected().Empty() {
		t.Errorf("Expected() = %q, want empty", in.Expected().Segments())
	}
	ev2 := *ev
	ev2.SystemInstructions = "Answer in German."
	if got := NewInput(&ev2).System().Segments(); len(got) != 1 || got[0] != "Answer in German." {
		t.Errorf("System() with system_instructions = %q, want only the field", got)
	}
	// Sentence starts at every segment.
	p := in.Prompt()
	var starts []string
	for _, w := range p.Words() {
		if w.Flags&WordSentenceStart != 0 {
			starts = append(starts, p.WordString(w))
		}
	}
	if diff := cmp.Diff([]string{"Where", "Hello", "status"}, starts); diff != "" {
		t.Errorf("sentence starts of the prompt differ (-want +got):\n%s", diff)
	}
}

// TestCommonCJK checks the fast path of isCJK against the Unicode tables, and that the keys of
// those characters need no folding.
func TestCommonCJK(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		slow := r >= 0x2E80 && (unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー')
		if isCJK(r) != slow {
			t.Fatalf("isCJK(%U) = %v, want %v", r, !slow, slow)
		}
		if commonCJK(r) {
			if !slow {
				t.Fatalf("commonCJK(%U) = true, but it is no Han, Hiragana or Katakana", r)
			}
			if s := string(r); foldKey(s) != hashString(s, 0) {
				t.Fatalf("foldKey(%U) differs from the hash of its bytes", r)
			}
		}
	}
}

func TestTable(t *testing.T) {
	var tb table
	for round := range 3 {
		tb.reset(10)
		for i := range 1000 {
			k := uint64(i*7919 + 1)
			if got := tb.add(k, 2); got != 2 {
				t.Fatalf("round %d: add(%d) = %d, want 2", round, k, got)
			}
		}
		for i := range 1000 {
			if got := tb.get(uint64(i*7919 + 1)); got != 2 {
				t.Fatalf("round %d: get = %d, want 2", round, got)
			}
		}
		if tb.has(7) {
			t.Fatalf("round %d: has(7) = true", round)
		}
	}
	// The generation wraps without reviving old entries.
	tb.reset(4)
	tb.put(42, 1)
	tb.gen = ^uint32(0)
	tb.reset(4)
	if tb.has(42) {
		t.Errorf("after the generation wrapped, has(42) = true")
	}
}
