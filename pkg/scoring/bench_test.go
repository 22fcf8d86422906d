package scoring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/event"
)

// benchmarkText is a 1.5 KB answer of a support assistant.
var benchmarkText = strings.TrimSpace(`
Thanks for reaching out about your delayed shipment. I checked the tracking details for order
58213: the parcel left our warehouse in Rotterdam on Monday morning and was handed to the carrier
the same afternoon. Because of the regional holiday on Thursday, deliveries in your area are
running about one day behind schedule, so the new estimated delivery date is Friday between 9:00
and 17:00. You do not need to do anything; the courier will try to deliver twice, and if nobody is
home the package will be held at the nearest pickup point for seven days. If you would rather
collect it yourself, you can choose a pickup point in the tracking page under "Delivery options".

Here is what happens next:
- Tomorrow evening you will receive an e-mail with a two-hour delivery window.
- On the day of delivery, the driver's position is shown live on the tracking page.
- If the window does not suit you, you can move the delivery to Saturday at no extra cost.

Should the parcel still not arrive by Monday, reply to this message and we will either send a
replacement at no cost or issue a full refund, whichever you prefer. Refunds reach your card
within three to five business days. I am sorry for the wait and appreciate your patience. Is
there anything else I can help you with today?`)

// benchmarkEvent is a realistic event for the scorer: a 1.5 KB English answer with its question
// and system instructions, no reference or context, not JSON.
func benchmarkEvent() *event.Event {
	return &event.Event{
		EventID: "evt-bench", App: "support-bot", Feature: "order-status", Model: "gpt-4o-mini",
		PromptVersion: "v7", Status: event.StatusOK, FinishReason: "stop",
		SystemInstructions: "You are the customer support assistant of a Dutch web shop. Answer in the customer's language, " +
			"be concise and friendly, use the order tools for facts and never invent delivery dates.",
		Input:  "Hi, my order 58213 was supposed to arrive yesterday and it still hasn't. What's going on?",
		Output: benchmarkText,
	}
}

func eventBytes(ev *event.Event) int64 {
	return int64(len(ev.Output) + len(ev.Input) + len(ev.SystemInstructions))
}

// BenchmarkScorerDefault runs the default set on the realistic event; events/s is per core.
func BenchmarkScorerDefault(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ev := benchmarkEvent()
	var buf []event.Score
	buf = s.Score(ev, buf[:0])
	for _, sc := range buf {
		if !sc.Pass {
			b.Fatalf("Score(benchmark event): %s failed: %s", sc.Metric, sc.Reason)
		}
	}
	b.ReportAllocs()
	b.SetBytes(eventBytes(ev))
	measureCPU(b, func() { buf = s.Score(ev, buf[:0]) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(buf)), "scores/event")
}

// BenchmarkScorer runs the default set on other shapes of event.
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
	rag := benchmarkEvent()
	rag.Expected = "The parcel is one day late because of a regional holiday and should arrive on Friday between 9:00 and 17:00."
	rag.Context = []event.Passage{
		{ID: "track-58213", Text: "Order 58213. Status: in transit. Left warehouse Rotterdam Monday 08:12. Carrier delay: regional holiday Thursday. New ETA Friday 9:00-17:00. Two delivery attempts, then pickup point for seven days."},
		{ID: "policy-7", Text: "If a parcel is more than three business days late the customer may choose a free replacement or a full refund. Refunds reach the card within three to five business days. Delivery can be moved to Saturday at no extra cost."},
	}
	for _, bc := range []struct {
		name string
		ev   *event.Event
	}{
		{"json", with(out(jsonOut), func(e *event.Event) { e.OutputSchema, e.FinishReason = "ticket_triage", "stop" })},
		{"rag", rag},
		{"japanese", with(out(strings.Repeat("ご注文の商品は月曜日に倉庫を出発し、祝日の影響で配達が一日遅れています。新しいお届け予定日は金曜日です。", 8)), func(e *event.Event) {
			e.Input, e.FinishReason = "注文58213はいつ届きますか？", "stop"
		})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(eventBytes(bc.ev) + int64(len(bc.ev.Expected)))
			var buf []event.Score
			measureCPU(b, func() { buf = s.Score(bc.ev, buf[:0]) })
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkCheck measures each check alone on the realistic event, on an analysis computed
// beforehand, as in a Scorer where earlier checks asked for it: ns/event is the check's own cost.
// Sub-benchmark "analysis" is the shared analysis of every text of the event, paid once per event.
// Configured checks run with typical parameters.
func BenchmarkCheck(b *testing.B) {
	ev := benchmarkEvent()
	params := map[string]Params{
		"regex_match":  {"pattern": `(?s).*\?`},
		"contains_any": {"phrases": []any{"refund", "replacement", "store credit"}},
		"contains_all": {"phrases": []any{"order", "delivery", "tracking page"}},
		"ban_list":     {"words": []any{"Amazon", "DHL Express", "competitor", "guarantee"}},
	}
	analyse := func(in *Input) {
		for _, t := range []*Text{in.Output(), in.Prompt(), in.System(), in.Expected(), in.Context()} {
			t.Words()
		}
	}
	b.Run("analysis", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(eventBytes(ev))
		in := new(Input)
		measureCPU(b, func() {
			in.reset(ev)
			analyse(in)
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	})
	for _, name := range Names() {
		if name == "test_custom" {
			continue
		}
		s, err := New(Options{Checks: []Spec{{Name: name, Params: params[name]}}})
		if err != nil {
			b.Fatal(err)
		}
		c := s.checks[0]
		b.Run(name, func(b *testing.B) {
			in := NewInput(ev)
			analyse(in)
			b.ReportAllocs()
			b.SetBytes(eventBytes(ev))
			measureCPU(b, func() { c.Score(in) })
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
		})
	}
}

// BenchmarkAnalysis measures the shared analysis alone: words, sentences and counts of the
// output.
func BenchmarkAnalysis(b *testing.B) {
	ev := benchmarkEvent()
	in := new(Input)
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Output)))
	measureCPU(b, func() {
		in.reset(ev)
		in.Output().Words()
	})
}
