package eval

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

func TestPromptRender(t *testing.T) {
	c := &Case{ID: "c1", Input: "Where is order 1042?", Context: []event.Passage{{ID: "p1", Text: "Order 1042 shipped."}},
		Tags: []string{"json", "orders"}, SystemInstructions: "Be brief.",
		Messages: []event.Message{{Role: "assistant", Content: "Earlier answer."}}}
	tests := []struct {
		name string
		tmpl string
		want []event.Message
	}{
		{"plain text is one user message", "Answer: {{.Input}}\n", []event.Message{
			{Role: "user", Content: "Answer: Where is order 1042?"}, c.Messages[0]}},
		{"role lines", "[system]\n{{.SystemInstructions}} Reply in JSON.\n[user]\n{{range .Context}}[{{.ID}}] {{.Text}}\n{{end}}Q: {{.Input}}\n", []event.Message{
			{Role: "system", Content: "Be brief. Reply in JSON."},
			{Role: "user", Content: "[p1] Order 1042 shipped.\nQ: Where is order 1042?"}, c.Messages[0]}},
		{"text before the first role line", "Hello\n[system]\nsys", []event.Message{
			{Role: "user", Content: "Hello"}, {Role: "system", Content: "sys"}, c.Messages[0]}},
		{"functions", `{{join .Tags ","}} {{json .Context}}`, []event.Message{
			{Role: "user", Content: `json,orders [{"id":"p1","text":"Order 1042 shipped."}]`}, c.Messages[0]}},
		{"an empty message is dropped", "[system]\n{{if .Expected}}x{{end}}\n[user]\n{{.Input}}", []event.Message{
			{Role: "user", Content: "Where is order 1042?"}, c.Messages[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePrompt(tt.tmpl)
			if err != nil {
				t.Fatalf("ParsePrompt(%q) = %v", tt.tmpl, err)
			}
			got, err := p.Render(c)
			if err != nil {
				t.Fatalf("Render = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render(%q) (-want +got):\n%s", tt.tmpl, diff)
			}
		})
	}
}

func TestParsePromptErrors(t *testing.T) {
	for _, tmpl := range []string{
		"{{.Question}}",      // no such field: caught before any call
		"{{.Input",           // syntax
		"  \n[system]\n \n",  // no message
		"{{nosuchfunc .ID}}", // unknown function
	} {
		if _, err := ParsePrompt(tmpl); err == nil || !strings.Contains(err.Error(), "template") {
			t.Errorf("ParsePrompt(%q) = %v, want a template error", tmpl, err)
		}
	}
}

func TestDefaultMessages(t *testing.T) {
	c := &Case{Input: "q", SystemInstructions: "s", Messages: []event.Message{{Role: "user", Content: "m"}}}
	want := []event.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "m"}, {Role: "user", Content: "q"}}
	if diff := cmp.Diff(want, DefaultMessages(c)); diff != "" {
		t.Errorf("DefaultMessages (-want +got):\n%s", diff)
	}
}
