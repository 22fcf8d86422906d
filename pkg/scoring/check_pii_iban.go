package scoring

// IBAN detection (ISO 13616): a country code, two check digits and a national account number
// (BBAN) of the length the country registered, written compactly ("DE89370400440532013000") or
// in groups of four separated by single spaces ("DE89 3704 0044 0532 0130 00"), whose mod-97
// checksum is 1. The length table and the checksum together leave a random string of the right
// shape about one chance in a hundred, and the shape itself (two capitals, two digits, then a
// fixed number of characters) is rare in prose.

// ibanLengths holds the total IBAN length per country code, from the SWIFT IBAN registry; 0 means
// the country issues no IBAN. It is indexed by ibanCountry.
var ibanLengths = func() (t [26 * 26]uint8) {
	for cc, n := range map[string]uint8{
		"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
		"BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
		"DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
		"GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
		"IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
		"LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
		"MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
		"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
		"SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
		"TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
	} {
		t[ibanCountry(cc[0], cc[1])] = n
	}
	return t
}()

// maxIBAN is the longest registered IBAN.
const maxIBAN = 34

func ibanCountry(a, b byte) int { return int(a-'A')*26 + int(b-'A') }

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// isUpperOrDigit reports whether c may appear in an IBAN or an identity number.
func isUpperOrDigit(c byte) bool { return isUpper(c) || isDigit(c) }

// ibanAt returns the end of the IBAN that starts at s[i], or -1.
func ibanAt(s string, i int) int {
	if i+15 > len(s) || !isUpper(s[i]) || !isUpper(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return -1
	}
	want := int(ibanLengths[ibanCountry(s[i], s[i+1])])
	if want == 0 || s[i+2] == '0' && s[i+3] < '2' || s[i+2] == '9' && s[i+3] == '9' {
		return -1 // no IBAN in that country, or check digits outside 02-98
	}
	var buf [maxIBAN]byte
	run := func(j int) int { // length of the run of IBAN characters at s[j:]
		k := j
		for k < len(s) && k-j <= maxIBAN && isUpperOrDigit(s[k]) {
			k++
		}
		return k - j
	}
	n, end := 0, 0
	switch r := run(i); {
	case r == want:
		n = copy(buf[:], s[i:i+r])
		end = i + r
	case r == 4:
		// Groups of four separated by single spaces; only the last may be shorter.
		n = copy(buf[:], s[i:i+4])
		end = i + 4
		for n < want {
			if end+1 >= len(s) || s[end] != ' ' {
				return -1
			}
			r := run(end + 1)
			if r == 0 || r > 4 || r > want-n || r < 4 && n+r != want {
				return -1
			}
			n += copy(buf[n:], s[end+1:end+1+r])
			end += 1 + r
		}
	default:
		return -1
	}
	if !freeEnd(s, end) || !ibanChecksum(buf[:n]) {
		return -1
	}
	return end
}

// ibanChecksum reports whether iban (upper-case letters and digits) passes the ISO 7064 mod-97
// check: the first four characters moved to the end, letters read as 10 to 35, the number
// modulo 97 is 1.
func ibanChecksum(iban []byte) bool {
	if len(iban) < 5 {
		return false
	}
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	for _, c := range iban[4:] {
		add(c)
	}
	for _, c := range iban[:4] {
		add(c)
	}
	return r == 1
}
