package event

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// examplesDir holds the language-neutral examples of the contract, shared with other languages.
const examplesDir = "../../schemas/examples"

// roundTripOpts compare decoded values: time.Time by Equal (cmp uses the method), so an instant
// keeps comparing equal whatever its zone, and an empty slice or map equal to an absent one, as
// omitempty drops both.
var roundTripOpts = cmp.Options{cmpopts.EquateEmpty()}

// exampleFiles returns the files matching pattern under examplesDir, failing if there are none.
func exampleFiles(tb testing.TB, pattern string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, pattern))
	if err != nil {
		tb.Fatalf("glob %s: %v", pattern, err)
	}
	if len(files) == 0 {
		tb.Fatalf("no example files match %s in %s", pattern, examplesDir)
	}
	return files
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read example: %v", err)
	}
	return b
}

// expectedField reads the field a rejection must name from the .expect file next to an invalid
// example.
func expectedField(tb testing.TB, path string) string {
	tb.Helper()
	want := strings.TrimSpace(string(readFile(tb, strings.TrimSuffix(path, ".json")+".expect")))
	if want == "" {
		tb.Fatalf("%s.expect is empty", strings.TrimSuffix(path, ".json"))
	}
	return want
}

// errorFields returns the fields an error from this package names, or nil if the error is not
// one of its documented types.
func errorFields(err error) []string {
	var verr *ValidationError
	if errors.As(err, &verr) {
		fields := make([]string, len(verr.Fields))
		for i, f := range verr.Fields {
			fields[i] = f.Field
		}
		return fields
	}
	var ferr *FieldError
	if errors.As(err, &ferr) {
		return []string{ferr.Field}
	}
	return nil
}

func TestDecodeValidExamples(t *testing.T) {
	for _, path := range exampleFiles(t, "valid/*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			ev, err := Decoder{}.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s) = %v, want nil error", path, err)
			}
			if ev.EventID == "" || ev.App == "" || ev.Model == "" || ev.Timestamp.IsZero() {
				t.Errorf("Decode(%s) = %+v, want event_id, app, model and timestamp set", path, ev)
			}
		})
	}
}

func TestDecodeInvalidExamples(t *testing.T) {
	for _, path := range exampleFiles(t, "invalid/*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := expectedField(t, path)
			data := readFile(t, path)
			ev, err := Decoder{}.Decode(data)
			if err == nil {
				t.Fatalf("Decode(%s) = %+v, nil, want an error naming %q", path, ev, want)
			}
			if ev != nil {
				t.Errorf("Decode(%s) returned an event with error %v", path, err)
			}
			fields := errorFields(err)
			if !slices.Contains(fields, want) {
				t.Errorf("Decode(%s) = %v (fields %q), want an error naming %q", path, err, fields, want)
			}
		})
	}
}

// validJSON is a complete event that decodes; cases below change one thing in it.
const validJSON = `{"event_id":"evt-1","timestamp":"2026-11-26T09:15:02Z","app":"helpdesk","model":"gpt-4o-mini","output":"ok"}`

// withField returns validJSON with extra members appended to the object.
func withField(members string) string {
	return strings.TrimSuffix(validJSON, "}") + "," + members + "}"
}

