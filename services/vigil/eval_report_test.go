package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEvalReportComparesWithTheEarlierRun stores two runs of the shop FAQ (v2 breaks the JSON
// answers and refuses refunds, and one of its outputs is hostile markup), then writes the report
// of v2 and reads it back.
func TestEvalReportComparesWithTheEarlierRun(t *testing.T) {
	f := newEvalFixture(t)
	mustEval(t, "dataset", "add", f.dataset, "--name", "shop-faq")
	hostile := `<script>document.title="pwned"</script><img src=x onerror=alert(1)>`
	runWith := func(prompt string, v2 bool) string {
		var lines strings.Builder
		for n := 1; n <= 30; n++ {
			out := answerFor(fmt.Sprintf("c%02d", n), v2)
			if v2 && n == 20 {
				out = hostile
			}
			fmt.Fprintf(&lines, `{"case_id":"c%02d","output":%q}`+"\n", n, out)
		}
		file := filepath.Join(f.dir, prompt+"-outputs.jsonl")
		write(t, file, lines.String())
		return runID(t, mustEval(t, "run", "--dataset", "shop-faq", "--app", "shop", "--feature", "faq",
			"--prompt-version", prompt, "--outputs", file))
	}
	a := runWith("v1", false)
	b := runWith("v2", true)

	file := filepath.Join(f.dir, "report.html")
	out := mustEval(t, "report", b, "-o", file, "--resamples", "500")
	if want := fmt.Sprintf("report of run %s against run %s written to %s", b, a, file); !strings.Contains(out, want) {
		t.Errorf("eval report printed %q, want %q (the earlier run picked by default)", out, want)
	}
	html := string(readAll(t, file))
	table := regexp.MustCompile(`(?s)<table class="compare">.*?</table>`).FindString(html)
	for _, metric := range []string{"json_schema", "refusal"} {
		row := regexp.MustCompile(`<tr><td><a href="#plot-[0-9a-f]+">` + metric + `</a>.*</tr>`).FindString(table)
		if !strings.Contains(row, `class="n worse">`) {
			t.Errorf("comparison row of %s is not marked worse: %q", metric, row)
		}
	}
	for _, id := range []string{"c01", "c08", "c09", "c14"} {
		if !regexp.MustCompile(`<a href="#case-\d+">` + id + `</a>`).MatchString(table) {
			t.Errorf("comparison table does not link %s, which passed in A and fails in B", id)
		}
	}
	if n := strings.Count(html, `<svg class="plot"`); n < 5 {
		t.Errorf("report has %d plots, want one per metric", n)
	}
	if n := strings.Count(html, `class="point mark-against"`); n < 5 {
		t.Errorf("run A is marked in %d plots", n)
	}
	if strings.Count(html, "<script") != 1 || !strings.Contains(html, "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;") {
		t.Error("the hostile output is not escaped")
	}
	if !strings.Contains(html, "<del>Yes, order 9 can be refunded within 30 days of delivery.</del><ins>I&#39;m sorry, but I can&#39;t help with that request.</ins>") {
		t.Error("the report lacks the word diff of c09")
	}

	// Alone: no comparison, the failing cases with their outputs; to standard output.
	alone := mustEval(t, "report", b, "--against", "none", "-o", "-")
	if strings.Contains(alone, `class="compare"`) || !strings.Contains(alone, "Cases that failed a check") ||
		!strings.HasPrefix(alone, "<!DOCTYPE html>") {
		t.Errorf("eval report --against none -o - did not print a report without comparison")
	}
	// The first run has no earlier one: a report of it alone, said so.
	first := mustEval(t, "report", a, "-o", filepath.Join(f.dir, "first.html"))
	if !strings.Contains(first, "(no run to compare with)") {
		t.Errorf("report of the first run printed %q", first)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "first.html")); err != nil {
		t.Error(err)
	}
}

func TestEvalReportRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "give one run id"},
		{[]string{"report", "a", "b"}, "give one run id"},
		{[]string{"report", "a", "--resamples", "10"}, "--resamples at least 100"},
		{[]string{"report", "a", "--cases", "0"}, "--cases at least 1"},
	} {
		_, _, err := vigilEval(context.Background(), tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("vigil eval %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
