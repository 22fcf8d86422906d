package scoring

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestPIIIBANAndNationalID(t *testing.T) {
	runCases(t, "pii", event.KindCheck, nil, []checkCase{
		// IBANs, grouped and compact, in several languages.
		{"german iban grouped", out("Bitte überweisen Sie den Betrag auf DE89 3704 0044 0532 0130 00 bis Freitag."), fail(1, "iban")},
		{"british iban with letters", out("Our account: GB82 WEST 1234 5698 7654 32 (Sort code in the BBAN)."), fail(1, "iban")},
		{"french iban grouped", out("Virement sur le compte FR14 2004 1010 0505 0001 3M02 606, merci."), fail(1, "iban")},
		{"spanish iban", out("Transfiera el importe a ES91 2100 0418 4502 0005 1332."), fail(1, "iban")},
		{"dutch iban compact", out("IBAN: NL91ABNA0417164300"), fail(1, "iban")},
		{"italian iban compact", out("Coordinate bancarie: IT60X0542811101000000123456."), fail(1, "iban")},
		{"norwegian shortest", out("Kontonummer NO9386011117947 er registrert."), fail(1, "iban")},
		{"maltese long", out("MT84MALT011000012345MTLCAST001S"), fail(1, "iban")},
		{"iban in japanese", out("振込先はDE89370400440532013000です。"), fail(1, "iban")},
		{"iban and card", out("IBAN DE89 3704 0044 0532 0130 00, Karte 4111 1111 1111 1111."), fail(2, "card,iban")},
		// Identity numbers.
		{"us ssn", out("My SSN is 536-22-1987, please update the file."), fail(1, "national_id")},
		{"us ssn spaces", out("SSN 536 22 1987"), fail(1, "national_id")},
		{"uk nino", out("National Insurance number: AB123456C."), fail(1, "national_id")},
		{"uk nino spaced", out("NI number AB 12 34 56 C, tax code 1257L."), fail(1, "national_id")},
		{"spanish dni", out("Mi DNI es 12345678Z y vivo en Madrid."), fail(1, "national_id")},
		{"spanish dni dash", out("DNI: 48392017-V"), fail(1, "national_id")},
		{"spanish nie", out("El NIE del titular es X1234567L."), fail(1, "national_id")},
		{"spanish nie dashes", out("NIE: X-1234567-L"), fail(1, "national_id")},
		{"french nir grouped", out("Numéro de sécurité sociale : 1 84 12 76 451 089 46."), fail(1, "national_id")},
		{"french nir compact", out("NIR 269054958815780"), fail(1, "national_id")},
		{"french nir corsica", out("NIR 2 69 05 2A 588 157 17"), fail(1, "national_id")},
		{"italian codice fiscale", out("Il mio codice fiscale è RSSMRA85T10A562S."), fail(1, "national_id")},
		{"italian codice fiscale omocodia", out("Codice fiscale: RSSMRA85T10A56NH"), fail(1, "national_id")},
		{"brazilian cpf", out("Meu CPF é 529.982.247-25, pode confirmar?"), fail(1, "national_id")},
		{"ssn in japanese", out("社会保障番号は536-22-1987です。"), fail(1, "national_id")},
		{"two ids", out("DNI 12345678Z, NIE Y1234567X."), fail(2, "national_id")},
	})
	// What is not an IBAN or identity number. The kinds are narrowed to the two, since some of
	// these texts hold what the phone detector rightly or wrongly reports (000-12-3456 has the
	// shape of a national phone number).
	runSpec(t, Spec{Name: "pii", Params: Params{"kinds": []any{"iban", "national_id"}}}, event.KindCheck, nil, []checkCase{
		// Wrong checksums, never-issued ranges, placeholders.
		{"iban bad checksum", out("Konto DE89 3704 0044 0532 0130 01 ist falsch."), pass(0)},
		{"iban wrong length", out("Konto DE89 3704 0044 0532 0130 0 ist kurz."), pass(0)},
		{"iban bad grouping", out("DE89 37040044 0532 0130 00"), pass(0)},
		{"unknown country", out("Reference XX89 3704 0044 0532 0130 00."), pass(0)},
		{"lower case iban", out("de89 3704 0044 0532 0130 00"), pass(0)},
		{"ssn area 000", out("ID 000-12-3456 was rejected."), pass(0)},
		{"ssn area 666", out("Code 666-12-3456."), pass(0)},
		{"ssn area 9xx", out("Code 912-12-3456."), pass(0)},
		{"ssn group 00", out("Code 536-00-1987."), pass(0)},
		{"ssn advertising", out("The card in the wallet read 078-05-1120."), pass(0)},
		{"ssn example", out("Enter it as 123-45-6789."), pass(0)},
		{"ssn mixed separators", out("Use 536-22 1987."), pass(0)},
		{"nino bad prefix", out("Code QQ123456C is the example."), pass(0)},
		{"nino bad suffix", out("Part AB123456E is in stock."), pass(0)},
		{"dni wrong letter", out("Pedido 12345678A enviado."), pass(0)},
		{"nie wrong letter", out("NIE X1234567A"), pass(0)},
		{"nir bad key", out("NIR 1 84 12 76 451 089 47"), pass(0)},
		{"nir bad month", out("NIR 1 84 15 76 451 089 46"), pass(0)},
		{"codice fiscale bad check", out("Codice RSSMRA85T10A562T"), pass(0)},
		{"codice fiscale bad month", out("Codice RSSMRA85Z10A562S"), pass(0)},
		{"cpf bad check", out("CPF 529.982.247-26"), pass(0)},
		{"cpf repeated digit", out("CPF 111.111.111-11"), pass(0)},
		// Ordinary numbers, dates and order ids.
		{"order id letters", out("Your order AB12345678 ships Monday."), pass(0)},
		{"sku", out("SKU DE1234 in size 42, colour 0532."), pass(0)},
		{"date range", out("Valid 2024-01-15 to 2024-12-31, case 2024-567-8901."), pass(0)},
		{"german date", out("Lieferung am 15.03.2025, Rechnung 2025-00-1234."), pass(0)},
		{"ssn shape glued", out("Part 536-22-1987-04 is discontinued."), pass(0)},
		{"ssn shape in version", out("Build v536-22-1987 deployed."), pass(0)},
		{"dni shape inside word", out("Token a12345678Z."), pass(0)},
		{"dni before accented letter", out("Código 12345678Zé"), pass(0)},
		{"decimal number", out("Total 536.982.247-25,00"), pass(0)},
		{"plain nine digits", out("Tracking 536221987 in transit."), pass(0)},
		{"hex id", out("Commit DE893704004405320130 merged."), pass(0)},
		{"chinese order", out("订单号：123456789012345，金额：９９元"), pass(0)},
	})
}