func TestDecode(t *testing.T) {
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name string
		in   string
		// wantFields lists fields the error must name; nil means the event must decode.
		wantFields []string
	}{
		{name: "valid", in: validJSON},
		{name: "json whitespace around", in: " \t\r\n" + validJSON + "\n\t \r"},
		{name: "output empty", in: `{"event_id":"e","timestamp":"2026-11-26T09:15:02Z","app":"a","model":"m","output":"","status":"error"}`},
		{name: "optional fields null", in: withField(`"feature":null,"messages":null,"context":null,"latency_ms":null,"input_tokens":null,"attributes":null,"status":null`)},
		{name: "status empty", in: withField(`"status":""`)},
		{name: "status ok", in: withField(`"status":"ok"`)},
		{name: "status error", in: withField(`"status":"error"`)},
		{name: "attribute value null", in: withField(`"attributes":{"tenant":null}`)},
		{name: "timestamp with offset", in: strings.Replace(validJSON, "09:15:02Z", "09:15:02.5+05:30", 1)},
		{name: "timestamp nanoseconds", in: strings.Replace(validJSON, "09:15:02Z", "09:15:02.123456789Z", 1)},
		{name: "timestamp within 24h ahead", in: strings.Replace(validJSON, "2026-11-26T09:15:02Z", soon, 1)},
		{name: "unicode escapes", in: withField(`"input":"caf\u00e9 \ud83d\ude00 \u2028"`)},
		{name: "integers for numbers", in: withField(`"latency_ms":1843,"cost_usd":0,"input_tokens":0,"output_tokens":9223372036854775807`)},

		{name: "empty body", in: "", wantFields: []string{"(event)"}},
		{name: "only whitespace", in: " \n\t", wantFields: []string{"(event)"}},
		{name: "null", in: "null", wantFields: []string{"(event)"}},
		{name: "string", in: `"event"`, wantFields: []string{"(event)"}},
		{name: "array", in: "[" + validJSON + "]", wantFields: []string{"(event)"}},
		{name: "truncated", in: validJSON[:40], wantFields: []string{"(event)"}},
		{name: "two objects", in: validJSON + validJSON, wantFields: []string{"(event)"}},
		{name: "trailing comma", in: withField(`"feature":"x",`), wantFields: []string{"(event)"}},
		{name: "vertical tab after", in: validJSON + "\v", wantFields: []string{"(event)"}},
		{name: "form feed before", in: "\f" + validJSON, wantFields: []string{"(event)"}},
		{name: "no-break space after", in: validJSON + "\u00a0", wantFields: []string{"(event)"}},
		{name: "empty object", in: `{}`, wantFields: []string{"event_id", "timestamp", "app", "model", "output"}},
		{name: "every problem at once", in: `{"event_id":"a b","timestamp":"1999-12-31T23:59:59Z","app":"a.b","model":"","output":"","status":"bad","latency_ms":-1}`,
			wantFields: []string{"event_id", "timestamp", "app", "model", "status", "latency_ms"}},
		{name: "output absent", in: `{"event_id":"e","timestamp":"2026-11-26T09:15:02Z","app":"a","model":"m"}`, wantFields: []string{"output"}},
		{name: "output null", in: strings.Replace(validJSON, `"ok"`, `null`, 1), wantFields: []string{"output"}},
		{name: "output number", in: strings.Replace(validJSON, `"ok"`, `1`, 1), wantFields: []string{"output"}},
		{name: "unknown top-level field", in: withField(`"prompt":"hi"`), wantFields: []string{"prompt"}},
		{name: "unknown empty key", in: withField(`"":1`), wantFields: []string{`""`}},
		{name: "unknown empty key in message", in: withField(`"messages":[{"role":"user","":1}]`), wantFields: []string{`messages[0].""`}},
		{name: "field name in upper case", in: withField(`"EVENT_ID":"x"`), wantFields: []string{"EVENT_ID"}},
		{name: "field name in title case", in: withField(`"Feature":"x"`), wantFields: []string{"Feature"}},
		{name: "unknown field in context", in: withField(`"context":[{"id":"a","text":"t","score":0.9}]`), wantFields: []string{"context[0].score"}},
		{name: "unknown field in second message", in: withField(`"messages":[{"role":"user"},{"role":"user","Content":"x"}]`), wantFields: []string{"messages[1].Content"}},
		{name: "message not an object", in: withField(`"messages":["hi"]`), wantFields: []string{"messages[0]"}},
		{name: "message null", in: withField(`"messages":[null]`), wantFields: []string{"messages[0].role"}},
		{name: "messages an object", in: withField(`"messages":{"role":"user"}`), wantFields: []string{"messages"}},
		{name: "context id number", in: withField(`"context":[{"id":7}]`), wantFields: []string{"context[0].id"}},
		{name: "context id empty", in: withField(`"context":[{"id":"a"},{"id":""}]`), wantFields: []string{"context[1].id"}},
		{name: "attribute key with dots", in: withField(`"attributes":{"a.b.c":true}`), wantFields: []string{"attributes.a.b.c"}},
		{name: "attribute key empty", in: withField(`"attributes":{"":"x"}`), wantFields: []string{"attributes"}},
		{name: "attributes array", in: withField(`"attributes":["a"]`), wantFields: []string{"attributes"}},
		{name: "latency string", in: withField(`"latency_ms":"12"`), wantFields: []string{"latency_ms"}},
		{name: "latency boolean", in: withField(`"latency_ms":true`), wantFields: []string{"latency_ms"}},
		{name: "latency out of range", in: withField(`"latency_ms":1e400`), wantFields: []string{"latency_ms"}},
		{name: "input tokens fraction", in: withField(`"input_tokens":12.5`), wantFields: []string{"input_tokens"}},
		{name: "input tokens exponent", in: withField(`"input_tokens":1e3`), wantFields: []string{"input_tokens"}},
		{name: "input tokens overflow", in: withField(`"input_tokens":9223372036854775808`), wantFields: []string{"input_tokens"}},
		{name: "output tokens negative", in: withField(`"output_tokens":-3`), wantFields: []string{"output_tokens"}},
		{name: "cost negative", in: withField(`"cost_usd":-0.01`), wantFields: []string{"cost_usd"}},
		{name: "ttft negative", in: withField(`"ttft_ms":-1`), wantFields: []string{"ttft_ms"}},
		{name: "status upper case", in: withField(`"status":"OK"`), wantFields: []string{"status"}},
		{name: "timestamp empty", in: strings.Replace(validJSON, "2026-11-26T09:15:02Z", "", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp null", in: strings.Replace(validJSON, `"2026-11-26T09:15:02Z"`, "null", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp without zone", in: strings.Replace(validJSON, "09:15:02Z", "09:15:02", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp lower-case t", in: strings.Replace(validJSON, "T09", "t09", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp february 30", in: strings.Replace(validJSON, "2026-11-26", "2026-02-30", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp hour 24", in: strings.Replace(validJSON, "T09", "T24", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp leap second", in: strings.Replace(validJSON, "09:15:02Z", "23:59:60Z", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp before 2000", in: strings.Replace(validJSON, "2026", "1999", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp zero", in: strings.Replace(validJSON, "2026-11-26T09:15:02Z", "0001-01-01T00:00:00Z", 1), wantFields: []string{"timestamp"}},
		{name: "timestamp far future", in: strings.Replace(validJSON, "2026-11-26T09:15:02Z", future, 1), wantFields: []string{"timestamp"}},
		{name: "timestamp object", in: strings.Replace(validJSON, `"2026-11-26T09:15:02Z"`, `{"seconds":1}`, 1), wantFields: []string{"timestamp"}},
		{name: "app empty", in: strings.Replace(validJSON, `"helpdesk"`, `""`, 1), wantFields: []string{"app"}},
		{name: "app wildcard", in: strings.Replace(validJSON, `"helpdesk"`, `"help*"`, 1), wantFields: []string{"app"}},
		{name: "app 65 bytes", in: strings.Replace(validJSON, `"helpdesk"`, `"`+strings.Repeat("a", 65)+`"`, 1), wantFields: []string{"app"}},
		{name: "event id 129 bytes", in: strings.Replace(validJSON, `"evt-1"`, `"`+strings.Repeat("e", 129)+`"`, 1), wantFields: []string{"event_id"}},
		{name: "event id slash", in: strings.Replace(validJSON, `"evt-1"`, `"evt/1"`, 1), wantFields: []string{"event_id"}},
		{name: "model null", in: strings.Replace(validJSON, `"gpt-4o-mini"`, `null`, 1), wantFields: []string{"model"}},
		{name: "feature 129 bytes", in: withField(`"feature":"` + strings.Repeat("f", 129) + `"`), wantFields: []string{"feature"}},
		{name: "environment dot", in: withField(`"environment":"prod.eu"`), wantFields: []string{"environment"}},
		{name: "string with raw control character", in: withField("\"input\":\"a\x01b\""), wantFields: []string{"(event)"}},
		{name: "bad escape", in: withField(`"input":"\x41"`), wantFields: []string{"(event)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decoder{}.Decode([]byte(tt.in))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("Decode(%q) = %v, want nil error", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, nil, want an error naming %q", tt.in, ev, tt.wantFields)
			}
			got := errorFields(err)
			if got == nil {
				t.Fatalf("Decode(%q) = %T %v, want a *FieldError or *ValidationError", tt.in, err, err)
			}
			for _, f := range tt.wantFields {
				if !slices.Contains(got, f) {
					t.Errorf("Decode(%q) = %v (fields %q), want an error naming %q", tt.in, err, got, f)
				}
			}
		})
	}
}

func TestDecodeKeepsOffsetAndInstant(t *testing.T) {
	in := strings.Replace(validJSON, "2026-11-26T09:15:02Z", "2026-11-26T14:45:02.25+05:30", 1)
	ev, err := Decoder{}.Decode([]byte(in))
	if err != nil {
		t.Fatalf("Decode(%q) = %v, want nil error", in, err)
	}
	want := time.Date(2026, 11, 26, 9, 15, 2, 250_000_000, time.UTC)
	if !ev.Timestamp.Equal(want) {
		t.Errorf("Decode(%q).Timestamp = %v, want the instant %v", in, ev.Timestamp, want)
	}
	if _, off := ev.Timestamp.Zone(); off != 5*3600+30*60 {
		t.Errorf("Decode(%q).Timestamp offset = %ds, want +05:30", in, off)
	}
	out, err := Marshal(ev)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Contains(out, []byte(`"timestamp":"2026-11-26T14:45:02.25+05:30"`)) {
		t.Errorf("Marshal(Decode(%q)) = %s, want the timestamp as sent", in, out)
	}
}

// TestDecodeErrorReasons checks that reasons help the sender, do not quote the payload, which may
// hold private text and ends up in dead-letter headers, and stay on one line.
func TestDecodeErrorReasons(t *testing.T) {
	tests := []struct {
		in         string
		field      string
		wantReason string
	}{
		{withField(`"latency_ms":"secret-1843"`), "latency_ms", "wrong type: got JSON string, want number"},
		{withField(`"input_tokens":{"secret":1}`), "input_tokens", "wrong type: got JSON object, want integer"},
		{withField(`"messages":[{"role":["secret"]}]`), "messages[0].role", "wrong type: got JSON array, want string"},
		{withField(`"attributes":{"k":false}`), "attributes.k", "wrong type: got JSON boolean, want string"},
		{withField(`"input_tokens":99999999999999999999`), "input_tokens", "number out of range for int64"},
		{strings.Replace(validJSON, "2026-11-26T09:15:02Z", "secret 2026-11-26", 1), "timestamp", "not an RFC 3339 time such as 2026-11-27T10:00:00Z"},
		{strings.Replace(validJSON, `"2026-11-26T09:15:02Z"`, "1795683302", 1), "timestamp", "wrong type: got JSON number, want an RFC 3339 time string"},
		{withField(`"prompt":"secret"`), "prompt", "unknown field; put free-form data in attributes"},
		{withField(`"context":[{"id":"a","secret":"x"}]`), "context[0].secret", "unknown field"},
		{withField(`"gen_ai.request.model":"secret"`), "gen_ai.request.model", "unknown field; put free-form data in attributes"},
		{withField(`"se\ncret":1`), `"se\ncret"`, "unknown field; put free-form data in attributes"},
		{withField(`"attributes":{"se\ncret":1}`), `attributes."se\ncret"`, "wrong type: got JSON number, want string"},
		{withField(`"input":"secret` + "\n" + `"`), "(event)", "malformed JSON: invalid character '\\n' in string escape code"},
		{withField(`"input":"secret"` + "\r\n" + `,}`), "(event)", "malformed JSON: expected '\"' at the beginning of a string value"},
		{validJSON[:len(validJSON)-1], "(event)", "malformed JSON: unexpected end of JSON input after object field value"},
	}
	for _, tt := range tests {
		_, err := Decoder{}.Decode([]byte(tt.in))
		var ferr *FieldError
		if !errors.As(err, &ferr) {
			t.Errorf("Decode(%q) = %v, want a *FieldError", tt.in, err)
			continue
		}
		if ferr.Field != tt.field || ferr.Reason != tt.wantReason {
			t.Errorf("Decode(%q) = %q: %q, want %q: %q", tt.in, ferr.Field, ferr.Reason, tt.field, tt.wantReason)
		}
		if strings.Contains(ferr.Reason, "secret") || strings.Contains(ferr.Reason, "1843") {
			t.Errorf("Decode(%q) reason %q quotes the payload", tt.in, ferr.Reason)
		}
		if strings.ContainsAny(ferr.Error(), "\r\n") {
			t.Errorf("Decode(%q) = %q, want one line", tt.in, ferr.Error())
		}
		if ferr.Unwrap() == nil {
			t.Errorf("Decode(%q) = %v, want the decoder's error wrapped", tt.in, err)
		}
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	// event builds a valid event of exactly n bytes by padding the output.
	event := func(tb testing.TB, n int) []byte {
		tb.Helper()
		pad := n - len(validJSON)
		if pad < 0 {
			tb.Fatalf("cannot build a %d-byte event", n)
		}
		return []byte(strings.Replace(validJSON, `"output":"ok"`, `"output":"ok`+strings.Repeat("x", pad)+`"`, 1))
	}
	tests := []struct {
		name     string
		maxBytes int
		size     int
		wantErr  bool
	}{
		{"at the limit", 1024, 1024, false},
		{"one byte over", 1024, 1025, true},
		{"far over", 200, 100_000, true},
		{"default limit, at it", 0, DefaultMaxBytes, false},
		{"default limit, one byte over", 0, DefaultMaxBytes + 1, true},
		{"negative means default", -1, DefaultMaxBytes + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := event(t, tt.size)
			if len(data) != tt.size {
				t.Fatalf("built %d bytes, want %d", len(data), tt.size)
			}
			ev, err := Decoder{MaxBytes: tt.maxBytes}.Decode(data)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Decoder{MaxBytes: %d}.Decode(%d bytes) = %v, want nil error", tt.maxBytes, tt.size, err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Decoder{MaxBytes: %d}.Decode(%d bytes) = %+v, %v, want ErrTooLarge", tt.maxBytes, tt.size, ev, err)
			}
			if got := errorFields(err); !slices.Equal(got, []string{"(event)"}) {
				t.Errorf("Decoder{MaxBytes: %d}.Decode(%d bytes) names %q, want (event)", tt.maxBytes, tt.size, got)
			}
		})
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	data := []byte(withField(`"input":"question","attributes":{"tenant":"acme"}`))
	ev, err := Decoder{}.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%q) = %v, want nil error", data, err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if ev.Input != "question" || ev.Attributes["tenant"] != "acme" || ev.App != "helpdesk" {
		t.Errorf("after overwriting the input, Decode result = %+v, want its own copies", ev)
	}
}

