package scoring

import (
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
