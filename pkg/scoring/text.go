package scoring

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/vigilhq/vigil/pkg/event"
)

// Helpers shared by the checks: folding and hashing of words, and small formatting helpers.

// hasOutput reports whether ev carries a model output to check: failed calls (status "error")
// have none, and scoring them would mix the error rate into every output metric.
func hasOutput(ev *event.Event) bool { return ev.Status != event.StatusError }

// wantsJSON reports whether ev's output is meant to be JSON: it names a contract or its
// output_format attribute is "json" (any case).
func wantsJSON(ev *event.Event) bool {
	return ev.OutputSchema != "" || strings.EqualFold(ev.Attributes["output_format"], "json")
}

// Word keys are 64-bit hashes of the folded word: lower case, typographic apostrophes as ASCII
// ones, final sigma as sigma, and canonical composition (NFC), so words that differ only in case,
// apostrophe style or Unicode normalisation get the same key.

const (
	hashK0 = 0x9e3779b97f4a7c15
	hashK1 = 0xbf58476d1ce4e5b9
	hashK2 = 0x94d049bb133111eb
	// lowerBits lower-cases the ASCII letters of eight bytes at once, and leaves digits and the
	// apostrophe unchanged: the only other bytes of an ASCII word.
	lowerBits = 0x2020202020202020
)

// hashString hashes s after OR-ing each byte with the matching byte of or (lowerBits or 0). A
// string of up to 7 bytes is packed with its length into one word and mixed by a bijection, so
// short words, most words, cost one multiplication and never collide; longer ones are hashed
// eight bytes at a time. The result is never 0, which marks free slots in tables.
func hashString(s string, or uint64) uint64 {
	if len(s) < 8 {
		var v uint64
		for i := len(s) - 1; i >= 0; i-- {
			v = v<<8 | uint64(s[i])
		}
		return short(v|or&(1<<(8*uint(len(s)))-1), len(s))
	}
	h := uint64(len(s)) * hashK0
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = (h ^ (v | or)) * hashK1
		h ^= h >> 32
		s = s[8:]
	}
	if len(s) > 0 {
		var v uint64
		for i := len(s) - 1; i >= 0; i-- {
			v = v<<8 | uint64(s[i])
		}
		h = (h ^ (v | or&(1<<(8*uint(len(s)))-1))) * hashK1
		h ^= h >> 32
	}
	return finish(h)
}

// hashASCIIWord returns hashString(s[start:end], lowerBits) for a word of ASCII letters, digits
// and apostrophes, reading s eight bytes at a time where s extends past the word.
func hashASCIIWord(s string, start, end int) uint64 {
	if n := end - start; n < 8 {
		var v uint64
		if start+8 <= len(s) {
			v = load64(s, start) & (1<<(8*uint(n)) - 1)
		} else {
			for j := end - 1; j >= start; j-- {
				v = v<<8 | uint64(s[j])
			}
		}
		return short(v|lowerBits&(1<<(8*uint(n))-1), n)
	}
	h := uint64(end-start) * hashK0
	i := start
	for ; end-i >= 8; i += 8 {
		h = (h ^ (load64(s, i) | lowerBits)) * hashK1
		h ^= h >> 32
	}
	if k := end - i; k > 0 {
		var v uint64
		if i+8 <= len(s) {
			v = load64(s, i) & (1<<(8*uint(k)) - 1)
		} else {
			for j := end - 1; j >= i; j-- {
				v = v<<8 | uint64(s[j])
			}
		}
		h = (h ^ (v | lowerBits&(1<<(8*uint(k))-1))) * hashK1
		h ^= h >> 32
	}
	return finish(h)
}

// load64 reads eight bytes of s at i, little-endian.
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// appendFolded appends the folded form of w to dst.
func appendFolded(dst []byte, w string) []byte {
	for _, r := range w {
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
	case r == '’' || r == 'ʼ':
		r = '\''
	case r == 'ς':
		r = 'σ'
	default:
		r = unicode.ToLower(r)
	}
	return r
}

