package scoring

import (
	"math"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

// Input is what a check scores: one event and a shared, lazily computed analysis of its texts.
// Each text is split into words and sentences the first time a check asks for it, and the result
// is reused by every later check, so no check tokenizes on its own.
//
// An Input is owned by one goroutine and valid only during the Check.Score call it is passed to;
// the [Scorer] reuses it for the next event. Checks must not modify what its methods return.
type Input struct {
	ev     *event.Event
	texts  [numTexts]Text
	loaded uint8 // bit k set: texts[k] holds the event's segments

	// Scratch space for the checks of this package, reused between events.
	tabs  [3]table
	ints  []int32
	bits  []uint64
	seqs  [2][]uint64
	runes [2][]rune
	marks []bool
	buf   []byte
}

const (
	textOutput = iota
	textPrompt
	textSystem
	textExpected
	textContext
	numTexts
)

// NewInput returns an analysis of ev for calling a [Check] directly, as tests and tools do. The
// Scorer recycles its own Inputs.
func NewInput(ev *event.Event) *Input {
	in := new(Input)
	in.reset(ev)
	return in
}

func (in *Input) reset(ev *event.Event) {
	in.ev = ev
	in.loaded = 0
}

// release drops every reference to the event, so a pooled Input does not keep it alive, and
// frees buffers that a huge event grew.
func (in *Input) release() {
	in.ev = nil
	for k := range in.texts {
		t := &in.texts[k]
		clear(t.segs)
		t.segs = t.segs[:0]
		if cap(t.words) > 1<<16 {
			t.words = nil
		}
	}
	for i := range in.tabs {
		if len(in.tabs[i].slots) > 1<<17 {
			in.tabs[i] = table{}
		}
	}
	if cap(in.ints) > 1<<17 || cap(in.bits) > 1<<17 || cap(in.buf) > 1<<20 || cap(in.marks) > 1<<16 {
		in.ints, in.bits, in.buf, in.marks = nil, nil, nil, nil
	}
	for i := range in.runes {
		if cap(in.runes[i]) > 1<<17 {
			in.runes[i] = nil
		}
		if cap(in.seqs[i]) > 1<<17 {
			in.seqs[i] = nil
		}
	}
}

// Event returns the event being scored.
func (in *Input) Event() *event.Event { return in.ev }

// Output returns the model's output as one segment.
func (in *Input) Output() *Text { return in.text(textOutput) }

// Prompt returns what the user and tools sent the model: the input field, then the content of
// every message whose role is not "system", "developer" or "assistant", one segment each, empty
// ones left out.
func (in *Input) Prompt() *Text { return in.text(textPrompt) }

// System returns the system instructions: the system_instructions field when set, else the
// content of the "system" and "developer" messages, one segment each.
func (in *Input) System() *Text { return in.text(textSystem) }

// Expected returns the reference answer (expected) as one segment; it is empty when unset.
func (in *Input) Expected() *Text { return in.text(textExpected) }

// Context returns the retrieved passages, one segment per passage in event order (segment i is
// the text of ev.Context[i], even when empty).
func (in *Input) Context() *Text { return in.text(textContext) }

func (in *Input) text(k int) *Text {
	t := &in.texts[k]
	if in.loaded&(1<<k) != 0 {
		return t
	}
	in.loaded |= 1 << k
	t.segs, t.analyzed = t.segs[:0], false
	ev := in.ev
	switch k {
	case textOutput:
		t.segs = append(t.segs, ev.Output)
	case textExpected:
		if ev.Expected != "" {
			t.segs = append(t.segs, ev.Expected)
		}
	case textPrompt:
		if ev.Input != "" {
			t.segs = append(t.segs, ev.Input)
		}
		for _, m := range ev.Messages {
			if m.Content != "" && !isSystemRole(m.Role) && !strings.EqualFold(m.Role, "assistant") {
				t.segs = append(t.segs, m.Content)
			}
		}
	case textSystem:
		if ev.SystemInstructions != "" {
			t.segs = append(t.segs, ev.SystemInstructions)
			break
		}
		for _, m := range ev.Messages {
			if m.Content != "" && isSystemRole(m.Role) {
				t.segs = append(t.segs, m.Content)
			}
		}
	case textContext:
		for _, p := range ev.Context {
			t.segs = append(t.segs, p.Text)
		}
	}
	return t
}

func isSystemRole(role string) bool {
	return strings.EqualFold(role, "system") || strings.EqualFold(role, "developer")
}

// Text is one text of an event, in one or more segments (a prompt's messages, the retrieved
// passages), with its words and statistics computed on first use.
type Text struct {
	segs     []string
	words    []Word
	stats    Stats
	analyzed bool
	fold     []byte // scratch for folding non-ASCII words
	nfc      []byte
}

// Word is one word of a [Text]: a maximal run of letters and digits (unicode.IsLetter,
// unicode.IsDigit), with combining marks and an apostrophe between letters ("don't",
// "aujourd'hui") kept inside. Each Han, Hiragana or Katakana character is a word of its own, as
// word processors count them in text written without spaces.
type Word struct {
	// Start and End are the byte offsets of the word in segment Seg.
	Start, End int32
	// Key identifies the folded word: words that differ only in case, apostrophe style (’ or ')
	// or Unicode normalisation (NFC or NFD) have the same key.
	Key   uint64
	Seg   int32
	Flags WordFlag
}

// WordFlag describes a word.
type WordFlag uint16

// lowerBit returns 0x20, the bit that lower-cases an ASCII letter, for the flags of an upper-case
// ASCII letter, and 0 for any other byte's.
func (f WordFlag) lowerBit() byte { return byte(f&WordUpper) << 3 }

// The scanner turns WordUpper into WordCapitalized with a shift.
var _ = [1]struct{}{}[WordUpper>>1-WordCapitalized]

const (
	// WordSentenceStart marks the first word of a sentence; every segment starts one.
	WordSentenceStart WordFlag = 1 << iota
	// WordCapitalized marks a word whose first character is an upper-case letter.
	WordCapitalized
	// WordUpper marks a word with an upper-case letter.
	WordUpper
	// WordLower marks a word with a lower-case letter.
	WordLower
	// WordLetter marks a word with a letter.
	WordLetter
	// WordDigit marks a word with a decimal digit.
	WordDigit
	// WordCJK marks a Han, Hiragana or Katakana character.
	WordCJK
	// WordNonASCII marks a word with a character outside ASCII.
	WordNonASCII
)

// Stats counts the characters, words and sentences of a [Text]. Invalid UTF-8 counts as U+FFFD.
type Stats struct {
	Bytes, Runes int
	// Visible counts the characters other than white space, control and format characters.
	Visible int
	// Letters counts the letters; Upper and Lower those with case; Latin those in Latin script.
	Letters, Upper, Lower, Latin int
	Digits                       int
	Words                        int
	// Sentences counts the sentences that hold a word. A sentence ends at ".", "!", "?" or "…"
	// followed by white space and not by a lower-case letter (and not after a single letter or a
	// common abbreviation such as "Dr."), right after "。", "！" or "？", at a blank line, and
	// around list items and headings.
	Sentences int
	// Run is the longest run of one repeated character (white space and characters that draw
	// rules, such as - = _ * # ~ . and box drawing, left out), and RunRune that character.
	Run     int
	RunRune rune
}

// Segments returns the segments of the text.
func (t *Text) Segments() []string { return t.segs }

// Empty reports whether the text has no characters.
func (t *Text) Empty() bool {
	for _, s := range t.segs {
		if s != "" {
			return false
		}
	}
	return true
}

// Words returns the words of the text, in order.
func (t *Text) Words() []Word {
	t.analyze()
	return t.words
}

// Stats returns the statistics of the text.
func (t *Text) Stats() Stats {
	t.analyze()
	return t.stats
}

// WordString returns the text of w, a word of t.
func (t *Text) WordString(w Word) string { return t.segs[w.Seg][w.Start:w.End] }

// str returns the text of *w, a word of t. Hot loops take words by pointer: copying the 24-byte
// Word costs more than the work done with it.
func (t *Text) str(w *Word) string { return t.segs[w.Seg][w.Start:w.End] }

// span returns the text from the start of word a to the end of word b, which must be in the same
// segment.
func (t *Text) span(a, b Word) string { return t.segs[a.Seg][a.Start:b.End] }

func (t *Text) analyze() {
	if t.analyzed {
		return
	}
	t.analyzed = true
	t.words = t.words[:0]
	t.stats = Stats{}
	for i, s := range t.segs {
		if len(s) > math.MaxInt32 {
			s = s[:math.MaxInt32]
		}
		t.scan(int32(i), s)
	}
	t.stats.Words = len(t.words)
	for i := range t.words {
		if t.words[i].Flags&WordSentenceStart != 0 {
			t.stats.Sentences++
		}
	}
}

// ASCII character classes for the scanner.
const (
	cWord    = 1 << iota // letter or digit
	cSpace               // space, tab, CR, VT, FF
	cTerm                // . ! ?
	cNeutral             // quotes, closing brackets and emphasis marks: they keep a terminator pending
	cBullet              // starts a list item or heading at the start of a line
	cRule                // draws rules and leaders; not counted in character runs
)

// asciiClass and asciiFlags classify ASCII bytes. They are built by a variable initializer, not
// init, because other package variables (stop words, phrase lists) analyse text while the
// package initializes.
var asciiClass, asciiFlags = asciiTables()

func asciiTables() (asciiClass [utf8.RuneSelf]uint8, asciiFlags [utf8.RuneSelf]WordFlag) {
	for c := range utf8.RuneSelf {
		switch {
		case 'a' <= c && c <= 'z':
			asciiClass[c], asciiFlags[c] = cWord, WordLower|WordLetter
		case 'A' <= c && c <= 'Z':
			asciiClass[c], asciiFlags[c] = cWord, WordUpper|WordLetter
		case '0' <= c && c <= '9':
			asciiClass[c], asciiFlags[c] = cWord, WordDigit
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			asciiClass[c] = cSpace | cRule
		case c == '\n':
			asciiClass[c] = cRule
		case c == '.':
			asciiClass[c] = cTerm | cRule
		case c == '!' || c == '?':
			asciiClass[c] = cTerm
		}
	}
	for _, c := range `"'’)]}>*_~` + "`" {
		if c < utf8.RuneSelf {
			asciiClass[c] |= cNeutral
		}
	}
	for _, c := range "-*+#>" {
		asciiClass[c] |= cBullet
	}
	for _, c := range "-=_*#~" {
		asciiClass[c] |= cRule
	}
	return asciiClass, asciiFlags
}

// isRuleChar reports whether r is white space or draws rules and leaders.
func isRuleChar(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r]&cRule != 0
	}
	switch r {
	case '·', '…':
		return true
	}
	return unicode.IsSpace(r) || r >= 0x2500 && r <= 0x257F
}