// fullEvent sets every field, in a zone that is not UTC.
func fullEvent() *Event {
	return &Event{
		EventID:            "evt-full:1",
		Timestamp:          time.Date(2026, 11, 26, 18, 22, 10, 123456789, time.FixedZone("JST", 9*3600)),
		App:                "faq-jp",
		Feature:            "shipping-faq",
		Stage:              "answer",
		TraceID:            "4bf92f3577b34da6a3ce929d0e0e4736",
		SpanID:             "00f067aa0ba902b7",
		ParentSpanID:       "53995c3f42cd8ad8",
		Environment:        "staging",
		Provider:           "aws.bedrock",
		Model:              "anthropic.claude-3-5-haiku-20241022-v1:0",
		PromptID:           "faq",
		PromptVersion:      "v3",
		Input:              "注文した商品はいつ届きますか？ <b>&amp;</b>",
		Messages:           []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "\"quoted\"\n\ttab \u2028"}},
		Output:             "金曜日までにお届けします。",
		SystemInstructions: "Never reveal this.",
		Expected:           "金曜日",
		Context:            []Passage{{ID: "kb/1", Text: "Shipping takes 3 days."}, {ID: "kb/2"}},
		OutputSchema:       "faq-answer.v1",
		LatencyMS:          1204.8,
		TTFTMS:             0.001,
		InputTokens:        31,
		OutputTokens:       math.MaxInt64,
		CostUSD:            1e-7,
		FinishReason:       "end_turn",
		Status:             StatusOK,
		Error:              "",
		UserID:             "u_1",
		SessionID:          "s_1",
		Attributes:         map[string]string{"locale": "ja-JP", "問い合わせ種別": "配送", "empty": ""},
	}
}

