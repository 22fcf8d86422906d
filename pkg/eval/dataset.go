package eval

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil/pkg/event"
)

// Limits of the dataset v1 contract, mirrored in schemas/dataset.v1.schema.json.
const (
	// MaxLineBytes is the longest line (one case) a dataset file may hold.
	MaxLineBytes = 1 << 20
	// MaxCases is the most cases one dataset version may hold.
	MaxCases     = 100_000
	maxIDLen     = 128
	maxLabelLen  = 128
	maxTags      = 32
	maxTagLen    = 64
	maxNameLen   = 64
	maxProblems  = 50
	caseTopLevel = "(case)"
)

// Case is one line of a golden dataset: what the model is asked, and what its output is judged
// against. The fields mean what the same fields of event.Event mean; a case becomes an event when
// a run scores its output (see [CaseEvent]).
type Case struct {
	// ID names the case within its dataset: 1 to 128 letters, digits and - _ . :
	ID string `json:"id"`
	// Input is the prompt text; a case has an input, messages, or both.
	Input string `json:"input,omitempty"`
	// Messages is the chat conversation sent to the model.
	Messages []event.Message `json:"messages,omitempty"`
	// Expected is the reference answer, for reference checks.
	Expected string `json:"expected,omitempty"`
	// Context holds the retrieved passages, for grounding checks.
	Context []event.Passage `json:"context,omitempty"`
	// OutputSchema names the JSON Schema contract the output must satisfy.
	OutputSchema string `json:"output_schema,omitempty"`
	// Tags group cases for reading results (e.g. "json", "refund"); unique, at most 32.
	Tags []string `json:"tags,omitempty"`
	// SystemInstructions are the instructions the model must not leak.
	SystemInstructions string `json:"system_instructions,omitempty"`
}

// FieldError is one problem in a dataset: the 1-based line (0 when decoding a single case), the
// field (a JSON path such as "context[1].id", "(case)" for the whole line, or "(dataset)"), and a
// reason a person can act on.
type FieldError struct {
	Line   int
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
	}
	return e.Field + ": " + e.Reason
}

// DatasetError lists the problems found in a dataset file or a case, in line order. Omitted
// counts further problems left out to keep the message readable.
type DatasetError struct {
	Problems []*FieldError
	Omitted  int
}

func (e *DatasetError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	msg := "invalid dataset: " + strings.Join(parts, "; ")
	if e.Omitted > 0 {
		msg += fmt.Sprintf(" (and %d more)", e.Omitted)
	}
	return msg
}