func isCJK(r rune) bool {
	return commonCJK(r) || r >= 0x2E80 && (unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー')
}

// commonCJK reports whether r is a hiragana, a katakana or a CJK unified ideograph of the basic
// block or extension A: the bulk of Chinese and Japanese text, which has no case and is in NFC.
// It is isCJK without table lookups for those ranges.
func commonCJK(r rune) bool {
	return 0x4E00 <= r && r <= 0x9FFF || 0x3041 <= r && r <= 0x3096 || 0x309D <= r && r <= 0x309F ||
		0x30A1 <= r && r <= 0x30FA || 0x30FC <= r && r <= 0x30FF || 0x3400 <= r && r <= 0x4DBF
}

func isVisible(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r)
}

// letterAt reports whether s[i:] starts with a letter that joins a word across an apostrophe.
func letterAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if c := s[i]; c < utf8.RuneSelf {
		return asciiFlags[c]&WordLetter != 0
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) && !isCJK(r)
}

// scanner holds the state of one pass over a segment.
type scanner struct {
	t   *Text
	seg int32
	s   string

	boundary  bool // the next word starts a sentence
	term      bool // a sentence terminator came after the last word
	spaced    bool // white space came after the terminator
	cjkTerm   bool // the terminator needs no white space after it
	abbrev    bool // the last word was an abbreviation followed by "."
	newlines  int  // line breaks since the last word
	lineStart bool // only white space since the start of the line
	item      bool // the current line is a list item or heading
	prevItem  bool // the previous line was a list item or heading
	skipTerm  int  // byte offset of the dot of a list number, which ends no sentence

	// Character runs, shared with the non-ASCII path.
	prev    rune
	run     int
	bestRun int
	best    rune

	// The current word.
	start int
	flags WordFlag
	ascii bool
	cjk   bool // a single common CJK character: its key is the hash of its bytes

	hist [utf8.RuneSelf]int32 // ASCII bytes of the scalar path, turned into Stats at the end
}

