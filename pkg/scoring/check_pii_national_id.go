package scoring

import (
	"unicode"
	"unicode/utf8"
)

// National identity numbers. Each format is matched on its written shape and then validated:
// a checksum where the format has one, the reserved ranges where it has none. The set:
//   - US Social Security number: 123-45-6789 or 123 45 6789; area 000, 666 and 900-999, group 00
//     and serial 0000 are never issued, and the numbers published in advertising (078-05-1120,
//     219-09-9999, 123-45-6789) are ignored as placeholders.
//   - UK National Insurance number: AB123456C or AB 12 34 56 C; the prefix letters and pairs the
//     government never allocates (D F I Q U V first, D F I O Q U V second, BG GB KN NK NT TN ZZ)
//     and suffixes other than A-D are rejected.
//   - Spanish DNI (12345678Z) and NIE (X1234567L), with an optional dash or space before the
//     letter: the letter is the check character of the number modulo 23.
//   - French NIR (social security number): 15 digits, compact or as 1 84 12 76 451 089 46, with
//     sex 1-4, 7 or 8, a month 01-12 or 20-99, Corsican departments 2A and 2B, and the two-digit
//     key 97 - (number mod 97).
//   - Italian codice fiscale: RSSMRA85T10A562S, with the month letter, the day (01-31, or 41-71
//     for women), digits replaced by letters for homonyms (omocodia) and the check character.
//   - Brazilian CPF: 123.456.789-09 with both mod-11 check digits; numbers of one repeated digit
//     are rejected.
//
// Bare numbers without their usual punctuation (an SSN or CPF as nine or eleven plain digits) are
// not reported: without the shape, too many order numbers and amounts would pass the checks.

// nationalIDAt returns the end of the national identity number that starts at s[i], the start
// of a word of wordLen bytes, or -1. The word's length and the byte after it pick the one or two
// shapes worth matching, so most words cost a switch.
func nationalIDAt(s string, i, wordLen int) int {
	next := byte(0)
	if i+wordLen < len(s) {
		next = s[i+wordLen]
	}
	var end int
	valid := func(pat, seps string, ok func(string) bool) bool {
		end = shape(s, i, pat, seps)
		return end > 0 && ok(s[i:end])
	}
	found := false
	if isDigit(s[i]) {
		switch {
		case wordLen == 1 && next == ' ':
			found = valid("9_99_99_9X_999_999_99", " ", nir)
		case wordLen == 3 && (next == '-' || next == ' '):
			found = valid("999_99_9999", "- ", ssn)
		case wordLen == 3 && next == '.':
			found = valid("999.999.999-99", "", cpf)
		case wordLen == 8 && (next == '-' || next == ' '):
			found = valid("99999999_A", "- ", dni)
		case wordLen == 9:
			found = valid("99999999A", "", dni)
		case wordLen == 15:
			found = valid("999999X99999999", "", nir)
		}
	} else if isUpper(s[i]) {
		switch {
		case wordLen == 1 && (next == '-' || next == ' '):
			found = valid("A_9999999_A", "- ", dni)
		case wordLen == 2 && next == ' ':
			found = valid("AA_99_99_99_A", " ", nino)
		case wordLen == 9:
			found = valid("AA999999A", "", nino) || valid("A9999999A", "", dni)
		case wordLen == 16:
			found = valid("AAAAAAXXAXXAXXXA", "", codiceFiscale)
		}
	}
	if !found || !freeStart(s, i) {
		return -1
	}
	return end
}

// shape matches pat at s[i:] and returns the end of the match, or -1 when it does not match or
// is glued to further letters or digits. In pat, '9' is an ASCII digit, 'A' an upper-case ASCII
// letter, 'X' either, '_' one byte of seps (the same byte at every '_'), any other byte itself.
func shape(s string, i int, pat, seps string) int {
	if i+len(pat) > len(s) {
		return -1
	}
	var sep byte
	for k := 0; k < len(pat); k++ {
		c := s[i+k]
		switch p := pat[k]; p {
		case '9':
			if !isDigit(c) {
				return -1
			}
		case 'A':
			if !isUpper(c) {
				return -1
			}
		case 'X':
			if !isUpperOrDigit(c) {
				return -1
			}
		case '_':
			if sep == 0 {
				for j := 0; j < len(seps); j++ {
					if seps[j] == c {
						sep = c
					}
				}
			}
			if sep == 0 || c != sep {
				return -1
			}
		default:
			if c != p {
				return -1
			}
		}
	}
	if end := i + len(pat); freeEnd(s, end) {
		return end
	}
	return -1
}

// freeEnd reports whether a number ending at s[end] stands alone: the text ends, or a character
// other than a letter, digit or combining mark follows (Chinese and Japanese characters excepted:
// that text puts no spaces around numbers), and not a separator that joins it to more of a
// number (".5", "-12", "/3").
func freeEnd(s string, end int) bool {
	if end >= len(s) {
		return true
	}
	c := s[end]
	if c < utf8.RuneSelf {
		if isAlnum(c) {
			return false
		}
		return !(c == '-' || c == '.' || c == '/' || c == ',' || c == '_') || end+1 >= len(s) || !isAlnum(s[end+1])
	}
	r, _ := utf8.DecodeRuneInString(s[end:])
	return !joins(r)
}