func TestEventRoundTrip(t *testing.T) {
	utc := fullEvent()
	utc.Timestamp = utc.Timestamp.UTC()
	minimal := &Event{EventID: "e", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), App: "a", Model: "m"}
	failed := &Event{EventID: "e", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -7*3600)), App: "a", Model: "m", Status: StatusError, Error: "boom"}
	local := fullEvent()
	if loc, err := time.LoadLocation("America/New_York"); err == nil {
		local.Timestamp = local.Timestamp.In(loc)
	}
	tests := []struct {
		name string
		ev   *Event
	}{
		{"every field", fullEvent()},
		{"every field, UTC", utc},
		{"every field, named zone", local},
		{"minimal", minimal},
		{"failed call", failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Marshal(tt.ev)
			if err != nil {
				t.Fatalf("Marshal(%+v) = %v", tt.ev, err)
			}
			got, err := Decoder{}.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s) = %v, want nil error", data, err)
			}
			if diff := cmp.Diff(tt.ev, got, roundTripOpts); diff != "" {
				t.Errorf("Decode(Marshal(ev)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExamplesRoundTrip(t *testing.T) {
	for _, path := range exampleFiles(t, "valid/*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			first, err := Decoder{}.Decode(readFile(t, path))
			if err != nil {
				t.Fatalf("Decode(%s) = %v, want nil error", path, err)
			}
			data, err := Marshal(first)
			if err != nil {
				t.Fatalf("Marshal(Decode(%s)) = %v", path, err)
			}
			second, err := Decoder{}.Decode(data)
			if err != nil {
				t.Fatalf("Decode(Marshal(Decode(%s))) = %v; encoded: %s", path, err, data)
			}
			if diff := cmp.Diff(first, second, roundTripOpts); diff != "" {
				t.Errorf("%s: Decode(Marshal(ev)) mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestMarshalOutputAlwaysPresent(t *testing.T) {
	data, err := Marshal(&Event{EventID: "e", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), App: "a", Model: "m", Status: StatusError})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Contains(data, []byte(`"output":""`)) {
		t.Errorf("Marshal(event without output) = %s, want \"output\":\"\" so that the event stays valid", data)
	}
}

// TestAppendMarshal checks that AppendMarshal encodes the same value as Marshal. The bytes may
// differ: AppendMarshal neither escapes HTML nor sorts map keys.
func TestAppendMarshal(t *testing.T) {
	ev := fullEvent()
	prefix := []byte("prefix:")
	got, err := AppendMarshal(prefix, ev)
	if err != nil {
		t.Fatalf("AppendMarshal: %v", err)
	}
	data, ok := bytes.CutPrefix(got, []byte("prefix:"))
	if !ok {
		t.Fatalf("AppendMarshal(%q, ev) = %s, want the prefix kept", prefix, got)
	}
	back, err := Decoder{}.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%s) = %v, want nil error", data, err)
	}
	if diff := cmp.Diff(ev, back, roundTripOpts); diff != "" {
		t.Errorf("Decode(AppendMarshal(ev)) mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalErrors(t *testing.T) {
	bad := &Scored{EventID: "e", Scores: []Score{{Metric: "m", Kind: KindMeasure, Value: math.NaN()}}}
	if _, err := Marshal(bad); err == nil || !strings.Contains(err.Error(), "*event.Scored") {
		t.Errorf("Marshal(scored with NaN) = %v, want an error naming *event.Scored", err)
	}
	dst := []byte("keep")
	got, err := AppendMarshal(dst, bad)
	if err == nil {
		t.Errorf("AppendMarshal(scored with NaN) = nil error, want one")
	}
	if string(got) != "keep" {
		t.Errorf("AppendMarshal(%q, bad) = %q, want dst unchanged on error", dst, got)
	}
}

func fullScored() *Scored {
	return &Scored{
		EventID:      "9b2f6c1e-3a47-4d0b-8f5e-2c7a1d9e4b60",
		Timestamp:    time.Date(2026, 11, 26, 14, 3, 27, 481_000_000, time.FixedZone("", -3*3600)),
		Series:       Series{App: "support-bot", Environment: "production", Feature: "ticket-reply", Model: "gpt-4o", PromptVersion: "v14"},
		Stage:        "draft",
		Source:       "checks",
		RulesVersion: "2026-11-20.1",
		Scores: []Score{
			{Metric: "refusal", Kind: KindCheck, Value: 0, Pass: true},
			{Metric: "answer_length_chars", Kind: KindMeasure, Value: 139.5, Pass: false, Label: "long", Reason: "over 120 characters"},
		},
	}
}

func fullAlert() *Alert {
	ends := time.Date(2026, 11, 27, 6, 45, 0, 0, time.FixedZone("CET", 3600))
	return &Alert{
		AlertID:     "c6eadffa33fcdf37-18",
		Fingerprint: "c6eadffa33fcdf37",
		Sequence:    math.MaxUint64,
		State:       StateResolved,
		Previous:    StateFiring,
		Resend:      true,
		Severity:    SeverityCritical,
		Labels:      map[string]string{"app": "support-bot", "metric": "refusal", "a.b": "dots"},
		Summary:     "refusal rate back to baseline",
		StartsAt:    time.Date(2026, 11, 27, 5, 40, 0, 0, time.UTC),
		EndsAt:      &ends,
		At:          time.Date(2026, 11, 27, 5, 45, 0, 12_000_000, time.UTC),
		Evidence: Evidence{
			Detector:        "two_proportion_z",
			Signal:          "failure_rate",
			Statistic:       -0.25,
			Threshold:       3.09,
			PValue:          1.4e-30,
			Baseline:        Sample{Value: 0.012, N: 5000, PromptVersion: "v14", Model: "gpt-4o"},
			Current:         Sample{Value: 0.011, N: 812},
			BaselineSource:  "inherited",
			WindowStart:     time.Date(2026, 11, 27, 5, 30, 0, 0, time.UTC),
			WindowEnd:       time.Date(2026, 11, 27, 5, 45, 0, 0, time.UTC),
			ExampleEventIDs: []string{"a", "b"},
		},
	}
}

func TestScoredRoundTrip(t *testing.T) {
	noScores := fullScored()
	noScores.Scores = nil
	for _, s := range []*Scored{fullScored(), noScores} {
		data, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", s, err)
		}
		got, err := DecodeScored(data)
		if err != nil {
			t.Fatalf("DecodeScored(%s) = %v, want nil error", data, err)
		}
		if diff := cmp.Diff(s, got, roundTripOpts); diff != "" {
			t.Errorf("DecodeScored(Marshal(s)) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestAlertRoundTrip(t *testing.T) {
	firing := fullAlert()
	firing.State, firing.Previous, firing.EndsAt, firing.Evidence.ExampleEventIDs = StateFiring, StatePending, nil, nil
	for _, a := range []*Alert{fullAlert(), firing} {
		data, err := Marshal(a)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", a, err)
		}
		got, err := DecodeAlert(data)
		if err != nil {
			t.Fatalf("DecodeAlert(%s) = %v, want nil error", data, err)
		}
		if diff := cmp.Diff(a, got, roundTripOpts); diff != "" {
			t.Errorf("DecodeAlert(Marshal(a)) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestScoredAndAlertExamplesRoundTrip(t *testing.T) {
	for _, path := range exampleFiles(t, "scored*.json") {
		first, err := DecodeScored(readFile(t, path))
		if err != nil {
			t.Fatalf("DecodeScored(%s) = %v, want nil error", path, err)
		}
		data, err := Marshal(first)
		if err != nil {
			t.Fatalf("Marshal(DecodeScored(%s)) = %v", path, err)
		}
		second, err := DecodeScored(data)
		if err != nil {
			t.Fatalf("DecodeScored(%s) = %v", data, err)
		}
		if diff := cmp.Diff(first, second, roundTripOpts); diff != "" {
			t.Errorf("%s: round trip mismatch (-want +got):\n%s", path, diff)
		}
	}
	for _, path := range exampleFiles(t, "alert*.json") {
		first, err := DecodeAlert(readFile(t, path))
		if err != nil {
			t.Fatalf("DecodeAlert(%s) = %v, want nil error", path, err)
		}
		data, err := Marshal(first)
		if err != nil {
			t.Fatalf("Marshal(DecodeAlert(%s)) = %v", path, err)
		}
		second, err := DecodeAlert(data)
		if err != nil {
			t.Fatalf("DecodeAlert(%s) = %v", data, err)
		}
		if diff := cmp.Diff(first, second, roundTripOpts); diff != "" {
			t.Errorf("%s: round trip mismatch (-want +got):\n%s", path, diff)
		}
	}
}

// scoredJSON and alertJSON are valid records; cases below change one thing in them.
const (
	scoredJSON = `{"event_id":"e-1","timestamp":"2026-11-26T14:03:27Z","series":{"app":"bot","environment":"production","feature":"default","model":"m","prompt_version":"v1"},"source":"checks","rules_version":"1","scores":[{"metric":"refusal","kind":"check","value":0,"pass":true}]}`
	alertJSON  = `{"alert_id":"a-1","fingerprint":"c6eadffa33fcdf37","sequence":1,"state":"firing","previous_state":"pending","resend":false,"severity":"warning","labels":{"app":"bot"},"summary":"s","starts_at":"2026-11-27T05:40:00Z","at":"2026-11-27T05:45:00Z","evidence":{"detector":"cusum","signal":"mean","statistic":1,"threshold":5,"p_value":0,"baseline":{"value":1,"n":10},"current":{"value":2,"n":10},"baseline_source":"first_n","window_start":"2026-11-27T05:30:00Z","window_end":"2026-11-27T05:45:00Z","example_event_ids":null}}`
)

func TestDecodeScored(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantFields []string
	}{
		{name: "valid", in: scoredJSON},
		{name: "no scores", in: strings.Replace(scoredJSON, `[{"metric":"refusal","kind":"check","value":0,"pass":true}]`, `null`, 1)},
		{name: "empty object", in: `{}`, wantFields: []string{"event_id", "timestamp", "series.app", "series.model", "source"}},
		{name: "bad kind", in: strings.Replace(scoredJSON, `"check"`, `"gauge"`, 1), wantFields: []string{"scores[0].kind"}},
		{name: "metric empty", in: strings.Replace(scoredJSON, `"refusal"`, `""`, 1), wantFields: []string{"scores[0].metric"}},
		{name: "value string", in: strings.Replace(scoredJSON, `"value":0`, `"value":"0"`, 1), wantFields: []string{"scores[0].value"}},
		{name: "unknown field in score", in: strings.Replace(scoredJSON, `"pass":true`, `"pass":true,"weight":1`, 1), wantFields: []string{"scores[0].weight"}},
		{name: "unknown field in series", in: strings.Replace(scoredJSON, `"app":"bot"`, `"app":"bot","metric":"x"`, 1), wantFields: []string{"series.metric"}},
		{name: "field name case", in: strings.Replace(scoredJSON, `"source"`, `"Source"`, 1), wantFields: []string{"Source"}},
		{name: "series app with dot", in: strings.Replace(scoredJSON, `"bot"`, `"b.ot"`, 1), wantFields: []string{"series.app"}},
		{name: "timestamp bad", in: strings.Replace(scoredJSON, "2026-11-26T14:03:27Z", "yesterday", 1), wantFields: []string{"timestamp"}},
		{name: "trailing data", in: scoredJSON + "x", wantFields: []string{"(event)"}},
		{name: "array", in: "[]", wantFields: []string{"(event)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeScored([]byte(tt.in))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("DecodeScored(%q) = %v, want nil error", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeScored(%q) = %+v, nil, want an error naming %q", tt.in, s, tt.wantFields)
			}
			got := errorFields(err)
			for _, f := range tt.wantFields {
				if !slices.Contains(got, f) {
					t.Errorf("DecodeScored(%q) = %v (fields %q), want an error naming %q", tt.in, err, got, f)
				}
			}
		})
	}
}

func TestDecodeAlert(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantFields []string
	}{
		{name: "valid", in: alertJSON},
		{name: "resolved with ends_at", in: strings.Replace(strings.Replace(alertJSON, `"firing"`, `"resolved"`, 1), `"at":`, `"ends_at":"2026-11-27T06:00:00+01:00","at":`, 1)},
		{name: "ends_at null", in: strings.Replace(alertJSON, `"at":`, `"ends_at":null,"at":`, 1)},
		{name: "empty object", in: `{}`, wantFields: []string{"alert_id", "fingerprint", "state", "severity", "labels.app", "at"}},
		{name: "fingerprint short", in: strings.Replace(alertJSON, "c6eadffa33fcdf37", "c6eadffa33fcdf3", 1), wantFields: []string{"fingerprint"}},
		{name: "fingerprint not hex", in: strings.Replace(alertJSON, "c6eadffa33fcdf37", "zzzzzzzzzzzzzzzz", 1), wantFields: []string{"fingerprint"}},
		{name: "fingerprint upper case", in: strings.Replace(alertJSON, "c6eadffa33fcdf37", "C6EADFFA33FCDF37", 1), wantFields: []string{"fingerprint"}},
		{name: "bad state", in: strings.Replace(alertJSON, `"state":"firing"`, `"state":"recovering"`, 1), wantFields: []string{"state"}},
		{name: "bad severity", in: strings.Replace(alertJSON, `"warning"`, `"info"`, 1), wantFields: []string{"severity"}},
		{name: "labels without app", in: strings.Replace(alertJSON, `{"app":"bot"}`, `{"metric":"refusal"}`, 1), wantFields: []string{"labels.app"}},
		{name: "sequence negative", in: strings.Replace(alertJSON, `"sequence":1`, `"sequence":-1`, 1), wantFields: []string{"sequence"}},
		{name: "bad ends_at", in: strings.Replace(alertJSON, `"at":`, `"ends_at":"soon","at":`, 1), wantFields: []string{"ends_at"}},
		{name: "bad window_end", in: strings.Replace(alertJSON, `"window_end":"2026-11-27T05:45:00Z"`, `"window_end":"2026-11-27"`, 1), wantFields: []string{"evidence.window_end"}},
		{name: "sample n fraction", in: strings.Replace(alertJSON, `"n":10}`, `"n":10.5}`, 1), wantFields: []string{"evidence.baseline.n"}},
		{name: "unknown field in sample", in: strings.Replace(alertJSON, `"n":10}`, `"n":10,"mean":4.1}`, 1), wantFields: []string{"evidence.baseline.mean"}},
		{name: "example ids not strings", in: strings.Replace(alertJSON, `"example_event_ids":null`, `"example_event_ids":["a",2]`, 1), wantFields: []string{"evidence.example_event_ids[1]"}},
		{name: "unknown top-level field", in: strings.Replace(alertJSON, `"summary"`, `"annotations":{},"summary"`, 1), wantFields: []string{"annotations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := DecodeAlert([]byte(tt.in))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("DecodeAlert(%q) = %v, want nil error", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeAlert(%q) = %+v, nil, want an error naming %q", tt.in, a, tt.wantFields)
			}
			got := errorFields(err)
			for _, f := range tt.wantFields {
				if !slices.Contains(got, f) {
					t.Errorf("DecodeAlert(%q) = %v (fields %q), want an error naming %q", tt.in, err, got, f)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	data := readFile(b, filepath.Join(examplesDir, "valid/rag_context.json"))
	for _, d := range []struct {
		name string
		dec  Decoder
	}{{"copy", Decoder{}}, {"alias", Decoder{Alias: true}}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := d.dec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeAliasMatchesCopy decodes every valid example both ways: aliasing data must change
// nothing but where the strings live.
func TestDecodeAliasMatchesCopy(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "valid", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid examples: %v", err)
	}
	for _, f := range files {
		data := readFile(t, f)
		copied, err := Decoder{}.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		aliased, err := Decoder{Alias: true}.Decode(data)
		if err != nil {
			t.Fatalf("%s aliased: %v", f, err)
		}
		if diff := cmp.Diff(copied, aliased); diff != "" {
			t.Errorf("%s: aliased decode differs (-copy +alias):\n%s", filepath.Base(f), diff)
		}
	}
}
