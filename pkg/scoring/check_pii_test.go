package scoring

import (
	"regexp"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestPII(t *testing.T) {
	runCases(t, "pii", event.KindCheck, nil, []checkCase{
		{"email", out("Contact me at jane.doe@gmail.com for details."), fail(1, "email")},
		{"two emails german", out("Schreiben Sie an max.mustermann@web.de oder an support@firma-gmbh.de."), fail(2, "email")},
		{"email and e164 spanish", out("Escríbeme a maria.garcia@correo.es o llámame al +34 612 345 678."), fail(2, "email,phone")},
		{"visa with spaces", out("Ihre Karte 4111 1111 1111 1111 wurde belastet."), fail(1, "card")},
		{"mastercard with dashes", out("Card on file: 5555-5555-5555-4444, exp 12/27."), fail(1, "card")},
		{"amex 4-6-5", out("Amex 3782 822463 10005 is the corporate card."), fail(1, "card")},
		{"card without separators", out("カード番号は4012888888881881です。"), fail(1, "card")},
		{"card followed by year", out("Card 4539 5787 6362 1486 2025 expires soon."), fail(1, "card")},
		{"everything", out("Jane (jane@acme.io, +1 415 555 0132) paid with 5105 1051 0510 5100."), fail(3, "card,email,phone")},
		{"us phones", out("Call us at (415) 555-0132 or 415-555-0199."), fail(2, "phone")},
		{"e164 compact", out("WhatsApp: +14155550132"), fail(1, "phone")},
		{"german national", out("Ruf mich an: 030 12345678"), fail(1, "phone")},
		{"french national", out("Appelez le 06 12 34 56 78 avant midi."), fail(1, "phone")},
		{"japanese international", out("東京オフィス：+81 3-1234-5678（平日のみ）"), fail(1, "phone")},
		// Not personal data.
		{"luhn failure", out("Order 4111 1111 1111 1112 has shipped."), pass(0)},
		{"random 16 digits", out("Reference 4929 1234 5678 9012 was archived."), pass(0)},
		{"luhn valid but no card prefix", out("Invoice 7992 7398 7130 0008 is attached."), pass(0)},
		{"ups tracking", out("Tracking number 1Z999AA10123456784."), pass(0)},
		{"iso date and time", out("The meeting is on 2024-01-15 at 10:30 in room 101."), pass(0)},
		{"german date and time", out("Termin am 01.02.2024 10:30 Uhr in Raum 4."), pass(0)},
		{"isbn", out("ISBN 978-3-16-148410-0"), pass(0)},
		{"population", out("Population of Tokyo: 13,960,000 (2021)."), pass(0)},
		{"pi", out("Pi is approximately 3.14159265358979."), pass(0)},
		{"decimal with leading zero", out("p = 0.000123456789"), pass(0)},
		{"short order number", out("Ihre Bestellnummer lautet 58213."), pass(0)},
		{"uuid", out("Request id 550e8400-e29b-41d4-a716-446655440000 failed."), pass(0)},
		{"placeholder email", out("Use user@example.com and admin@mail.test in the demo config."), pass(0)},
		{"at sign without domain", out("Mention @support in the channel."), pass(0)},
		{"retina image", out(`<img src="logo@2x.png" srcset="logo@3x.png 3x">`), pass(0)},
		{"decorator", out("@app.route(\"/health\")\ndef health():\n    return \"ok\""), pass(0)},
		{"error event", failed(out("")), skip},
	})
}

// TestPIIReasonHidesData makes sure no hit is echoed in the reason.
func TestPIIReasonHidesData(t *testing.T) {
	s, err := New(Options{Checks: []Spec{{Name: "pii"}}})
	if err != nil {
		t.Fatal(err)
	}
	leak := regexp.MustCompile(`@|\d{3}`)
	output := "Jane (jane@acme.io, +1 415 555 0132, 030 12345678) paid with 5105 1051 0510 5100."
	got := s.Score(out(output), nil)
	if len(got) != 1 || got[0].Pass || leak.MatchString(got[0].Reason) {
		t.Errorf("Score(%q) = %v, want a failure whose reason repeats no address or number", output, got)
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"79927398713", true},
		{"79927398710", false},
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"378282246310005", true},
		{"6011111111111117", true},
		{"2223003122003222", true},
		{"4929123456789012", false},
		{"4111-1111-1111-1111", true},
	}
	for _, tt := range tests {
		if got := luhn(tt.digits); got != tt.want {
			t.Errorf("luhn(%q) = %v, want %v", tt.digits, got, tt.want)
		}
	}
}
