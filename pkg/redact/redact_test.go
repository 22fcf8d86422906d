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