func (t *Text) scan(seg int32, s string) {
	st := &t.stats
	if need := len(t.words) + len(s)/2 + 1; cap(t.words) < need {
		t.words = append(make([]Word, 0, max(need, 2*cap(t.words))), t.words...)
	}
	sc := scanner{t: t, seg: seg, s: s, start: -1, boundary: true, lineStart: true, skipTerm: -1,
		prev: -1, bestRun: st.Run, best: st.RunRune}
	for i := 0; i < len(s); {
		if i+64 <= len(s) && !scalarOnly && isASCIIBlock(s, i) {
			sc.block(i)
			i += 64
			continue
		}
		i = sc.scalar(i, min(i+64, len(s)))
	}
	if sc.start >= 0 {
		sc.end(len(s))
	}
	st.Run, st.RunRune = sc.bestRun, sc.best
	st.Bytes += len(s)
	for c, n := range sc.hist {
		if n == 0 {
			continue
		}
		st.Runes += int(n)
		switch {
		case 'a' <= c && c <= 'z':
			st.Lower += int(n)
			st.Letters += int(n)
			st.Latin += int(n)
		case 'A' <= c && c <= 'Z':
			st.Upper += int(n)
			st.Letters += int(n)
			st.Latin += int(n)
		case '0' <= c && c <= '9':
			st.Digits += int(n)
		}
		if c > ' ' && c < 0x7f {
			st.Visible += int(n)
		}
	}
}

