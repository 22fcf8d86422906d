package otlp

import (
	"sort"
	"strconv"
	"strings"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/vigilhq/vigil/pkg/event"
)

// unknownRole stands in for a message role the instrumentation did not record.
const unknownRole = "unknown"

// chatMsg is one message as an instrumentation recorded it, reduced to its text.
type chatMsg struct {
	role, content, finish string
}

// content is what a span says about the model's input and output.
type content struct {
	messages     []event.Message
	input        string
	system       string
	output       string
	finish       string
	outputFound  bool
	inputSource  string
	outputSource string
	systemSource string
}

// readContent extracts input, output and system instructions from a span's attributes and span
// events, taking the first source that is present in the order documented on Map.
func readContent(a attrs, events []*tracepb.Span_Event) content {
	var c content
	details := attrs{}
	var roleEvents []chatMsg
	var choices []indexedMsg
	var legacyPrompt, legacyCompletion *commonpb.AnyValue
	for _, ev := range events {
		ea := newAttrs(ev.GetAttributes())
		switch name := ev.GetName(); name {
		case eventOperationDetails:
			for k, v := range ea {
				details[k] = v
			}
		case eventContentPrompt:
			if v := ea[keyLegacyPrompt]; v != nil && legacyPrompt == nil {
				legacyPrompt = v
			}
		case eventContentComplete:
			if v := ea[keyLegacyCompletion]; v != nil && legacyCompletion == nil {
				legacyCompletion = v
			}
		case eventChoice:
			m, idx := choiceEvent(ea)
			choices = append(choices, indexedMsg{idx: idx, chatMsg: m})
		default:
			if role, ok := roleEventName(name); ok {
				roleEvents = append(roleEvents, roleEvent(role, ea))
			}
		}
	}
	if legacyPrompt == nil {
		legacyPrompt = a[keyLegacyPrompt]
	}
	if legacyCompletion == nil {
		legacyCompletion = a[keyLegacyCompletion]
	}

	// Input.
	switch {
	case c.setInput(a[keyInputMessages], "span attribute "+keyInputMessages):
	case c.setInput(details[keyInputMessages], "event "+eventOperationDetails):
	case c.setMessages(indexedMessages(a, prefixLegacyPrompt, "role", "content", ""), "span attributes "+prefixLegacyPrompt+"<i>.*"):
	case c.setMessages(roleEvents, "events gen_ai.<role>.message"):
	case c.setInput(legacyPrompt, "event "+eventContentPrompt):
	case c.setMessages(indexedMessages(a, prefixOIInput, "message.role", "message.content", "message.contents."), "span attributes "+prefixOIInput+"<i>.*"):
	case c.setInput(a[keyOIInputValue], "span attribute "+keyOIInputValue):
	}

	// Output.
	switch {
	case c.setOutput(a[keyOutputMessages], "span attribute "+keyOutputMessages):
	case c.setOutput(details[keyOutputMessages], "event "+eventOperationDetails):
	case c.setOutputMsg(firstIndexed(indexedMessages(a, prefixLegacyCompletion, "role", "content", "")), "span attributes "+prefixLegacyCompletion+"<i>.*"):
	case c.setOutputMsg(lowest(choices), "event "+eventChoice):
	case c.setOutput(legacyCompletion, "event "+eventContentComplete):
	case c.setOutputMsg(firstIndexed(indexedMessages(a, prefixOIOutput, "message.role", "message.content", "message.contents.")), "span attributes "+prefixOIOutput+"<i>.*"):
	case c.setOutput(a[keyOIOutputValue], "span attribute "+keyOIOutputValue):
	}

	// System instructions.
	switch {
	case c.setSystem(a[keySystemInstructions], "span attribute "+keySystemInstructions):
	case c.setSystem(details[keySystemInstructions], "event "+eventOperationDetails):
	default:
		var parts []string
		for _, m := range c.messages {
			if m.Role == "system" && m.Content != "" {
				parts = append(parts, m.Content)
			}
		}
		if len(parts) > 0 {
			c.system = strings.Join(parts, "\n")
			c.systemSource = "system messages of the input"
		}
	}
	return c
}