// freeStart is freeEnd for the character before s[start].
func freeStart(s string, start int) bool {
	if start == 0 {
		return true
	}
	c := s[start-1]
	if c < utf8.RuneSelf {
		if isAlnum(c) || c == '+' {
			return false
		}
		return !(c == '-' || c == '.' || c == '/' || c == ',' || c == '_') || start < 2 || !isAlnum(s[start-2])
	}
	r, _ := utf8.DecodeLastRuneInString(s[:start])
	return !joins(r)
}

// joins reports whether the non-ASCII rune r would make a number next to it part of a word.
func joins(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) && !isCJK(r)
}

// digitsAt returns the value of the n ASCII digits of s at i.
func digitsAt(s string, i, n int) int {
	v := 0
	for k := i; k < i+n; k++ {
		v = v*10 + int(s[k]-'0')
	}
	return v
}

// ssn validates "AAA-GG-SSSS" (any one separator).
func ssn(s string) bool {
	area, group, serial := digitsAt(s, 0, 3), digitsAt(s, 4, 2), digitsAt(s, 7, 4)
	switch {
	case area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0:
		return false
	case area == 78 && group == 5 && serial == 1120, area == 219 && group == 9 && serial == 9999,
		area == 123 && group == 45 && serial == 6789:
		return false // published in advertising and examples
	}
	return true
}

// nino validates "AB123456C" or "AB 12 34 56 C".
func nino(s string) bool {
	a, b, suffix := s[0], s[1], s[len(s)-1]
	if strIndexByte("DFIQUV", a) || strIndexByte("DFIOQUV", b) || suffix > 'D' {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

func strIndexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// dniLetters maps a DNI or NIE number modulo 23 to its check letter.
const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// dni validates a DNI ("12345678Z") or NIE ("X1234567L"), possibly with separators.
func dni(s string) bool {
	n := 0
	for i := 0; i < len(s)-1; i++ {
		switch c := s[i]; {
		case isDigit(c):
			n = n*10 + int(c-'0')
		case i == 0 && c >= 'X' && c <= 'Z':
			n = int(c - 'X') // NIE prefix X, Y, Z stands for 0, 1, 2
		case i == 0:
			return false
		}
	}
	return dniLetters[n%23] == s[len(s)-1]
}

// nir validates a French NIR: 15 characters (separators skipped) where the department may be 2A
// or 2B.
func nir(s string) bool {
	var d [15]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' {
			if n == len(d) {
				return false
			}
			d[n] = c
			n++
		}
	}
	if n != len(d) {
		return false
	}
	if sex := d[0]; sex != '1' && sex != '2' && sex != '3' && sex != '4' && sex != '7' && sex != '8' {
		return false
	}
	if month := int(d[3]-'0')*10 + int(d[4]-'0'); month == 0 || month > 12 && month < 20 {
		return false
	}
	// Corsica: 2A counts as 19, 2B as 18 (the department digits 20 less one or two).
	corsica := 0
	switch {
	case d[6] == 'A' && d[5] == '2':
		corsica, d[6] = 1000000, '0'
	case d[6] == 'B' && d[5] == '2':
		corsica, d[6] = 2000000, '0'
	case !isDigit(d[6]):
		return false
	}
	num := 0
	for _, c := range d[:13] {
		num = num*10 + int(c-'0')
	}
	num -= corsica
	key := int(d[13]-'0')*10 + int(d[14]-'0')
	return key == 97-num%97
}

// Tables of the codice fiscale check character: the value of each character in an odd
// (1st, 3rd, ...) position, indexed by digit or letter ('0' and 'A' share a value, and so on).
var cfOdd = [26]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}

// cfDigit decodes a digit of the codice fiscale, which may be written as a letter (omocodia).
func cfDigit(c byte) (int, bool) {
	if isDigit(c) {
		return int(c - '0'), true
	}
	for i := 0; i < len("LMNPQRSTUV"); i++ {
		if "LMNPQRSTUV"[i] == c {
			return i, true
		}
	}
	return 0, false
}

// codiceFiscale validates an Italian codice fiscale of 16 characters.
func codiceFiscale(s string) bool {
	for _, i := range [...]int{6, 7, 9, 10, 12, 13, 14} {
		if _, ok := cfDigit(s[i]); !ok {
			return false
		}
	}
	if !strIndexByte("ABCDEHLMPRST", s[8]) {
		return false
	}
	d1, _ := cfDigit(s[9])
	d2, _ := cfDigit(s[10])
	if day := d1*10 + d2; day == 0 || day > 31 && day < 41 || day > 71 {
		return false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		v := int(c - 'A')
		if isDigit(c) {
			v = int(c - '0')
		}
		if i%2 == 0 {
			v = cfOdd[v]
		}
		sum += v
	}
	return s[15] == byte('A'+sum%26)
}

// cpf validates "123.456.789-09": two mod-11 check digits over the nine-digit base.
func cpf(s string) bool {
	var d [11]int
	n := 0
	same := true
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d[n] = int(s[i] - '0')
			same = same && d[n] == d[0]
			n++
		}
	}
	if same {
		return false
	}
	for k := 9; k <= 10; k++ {
		sum := 0
		for i := 0; i < k; i++ {
			sum += d[i] * (k + 1 - i)
		}
		if sum*10%11%10 != d[k] {
			return false
		}
	}
	return true
}