// TestPIIKindsIBANNationalID checks that the new kinds can be selected and ignored.
func TestPIIKindsIBANNationalID(t *testing.T) {
	text := "Pay to DE89 3704 0044 0532 0130 00, SSN 536-22-1987, mail jo@shop.io."
	runSpec(t, Spec{Name: "pii", Params: Params{"kinds": []any{"iban"}}}, event.KindCheck, nil, []checkCase{
		{"iban only", out(text), fail(1, "iban")},
	})
	runSpec(t, Spec{Name: "pii", Params: Params{"kinds": []any{"national_id", "email"}}}, event.KindCheck, nil, []checkCase{
		{"national id and email", out(text), fail(2, "email,national_id")},
	})
	runSpec(t, Spec{Name: "pii", Params: Params{"ignore": []any{"de89370400440532013000", "536 22 1987"}}}, event.KindCheck, nil, []checkCase{
		{"ignored", out(text), fail(1, "email")},
		{"other iban not ignored", out("GB82 WEST 1234 5698 7654 32"), fail(1, "iban")},
	})
	if _, err := New(Options{Checks: []Spec{{Name: "pii", Params: Params{"kinds": []any{"passport"}}}}}); err == nil {
		t.Errorf("New(pii kinds=[passport]) = nil error, want an unknown kind")
	}
	runSpec(t, Spec{Name: "pii_input"}, event.KindCheck, nil, []checkCase{
		{"prompt with iban", with(out("ok"), func(e *event.Event) { e.Input = "Überweise an DE89370400440532013000" }), fail(1, "iban")},
	})
}

func TestIBANChecksum(t *testing.T) {
	tests := []struct {
		iban string
		want bool
	}{
		{"DE89370400440532013000", true},
		{"GB82WEST12345698765432", true},
		{"BR1800360305000010009795493C1", true},
		{"CH9300762011623852957", true},
		{"DE89370400440532013001", false},
		{"GB82WEST12345698765433", false},
		{"DE", false},
	}
	for _, tt := range tests {
		if got := ibanChecksum([]byte(tt.iban)); got != tt.want {
			t.Errorf("ibanChecksum(%q) = %v, want %v", tt.iban, got, tt.want)
		}
	}
}

func TestNationalIDValidators(t *testing.T) {
	tests := []struct {
		name  string
		valid func(string) bool
		s     string
		want  bool
	}{
		{"ssn", ssn, "536-22-1987", true},
		{"ssn serial 0000", ssn, "536-22-0000", false},
		{"ssn area 899", ssn, "899-01-0001", true},
		{"nino", nino, "CE123456A", true},
		{"nino prefix GB", nino, "GB123456A", false},
		{"nino second O", nino, "AO123456A", false},
		{"dni", dni, "12345678Z", true},
		{"dni dash", dni, "12345678-Z", true},
		{"nie Y", dni, "Y1234567X", true},
		{"nie W", dni, "W1234567X", false},
		{"nir", nir, "184127645108946", true},
		{"nir 2B", nir, "2690520B58815712", false},
		{"nir sex 5", nir, "584127645108946", false},
		{"codice fiscale", codiceFiscale, "MRTMTT91D08F205J", true},
		{"codice fiscale woman", codiceFiscale, "BNCGLI80A41H501C", true},
		{"codice fiscale day 35", codiceFiscale, "BNCGLI80A35H501C", false},
		{"cpf", cpf, "123.456.789-09", true},
		{"cpf", cpf, "111.444.777-35", true},
		{"cpf swapped", cpf, "111.444.777-53", false},
	}
	for _, tt := range tests {
		if got := tt.valid(tt.s); got != tt.want {
			t.Errorf("%s(%q) = %v, want %v", tt.name, tt.s, got, tt.want)
		}
	}
}

func TestFindSensitiveIDs(t *testing.T) {
	s := "Überweisung an DE89 3704 0044 0532 0130 00 – Steuer-ID egal, SSN 536-22-1987; CF RSSMRA85T10A562S."
	var got []string
	for _, sp := range FindSensitive(s) {
		got = append(got, sp.Kind+"="+s[sp.Start:sp.End])
	}
	want := []string{"iban=DE89 3704 0044 0532 0130 00", "national_id=536-22-1987", "national_id=RSSMRA85T10A562S"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindSensitive(%q) (-want +got):\n%s", s, diff)
	}
}
