package evalreport

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/scoring"
)

// hostileOutput is an answer that tries to run script in the report and to reach the network.
const hostileOutput = `Product 20 is great.</pre><script>document.documentElement.setAttribute("data-pwned","script")</script>` +
	`<img src=x onerror="document.documentElement.setAttribute('data-pwned','img')"><a href="javascript:alert(1)">x</a>`

// sample builds a realistic report input: a shop FAQ dataset of 30 cases, three earlier runs of
// prompt v1 (and one of v1.1, which refused two questions) over two weeks, and prompt v2 that breaks the JSON answers and
// refuses refund questions, scored by the live checks.
func sample(tb testing.TB) Input {
	tb.Helper()
	scorer, err := scoring.New(scoring.Options{Checks: []scoring.Spec{
		{Name: "json_valid"}, {Name: "length_chars"}, {Name: "non_empty"}, {Name: "refusal"}, {Name: "rouge_l"}, {Name: "token_f1"},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 11, 13, 9, 30, 0, 0, time.UTC)
	type runSpec struct {
		id, prompt string
		at         time.Time
		answer     func(n int) string
	}
	v1 := func(drift int) func(int) string {
		return func(n int) string { return answerV1(n, drift) }
	}
	specs := []runSpec{
		{"run-20261113-093000-a1b2c3", "v1", start, v1(0)},
		{"run-20261117-141500-0d9e8f", "v1", start.Add(4*24*time.Hour + 4*time.Hour), v1(1)},
		{"run-20261121-101000-77aa01", "v1.1", start.Add(8*24*time.Hour + 40*time.Minute), func(n int) string {
			if n == 13 || n == 29 { // v1.1 was tried and dropped: it refused two questions
				return "I'm sorry, but I can't help with that."
			}
			return answerV1(n, 2)
		}},
		{"run-20261124-163000-5c5c5c", "v1", start.Add(11*24*time.Hour + 7*time.Hour), v1(3)},
		{"run-20261127-091200-e4f5a6", "v2", start.Add(14*24*time.Hour - 18*time.Minute), answerV2},
	}
	var runs []*eval.Run
	var results [][]eval.Result
	var history []HistoryPoint
	for _, s := range specs {
		run := &eval.Run{ID: s.id, Dataset: "shop-faq", Version: 2, App: "shop", Feature: "faq", PromptVersion: s.prompt,
			Model: "gpt-4o-mini", Target: "openai", StartedAt: s.at, FinishedAt: s.at.Add(95 * time.Second),
			Status: eval.StatusDone, Cases: 30}
		var rs []eval.Result
		for n := 1; n <= 30; n++ {
			id := fmt.Sprintf("c%02d", n)
			r := eval.Result{RunID: s.id, CaseID: id, Tags: tagsFor(n), Attempts: 1, LatencyMS: float64(400 + 13*n),
				FinishedAt: s.at.Add(time.Duration(n) * time.Second)}
			if s.prompt == "v2" && n == 27 {
				r.Error = "POST /v1/chat/completions: 429 Too Many Requests after 4 attempts"
			} else {
				r.Output = s.answer(n)
				ev := &event.Event{EventID: s.id + "/" + id, Timestamp: r.FinishedAt, App: "shop", Feature: "faq",
					Input: questionFor(n), Output: r.Output, Expected: answerV1(n, 0)}
				r.Scores = scorer.Score(ev, nil)
			}
			rs = append(rs, r)
		}
		run.Summary = eval.Summarize(rs)
		for _, m := range run.Summary.Metrics {
			history = append(history, HistoryPoint{Dataset: run.Dataset, Version: run.Version, PromptVersion: run.PromptVersion,
				Metric: m.Metric, StartedAt: run.StartedAt, RunID: run.ID, Model: run.Model, Status: string(run.Status),
				Cases: uint64(m.N), MeanValue: m.Mean, PassRate: m.PassRate})
		}
		runs = append(runs, run)
		results = append(results, rs)
	}
	a, b := len(runs)-2, len(runs)-1
	c := eval.Compare(results[a], results[b], eval.CompareOptions{Resamples: 1000})
	return Input{Run: runs[b], Results: results[b], Against: runs[a], AgainstResults: results[a], Comparison: &c,
		History: history, Generated: start.Add(14 * 24 * time.Hour),
		Warnings: []string{"cases that ended in an error are not compared: 0 in run-20261124-163000-5c5c5c, 1 in run-20261127-091200-e4f5a6"}}
}

func tagsFor(n int) []string {
	switch {
	case n <= 8:
		return []string{"json", "orders"}
	case n <= 14:
		return []string{"refund"}
	}
	return []string{"product"}
}

func questionFor(n int) string {
	switch {
	case n <= 8:
		return fmt.Sprintf("When does order %d ship? Reply as JSON with an answer field.", n)
	case n <= 14:
		return fmt.Sprintf("Can I get a refund for order %d?", n)
	}
	return fmt.Sprintf("Describe product %d.", n)
}

// answerV1 is the good answer; drift varies the wording of a few product answers per run, so the
// history moves a little.
func answerV1(n, drift int) string {
	switch {
	case n <= 8:
		return fmt.Sprintf(`{"answer": "Order %d ships within 2 business days from our Leipzig warehouse."}`, n)
	case n <= 14:
		return fmt.Sprintf("Yes. Order %d can be refunded within 30 days of delivery: open Orders, choose Return, "+
			"and the refund reaches your card 3 to 5 days after we receive the parcel.", n)
	}
	words := []string{"sturdy", "light", "compact", "quiet"}
	s := fmt.Sprintf("Product %d is a %s everyday bag made of recycled nylon, with a padded laptop sleeve, "+
		"two side pockets and a lifetime warranty.", n, words[(n+drift)%len(words)])
	if (n+drift)%7 == 0 {
		s = strings.Replace(s, " with a padded laptop sleeve,", "", 1)
	}
	return s
}

// answerV2 is the "be concise" prompt: it breaks the JSON of three order answers, refuses four
// refund questions and shortens the product answers.
func answerV2(n int) string {
	switch {
	case n <= 3:
		return fmt.Sprintf("Order %d ships within 2 business days.", n)
	case n <= 8:
		return answerV1(n, 0)
	case n <= 12:
		return "I'm sorry, but I can't help with refunds. Please contact customer support."
	case n <= 14:
		return answerV1(n, 0)
	case n == 20:
		return hostileOutput
	}
	return fmt.Sprintf("Product %d is a light everyday bag made of recycled nylon with a laptop sleeve.", n)
}
