package eval

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/event"
)

// runOf builds the results of n cases c00, c01, ... where score(i) gives case i's scores.
func runOf(n int, score func(i int) []event.Score) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = Result{CaseID: fmt.Sprintf("c%02d", i), Scores: score(i)}
	}
	return out
}

func check(metric string, pass bool) event.Score {
	return event.Score{Metric: metric, Kind: event.KindCheck, Value: b2f(pass), Pass: pass}
}

func measure(metric string, v float64, pass bool) event.Score {
	return event.Score{Metric: metric, Kind: event.KindMeasure, Value: v, Pass: pass}
}

func ids(idx ...int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = fmt.Sprintf("c%02d", x)
	}
	return out
}

func TestCompare(t *testing.T) {
	a := runOf(6, func(i int) []event.Score {
		return []event.Score{check("refusal", i != 5), measure("length_chars", 10, true)}
	})
	b := runOf(6, func(i int) []event.Score {
		return []event.Score{check("refusal", i != 1 && i != 2), measure("length_chars", 20, true), check("json_valid", true)}
	})
	b[4] = Result{CaseID: "c04", Error: "HTTP 500"}
	c := Compare(a, b, CompareOptions{})
	if c.Shared != 5 || c.ErrorsB != 1 || c.CasesA != 6 || c.Level != 0.95 || c.Resamples != DefaultResamples {
		t.Errorf("Compare = shared %d, errors %d, cases %d, level %v, resamples %d", c.Shared, c.ErrorsB, c.CasesA, c.Level, c.Resamples)
	}
	names := []string{}
	for _, m := range c.Metrics {
		names = append(names, m.Metric)
	}
	if diff := cmp.Diff([]string{"json_valid", "length_chars", "refusal"}, names); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	r := c.Metrics[2]
	if r.N != 5 || r.OnlyA != 1 || !slices.Equal(r.Regressions, ids(1, 2)) || !slices.Equal(r.Fixes, ids(5)) ||
		!near(r.PassA, 0.8) || !near(r.PassB, 0.6) || !near(r.PassDiff.Diff, -0.2) {
		t.Errorf("refusal = %+v", r)
	}
	if l := c.Metrics[1]; !near(l.MeanA, 10) || !near(l.MeanB, 20) || l.MeanDiff.Lo != 10 || l.MeanDiff.Hi != 10 {
		t.Errorf("length_chars = %+v, want means 10 and 20 and a point interval at +10", l)
	}
	if j := c.Metrics[0]; j.N != 0 || j.OnlyB != 5 {
		t.Errorf("json_valid, scored in B only = %+v, want N 0 and OnlyB 5", j)
	}
}

func TestGate(t *testing.T) {
	const n = 40
	allPass := func(metric string) func(int) []event.Score {
		return func(int) []event.Score { return []event.Score{check(metric, true)} }
	}
	failing := func(metric string, bad ...int) func(int) []event.Score {
		return func(i int) []event.Score { return []event.Score{check(metric, !slices.Contains(bad, i))} }
	}
	f1 := func(delta float64) func(int) []event.Score {
		return func(i int) []event.Score {
			return []event.Score{measure("token_f1", 0.6+0.01*float64(i%10)+delta, true)}
		}
	}
	tests := []struct {
		name      string
		n         int
		a, b      func(int) []event.Score
		margin    float64
		want      []string // failing metric/signal pairs
		wantCases []string // cases named by the first failure
	}{
		{"identical runs", n, allPass("json_valid"), allPass("json_valid"), 0.02, nil, nil},
		{"clear regression", n, allPass("json_valid"), failing("json_valid", 1, 5, 9, 13, 17, 21, 25, 29), 0.02,
			[]string{"json_valid/pass_rate"}, ids(1, 5, 9, 13, 17, 21, 25, 29)},
		{"no gate on noise: as many fixes as regressions", n, failing("refusal", 2, 11, 23), failing("refusal", 7, 19, 31), 0.02, nil, nil},
		{"no gate on noise: two regressions in 40", n, allPass("refusal"), failing("refusal", 3, 30), 0.02, nil, nil},
		{"improvement", n, failing("refusal", 1, 2, 3, 4, 5, 6, 7, 8), allPass("refusal"), 0.02, nil, nil},
		{"significant but within the margin", 1000, allPass("pii"), failing("pii", seq(0, 1000, 67)...), 0.02, nil, nil},
		{"significant and beyond a smaller margin", 1000, allPass("pii"), failing("pii", seq(0, 1000, 67)...), 0.01,
			[]string{"pii/pass_rate"}, nil},
		{"watched measure's mean drops", n, f1(0), f1(-0.1), 0.02, []string{"token_f1/mean"}, nil},
		{"watched measure's mean drops within the margin", n, f1(0), f1(-0.01), 0.02, nil, nil},
		{"watched measure's mean rises", n, f1(0), f1(0.1), 0.02, nil, nil},
		{"lower is better: repetition rises", n,
			func(i int) []event.Score { return []event.Score{measure("repetition", 0.01*float64(i%3), true)} },
			func(i int) []event.Score { return []event.Score{measure("repetition", 0.2+0.01*float64(i%3), true)} },
			0.02, []string{"repetition/mean"}, nil},
		{"a measure without a direction moves", n,
			func(i int) []event.Score { return []event.Score{measure("length_chars", 500, true)} },
			func(i int) []event.Score { return []event.Score{measure("length_chars", 100, true)} },
			0.02, nil, nil},
		{"a metric of one run only", n, allPass("json_valid"), allPass("refusal"), 0.02, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(runOf(tt.n, tt.a), runOf(tt.n, tt.b), CompareOptions{Level: 0.95})
			v := Gate(c, GateOptions{Margin: tt.margin, MaxCases: 50})
			var got []string
			for _, f := range v.Failures {
				got = append(got, f.Metric+"/"+f.Signal)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Gate failures (-want +got):\n%s\n%s", diff, v)
			}
			if v.Pass != (len(tt.want) == 0) {
				t.Errorf("Gate.Pass = %v with failures %v", v.Pass, got)
			}
			if tt.wantCases != nil {
				if diff := cmp.Diff(tt.wantCases, v.Failures[0].Cases); diff != "" {
					t.Errorf("cases named (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// seq returns start, start+step, ... below end.
func seq(start, end, step int) []int {
	var out []int
	for i := start; i < end; i += step {
		out = append(out, i)
	}
	return out
}

func TestGateCapsCasesAndSaysWhy(t *testing.T) {
	a := runOf(40, func(int) []event.Score { return []event.Score{check("json_valid", true), check("refusal", true)} })
	b := runOf(40, func(i int) []event.Score {
		return []event.Score{check("json_valid", i >= 30), check("refusal", i%2 == 0)}
	})
	v := Gate(Compare(a, b, CompareOptions{Level: 0.95}), GateOptions{Margin: 0.02, MaxCases: 5})
	if v.Pass || len(v.Failures) != 2 || len(v.Failures[0].Cases) != 5 || v.Failures[0].Omitted != 25 {
		t.Fatalf("Gate = %+v, want 2 failures, the first naming 5 cases and omitting 25", v)
	}
	want := "FAIL: json_valid, refusal dropped significantly (alpha 0.05) by more than 0.02 (2 metrics, 40 shared cases)"
	if got := v.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	pass := Gate(Compare(a, a, CompareOptions{Level: 0.95}), GateOptions{Margin: 0.02})
	if want := "PASS: no metric dropped significantly (alpha 0.05) by more than 0.02 (2 metrics, 40 shared cases)"; pass.String() != want {
		t.Errorf("String() = %q, want %q", pass.String(), want)
	}
}
