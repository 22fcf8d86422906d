package evalreport

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/eval"
)

func render(tb testing.TB, in Input) string {
	tb.Helper()
	var b bytes.Buffer
	if err := Render(&b, in); err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return b.String()
}

func TestRenderEscapesUntrustedText(t *testing.T) {
	in := sample(t)
	in.Results[0].Tags = []string{`"><svg onload=alert(1)>`}
	in.Warnings = append(in.Warnings, `<script>alert("warning")</script>`)
	html := render(t, in)
	if n := strings.Count(html, "<script"); n != 1 {
		t.Errorf("report has %d <script elements, want 1 (its own)", n)
	}
	for _, raw := range []string{`<script>document`, `<img src=x`, `<svg onload`, `href="javascript:`, `<script>alert`} {
		if strings.Contains(html, raw) {
			t.Errorf("report contains %q unescaped", raw)
		}
	}
	for _, escaped := range []string{`&lt;script&gt;document.documentElement.setAttribute(`, `&lt;img src=x onerror=`,
		`&#34;&gt;&lt;svg onload=alert(1)&gt;`, `&lt;script&gt;alert(&#34;warning&#34;)&lt;/script&gt;`} {
		if !strings.Contains(html, escaped) {
			t.Errorf("report lacks the escaped text %q", escaped)
		}
	}
	// Self-contained: nothing is fetched, and the policy forbids any fetch.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).FindString(html); m != "" {
		t.Errorf("report references a remote resource: %q", m)
	}
	if !strings.Contains(html, `content="default-src &#39;none&#39;;`) {
		t.Errorf("report lacks its Content-Security-Policy")
	}
}

func TestRenderShowsComparisonHistoryAndDiffs(t *testing.T) {
	in := sample(t)
	html := render(t, in)
	rows := regexp.MustCompile(`(?s)<table class="compare">.*?</table>`).FindString(html)
	if got, want := strings.Count(rows, "<tr><td>"), len(in.Comparison.Metrics); got != want || want < 5 {
		t.Errorf("comparison table has %d metric rows, want %d (at least 5)", got, want)
	}
	// v2 broke the JSON of c01-c03 and refuses c09-c12: they passed before and fail now.
	var refusal eval.MetricComparison
	for _, m := range in.Comparison.Metrics {
		if m.Metric == "refusal" {
			refusal = m
		}
	}
	if want := []string{"c09", "c10", "c11", "c12"}; !slices.Equal(refusal.Regressions, want) {
		t.Fatalf("sample refusal regressions = %v, want %v", refusal.Regressions, want)
	}
	if !strings.Contains(rows, `class="n worse">`+interval(refusal.PassDiff)+`<`) {
		t.Errorf("the refusal pass-rate drop is not marked worse:\n%s", rows)
	}
	for _, id := range refusal.Regressions {
		if !strings.Contains(rows, `">`+id+`</a>`) {
			t.Errorf("comparison table does not link regressed case %s", id)
		}
	}
	if got, want := strings.Count(html, `<svg class="plot"`), len(in.Run.Summary.Metrics); got != want {
		t.Errorf("report has %d plots, want one per metric (%d)", got, want)
	}
	if got := strings.Count(html, `<circle class="point mark-run"`); got != len(in.Run.Summary.Metrics) {
		t.Errorf("this run is marked in %d plots, want %d", got, len(in.Run.Summary.Metrics))
	}
	if !strings.Contains(html, `<path class="line" d="M`) {
		t.Error("plots have no lines")
	}
	// c10: the refund answer became a refusal; the diff marks both sides.
	var c10 string
	for _, d := range strings.Split(html, "<details ")[1:] {
		if strings.Contains(d, "<code>c10</code>") {
			c10 = d
		}
	}
	if !strings.Contains(c10, `data-status="regression" open>`) || !strings.Contains(c10, "<del>Yes. Order 10 can be refunded") ||
		!strings.Contains(c10, "<ins>I&#39;m sorry, but I can&#39;t help with refunds. Please contact customer support.</ins>") {
		t.Errorf("c10 diff lacks its deletion and insertion:\n%s", c10)
	}
	// Regressions come first, unchanged cases are left out.
	first := regexp.MustCompile(`data-status="(\w+)"`).FindAllStringSubmatch(html, -1)
	if len(first) == 0 || first[0][1] != "regression" {
		t.Errorf("first case status = %v, want regression", first)
	}
	if strings.Contains(html, "<code>c05</code>") {
		t.Error("c05 answered the same in both runs but is listed")
	}
	if !strings.Contains(html, `data-status="error"`) || !strings.Contains(html, "429 Too Many Requests") {
		t.Error("the case that ended in an error is not shown with its error")
	}
}

func TestRenderAloneListsFailingCases(t *testing.T) {
	in := sample(t)
	in.Against, in.AgainstResults, in.Comparison = nil, nil, nil
	html := render(t, in)
	if strings.Contains(html, `class="compare"`) {
		t.Error("a report without --against has a comparison table")
	}
	if !strings.Contains(html, "<code>c10</code>") || strings.Contains(html, "<code>c05</code>") {
		t.Error("want the failing case c10 listed and the passing case c05 left out")
	}
}

func TestRenderCapsCases(t *testing.T) {
	in := sample(t)
	in.MaxCases = 2
	html := render(t, in)
	if got := strings.Count(html, `<details class="case"`); got != 2 {
		t.Errorf("report shows %d cases, want 2", got)
	}
	if !regexp.MustCompile(`\d+ more cases not shown`).MatchString(html) {
		t.Error("report does not count the cases left out")
	}
}

func TestRenderRejectsIncompleteInput(t *testing.T) {
	full := sample(t)
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"no run", Input{}, "Input.Run: required"},
		{"against without comparison", Input{Run: full.Run, Against: full.Against}, "Input.Comparison: required"},
		{"comparison without against", Input{Run: full.Run, Comparison: full.Comparison}, "Input.Against: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Render(&bytes.Buffer{}, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	in := sample(b)
	var buf bytes.Buffer
	if err := Render(&buf, in); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWordDiffLong(b *testing.B) {
	// 200 sentences, 20 of them changed: too large to align word by word in one piece.
	var ob, nb strings.Builder
	for n := range 200 {
		s := fmt.Sprintf("Sentence %d: the quick brown fox jumps over the lazy dog. ", n)
		ob.WriteString(s)
		if n%10 == 5 {
			s = strings.Replace(s, "lazy", "sleepy", 1)
		}
		nb.WriteString(s)
	}
	old, new := ob.String(), nb.String()
	b.SetBytes(int64(len(old) + len(new)))
	b.ReportAllocs()
	for b.Loop() {
		WordDiff(old, new)
	}
}
