package event

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// keyAt is a top-level key of a JSON object, aliasing the input, and the offset just past it.
// Every event is checked for duplicate keys, so the scan must not allocate a string per key.
type keyAt struct {
	key []byte
	end int
}

// topLevelKeys lists the keys of the outermost object in b, raw (escapes left as sent), in
// order. It assumes b is a JSON object; on malformed input it returns what it saw, and the
// decoder reports the malformation.
func topLevelKeys(b []byte) []keyAt {
	return appendTopLevelKeys(nil, b)
}

// appendTopLevelKeys is topLevelKeys appending to keys, so a caller can scan into a buffer on
// its stack.
func appendTopLevelKeys(keys []keyAt, b []byte) []keyAt {
	depth := 0
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
			if depth == 0 {
				return keys // the object ended; what follows is the decoder's to reject
			}
		case ',':
			expectKey = depth == 1
		case '"':
			start := i + 1
			i = stringEnd(b, start)
			if depth == 1 && expectKey && i <= len(b) {
				keys = append(keys, keyAt{key: b[start:min(i, len(b))], end: i})
				expectKey = false
			}
		}
	}
	return keys
}

// stringEnd returns the index of the quote that closes the JSON string whose content starts at
// b[start], len(b) if none does, or len(b)+1 if b ends in the middle of an escape. It jumps from
// quote to quote (bytes.IndexByte) instead of reading every byte of long texts such as outputs.
func stringEnd(b []byte, start int) int {
	i := start
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			q = len(b) - i
		}
		e := bytes.IndexByte(b[i:i+q], '\\')
		if e < 0 {
			return i + q
		}
		// An escape: the byte after the backslash, a quote included, belongs to the string.
		i += e + 2
		if i > len(b) {
			return len(b) + 1
		}
	}
}

// duplicateKey returns a top-level key that appears twice. JSON parsers disagree on which copy
// wins, so an event must not depend on it.
func duplicateKey(keys []keyAt) (string, bool) {
	for i := 1; i < len(keys); i++ {
		for j := 0; j < i; j++ {
			if string(keys[i].key) == string(keys[j].key) {
				return string(keys[i].key), true
			}
		}
	}
	return "", false
}

// invalidUTF8 names the top-level field holding the first byte of b that is not UTF-8. Decoders
// would silently replace it with U+FFFD, and the stored text would no longer be what was sent.
func invalidUTF8(b []byte, keys []keyAt) *FieldError {
	off := 0
	for off < len(b) {
		r, size := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	field := "(event)"
	for _, k := range keys {
		if k.end < off && len(k.key) > 0 {
			field = string(k.key)
		}
	}
	return &FieldError{Field: field, Reason: fmt.Sprintf("not valid UTF-8 (byte 0x%02x at offset %d); send text as UTF-8", b[off], off)}
}
