package scoring

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilhq/vigil/pkg/event"
)

// want is the expected result of one check on one event; Reason is checked by checkReason.
type want struct {
	skip  bool // the check does not apply
	value float64
	pass  bool
	label string
}

func pass(value float64) want               { return want{value: value, pass: true} }
func fail(value float64, label string) want { return want{value: value, label: label} }

var skip = want{skip: true}

type checkCase struct {
	name string
	ev   *event.Event
	want want
}

// out returns an ok event carrying output.
func out(output string) *event.Event {
	return &event.Event{EventID: "evt-1", App: "support-bot", Model: "gpt-4o-mini", Output: output, Status: event.StatusOK}
}

// with returns a copy of ev changed by f.
func with(ev *event.Event, f func(*event.Event)) *event.Event {
	c := *ev
	f(&c)
	return &c
}

// runCases scores each case with the single check metric and compares the result.
func runCases(t *testing.T, metric string, kind event.Kind, contracts *Contracts, cases []checkCase) {
	t.Helper()
	s, err := New(Options{Checks: []string{metric}, Contracts: contracts})
	if err != nil {
		t.Fatalf("New(%q) error = %v", metric, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Score(tc.ev, nil)
			if tc.want.skip {
				if len(got) != 0 {
					t.Errorf("Score(%q) = %v, want no score", tc.ev.Output, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Score(%q) = %v, want one score", tc.ev.Output, got)
			}
			w := event.Score{Metric: metric, Kind: kind, Value: tc.want.value, Pass: tc.want.pass, Label: tc.want.label}
			if diff := cmp.Diff(w, got[0], cmpopts.IgnoreFields(event.Score{}, "Reason"), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Score(%q) = %v, want %v (-want +got):\n%s", tc.ev.Output, got[0], w, diff)
			}
			checkReason(t, got[0])
		})
	}
}

// checkReason enforces the reason contract: a short sentence on failure, nothing on success.
func checkReason(tb testing.TB, sc event.Score) {
	tb.Helper()
	switch {
	case sc.Pass && sc.Reason != "":
		tb.Errorf("%s passed with reason %q, want none", sc.Metric, sc.Reason)
	case !sc.Pass && sc.Reason == "":
		tb.Errorf("%s failed without a reason", sc.Metric)
	case !sc.Pass && !strings.HasSuffix(sc.Reason, ".") && !strings.HasSuffix(sc.Reason, "…"):
		tb.Errorf("%s reason %q does not end a sentence", sc.Metric, sc.Reason)
	case utf8.RuneCountInString(sc.Reason) > 200:
		tb.Errorf("%s reason has %d runes, want at most 200: %q", sc.Metric, utf8.RuneCountInString(sc.Reason), sc.Reason)
	}
}

var builtin = []string{"json_schema", "json_valid", "length_chars", "non_empty", "pii", "refusal", "repetition", "truncated", "word_count"}

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, want sorted", names)
	}
	for _, name := range builtin {
		if !slices.Contains(names, name) {
			t.Errorf("Names() = %v, want it to contain %q", names, name)
		}
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Register(%q) twice did not panic", "non_empty")
		}
	}()
	Register("non_empty", func(Env) (Check, error) { return nonEmpty{}, nil })
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		checks []string
		want   string // substring of the error
	}{
		{[]string{"non_empty", "toxicity"}, `"toxicity": unknown check`},
		{[]string{"pii", "pii"}, `"pii": listed twice`},
	}
	for _, tt := range tests {
		s, err := New(Options{Checks: tt.checks})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) = %v, %v, want error containing %q", tt.checks, s, err, tt.want)
		}
	}
}

func TestNewAllChecks(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatalf("New(Options{}) error = %v", err)
	}
	var got []string
	for _, c := range s.checks {
		got = append(got, c.Name())
	}
	if diff := cmp.Diff(Names(), got); diff != "" {
		t.Errorf("New(Options{}) checks differ from Names() (-want +got):\n%s", diff)
	}
}

