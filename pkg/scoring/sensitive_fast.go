package scoring

// The fast path of FindSensitive. Most stored text is prose that holds nothing sensitive, and
// the word analysis the detectors run on costs far more than one look at each byte. Every hit
// needs one of these markers, so text without any of them is skipped:
//
//   - an e-mail address needs an '@' byte (scanEmails looks for nothing else: no "[at]", no
//     full-width "＠");
//   - a card, phone, IBAN or national identity number needs an ASCII digit: numberSpans starts
//     at one, ibanAt needs its two check digits, and nationalIDAt runs only on words that hold a
//     digit, with shapes of ASCII letters and digits (so a word whose digit is not ASCII, or an
//     omocodia codice fiscale written only in letters, never matches);
//   - a private key block needs the five dashes of "PRIVATE KEY-----";
//   - any other secret is a run of at least minSecret token bytes (secrets.scan reports nothing
//     shorter, and never joins tokens across spaces). A run of letters alone can only be an AWS
//     (AKIA, ASIA) or Google (AIza) key, which start with 'A': every other shape needs a digit
//     or one of _ - . = + /, and a high-entropy token needs two digits.
//
// A new detector or secret shape must keep to these markers, or add its own here;
// TestFindSensitiveFastPath and FuzzFindSensitiveFastPath hold the two paths together.

// Byte classes of the fast path.
const (
	fastOther  = iota // ends a run of token bytes
	fastMarker        // '@' or an ASCII digit: a hit may follow
	fastLetter        // an ASCII letter
	fastPunct         // a token byte other than a letter, digit or '-'
	fastDash          // '-': part of a token, and of a private key header
)

// privateKeyDashes is the run of dashes that ends a private key header ("PRIVATE KEY-----").
const privateKeyDashes = 5

var fastClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		switch {
		case b == '@' || isDigit(b):
			t[c] = fastMarker
		case b == '-':
			t[c] = fastDash
		case isAlnum(b):
			t[c] = fastLetter
		case tokenBytes[c]:
			t[c] = fastPunct
		}
	}
	return t
}()

// mayHoldSensitive reports whether s holds a marker that some hit of FindSensitive needs; when
// it returns false, FindSensitive(s) is empty. It allocates nothing and reads s eight bytes at a
// time. Only a chunk whose bytes are all token bytes (a run of minSecret or more always covers a
// whole chunk) or that holds two dashes in a row (five dashes always put three in one chunk) is
// looked at byte by byte, together with the runs of token bytes that touch it: prose has few.
func mayHoldSensitive(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		ascii := ^x & lanes80 // bytes outside ASCII belong to no class
		x7 := x & lanes7f
		if (inRange(x7, '0', '9')|zeroBytes(x7^lanes01*'@'))&ascii != 0 {
			return true
		}
		dash := zeroBytes(x7^lanes01*'-') & ascii
		if dash&(dash>>8) == 0 && (zeroBytes(x^lanes01*' ') != 0 || !allTokenBytes(x7, ascii)) {
			continue
		}
		// Check the whole runs of token bytes that touch this chunk, then go on after them.
		lo, hi := runStart(s, i), i+8
		for hi < len(s) && tokenBytes[s[hi]] {
			hi++
		}
		if mayHoldSensitiveBytes(s[lo:hi]) {
			return true
		}
		i = hi - 8
	}
	return mayHoldSensitiveBytes(s[runStart(s, i):])
}

// allTokenBytes reports whether the eight bytes of a chunk, x7 with the high bits cleared and
// ascii marking its ASCII bytes, are all token bytes.
func allTokenBytes(x7, ascii uint64) bool {
	tok := inRange(x7|lanes01*0x20, 'a', 'z') | inRange(x7, '-', '/') |
		zeroBytes(x7^lanes01*'+') | zeroBytes(x7^lanes01*'=') | zeroBytes(x7^lanes01*'_')
	return tok&ascii == lanes80
}

// runStart returns the start of the run of token bytes that ends at s[i].
func runStart(s string, i int) int {
	for i > 0 && tokenBytes[s[i-1]] {
		i--
	}
	return i
}

// mayHoldSensitiveBytes is mayHoldSensitive one byte at a time; s must not start inside a run of
// token bytes.
func mayHoldSensitiveBytes(s string) bool {
	run, dashes := 0, 0 // lengths of the current run of token bytes and of dashes
	open := false       // the current run may be a secret: it is not letters alone, or starts with 'A'
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch fastClass[c] {
		case fastOther:
			run, dashes = 0, 0
			continue
		case fastMarker:
			return true
		case fastLetter:
			if run == 0 {
				open = c == 'A'
			}
			dashes = 0
		case fastPunct:
			open, dashes = true, 0
		case fastDash:
			open = true
			if dashes++; dashes == privateKeyDashes {
				return true
			}
		}
		if run++; run >= minSecret && open {
			return true
		}
	}
	return false
}