// scalarOnly turns the block path off, for tests that compare it with the scalar path.
var scalarOnly = false

// scalar scans s[i:to] one character at a time, and the rest of a character that crosses to; it
// returns where it stopped.
func (sc *scanner) scalar(i, to int) int {
	s := sc.s
	prev, run := sc.prev, sc.run
	for i < to {
		c := s[i]
		if c >= utf8.RuneSelf {
			sc.prev, sc.run = prev, run
			r, size := utf8.DecodeRuneInString(s[i:])
			sc.nonASCII(i, r, size)
			prev, run = sc.prev, sc.run
			i += size
			continue
		}
		sc.hist[c]++
		cl := asciiClass[c]
		if rune(c) == prev {
			run++
			if run > sc.bestRun && cl&cRule == 0 {
				sc.bestRun, sc.best = run, rune(c)
			}
		} else {
			prev, run = rune(c), 1
			if sc.bestRun == 0 && cl&cRule == 0 {
				sc.bestRun, sc.best = 1, rune(c)
			}
		}
		if cl&cWord == 0 {
			if sc.start >= 0 {
				if c == '\'' && letterAt(s, i+1) {
					i++
					continue
				}
				sc.end(i)
			}
			sc.punct(i, rune(c), cl)
			i++
			continue
		}
		if sc.start < 0 {
			sc.begin(i, rune(c))
		}
		sc.flags |= asciiFlags[c]
		i++
	}
	sc.prev, sc.run = prev, run
	return i
}

// Lanes of eight bytes for the block path.
const (
	lanes01 = 0x0101010101010101
	lanes7f = 0x7f7f7f7f7f7f7f7f
	lanes80 = 0x8080808080808080
)

// isASCIIBlock reports whether s[i:i+64] is all ASCII.
func isASCIIBlock(s string, i int) bool {
	var or uint64
	for k := 0; k < 64; k += 8 {
		or |= load64(s, i+k)
	}
	return or&lanes80 == 0
}

// inRange marks with 0x80 the bytes of x, all ASCII, that lie in [lo, hi].
func inRange(x uint64, lo, hi byte) uint64 {
	ge := x + lanes01*uint64(0x80-lo)    // high bit set where b >= lo
	le := ^(x + lanes01*uint64(0x7f-hi)) // high bit set where b <= hi
	return ge & le & lanes80
}

// zeroBytes marks with 0x80 the zero bytes of x.
func zeroBytes(x uint64) uint64 {
	return ^((x&lanes7f + lanes7f) | x) & lanes80
}

// gather packs the high bits of the eight bytes of x into the low byte of the result, byte i
// giving bit i.
func gather(x uint64) uint64 {
	return (x >> 7 & lanes01) * 0x0102040810204080 >> 56
}