func (c *content) setInput(v *commonpb.AnyValue, source string) bool {
	if v == nil {
		return false
	}
	s := structured(v)
	if msgs, ok := messagesFrom(s); ok {
		return c.setMessages(msgs, source)
	}
	if t, ok := s.(string); ok && t != "" {
		c.input, c.inputSource = t, source
		return true
	}
	return false
}

func (c *content) setMessages(msgs []chatMsg, source string) bool {
	if len(msgs) == 0 {
		return false
	}
	c.messages = make([]event.Message, len(msgs))
	for i, m := range msgs {
		c.messages[i] = event.Message{Role: m.role, Content: m.content}
	}
	c.inputSource = source
	return true
}

func (c *content) setOutput(v *commonpb.AnyValue, source string) bool {
	if v == nil {
		return false
	}
	s := structured(v)
	if msgs, ok := messagesFrom(s); ok {
		if len(msgs) == 0 {
			return false
		}
		return c.setOutputMsg(&msgs[0], source)
	}
	t, ok := s.(string)
	if !ok {
		return false
	}
	c.output, c.outputFound, c.outputSource = t, true, source
	return true
}

func (c *content) setOutputMsg(m *chatMsg, source string) bool {
	if m == nil {
		return false
	}
	c.output, c.outputFound, c.outputSource = m.content, true, source
	if m.finish != "" {
		c.finish = m.finish
	}
	return true
}

func (c *content) setSystem(v *commonpb.AnyValue, source string) bool {
	if v == nil {
		return false
	}
	var t string
	switch s := structured(v).(type) {
	case string:
		t = s
	case []any:
		t = partsText(s)
		if t == "" {
			if msgs, ok := messagesFrom(s); ok {
				var parts []string
				for _, m := range msgs {
					if m.content != "" {
						parts = append(parts, m.content)
					}
				}
				t = strings.Join(parts, "\n")
			}
		}
	case map[string]any:
		t = partsText([]any{s})
	}
	if t == "" {
		return false
	}
	c.system, c.systemSource = t, source
	return true
}

// messagesFrom reads a list of chat messages in the shapes instrumentations emit: the GenAI
// conventions' [{role, parts: [{type: text, content}]}] (with finish_reason on output
// messages), and the OpenAI-style [{role, content: "..."}] or [{role, content: [{type: text,
// text}]}]. A single message object counts as a list of one. ok is false when v is not such a
// list.
func messagesFrom(v any) ([]chatMsg, bool) {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		if _, hasRole := x["role"]; !hasRole {
			return nil, false
		}
		list = []any{x}
	default:
		return nil, false
	}
	msgs := make([]chatMsg, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		msg := chatMsg{role: str(m["role"]), finish: str(m["finish_reason"])}
		if msg.role == "" {
			msg.role = unknownRole
		}
		switch body := m["content"].(type) {
		case string:
			msg.content = body
		case []any:
			msg.content = partsText(body)
		case nil:
			parts, _ := m["parts"].([]any)
			msg.content = partsText(parts)
		}
		msgs = append(msgs, msg)
	}
	return msgs, true
}

// partsText joins the text parts of a message: {type: text, content} in the GenAI conventions,
// {type: text, text} in OpenAI's format; other parts (tool calls, media) carry no text to check.
func partsText(parts []any) string {
	var out []string
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			typ := str(x["type"])
			if typ != "" && typ != "text" && typ != "input_text" && typ != "output_text" {
				continue
			}
			if t := str(x["content"]); t != "" {
				out = append(out, t)
			} else if t := str(x["text"]); t != "" {
				out = append(out, t)
			}
		}
	}
	return strings.Join(out, "\n")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// indexedMessages reads a flattened message list: prefix + "<i>." + roleKey / contentKey, and,