// foldKey returns the key of one word as the analysis computes it.
func foldKey(w string) uint64 {
	var fold, nfc []byte
	return wordKey(w, isASCII(w), &fold, &nfc)
}

// wordKey returns the key of the word w; ascii says w has only ASCII bytes. fold and nfc are
// scratch buffers, grown as needed.
func wordKey(w string, ascii bool, fold, nfc *[]byte) uint64 {
	if ascii {
		return hashString(w, lowerBits)
	}
	b := appendFolded((*fold)[:0], w)
	*fold = b
	if !norm.NFC.IsNormal(b) {
		*nfc = norm.NFC.Append((*nfc)[:0], b...)
		b = *nfc
	}
	return hashBytes(b)
}

// hashBytes is hashString for a byte slice, without converting it.
func hashBytes(b []byte) uint64 {
	if len(b) < 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		return short(v, len(b))
	}
	h := uint64(len(b)) * hashK0
	for len(b) >= 8 {
		v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		h = (h ^ v) * hashK1
		h ^= h >> 32
		b = b[8:]
	}
	if len(b) > 0 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		h = (h ^ v) * hashK1
		h ^= h >> 32
	}
	return finish(h)
}

// short mixes the bytes v of a string of n < 8 bytes; distinct strings give distinct results.
func short(v uint64, n int) uint64 {
	h := (v | uint64(n)<<56) * hashK1
	h ^= h >> 29
	if h == 0 {
		h = 1
	}
	return h
}

func finish(h uint64) uint64 {
	h = (h ^ h>>29) * hashK2
	h ^= h >> 32
	if h == 0 {
		h = 1
	}
	return h
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// baseLetters maps Latin letters with diacritics to their base letter, for comparisons that
// ignore accents.
var baseLetters = func() map[rune]rune {
	m := map[rune]rune{'ø': 'o', 'Ø': 'O', 'ł': 'l', 'Ł': 'L', 'đ': 'd', 'Đ': 'D', 'ħ': 'h', 'ı': 'i'}
	for _, block := range [][2]rune{{0x00C0, 0x024F}, {0x1E00, 0x1EFF}} {
		for r := block[0]; r <= block[1]; r++ {
			d := []rune(norm.NFD.String(string(r)))
			if len(d) > 1 && d[0] < 0x0250 && allMarks(d[1:]) {
				m[r] = d[0]
			}
		}
	}
	return m
}()

func allMarks(rs []rune) bool {
	for _, r := range rs {
		if !unicode.Is(unicode.Mn, r) {
			return false
		}
	}
	return true
}

// appendBare appends w lower-cased and without diacritics (combining marks dropped, Latin
// letters with diacritics replaced by their base letter) as runes.
func appendBare(dst []rune, w string) []rune {
	for _, r := range w {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, r)
			continue
		}
		if r >= 0x0300 && unicode.Is(unicode.Mn, r) {
			continue
		}
		if b, ok := baseLetters[r]; ok {
			r = b
		}
		dst = append(dst, foldRune(r))
	}
	return dst
}

// clip shortens s to at most n runes, marking a cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// maxReason bounds the length of a reason, in runes.
const maxReason = 200

// reasonf formats a reason and clips it to maxReason runes.
func reasonf(format string, args ...any) string {
	return clip(fmt.Sprintf(format, args...), maxReason)
}

// quote renders text from an event or a configuration for a reason: white space collapsed,
// invalid UTF-8 and characters that do not print replaced by U+FFFD, at most n runes, in double
// quotes. Only quotes and backslashes are escaped, so the result has at most 2n+2 runes.
func quote(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return utf8.RuneError
		}
		return r
	}, s)
	return strconv.Quote(clip(oneLine(s), n))
}

// quoteList renders up to max items as a comma-separated list of quoted, clipped strings, with
// "and N more" for the rest.
func quoteList(items []string, max int) string {
	var b strings.Builder
	for i, it := range items {
		if i == max {
			b.WriteString(" and " + strconv.Itoa(len(items)-max) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(it, 40))
	}
	return b.String()
}

// oneLine collapses runs of white space in s to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
