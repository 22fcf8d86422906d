package redact

import (
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestText(t *testing.T) {
	in := "Card 4111 1111 1111 1111 and mail ana@shop.io."
	tests := []struct {
		mode Mode
		want string
	}{
		{Mask, "Card [card] and mail [email]."},
		{Off, in},
	}
	for _, tt := range tests {
		if got, _ := Text(in, tt.mode); got != tt.want {
			t.Errorf("Text(%q, %s) = %q, want %q", in, tt.mode, got, tt.want)
		}
	}
	a, _ := Text("ana@shop.io", Hash)
	b, _ := Text("ana@shop.io again", Hash)
	if !strings.HasPrefix(a, "[email:") || !strings.HasPrefix(b, a) {
		t.Errorf("hashes %q and %q: want the same value to hash alike", a, b)
	}
}

// TestTextIBANAndNationalID checks that the IBAN and identity-number kinds of the pii check are
// masked and hashed like the others, in several languages, and that look-alikes stay.
func TestTextIBANAndNationalID(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Bitte an DE89 3704 0044 0532 0130 00 überweisen.", "Bitte an [iban] überweisen."},
		{"IBAN: NL91ABNA0417164300, SSN 536-22-1987", "IBAN: [iban], SSN [national_id]"},
		{"Mi DNI es 12345678Z y mi NIE X1234567L.", "Mi DNI es [national_id] y mi NIE [national_id]."},
		{"NIR 1 84 12 76 451 089 46, NI AB 12 34 56 C", "NIR [national_id], NI [national_id]"},
		{"codice fiscale RSSMRA85T10A562S; CPF 529.982.247-25", "codice fiscale [national_id]; CPF [national_id]"},
		{"振込先はDE89370400440532013000です。", "振込先は[iban]です。"},
		// Wrong checksums and ordinary numbers are left alone.
		{"Konto DE12 3456 7891 2345 6789 10, DNI 12345678A, Termin 2024-05-17", "Konto DE12 3456 7891 2345 6789 10, DNI 12345678A, Termin 2024-05-17"},
	}
	for _, tt := range tests {
		if got, _ := Text(tt.in, Mask); got != tt.want {
			t.Errorf("Text(%q, mask) = %q, want %q", tt.in, got, tt.want)
		}
	}
	const iban = "GB82 WEST 1234 5698 7654 32"
	a, n := Text(iban, Hash)
	b, _ := Text("Pay "+iban+" today", Hash)
	if n != 1 || !strings.HasPrefix(a, "[iban:") || strings.Contains(a, "WEST") || b != "Pay "+a+" today" {
		t.Errorf("Text(%q, hash) = %q, %d and %q: want one stable [iban:…] hash", iban, a, n, b)
	}
	ev := &event.Event{App: "bank", Input: "SSN 536-22-1987", Output: "Refund to ES91 2100 0418 4502 0005 1332.",
		Attributes: map[string]string{"tax_id": "RSSMRA85T10A562S"}}
	if n := (Policy{Default: Mask}).Event(ev); n != 3 || ev.Input != "SSN [national_id]" ||
		ev.Output != "Refund to [iban]." || ev.Attributes["tax_id"] != "[national_id]" {
		t.Errorf("Event redacted %d pieces: %+v, want 3 with the IBAN and identity numbers masked", n, ev)
	}
}

func TestPolicy(t *testing.T) {
	p, err := ParsePolicy("default=mask, lab=off,shop=hash")
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode("lab") != Off || p.Mode("shop") != Hash || p.Mode("other") != Mask {
		t.Errorf("ParsePolicy = %+v", p)
	}
	if _, err := ParsePolicy("shop=scramble"); err == nil || !strings.Contains(err.Error(), "shop") {
		t.Errorf("ParsePolicy(bad mode) = %v, want an error naming the app", err)
	}
	ev := &event.Event{App: "bank", Input: "my card is 4111-1111-1111-1111", Output: "ok",
		Messages: []event.Message{{Role: "user", Content: "key sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3N4 here"}},
		Context:  []event.Passage{{ID: "c", Text: "write to ops@bankcorp.com"}}, Attributes: map[string]string{"email": "bo@bank.io"}}
	if n := p.Event(ev); n != 4 {
		t.Errorf("Event redacted %d pieces, want 4: %+v", n, ev)
	}
	for _, s := range []string{ev.Input, ev.Messages[0].Content, ev.Attributes["email"]} {
		if strings.ContainsAny(s, "@") || strings.Contains(s, "4111") || strings.Contains(s, "sk-proj") {
			t.Errorf("redacted text still holds data: %q", s)
		}
	}
}
