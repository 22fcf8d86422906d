package event

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"
)

// DefaultMaxBytes is the largest encoded event accepted when no limit is configured.
const DefaultMaxBytes = 256 << 10

// ErrTooLarge marks an event rejected for its size before decoding.
var ErrTooLarge = errors.New("event: too large")

// Decoder decodes and validates events. The zero value uses DefaultMaxBytes; it is safe for
// concurrent use.
type Decoder struct {
	// MaxBytes is the largest accepted encoded event; 0 means DefaultMaxBytes.
	MaxBytes int
	// Alias lets the event's strings share data's memory instead of copying them: decoding
	// then allocates almost nothing. Set it only where data is neither modified nor reused
	// while the event is in use, as with a JetStream message's payload in a stage's batch.
	Alias bool
}

// Decode parses one v1 event strictly (unknown fields, field names in another case, wrong types
// and trailing data are rejected) and validates it. The output field must be present, though it may
// be empty (a failed call). Every error is a *FieldError or a *ValidationError naming the field.
// The returned event does not alias data unless d.Alias is set.
func (d Decoder) Decode(data []byte) (*Event, error) {
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(data) > limit {
		return nil, &FieldError{Field: "(event)", Reason: fmt.Sprintf("%d bytes exceeds the maximum event size of %d bytes", len(data), limit), err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return nil, invalidUTF8(data, topLevelKeys(data))
	}
	var ev Event
	var flags json.ParseFlags
	if d.Alias {
		flags = json.DontCopyString
	}
	if err := unmarshalStrict(data, &ev, flags); err != nil {
		return nil, err
	}
	var p problems
	if err := ev.Validate(); err != nil {
		var verr *ValidationError
		if !errors.As(err, &verr) {
			return nil, err
		}
		p = verr.Fields
	}
	// Validate cannot tell an absent output from an empty one; the wire contract can.
	if ev.Output == "" && !hasOutput(data) {
		p.add("output", `required; send "" when the call produced no output`)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return &ev, nil
}

// UnmarshalStrict decodes one JSON object into v, a pointer to a struct, by the rules Decode
// applies to events: unknown fields, keys in another case, wrong types, trailing data and
// top-level keys given twice are rejected. Each rejection is a *FieldError naming the field (a
// path such as "context[1].id", or "(event)" for the whole body); no reason quotes the input.
// Other contracts (eval cases) decode with it so that every decoder of the project agrees.
func UnmarshalStrict(data []byte, v any) error {
	return unmarshalStrict(data, v, 0)
}

func unmarshalStrict(data []byte, v any, flags json.ParseFlags) error {
	if err := strictUnmarshal(data, v, flags); err != nil {
		return err
	}
	var buf [64]keyAt // an event has at most 30 top-level fields
	if key, dup := duplicateKey(appendTopLevelKeys(buf[:0], data)); dup {
		return &FieldError{Field: key, Reason: "appears twice; send each field once"}
	}
	return nil
}

// hasOutput reports whether data, an object that strictUnmarshal accepted, has a non-null output.
func hasOutput(data []byte) bool {
	var probe struct {
		Output *string `json:"output"`
	}
	_, err := json.Parse(data, &probe, json.DontMatchCaseInsensitiveStructFields)
	return err == nil && probe.Output != nil
}

// DecodeScored parses a scored record strictly and checks its required fields.
func DecodeScored(data []byte) (*Scored, error) {
	var s Scored
	if err := strictUnmarshal(data, &s, 0); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// DecodeAlert parses an alert strictly and checks its required fields.
func DecodeAlert(data []byte) (*Alert, error) {
	var a Alert
	if err := strictUnmarshal(data, &a, 0); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// Marshal encodes an event, a scored record or an alert as compact JSON.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// AppendMarshal appends the compact JSON encoding of v to dst, reusing its capacity.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Append(dst, v, 0)
	if err != nil {
		return dst, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// strictParseFlags make the decoder as strict as the JSON Schemas in schemas/: keys match field
// names exactly, and unknown keys are errors.
const strictParseFlags = json.DisallowUnknownFields | json.DontMatchCaseInsensitiveStructFields

func strictUnmarshal(data []byte, v any, flags json.ParseFlags) error {
	// Only JSON's own whitespace may surround the value: bytes.TrimSpace would also accept
	// Unicode spaces such as U+00A0 and \v, which no other JSON parser does.
	trimmed := bytes.Trim(data, " \t\r\n")
	if len(trimmed) == 0 {
		return &FieldError{Field: "(event)", Reason: "empty body; expected a JSON object"}
	}
	if trimmed[0] != '{' {
		return &FieldError{Field: "(event)", Reason: "not a JSON object"}
	}
	rest, err := json.Parse(trimmed, v, strictParseFlags|flags)
	if err != nil {
		return decodeError(err, trimmed, reflect.TypeOf(v).Elem())
	}
	if len(rest) != 0 {
		return &FieldError{Field: "(event)", Reason: "unexpected data after the JSON object"}
	}
	return nil
}

var (
	eventType = reflect.TypeFor[Event]()
	timeType  = reflect.TypeFor[time.Time]()
)

// decodeError turns a JSON library error for data, decoded into a value of type t, into a
// FieldError naming the field where one is known.
func decodeError(err error, data []byte, t reflect.Type) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := "(event)"
		if typeErr.Field != "" {
			field = fieldPath(t, typeErr.Field)
		}
		return &FieldError{Field: field, Reason: typeReason(typeErr), err: err}
	}
	msg := err.Error()
	if quoted, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = strings.Trim(quoted, `"`)
		}
		name = keyName(name)
		reason := "unknown field"
		if path, found := unknownFieldPath(data, t); found && path != name {
			name = path // nested
		} else if t == eventType {
			reason += "; put free-form data in attributes"
		}
		return &FieldError{Field: name, Reason: reason, err: err}
	}
	// The library appends a prefix of the remaining input after ": "; drop it, as a reason must
	// not carry payload bytes (it may end up in a header).
	msg = strings.TrimPrefix(msg, "json: ")
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = msg[:i]
	}
	return &FieldError{Field: "(event)", Reason: "malformed JSON: " + printable(msg), err: err}
}