func TestScorerScore(t *testing.T) {
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		t.Fatal(err)
	}
	answer := "Your order #58213 left our warehouse on Monday and should arrive within three business days."
	tests := []struct {
		name   string
		checks []string
		ev     *event.Event
		want   []string // metrics, in order
	}{
		{
			name: "default order, plain text",
			ev:   with(out(answer), func(e *event.Event) { e.FinishReason = "stop" }),
			want: []string{"length_chars", "non_empty", "pii", "refusal", "repetition", "truncated", "word_count"},
		},
		{
			name: "default order, structured output",
			ev: with(out(`{"category":"billing","priority":2,"summary":"Doppelte Abbuchung im März"}`), func(e *event.Event) {
				e.OutputSchema = "ticket_triage"
			}),
			want: []string{"json_schema", "json_valid", "length_chars", "non_empty", "pii", "refusal", "word_count"},
		},
		{
			name:   "order of Options.Checks",
			checks: []string{"word_count", "non_empty", "length_chars"},
			ev:     out(answer),
			want:   []string{"word_count", "non_empty", "length_chars"},
		},
		{
			name: "error event, only truncated applies",
			ev: with(out(""), func(e *event.Event) {
				e.Status, e.Error, e.FinishReason, e.OutputSchema = event.StatusError, "upstream 503", "content_filter", "ticket_triage"
			}),
			want: []string{"truncated"},
		},
		{
			name: "short output without finish reason",
			ev:   out("Ja."),
			want: []string{"length_chars", "non_empty", "pii", "refusal", "word_count"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{Contracts: contracts, Checks: tt.checks})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sc := range s.Score(tt.ev, nil) {
				got = append(got, sc.Metric)
				if !sc.Pass {
					t.Errorf("Score(%q): %s failed: %s", tt.ev.Output, sc.Metric, sc.Reason)
				}
			}
			if tt.checks == nil {
				// Checks registered later may add metrics; those known here keep their order.
				got = slices.DeleteFunc(got, func(m string) bool { return !slices.Contains(builtin, m) })
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Score(%q) metrics = %v, want %v (-want +got):\n%s", tt.ev.Output, got, tt.want, diff)
			}
		})
	}
}

func TestScorerReusesBuffer(t *testing.T) {
	s, err := New(Options{Checks: []string{"non_empty", "word_count"}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]event.Score, 0, 8)
	got := s.Score(out("Guten Morgen!"), buf[:0])
	if len(got) != 2 || &got[0] != &buf[:1][0] {
		t.Errorf("Score(%q, buf) = %v, want 2 scores in buf", "Guten Morgen!", got)
	}
	prefix := []event.Score{{Metric: "earlier"}}
	got = s.Score(out("Hola"), prefix)
	if len(got) != 3 || got[0].Metric != "earlier" {
		t.Errorf("Score(%q, prefix) = %v, want prefix kept and 2 scores appended", "Hola", got)
	}
	if got := s.Score(nil, buf[:0]); len(got) != 0 {
		t.Errorf("Score(nil) = %v, want no scores", got)
	}
}

// fixtures is a mix of outputs that exercises every check.
var fixtures = []*event.Event{
	with(out(`{"category":"bug","priority":1,"summary":"App stürzt beim Login ab"}`), func(e *event.Event) { e.OutputSchema = "ticket_triage" }),
	with(out(`{"category":"urgent","priority":"high"}`), func(e *event.Event) { e.OutputSchema = "ticket_triage" }),
	with(out("```json\n{\"a\":1}\n```"), func(e *event.Event) { e.Attributes = map[string]string{"output_format": "json"} }),
	with(out("Lo siento, no puedo ayudarte con esa solicitud."), func(e *event.Event) { e.FinishReason = "stop" }),
	with(out("Bitte überweisen Sie an max.mustermann@web.de, Karte 4111 1111 1111 1111."), func(e *event.Event) { e.FinishReason = "length" }),
	out("東京は日本の首都です。人口は約1400万人で、世界有数の大都市です。"),
	out(strings.Repeat("I don't know. ", 10)),
	out(""),
}

