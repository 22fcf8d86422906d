package scoring

import (
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
