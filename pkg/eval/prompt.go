package eval

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/vigilhq/vigil/pkg/event"
)

// Prompt is a prompt template, the prompt under test: Go text/template text rendered once per
// case with the case as data ({{.Input}}, {{.Expected}}, {{.Context}}, {{.Tags}},
// {{.SystemInstructions}}, {{.OutputSchema}}, {{.ID}}, {{.Messages}}) and the functions json (the
// JSON text of a value) and join (strings.Join). A line holding only [system], [user] or
// [assistant] starts a message with that role; text before the first such line is a user
// message. A Prompt is immutable and safe for concurrent use.
type Prompt struct {
	parts []promptPart
}

type promptPart struct {
	role string
	tmpl *template.Template
}

var promptFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := event.Marshal(v)
		return string(b), err
	},
	"join": strings.Join,
}

// ParsePrompt parses a template and checks that it renders for an empty case, so that a field
// name it does not know is reported before any model is called.
func ParsePrompt(text string) (*Prompt, error) {
	var (
		p     Prompt
		role  = "user"
		body  strings.Builder
		flush = func(line int) error {
			src := body.String()
			body.Reset()
			if strings.TrimSpace(src) == "" {
				return nil
			}
			t, err := template.New(fmt.Sprintf("%s message before line %d", role, line)).
				Option("missingkey=error").Funcs(promptFuncs).Parse(src)
			if err != nil {
				return fmt.Errorf("parse prompt template: %w", err)
			}
			p.parts = append(p.parts, promptPart{role: role, tmpl: t})
			return nil
		}
	)
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		switch strings.TrimSpace(line) {
		case "[system]", "[user]", "[assistant]":
			if err := flush(i + 1); err != nil {
				return nil, err
			}
			role = strings.Trim(strings.TrimSpace(line), "[]")
			continue
		}
		body.WriteString(line)
	}
	if err := flush(len(lines) + 1); err != nil {
		return nil, err
	}
	if len(p.parts) == 0 {
		return nil, fmt.Errorf("parse prompt template: it renders no message")
	}
	if _, err := p.Render(&Case{}); err != nil {
		return nil, err
	}
	return &p, nil
}

// Render returns the chat messages for c: the template's messages, surrounding white space
// trimmed, followed by the case's own messages (a conversation to continue). Empty messages are
// dropped.
func (p *Prompt) Render(c *Case) ([]event.Message, error) {
	msgs := make([]event.Message, 0, len(p.parts)+len(c.Messages))
	var buf bytes.Buffer
	for _, part := range p.parts {
		buf.Reset()
		if err := part.tmpl.Execute(&buf, c); err != nil {
			return nil, fmt.Errorf("render prompt template for case %s: %w", c.ID, err)
		}
		if text := strings.TrimSpace(buf.String()); text != "" {
			msgs = append(msgs, event.Message{Role: part.role, Content: text})
		}
	}
	return append(msgs, c.Messages...), nil
}

// DefaultMessages are the chat messages for c when no template is given: its system
// instructions as a system message, its messages, then its input as a user message.
func DefaultMessages(c *Case) []event.Message {
	msgs := make([]event.Message, 0, len(c.Messages)+2)
	if c.SystemInstructions != "" {
		msgs = append(msgs, event.Message{Role: "system", Content: c.SystemInstructions})
	}
	msgs = append(msgs, c.Messages...)
	if c.Input != "" {
		msgs = append(msgs, event.Message{Role: "user", Content: c.Input})
	}
	return msgs
}