func TestScorerConcurrent(t *testing.T) {
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Contracts: contracts})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]event.Score, len(fixtures))
	for i, ev := range fixtures {
		want[i] = s.Score(ev, nil)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var buf []event.Score
			for i := range 50 {
				// Replacing a contract with an identical one must not disturb scoring.
				if g == 0 && i%10 == 0 {
					if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
						t.Error(err)
					}
				}
				k := (g + i) % len(fixtures)
				buf = s.Score(fixtures[k], buf[:0])
				if diff := cmp.Diff(want[k], buf, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Score(%q) in goroutine %d differs (-want +got):\n%s", fixtures[k].Output, g, diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchmarkText is a ~1 KB answer of a support assistant.
var benchmarkText = strings.TrimSpace(`
Thanks for reaching out about your delayed shipment. I checked the tracking details for order
58213: the parcel left our warehouse in Rotterdam on Monday morning and was handed to the carrier
the same afternoon. Because of the regional holiday on Thursday, deliveries in your area are
running about one day behind schedule, so the new estimated delivery date is Friday between 9:00
and 17:00. You do not need to do anything; the courier will try to deliver twice, and if nobody is
home the package will be held at the nearest pickup point for seven days. If you would rather
collect it yourself, you can choose a pickup point in the tracking page under "Delivery options".
Should the parcel still not arrive by Monday, reply to this message and we will either send a
replacement at no cost or issue a full refund, whichever you prefer. I am sorry for the wait and
appreciate your patience. Is there anything else I can help you with today?`)

func BenchmarkScorer(b *testing.B) {
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Contracts: contracts})
	if err != nil {
		b.Fatal(err)
	}
	tags := strings.Repeat(`"shipping","delay","holiday","refund",`, 20)
	jsonOut := fmt.Sprintf(`{"category":"other","priority":3,"summary":"Parcel delayed by a regional holiday; new ETA Friday","tags":[%s"eta"]}`, tags)
	for _, bc := range []struct {
		name string
		ev   *event.Event
	}{
		{"text", with(out(benchmarkText), func(e *event.Event) { e.FinishReason = "stop" })},
		{"json", with(out(jsonOut), func(e *event.Event) { e.OutputSchema, e.FinishReason = "ticket_triage", "stop" })},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.ev.Output)))
			var buf []event.Score
			for b.Loop() {
				buf = s.Score(bc.ev, buf[:0])
			}
			for _, sc := range buf {
				if !sc.Pass {
					b.Fatalf("Score(%q): %s failed: %s", bc.ev.Output, sc.Metric, sc.Reason)
				}
			}
		})
	}
}

// BenchmarkCheck measures each check alone on the ~1 KB text.
func BenchmarkCheck(b *testing.B) {
	ev := with(out(benchmarkText), func(e *event.Event) { e.FinishReason = "stop" })
	for _, name := range Names() {
		s, err := New(Options{Checks: []string{name}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ev.Output)))
			var buf []event.Score
			for b.Loop() {
				buf = s.Score(ev, buf[:0])
			}
		})
	}
}

// FuzzScore checks that no output makes a check panic or break the score contract.
func FuzzScore(f *testing.F) {
	for _, ev := range fixtures {
		f.Add(ev.Output, ev.OutputSchema, ev.FinishReason)
	}
	f.Add(benchmarkText, "", "length")
	f.Add("+1 (415) 555-0132 4111 1111 1111 1111 a@b.co 0.000123456789", "", "")
	f.Add("\xff\xfe'’ ー"+strings.Repeat("\u0301", 40), "ticket_triage", "stop")
	contracts := NewContracts()
	if err := contracts.Add("ticket_triage", []byte(ticketContract)); err != nil {
		f.Fatal(err)
	}
	s, err := New(Options{Contracts: contracts})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, output, schema, finish string) {
		ev := &event.Event{Output: output, OutputSchema: schema, FinishReason: finish}
		for _, sc := range s.Score(ev, nil) {
			checkReason(t, sc)
			if sc.Kind == event.KindCheck && sc.Value != 0 && sc.Value != 1 && sc.Metric != "pii" {
				t.Errorf("Score(%q): %s = %v, want value 0 or 1", output, sc.Metric, sc.Value)
			}
			if sc.Metric == "repetition" && (sc.Value < 0 || sc.Value > 1) {
				t.Errorf("Score(%q): repetition = %v, want a share in [0, 1]", output, sc.Value)
			}
		}
	})
}