// when contentsPrefix is set, content split into parts under contentsPrefix + "<j>.message_content.text"
// (OpenInference's multimodal form).
func indexedMessages(a attrs, prefix, roleKey, contentKey, contentsPrefix string) []chatMsg {
	byIndex := a.indexed(prefix)
	if len(byIndex) == 0 {
		return nil
	}
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	msgs := make([]chatMsg, 0, len(idx))
	for _, i := range idx {
		m := byIndex[i]
		role, _ := m.str(roleKey)
		body, hasBody := m[contentKey]
		if role == "" && !hasBody && contentsPrefix == "" {
			continue // e.g. only tool-call attributes
		}
		msg := chatMsg{role: role, finish: firstString(m, "finish_reason")}
		if hasBody {
			msg.content = text(body)
		} else if contentsPrefix != "" {
			msg.content = contentParts(m, contentsPrefix)
		}
		if msg.role == "" && msg.content == "" {
			continue
		}
		if msg.role == "" {
			msg.role = unknownRole
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// contentParts joins OpenInference's message.contents.<j>.message_content.text parts in order.
func contentParts(m attrs, prefix string) string {
	parts := m.indexed(prefix)
	idx := make([]int, 0, len(parts))
	for j := range parts {
		idx = append(idx, j)
	}
	sort.Ints(idx)
	var out []string
	for _, j := range idx {
		p := parts[j]
		if typ, _ := p.str("message_content.type"); typ != "" && typ != "text" {
			continue
		}
		if t, _ := p.str("message_content.text"); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n")
}

func firstString(a attrs, key string) string {
	if _, ok := a[key]; !ok {
		return ""
	}
	return a.first(key)
}

func firstIndexed(msgs []chatMsg) *chatMsg {
	if len(msgs) == 0 {
		return nil
	}
	return &msgs[0]
}

type indexedMsg struct {
	idx int64
	chatMsg
}

// lowest returns the choice with the lowest index (the first choice when none has one).
func lowest(choices []indexedMsg) *chatMsg {
	if len(choices) == 0 {
		return nil
	}
	best := 0
	for i, c := range choices {
		if c.idx < choices[best].idx {
			best = i
		}
	}
	return &choices[best].chatMsg
}

// roleEventName maps the deprecated per-message events (gen_ai.user.message and its siblings)
// to their role.
func roleEventName(name string) (string, bool) {
	switch name {
	case "gen_ai.system.message":
		return "system", true
	case "gen_ai.user.message":
		return "user", true
	case "gen_ai.assistant.message":
		return "assistant", true
	case "gen_ai.tool.message":
		return "tool", true
	}
	return "", false
}

// roleEvent reads a deprecated message event: its content attribute, or the event body that some
// SDKs copy into gen_ai.event.content as JSON.
func roleEvent(role string, ea attrs) chatMsg {
	m := chatMsg{role: role}
	if r, _ := ea.str("role"); r != "" {
		m.role = r
	}
	if v := ea["content"]; v != nil {
		m.content = text(v)
		return m
	}
	if body, ok := structured(ea[eventContentKey]).(map[string]any); ok {
		switch c := body["content"].(type) {
		case string:
			m.content = c
		case []any:
			m.content = partsText(c)
		}
	} else if s, ok := structured(ea[eventContentKey]).(string); ok {
		m.content = s
	}
	return m
}

// choiceEvent reads a deprecated gen_ai.choice event: index, finish_reason and message (a map, or
// JSON), either as attributes or inside gen_ai.event.content.
func choiceEvent(ea attrs) (chatMsg, int64) {
	body := map[string]any{}
	if b, ok := structured(ea[eventContentKey]).(map[string]any); ok {
		body = b
	}
	for k, v := range ea {
		if k != eventContentKey {
			body[k] = structured(v)
		}
	}
	m := chatMsg{role: "assistant", finish: str(body["finish_reason"])}
	var idx int64
	switch x := body["index"].(type) {
	case float64:
		idx = int64(x)
	case string:
		idx, _ = strconv.ParseInt(x, 10, 64)
	}
	switch msg := body["message"].(type) {
	case map[string]any:
		if r := str(msg["role"]); r != "" {
			m.role = r
		}
		switch c := msg["content"].(type) {
		case string:
			m.content = c
		case []any:
			m.content = partsText(c)
		}
	case string:
		m.content = msg
	}
	return m, idx
}