// printable escapes control characters and invalid UTF-8 in s, which comes from the input.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' || r == utf8.RuneError }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// typeReason explains a type mismatch without quoting the input, which may be private.
func typeReason(e *json.UnmarshalTypeError) string {
	got := jsonKind(e.Value)
	if e.Type == timeType {
		if got == "string" {
			return "not an RFC 3339 time such as 2026-11-27T10:00:00Z"
		}
		return "wrong type: got JSON " + got + ", want an RFC 3339 time string"
	}
	want := jsonTypeName(e.Type.String())
	if got == "overflow" {
		return "number out of range for " + e.Type.String()
	}
	return "wrong type: got JSON " + got + ", want " + want
}

// jsonKind names the JSON type of the value an UnmarshalTypeError quotes: segmentio/encoding
// reports a quoted prefix of the input, or "number ... overflows".
func jsonKind(value string) string {
	if strings.HasPrefix(value, "number ") && strings.HasSuffix(value, " overflows") {
		return "overflow"
	}
	if v, err := strconv.Unquote(value); err == nil {
		value = v
	}
	if value == "" {
		return "value"
	}
	switch c := value[0]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't', c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-', c >= '0' && c <= '9':
		return "number"
	}
	return "value"
}

// fieldPath rewrites the decoder's dotted path ("context.1.id") in the form Validate uses
// ("context[1].id"), guided by t so that a map key containing dots stays whole.
func fieldPath(t reflect.Type, dotted string) string {
	var b strings.Builder
	for rest := dotted; rest != ""; {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Map {
			b.WriteString("." + keyName(rest))
			break
		}
		seg, tail, _ := strings.Cut(rest, ".")
		rest = tail
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			b.WriteString("[" + seg + "]")
			t = t.Elem()
		case reflect.Struct:
			ft, ok := jsonField(t, seg)
			if !ok {
				return dotted
			}
			b.WriteString("." + seg)
			t = ft
		default:
			return dotted
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

// jsonField returns the type of the field of struct type t whose JSON name is exactly name.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

// unknownFieldPath finds, in document order, the first object key in data that the type it
// decodes into does not declare, and returns its path ("messages[0].name"). It runs only after the
// decoder has rejected data, to name a nested unknown field precisely.
func unknownFieldPath(data []byte, t reflect.Type) (string, bool) {
	dec := stdjson.NewDecoder(bytes.NewReader(data))
	path, found, _ := walkUnknown(dec, t, "")
	return path, found
}

func walkUnknown(dec *stdjson.Decoder, t reflect.Type, path string) (string, bool, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	delim, ok := tok.(stdjson.Delim)
	if !ok {
		return "", false, nil // a scalar or null holds no keys
	}
	switch {
	case delim == '{' && t.Kind() == reflect.Struct && t != timeType:
		for dec.More() {
			key, err := objectKey(dec)
			if err != nil {
				return "", false, err
			}
			p := keyName(key)
			if path != "" {
				p = path + "." + p
			}
			ft, known := jsonField(t, key)
			if !known {
				return p, true, nil
			}
			if p, found, err := walkUnknown(dec, ft, p); found || err != nil {
				return p, found, err
			}
		}
	case delim == '{' && t.Kind() == reflect.Map:
		for dec.More() {
			key, err := objectKey(dec)
			if err != nil {
				return "", false, err
			}
			if p, found, err := walkUnknown(dec, t.Elem(), path+"."+keyName(key)); found || err != nil {
				return p, found, err
			}
		}
	case delim == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; dec.More(); i++ {
			if p, found, err := walkUnknown(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); found || err != nil {
				return p, found, err
			}
		}
	default:
		// A type mismatch, which the decoder reports before any unknown key after it.
		return "", false, errors.New("type mismatch")
	}
	_, err = dec.Token() // the closing delimiter
	return "", false, err
}

// keyName is how a path shows an object key from the input: as is, or quoted when it is empty or
// holds characters that are not printable, so that the path names something and stays one line.
func keyName(key string) string {
	if key == "" || printable(key) != key {
		return strconv.Quote(key)
	}
	return key
}

func objectKey(dec *stdjson.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", errors.New("object key is not a string")
	}
	return key, nil
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "integer"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "object"
	}
	return goType
}