// block scans the 64 ASCII bytes s[base:base+64]: it classifies them eight at a time into bit
// masks, finds the words from the mask's transitions, and counts letters, digits and repeated
// characters with population counts. Only the bytes between words are looked at one by one, for
// the sentence state.
func (sc *scanner) block(base int) {
	s := sc.s
	var upper, lower, digit, apos, vis, eq uint64
	prevByte := uint64(0x80) // equal to no ASCII byte
	if base > 0 {
		prevByte = uint64(s[base-1])
	}
	for k := 0; k < 8; k++ {
		x := load64(s, base+8*k)
		shift := uint(8 * k)
		upper |= gather(inRange(x, 'A', 'Z')) << shift
		lower |= gather(inRange(x, 'a', 'z')) << shift
		digit |= gather(inRange(x, '0', '9')) << shift
		apos |= gather(zeroBytes(x^lanes01*'\'')) << shift
		vis |= gather(inRange(x, 0x21, 0x7e)) << shift
		eq |= gather(zeroBytes(x^(x<<8|prevByte))) << shift
		prevByte = x >> 56
	}
	letter := upper | lower
	word := letter | digit
	// An apostrophe joins a word to a letter that follows it ("don't").
	var open, nextLetter uint64
	if sc.start >= 0 {
		open = 1
	}
	if letterAt(s, base+64) {
		nextLetter = 1 << 63
	}
	word |= apos & (word<<1 | open) & (letter>>1 | nextLetter)

	st := &sc.t.stats
	st.Runes += 64
	st.Upper += bits.OnesCount64(upper)
	st.Lower += bits.OnesCount64(lower)
	st.Letters += bits.OnesCount64(letter)
	st.Latin += bits.OnesCount64(letter)
	st.Digits += bits.OnesCount64(digit)
	st.Visible += bits.OnesCount64(vis)
	sc.runs(base, eq)

	// Transitions of the word mask: word starts and ends, in order.
	pos := base // bytes before pos have been handled
	inWord := sc.start >= 0
	for tr := word ^ (word<<1 | open); tr != 0; tr &= tr - 1 {
		p := base + bits.TrailingZeros64(tr)
		if !inWord {
			// The common cases of gap and begin, inline: one space between two words of a
			// sentence.
			if p-pos == 1 && s[pos] == ' ' {
				sc.spaced = sc.spaced || sc.term
			} else {
				sc.gap(pos, p)
			}
			if !sc.boundary && !sc.term && sc.newlines == 0 {
				sc.flags = (asciiFlags[s[p]] & WordUpper) >> 1
				sc.start, sc.ascii, sc.lineStart = p, true, false
			} else {
				sc.beginSlow(p, rune(s[p]))
			}
		} else {
			sc.flags |= maskFlags(upper, lower, digit, max(sc.start, base)-base, p-base)
			sc.end(p)
			pos = p
		}
		inWord = !inWord
	}
	if inWord {
		sc.flags |= maskFlags(upper, lower, digit, max(sc.start, base)-base, 64)
	} else {
		sc.gap(pos, base+64)
	}
	sc.prev = rune(s[base+63])
}

// maskFlags returns the flags of a word made of bits [a, b) of the block masks, without
// branches.
func maskFlags(upper, lower, digit uint64, a, b int) WordFlag {
	m := ^uint64(0) >> (64 - uint(b-a)) << uint(a)
	if (upper|digit)&m == 0 && lower&m != 0 {
		return WordLower | WordLetter // most words
	}
	return WordFlag(nonzero(upper&m))*(WordUpper|WordLetter) |
		WordFlag(nonzero(lower&m))*(WordLower|WordLetter) |
		WordFlag(nonzero(digit&m))*WordDigit
}

// nonzero returns 1 when x is not 0, else 0.
func nonzero(x uint64) uint64 { return (x | -x) >> 63 }

// gap handles the bytes s[a:b], which belong to no word, for the sentence state.
func (sc *scanner) gap(a, b int) {
	for i := a; i < b; i++ {
		c := sc.s[i]
		if c == ' ' {
			if sc.term {
				sc.spaced = true
			}
			continue
		}
		sc.punct(i, rune(c), asciiClass[c])
	}
}