// Unwrap exposes the individual problems to errors.As.
func (e *DatasetError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

type problems struct {
	list    []*FieldError
	omitted int
}

func (p *problems) add(line int, field, reason string) {
	if len(p.list) >= maxProblems {
		p.omitted++
		return
	}
	p.list = append(p.list, &FieldError{Line: line, Field: field, Reason: reason})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &DatasetError{Problems: p.list, Omitted: p.omitted}
}

// DecodeCase parses one case strictly (unknown or repeated keys, keys in another case, wrong types
// and trailing data are rejected) and validates it. Every error is a *DatasetError naming the
// field of each problem. The returned case does not alias data.
func DecodeCase(data []byte) (*Case, error) {
	var p problems
	c := decodeCase(&p, 0, data)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeCase(p *problems, line int, data []byte) *Case {
	trimmed := bytes.Trim(data, " \t\r\n")
	switch {
	case len(trimmed) > MaxLineBytes:
		p.add(line, caseTopLevel, fmt.Sprintf("%d bytes exceeds the maximum of %d per case", len(trimmed), MaxLineBytes))
		return nil
	case !utf8.Valid(trimmed):
		p.add(line, caseTopLevel, "not valid UTF-8")
		return nil
	case len(trimmed) == 0 || trimmed[0] != '{':
		p.add(line, caseTopLevel, "not a JSON object; each line holds one case")
		return nil
	}
	var c Case
	if err := event.UnmarshalStrict(trimmed, &c); err != nil {
		var fe *event.FieldError
		if !errors.As(err, &fe) {
			p.add(line, caseTopLevel, err.Error())
			return nil
		}
		field := fe.Field
		if field == "(event)" {
			field = caseTopLevel
		}
		p.add(line, field, fe.Reason)
		return nil
	}
	before := len(p.list) + p.omitted
	c.validate(p, line)
	if len(p.list)+p.omitted != before {
		return nil
	}
	return &c
}

// Validate checks a case built in code (from traffic, say) against the dataset contract and
// reports every problem as a *DatasetError.
func (c *Case) Validate() error {
	var p problems
	c.validate(&p, 0)
	return p.err()
}

// validate adds every problem of c to p.
func (c *Case) validate(p *problems, line int) {
	switch {
	case c.ID == "":
		p.add(line, "id", "required")
	case len(c.ID) > maxIDLen:
		p.add(line, "id", fmt.Sprintf("%d bytes exceeds the maximum of %d", len(c.ID), maxIDLen))
	default:
		for i := 0; i < len(c.ID); i++ {
			if !isIDByte(c.ID[i]) {
				p.add(line, "id", fmt.Sprintf("character %q at offset %d; use letters, digits and - _ . :", c.ID[i], i))
				break
			}
		}
	}
	if c.Input == "" && len(c.Messages) == 0 {
		p.add(line, "input", "required: give input, messages, or both")
	}
	for i, m := range c.Messages {
		if m.Role == "" {
			p.add(line, fmt.Sprintf("messages[%d].role", i), "required")
		}
	}
	for i, ps := range c.Context {
		if ps.ID == "" {
			p.add(line, fmt.Sprintf("context[%d].id", i), "required")
		}
	}
	if len(c.OutputSchema) > maxLabelLen {
		p.add(line, "output_schema", fmt.Sprintf("%d bytes exceeds the maximum of %d", len(c.OutputSchema), maxLabelLen))
	}
	if len(c.Tags) > maxTags {
		p.add(line, "tags", fmt.Sprintf("%d tags exceeds the maximum of %d", len(c.Tags), maxTags))
	}
	seen := make(map[string]int, len(c.Tags))
	for i, tag := range c.Tags {
		field := fmt.Sprintf("tags[%d]", i)
		if !ValidTag(tag) {
			p.add(line, field, fmt.Sprintf("%.70q is not 1 to %d letters, digits and - _ . : /", tag, maxTagLen))
			continue
		}
		if j, dup := seen[tag]; dup {
			p.add(line, field, fmt.Sprintf("%q repeats tags[%d]", tag, j))
		}
		seen[tag] = i
	}
}

// ValidTag reports whether tag may label a case: 1 to 64 letters, digits and - _ . : /
func ValidTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLen {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !isIDByte(c) && c != '/' {
			return false
		}
	}
	return true
}

// ReadCases reads a dataset file: one case per line (blank lines are skipped). It reports every
// problem at once as a *DatasetError whose entries name the line and the field, including ids
// that repeat an earlier line's. A file without cases is an error.
func ReadCases(r io.Reader) ([]Case, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		cases []Case
		p     problems
		ids   = map[string]int{}
	)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br)
		if err == io.EOF && len(data) == 0 && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read dataset line %d: %w", line, err)
		}
		switch {
		case tooLong:
			p.add(line, caseTopLevel, fmt.Sprintf("longer than the maximum of %d bytes per case", MaxLineBytes))
		case len(bytes.Trim(data, " \t\r\n")) == 0:
		default:
			if c := decodeCase(&p, line, data); c != nil {
				if first, dup := ids[c.ID]; dup {
					p.add(line, "id", fmt.Sprintf("%q repeats the id of line %d", c.ID, first))
				} else {
					ids[c.ID] = line
					cases = append(cases, *c)
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if len(p.list) == 0 {
		switch {
		case len(cases) == 0:
			p.add(0, "(dataset)", "no cases; write one JSON object per line")
		case len(cases) > MaxCases:
			p.add(0, "(dataset)", fmt.Sprintf("%d cases exceeds the maximum of %d", len(cases), MaxCases))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return cases, nil
}

// readLine returns the next line without its newline; tooLong reports (and skips) a line longer
// than MaxLineBytes.
func readLine(br *bufio.Reader) (data []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, rerr := br.ReadLine()
		if rerr != nil {
			return data, tooLong, rerr
		}
		if !tooLong {
			if len(data)+len(chunk) > MaxLineBytes {
				tooLong, data = true, nil
			} else {
				data = append(data, chunk...)
			}
		}
		if !isPrefix {
			return data, tooLong, nil
		}
	}
}

// MarshalCase encodes c as one compact JSON line (without the newline), in the field order of
// Case; the form datasets are hashed and exported in.
func MarshalCase(c *Case) ([]byte, error) {
	b, err := event.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode case %s: %w", c.ID, err)
	}
	return b, nil
}

// WriteCases writes cases as JSONL, the form ReadCases reads.
func WriteCases(w io.Writer, cases []Case) error {
	bw := bufio.NewWriter(w)
	for i := range cases {
		b, err := MarshalCase(&cases[i])
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Hash returns the content hash of a dataset: the hex SHA-256 of its cases as WriteCases writes
// them. Two versions with the same hash hold the same cases in the same order.
func Hash(cases []Case) (string, error) {
	h := sha256.New()
	if err := WriteCases(h, cases); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CaseFromColumns rebuilds a case from its stored columns: messages and context as the JSON text
// MarshalCase writes for them, or empty.
func CaseFromColumns(id, input, messages, expected, context, outputSchema string, tags []string, system string) (Case, error) {
	c := Case{ID: id, Input: input, Expected: expected, OutputSchema: outputSchema, SystemInstructions: system}
	if len(tags) > 0 {
		c.Tags = tags
	}
	if messages != "" {
		if err := decodeColumn(messages, &c.Messages); err != nil {
			return Case{}, fmt.Errorf("decode messages of case %s: %w", id, err)
		}
	}
	if context != "" {
		if err := decodeColumn(context, &c.Context); err != nil {
			return Case{}, fmt.Errorf("decode context of case %s: %w", id, err)
		}
	}
	return c, nil
}

// decodeColumn reads a JSON array column that MarshalCase wrote, refusing fields the case lacks.
func decodeColumn(data string, v any) error {
	dec := stdjson.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// EncodeJSON encodes messages or passages for storage ("" when empty).
func EncodeJSON[T any](items []T) (string, error) {
	if len(items) == 0 {
		return "", nil
	}
	b, err := event.Marshal(items)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ValidName reports whether name may name a dataset: 1 to 64 letters, digits and - _ .
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ParseRef splits a dataset reference NAME or NAME@VERSION. Version 0 means the latest.
func ParseRef(ref string) (name string, version uint32, err error) {
	name, v, hasVersion := strings.Cut(ref, "@")
	if !ValidName(name) {
		return "", 0, fmt.Errorf("dataset %q: the name must be 1 to %d letters, digits and - _ .", ref, maxNameLen)
	}
	if !hasVersion || v == "latest" {
		return name, 0, nil
	}
	n, perr := strconv.ParseUint(strings.TrimPrefix(v, "v"), 10, 32)
	if perr != nil || n == 0 {
		return "", 0, fmt.Errorf("dataset %q: the version after @ must be a positive integer", ref)
	}
	return name, uint32(n), nil
}

// Ref formats a dataset reference NAME@VERSION.
func Ref(name string, version uint32) string {
	return name + "@" + strconv.FormatUint(uint64(version), 10)
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}
