package scoring

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindSensitive(t *testing.T) {
	s := "Mail ana@shop.io or call +49 30 1234567; card 4111 1111 1111 1111, key sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3N4 here"
	var kinds []string
	for _, sp := range FindSensitive(s) {
		kinds = append(kinds, sp.Kind+"="+s[sp.Start:sp.End])
	}
	want := []string{"email=ana@shop.io", "phone=+49 30 1234567", "card=4111 1111 1111 1111", "openai_key=sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3N4"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("FindSensitive(%q) (-want +got):\n%s", s, diff)
	}
	if got := FindSensitive("Order 1234 ships on 2026-11-30."); len(got) != 0 {
		t.Errorf("FindSensitive(plain text) = %v, want none", got)
	}
}

// FuzzFindSensitive checks that any text gives ordered, disjoint spans of known kinds inside it:
// what redaction relies on to rebuild the text.
func FuzzFindSensitive(f *testing.F) {
	for _, s := range []string{
		"Mail ana@shop.io or call +49 30 1234567; card 4111 1111 1111 1111",
		"IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1987, NIR 2 69 05 2A 588 157 17",
		"DNI 12345678Z, NIE X1234567L, CF RSSMRA85T10A562S, CPF 529.982.247-25, NI AB 12 34 56 C",
		"振込先はDE89370400440532013000です。", "Código 12345678Zé", "", "AB 1",
	} {
		f.Add(s)
	}
	known := map[string]bool{}
	for _, k := range piiKinds {
		known[k.kind] = true
	}
	for _, k := range secretKinds {
		known[k.label] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, sp := range FindSensitive(s) {
			if sp.Start < last || sp.End <= sp.Start || sp.End > len(s) || !known[sp.Kind] {
				t.Fatalf("FindSensitive(%q) span %+v: want ordered, disjoint, non-empty spans of known kinds", s, sp)
			}
			last = sp.End
		}
	})
}

// fastPathCases are texts at the edge of each marker the fast path of FindSensitive looks for:
// may is what mayHoldSensitive must say, kinds what the detectors find.
var fastPathCases = []struct {
	name  string
	text  string
	may   bool
	kinds []string
}{
	{name: "empty", text: ""},
	{name: "load test prose", text: loadTestProse(1200)},
	// E-mail addresses need an '@'; written-out or full-width forms are not detected.
	{name: "at sign alone", text: "@", may: true},
	{name: "shortest email", text: "a@b.co", may: true, kinds: []string{"email"}},
	{name: "full-width at", text: "jane＠gmail.com"},
	{name: "spelled at", text: "jane [at] gmail [dot] com or jane(at)gmail.com"},
	// Numbers and identity numbers need an ASCII digit.
	{name: "one digit", text: "7", may: true},
	{name: "arabic-indic phone", text: "Call +٤٩ ٣٠ ١٢٣٤٥٦٧ today."},
	{name: "full-width card", text: "Karte ４１１１ １１１１ １１１１ １１１１."},
	{name: "full-width iban", text: "IBAN DE８９ ３７０４ ００４４ ０５３２ ０１３０ ００"},
	{name: "spelled number", text: "four one one one, four one one one, four one one one"},
	// A codice fiscale with every digit written as a letter has the right shape, but the pii
	// check looks for identity numbers only in words that hold a digit.
	{name: "codice fiscale in letters", text: "CF RSSMRAURTMLARSNL ok"},
	{name: "uk nino", text: "NI number AB 12 34 56 C.", may: true, kinds: []string{"national_id"}},
	// Secrets need a run of minSecret token bytes; letters alone only for AKIA, ASIA and AIza.
	{name: "14-byte token", text: "xoxb-AbCdEfGhI"},
	{name: "15-byte slack token", text: "xoxb-AbCdEfGhIj", may: true, kinds: []string{"slack_token"}},
	{name: "15-byte token", text: "abcdefghijklmn-", may: true},
	{name: "15 letters", text: "abcdefghijklmno"},
	{name: "15-byte run with =", text: "a=b=c=d=e=f=g=h", may: true},
	{name: "15-byte run with +", text: "a+b+c+d+e+f+g+h", may: true},
	{name: "15-byte run with /", text: "a/b/c/d/e/f/g/h", may: true},
	{name: "15-byte run with .", text: "a.b.c.d.e.f.g.h", may: true},
	{name: "15-byte run with _", text: "a_b_c_d_e_f_g_h", may: true},
	{name: "15-byte run with -", text: "a-b-c-d-e-f-g-h", may: true},
	{name: "colons split tokens", text: "a:b:c:d:e:f:g:h:i:j:k"},
	{name: "long word", text: "responsibilities internationalization"},
	{name: "long word starting with A", text: "Antidisestablishmentarianism", may: true},
	{name: "token with non-ASCII", text: "xoxb-AbCdEfGhIjé", may: true},
	{name: "non-ASCII run", text: "éééééééééééééééééééé"},
	{name: "hyphenated words", text: "a state-of-the-art, well-thought-out plan", may: true},
	{name: "aws key in letters", text: "AKIAABCDEFGHIJKLMNOP", may: true, kinds: []string{"aws_key"}},
	{name: "aws session key in letters", text: "key ASIAABCDEFGHIJKLMNOP.", may: true, kinds: []string{"aws_key"}},
	{name: "google key in letters", text: "AIza" + strings.Repeat("abcdefg", 5), may: true, kinds: []string{"google_api_key"}},
	{name: "github token in letters", text: "ghp_" + strings.Repeat("abcdefghij", 3), may: true, kinds: []string{"github_token"}},
	{name: "openai key in letters", text: "sk-" + strings.Repeat("abcde", 4), may: true, kinds: []string{"openai_key"}},
	{name: "anthropic key in letters", text: "sk-ant-" + strings.Repeat("abcde", 4), may: true, kinds: []string{"anthropic_key"}},
	{name: "stripe key in letters", text: "sk_live_" + strings.Repeat("abcd", 4), may: true, kinds: []string{"stripe_key"}},
	{name: "jwt in letters", text: "Bearer eyJhbGciOiJIUzI.eyJzdWIiOiJhYmMifQ.dozjgNryPJ", may: true, kinds: []string{"jwt"}},
	// Private key blocks need the five dashes of the header, and may hold spaces.
	{name: "four dashes", text: "----"},
	{name: "spaced dashes", text: "- - - - - -- -- --"},
	{name: "five dashes", text: "-----", may: true},
	{name: "private key header", text: "-----BEGIN PRIVATE KEY-----", may: true, kinds: []string{"private_key"}},
	{name: "private key block", text: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", may: true, kinds: []string{"private_key"}},
}

// TestFindSensitiveFastPath checks that the fast path gives what the full analysis gives, for
// texts at the edge of each marker, at every offset within a chunk of the fast path.
func TestFindSensitiveFastPath(t *testing.T) {
	for _, tt := range fastPathCases {
		t.Run(tt.name, func(t *testing.T) {
			var kinds []string
			for _, sp := range findSensitiveSlow(tt.text) {
				kinds = append(kinds, sp.Kind)
			}
			if diff := cmp.Diff(tt.kinds, kinds); diff != "" {
				t.Errorf("findSensitiveSlow(%q) kinds (-want +got):\n%s", tt.text, diff)
			}
			for pad := range 9 {
				s := strings.Repeat(" ", pad) + tt.text + " ok"
				if got := mayHoldSensitive(s); got != tt.may {
					t.Errorf("mayHoldSensitive(%q) = %v, want %v", s, got, tt.may)
				}
				if diff := cmp.Diff(findSensitiveSlow(s), FindSensitive(s)); diff != "" {
					t.Errorf("FindSensitive(%q) (-slow +fast):\n%s", s, diff)
				}
			}
		})
	}
}

// FuzzFindSensitiveFastPath checks that the fast path skips only texts in which the full
// analysis finds nothing, and that its chunked scan agrees with its byte-by-byte one.
func FuzzFindSensitiveFastPath(f *testing.F) {
	for _, s := range fastPathSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		may := mayHoldSensitive(s)
		if bytewise := mayHoldSensitiveBytes(s); may != bytewise {
			t.Fatalf("mayHoldSensitive(%q) = %v, byte by byte %v", s, may, bytewise)
		}
		if !may {
			if got := findSensitiveSlow(s); len(got) != 0 {
				t.Fatalf("mayHoldSensitive(%q) = false, but the full analysis finds %v", s, got)
			}
		}
	})
}