// runs updates the longest character run from eq, whose bit p is set where s[base+p] repeats the
// character before it.
func (sc *scanner) runs(base int, eq uint64) {
	s := sc.s
	if sc.bestRun == 0 {
		// No character counted yet: the first one that draws no rule is a run of 1.
		for p := base; p < base+64; p++ {
			if asciiClass[s[p]]&cRule == 0 {
				sc.bestRun, sc.best = 1, rune(s[p])
				break
			}
		}
	}
	end := 1 // the run that ends the block
	for m := eq; m != 0; {
		a := bits.TrailingZeros64(m)
		ones := bits.TrailingZeros64(^(m >> uint(a)))
		length := ones + 1
		if a == 0 {
			length = sc.run + ones
		}
		if c := s[base+a]; length > sc.bestRun && asciiClass[c]&cRule == 0 {
			sc.bestRun, sc.best = length, rune(c)
		}
		if a+ones == 64 {
			end = length
			break
		}
		m &^= (1<<uint(ones) - 1) << uint(a)
	}
	sc.run = end
}

// nonASCII handles one character outside ASCII.
func (sc *scanner) nonASCII(i int, r rune, size int) {
	st := &sc.t.stats
	st.Runes++
	if r == sc.prev {
		sc.run++
		if sc.run > sc.bestRun && !isRuleChar(r) {
			sc.bestRun, sc.best = sc.run, r
		}
	} else {
		sc.prev, sc.run = r, 1
		if sc.bestRun == 0 && !isRuleChar(r) {
			sc.bestRun, sc.best = 1, r
		}
	}
	switch {
	case isCJK(r):
		st.Visible++
		st.Letters++
		if sc.start >= 0 {
			sc.end(i)
		}
		sc.begin(i, r)
		sc.flags |= WordCJK | WordLetter | WordNonASCII
		sc.ascii = false
		sc.cjk = commonCJK(r)
		sc.end(i + size)
		sc.cjk = false
	case unicode.IsLetter(r):
		st.Visible++
		st.Letters++
		var f WordFlag = WordLetter | WordNonASCII
		switch {
		case unicode.IsUpper(r):
			st.Upper++
			f |= WordUpper
		case unicode.IsLower(r):
			st.Lower++
			f |= WordLower
		}
		if unicode.Is(unicode.Latin, r) {
			st.Latin++
		}
		if sc.start < 0 {
			sc.begin(i, r)
		}
		sc.flags |= f
		sc.ascii = false
	case unicode.IsDigit(r):
		st.Visible++
		st.Digits++
		if sc.start < 0 {
			sc.begin(i, r)
		}
		sc.flags |= WordDigit | WordNonASCII
		sc.ascii = false
	case sc.start >= 0 && unicode.IsMark(r):
		// Vowel signs and accents written as combining marks stay in the word.
		st.Visible++
		sc.ascii = false
	case sc.start >= 0 && (r == '’' || r == 'ʼ') && letterAt(sc.s, i+size):
		// An apostrophe between letters joins them.
		st.Visible++
		sc.ascii = false
	default:
		if sc.start >= 0 {
			sc.end(i)
		}
		if isVisible(r) {
			st.Visible++
		}
		sc.punctRune(r)
	}
}

// begin starts a word at s[i], whose first character is r, and decides whether it starts a
// sentence.
func (sc *scanner) begin(i int, r rune) {
	if !sc.boundary && !sc.term && sc.newlines == 0 && r < utf8.RuneSelf {
		// Inside a sentence, the common case.
		sc.flags = (asciiFlags[r] & WordUpper) >> 1 // WordCapitalized when r is upper case
		sc.start, sc.ascii = i, true
		sc.lineStart = false
		return
	}
	sc.beginSlow(i, r)
}

func (sc *scanner) beginSlow(i int, r rune) {
	if sc.lineStart && '0' <= r && r <= '9' {
		if dot := numberMarker(sc.s, i); dot >= 0 {
			sc.item, sc.skipTerm = true, dot
		}
	}
	sent := sc.boundary ||
		sc.newlines >= 2 ||
		sc.newlines >= 1 && (sc.item || sc.prevItem) ||
		sc.term && (sc.cjkTerm || sc.spaced && !sc.abbrev && !isLowerStart(r))
	sc.flags = 0
	if sent {
		sc.flags = WordSentenceStart
	}
	if r < utf8.RuneSelf && 'A' <= r && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsUpper(r) {
		sc.flags |= WordCapitalized
	}
	sc.start, sc.ascii = i, r < utf8.RuneSelf
	sc.boundary, sc.term, sc.spaced, sc.cjkTerm, sc.abbrev = false, false, false, false, false
	sc.newlines, sc.lineStart = 0, false
}

