package judge

import (
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/vigilhq/vigil/pkg/event"
)

// SystemPrompt is the system message of every judge request: it fixes the answer's shape, so a
// rubric only has to say what to judge.
const SystemPrompt = `You are an impartial evaluator of an AI system's output. Apply the rubric in the user message to the data it shows. ` +
	`Answer with exactly one JSON object and nothing else, of the form ` +
	`{"label": string, "score": number, "explanation": string}: ` +
	`"score" is a number from 0 (worst) to 1 (best) under the rubric, "label" a short verdict in one or two words, ` +
	`and "explanation" one or two sentences giving the reason.`

// systemPromptVersion changes whenever SystemPrompt or the request shape changes meaning; it is
// part of every judge's Version.
const systemPromptVersion = "judge-prompt-1"

// PromptData is what a rubric template sees: {{.Input}}, {{.Output}} and so on.
type PromptData struct {
	// Input is the event's input or, for chat events, the content of the last user message.
	Input string
	// Messages is the conversation, one "role: content" line per message.
	Messages string
	// Output is the model's answer under judgement.
	Output string
	// Context is the retrieved passages, one "[id] text" paragraph each.
	Context string
	// Expected is the reference answer, if the event has one.
	Expected string
	// SystemInstructions is the model's system prompt, if the event carries it.
	SystemInstructions string

	// App, Feature and Model label the event (Feature is "default" when the event names none).
	App, Feature, Model string
}

// NewPromptData extracts what a rubric can use from ev.
func NewPromptData(ev *event.Event) PromptData {
	d := PromptData{
		Input: ev.Input, Output: ev.Output, Expected: ev.Expected, SystemInstructions: ev.SystemInstructions,
		App: ev.App, Feature: orDefault(ev.Feature, event.DefaultFeature), Model: ev.Model,
	}
	if len(ev.Messages) > 0 {
		var b strings.Builder
		for i, m := range ev.Messages {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(m.Role)
			b.WriteString(": ")
			b.WriteString(m.Content)
		}
		d.Messages = b.String()
		if d.Input == "" {
			for i := len(ev.Messages) - 1; i >= 0; i-- {
				if ev.Messages[i].Role == "user" {
					d.Input = ev.Messages[i].Content
					break
				}
			}
		}
	}
	if len(ev.Context) > 0 {
		var b strings.Builder
		for i, p := range ev.Context {
			if i > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString("[")
			b.WriteString(p.ID)
			b.WriteString("] ")
			b.WriteString(p.Text)
		}
		d.Context = b.String()
	}
	return d
}

// parseRubric compiles a rubric template.
func parseRubric(rubric string) (*template.Template, error) {
	return template.New("rubric").Option("missingkey=error").Parse(rubric)
}

// sampleData exercises every field when a rubric is checked.
var sampleData = PromptData{
	Input: "When will my order arrive?", Messages: "user: When will my order arrive?",
	Output: "It ships tomorrow.", Context: "[p1] Orders ship within two days.", Expected: "Within two days.",
	SystemInstructions: "Be brief.", App: "shop", Feature: "support", Model: "gpt-x",
}

// checkRubric reports whether rubric is a template that renders and uses the event.
func checkRubric(rubric string) error {
	if strings.TrimSpace(rubric) == "" {
		return errors.New("required")
	}
	t, err := parseRubric(rubric)
	if err != nil {
		return fmt.Errorf("not a valid template: %w", err)
	}
	var with, without strings.Builder
	if err := t.Execute(&with, sampleData); err != nil {
		return fmt.Errorf("does not render: %w", err)
	}
	if err := t.Execute(&without, PromptData{}); err != nil {
		return fmt.Errorf("does not render: %w", err)
	}
	if with.String() == without.String() {
		return errors.New("uses no event field: include at least {{.Output}}")
	}
	return nil
}
