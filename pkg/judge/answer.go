package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Answer is a judge's verdict on one output.
type Answer struct {
	Label       string
	Score       float64 // in [0, 1]
	Explanation string
}

// MalformedError is an answer that carries no usable verdict. Reason says why without quoting the
// answer, which may repeat private text.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "judge: malformed answer: " + e.Reason }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// Limits on what ParseAnswer keeps and how hard it looks.
const (
	maxLabelRunes = 64
	// scoreSlack is how far outside [0, 1] a score may stray (float noise) and still be clamped.
	scoreSlack = 1e-6
	// maxCandidates bounds how many '{' ParseAnswer tries when the object is buried in prose.
	maxCandidates = 16
)

// ParseAnswer extracts the verdict from a judge's reply: a JSON object with a numeric score in
// [0, 1] (a numeric string is accepted) and optional label and explanation strings, found as the
// whole reply, inside a ``` fence, or as the first object in surrounding text. Keys match in any
// case; "reason", "reasoning" and "rationale" stand in for a missing "explanation". A score
// outside [0, 1] by more than float noise, or no score at all, is a *MalformedError: the parser
// never makes a score up.
func ParseAnswer(reply string) (Answer, error) {
	s := strings.TrimSpace(reply)
	if s == "" {
		return Answer{}, malformed("empty answer")
	}
	obj, ok := findObject(s)
	if !ok {
		return Answer{}, malformed("no JSON object in the answer")
	}
	return answerOf(obj)
}

// findObject returns the first JSON object in s: in a fence, the whole text, or from a '{' on.
func findObject(s string) (map[string]json.RawMessage, bool) {
	if body, ok := fenced(s); ok {
		if obj, ok := decodeObject(body); ok {
			return obj, true
		}
	}
	if obj, ok := decodeObject(s); ok {
		return obj, true
	}
	for i, tries := 0, 0; tries < maxCandidates; tries++ {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			break
		}
		i += j
		if obj, ok := decodeObject(s[i:]); ok {
			return obj, true
		}
		i++
	}
	return nil, false
}

// fenced returns the body of the first ``` fence in s, without its language tag.
func fenced(s string) (string, bool) {
	start := strings.Index(s, "```")
	if start < 0 {
		return "", false
	}
	body := s[start+3:]
	if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.Contains(body[:nl], "{") {
		body = body[nl+1:] // a language tag such as json
	}
	if end := strings.Index(body, "```"); end >= 0 {
		body = body[:end]
	}
	return body, true
}

// decodeObject decodes the JSON object s starts with (after white space); text after it is
// ignored.
func decodeObject(s string) (map[string]json.RawMessage, bool) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func answerOf(obj map[string]json.RawMessage) (Answer, error) {
	fields := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := fields[k]; !dup {
			fields[k] = v
		}
	}
	raw, ok := fields["score"]
	if !ok || isNull(raw) {
		return Answer{}, malformed("no score")
	}
	score, err := scoreOf(raw)
	if err != nil {
		return Answer{}, err
	}
	label, err := textOf(fields["label"], "label")
	if err != nil {
		return Answer{}, err
	}
	var explanation string
	for _, k := range []string{"explanation", "reason", "reasoning", "rationale"} {
		if v, ok := fields[k]; ok && !isNull(v) {
			if explanation, err = textOf(v, k); err != nil {
				return Answer{}, err
			}
			break
		}
	}
	return Answer{Label: oneLine(label, maxLabelRunes), Score: score, Explanation: strings.TrimSpace(explanation)}, nil
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" }

func scoreOf(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	var text string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, malformed("score is not a number")
		}
		text = strings.TrimSpace(text)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		text = string(raw)
	default:
		return 0, malformed("score is not a number")
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, malformed("score is not a number")
		}
	}
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, malformed("score is not a finite number")
	case v < -scoreSlack || v > 1+scoreSlack:
		return 0, malformed("score %.4g outside 0..1", v)
	}
	return min(max(v, 0), 1), nil
}

// textOf reads a string field; a number or boolean is taken as its JSON text.
func textOf(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", malformed("%s is not a string", field)
		}
		return s, nil
	case '{', '[':
		return "", malformed("%s is not a string", field)
	}
	return string(raw), nil
}

// oneLine collapses white space in s and cuts it to n runes.
func oneLine(s string, n int) string {
	return truncate(strings.Join(strings.Fields(s), " "), n)
}

// truncate cuts s to at most n runes, marking a cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}