func isLowerStart(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.IsLower(r)
}

// end ends the current word at s[i].
func (sc *scanner) end(i int) {
	t := sc.t
	var key uint64
	switch {
	case sc.ascii:
		key = hashASCIIWord(sc.s, sc.start, i)
	case sc.cjk:
		// Folding and normalisation leave these characters alone.
		key = hashString(sc.s[sc.start:i], 0)
	default:
		key = wordKey(sc.s[sc.start:i], false, &t.fold, &t.nfc)
	}
	// The slice has room for every word of the segment (see scan); fill the new one in place.
	n := len(t.words)
	t.words = t.words[:n+1]
	w := &t.words[n]
	w.Start, w.End, w.Key, w.Seg, w.Flags = int32(sc.start), int32(i), key, sc.seg, sc.flags
	if i < len(sc.s) && sc.s[i] == '.' && isAbbrev(sc.s[sc.start:i], key) {
		sc.abbrev = true
	}
	sc.start = -1
}

// punct handles an ASCII character outside words.
func (sc *scanner) punct(i int, c rune, cl uint8) {
	switch {
	case c == '\n':
		sc.newline()
	case cl&cSpace != 0:
		if sc.term {
			sc.spaced = true
		}
	case cl&cTerm != 0:
		if i != sc.skipTerm {
			sc.term = true
		}
		sc.lineStart = false
	case sc.lineStart && cl&cBullet != 0 && (c == '#' || i+1 < len(sc.s) && (sc.s[i+1] == ' ' || sc.s[i+1] == '\t')):
		sc.item, sc.lineStart = true, false
	case cl&cNeutral != 0:
		sc.lineStart = false
	default:
		sc.term, sc.lineStart = false, false
	}
}

// punctRune handles a character outside ASCII and outside words.
func (sc *scanner) punctRune(r rune) {
	switch r {
	case 0x85, 0x2028, 0x2029:
		sc.newline()
		return
	case '。', '！', '？', '｡', '．':
		sc.term, sc.cjkTerm, sc.lineStart = true, true, false
		return
	case '…', '؟', '।', '॥', '‼', '⁇', '⁈', '⁉':
		sc.term, sc.lineStart = true, false
		return
	case '•', '◦', '‣', '·', '▪', '–', '—':
		if sc.lineStart {
			sc.item, sc.lineStart = true, false
			return
		}
	case '”', '’', '»', '›', '」', '』', '）', '】', '〕', '〉', '》':
		sc.lineStart = false
		return
	}
	if unicode.IsSpace(r) {
		if sc.term {
			sc.spaced = true
		}
		return
	}
	sc.term, sc.lineStart = false, false
}

func (sc *scanner) newline() {
	sc.newlines++
	if sc.term {
		sc.spaced = true
	}
	sc.prevItem, sc.item, sc.lineStart = sc.item, false, true
}

// numberMarker returns the offset of the "." or ")" that ends a list number ("1. ", "12) ")
// starting at s[i], or -1.
func numberMarker(s string, i int) int {
	j := i
	for j < len(s) && j-i < 3 && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i || j+1 >= len(s) || s[j] != '.' && s[j] != ')' || s[j+1] != ' ' && s[j+1] != '\t' {
		return -1
	}
	return j
}

// abbreviations end with a dot that ends no sentence.
var abbreviations = func() *table {
	var t table
	words := []string{"mr", "mrs", "ms", "dr", "prof", "sr", "sra", "srta", "dra", "jr", "st", "vs",
		"nr", "no", "fig", "approx", "ca", "bzw", "usw", "mme", "mlle", "hr", "vgl", "cf"}
	t.reset(len(words))
	for _, w := range words {
		t.put(hashString(w, lowerBits), 1)
	}
	return &t
}()

// isAbbrev reports whether the word w, with key k, followed by ".", ends no sentence: a common
// abbreviation or a single letter (an initial, or part of "e.g." or "z.B.").
func isAbbrev(w string, k uint64) bool {
	return len(w) == 1 || len(w) <= 6 && abbreviations.has(k) || utf8.RuneCountInString(w) == 1
}