// fastPathSeeds returns the texts of the pii, secrets and FindSensitive tests (every string
// literal of their files), the same texts without digits and '@', so that the fuzzer starts at
// the edge of the fast path, and the edge cases.
func fastPathSeeds(tb testing.TB) []string {
	tb.Helper()
	var seeds []string
	fset := token.NewFileSet()
	for _, name := range []string{"sensitive_test.go", "check_pii_test.go", "check_pii_ids_test.go", "check_secrets_test.go", "bench_test.go"} {
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					seeds = append(seeds, s)
				}
			}
			return true
		})
	}
	// Digits become letters and '@' a space: secrets and private keys may remain.
	unmarked := strings.NewReplacer("0", "o", "1", "l", "2", "z", "3", "e", "4", "a", "5", "s", "6", "b", "7", "t", "8", "B", "9", "g", "@", " ")
	for _, s := range seeds {
		seeds = append(seeds, unmarked.Replace(s))
	}
	for _, tt := range fastPathCases {
		seeds = append(seeds, tt.text)
	}
	return seeds
}

// BenchmarkFindSensitive measures what redaction costs per text field: the writer calls it for
// every text field of every stored event.
func BenchmarkFindSensitive(b *testing.B) {
	text := strings.Repeat("Your order 4417 ships Monday; write to help@shop.example.org or call +1 415 555 0132. ", 12)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		FindSensitive(text)
	}
}

// loadTestSentences are the sentences the load generator (loadtest/gen) builds outputs from:
// English prose with no digit and no '@', what redaction sees most.
var loadTestSentences = []string{
	"The customer asked about delivery times for orders shipped to rural addresses in the north.",
	"Our records show the package left the regional warehouse yesterday afternoon and is on schedule.",
	"Returns are accepted within thirty days as long as the item is unused and in its original box.",
	"The premium plan includes priority support, extended storage and early access to new features.",
	"If the device does not power on, hold the button for ten seconds and connect the original charger.",
	"We could not find an invoice with that number; please check the last four digits on your receipt.",
}

// loadTestProse returns about n bytes of the load generator's sentences.
func loadTestProse(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(loadTestSentences[i%len(loadTestSentences)])
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// BenchmarkFindSensitiveProse measures redaction of a typical stored output: 1.2 KB of prose
// that holds nothing sensitive.
func BenchmarkFindSensitiveProse(b *testing.B) {
	text := loadTestProse(1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		FindSensitive(text)
	}
}
