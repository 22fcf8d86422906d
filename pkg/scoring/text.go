package scoring

import (
	"iter"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

// Helpers shared by the checks. Text is walked rune by rune; invalid UTF-8 counts as U+FFFD.

// hasOutput reports whether ev carries a model output to check: failed calls (status "error")
// have none, and scoring them would mix the error rate into every output metric.
func hasOutput(ev *event.Event) bool { return ev.Status != event.StatusError }

// wantsJSON reports whether ev's output is meant to be JSON: it names a contract or its
// output_format attribute is "json" (any case).
func wantsJSON(ev *event.Event) bool {
	return ev.OutputSchema != "" || strings.EqualFold(ev.Attributes["output_format"], "json")
}

// words yields the byte offset and text of each word of s: maximal runs of letters and digits,
// with combining marks and an apostrophe between letters ("don't", "aujourd'hui") kept inside the
// word. Han, Hiragana and Katakana characters, written without spaces, each count as one word, as
// word processors count them.
func words(s string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		start := -1
		for i := 0; i < len(s); {
			if c := s[i]; c < utf8.RuneSelf {
				// ASCII fast path, same rules as below.
				switch {
				case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
					if start < 0 {
						start = i
					}
				case start >= 0 && c == '\'' && letterAt(s, i+1):
					// An apostrophe between letters joins them.
				default:
					if start >= 0 && !yield(start, s[start:i]) {
						return
					}
					start = -1
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case isCJK(r):
				if start >= 0 && !yield(start, s[start:i]) {
					return
				}
				start = -1
				if !yield(i, s[i:i+size]) {
					return
				}
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				if start < 0 {
					start = i
				}
			case start >= 0 && unicode.IsMark(r):
				// Vowel signs and accents written as combining marks stay in the word.
			case start >= 0 && (r == '\'' || r == '’') && letterAt(s, i+size):
				// An apostrophe between letters joins them.
			default:
				if start >= 0 && !yield(start, s[start:i]) {
					return
				}
				start = -1
			}
			i += size
		}
		if start >= 0 {
			yield(start, s[start:])
		}
	}
}

func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー')
}

func letterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) && !isCJK(r)
}

// foldHash returns a 64-bit FNV-1a hash of w's lower-cased runes, so words differing only in case
// hash alike without allocating a lower-cased copy.
func foldHash(w string) uint64 {
	h := uint64(14695981039346656037)
	for _, r := range w {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		h ^= uint64(r)
		h *= 1099511628211
	}
	return h
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
