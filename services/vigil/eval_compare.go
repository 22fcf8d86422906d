package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/store"
)

// directions collects repeated --mean NAME=higher|lower flags.
type directions map[string]eval.Direction

func (d directions) String() string { return fmt.Sprint(map[string]eval.Direction(d)) }

func (d directions) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	switch {
	case !ok || name == "":
	case dir == "higher":
		d[name] = eval.HigherIsBetter
		return nil
	case dir == "lower":
		d[name] = eval.LowerIsBetter
		return nil
	}
	return fmt.Errorf("--mean %q: want METRIC=higher or METRIC=lower", v)
}

// loadRun reads a run and its results.
func loadRun(ctx context.Context, conn driver.Conn, id string) (*eval.Run, []eval.Result, error) {
	run, err := store.Run(ctx, conn, id)
	if err != nil {
		return nil, nil, err
	}
	results, err := store.Results(ctx, conn, id)
	if err != nil {
		return nil, nil, err
	}
	return run, results, nil
}

func describeRun(out io.Writer, role string, r *eval.Run, results []eval.Result) {
	errs := 0
	for _, res := range results {
		if res.Error != "" {
			errs++
		}
	}
	fmt.Fprintf(out, "%-9s %s  %s  app %s  feature %s  prompt %s  model %s  %s: %d/%d results, %d errors\n", role, r.ID,
		eval.Ref(r.Dataset, r.Version), r.App, r.Feature, r.PromptVersion, r.Model, r.Status, len(results), r.Cases, errs)
}

// coverageWarnings says what a comparison leaves out: runs of different datasets, runs that did
// not finish, cases without a result in one run.
func coverageWarnings(a, b *eval.Run, c eval.Comparison) []string {
	var w []string
	if a.Dataset != b.Dataset {
		w = append(w, fmt.Sprintf("the runs evaluated different datasets (%s, %s): only cases with the same id are paired", a.Dataset, b.Dataset))
	} else if a.Version != b.Version {
		w = append(w, fmt.Sprintf("the runs evaluated different versions (%s, %s): only cases with the same id are paired",
			eval.Ref(a.Dataset, a.Version), eval.Ref(b.Dataset, b.Version)))
	}
	for _, r := range []*eval.Run{a, b} {
		if r.Status != eval.StatusDone {
			w = append(w, fmt.Sprintf("run %s is %s: resume it with vigil eval run --resume %s", r.ID, r.Status, r.ID))
		}
	}
	if c.ErrorsA+c.ErrorsB > 0 {
		w = append(w, fmt.Sprintf("cases that ended in an error are not compared: %d in %s, %d in %s", c.ErrorsA, a.ID, c.ErrorsB, b.ID))
	}
	return w
}

func runEvalCompare(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("eval compare", out)
	resamples := fs.Int("resamples", eval.DefaultResamples, "bootstrap resamples")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	level := fs.Float64("level", 0.95, "confidence level of the intervals")
	maxCases := fs.Int("cases", 20, "list at most this many changed cases per metric")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return errors.New("eval compare: give two run ids, RUN_A (baseline) and RUN_B (candidate)")
	}
	if *level <= 0 || *level >= 1 || *resamples < 100 {
		return errors.New("eval compare: --level must be in (0, 1) and --resamples at least 100")
	}
	_, conn, err := openConfiguredEvalStore(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	a, ra, err := loadRun(ctx, conn, pos[0])
	if err != nil {
		return err
	}
	b, rb, err := loadRun(ctx, conn, pos[1])
	if err != nil {
		return err
	}
	c := eval.Compare(ra, rb, eval.CompareOptions{Resamples: *resamples, Level: *level, Seed: *seed})
	describeRun(out, "A", a, ra)
	describeRun(out, "B", b, rb)
	for _, w := range coverageWarnings(a, b, c) {
		fmt.Fprintln(out, "warning:", w)
	}
	pct := fmt.Sprintf("%g%%", 100**level)
	fmt.Fprintf(out, "%d shared cases; differences are B - A with %s paired bootstrap intervals (%d resamples, seed %d)\n\n",
		c.Shared, pct, c.Resamples, c.Seed)
	fmt.Fprintf(out, "%-22s %-8s %5s %8s %8s %-27s %10s %10s %s\n", "METRIC", "KIND", "N", "PASS A", "PASS B",
		"Δ PASS ["+pct+" CI]", "MEAN A", "MEAN B", "Δ MEAN ["+pct+" CI]")
	for _, m := range c.Metrics {
		fmt.Fprintf(out, "%-22s %-8s %5d %8s %8s %-27s %10s %10s %s\n", m.Metric, m.Kind, m.N, num(m.PassA), num(m.PassB),
			interval(m.PassDiff), num(m.MeanA), num(m.MeanB), interval(m.MeanDiff))
	}
	var any bool
	for _, m := range c.Metrics {
		if len(m.Regressions) == 0 {
			continue
		}
		if !any {
			fmt.Fprintln(out, "\npassed in A, fail in B:")
			any = true
		}
		fmt.Fprintf(out, "  %-20s %s\n", m.Metric, caseList(m.Regressions, *maxCases))
	}
	if !any {
		fmt.Fprintln(out, "\nno case that passed in A fails in B")
	}
	return nil
}

func runEvalGate(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("eval gate", out)
	baseline := fs.String("baseline", "", "baseline run id, or latest:PROMPT_VERSION")
	candidate := fs.String("candidate", "", "candidate run id")
	margin := fs.Float64("margin", 0.02, "smallest drop that fails: pass-rate points (0.02 = 2 points), or a watched measure's mean")
	alpha := fs.Float64("alpha", 0.05, "significance level of each metric's test")
	resamples := fs.Int("resamples", eval.DefaultResamples, "bootstrap resamples")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	requireComplete := fs.Bool("require-complete", false, "also fail when a run is unfinished or has cases without a result")
	dirs := directions{}
	for k, v := range eval.DefaultDirections {
		dirs[k] = v
	}
	fs.Var(dirs, "mean", "also gate this measure's mean: METRIC=higher or METRIC=lower (repeatable)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	var problems []string
	if *baseline == "" || *candidate == "" {
		problems = append(problems, "--baseline and --candidate are required")
	}
	if *margin < 0 || math.IsNaN(*margin) {
		problems = append(problems, fmt.Sprintf("--margin %v: want a number >= 0", *margin))
	}
	if *alpha <= 0 || *alpha >= 0.5 {
		problems = append(problems, fmt.Sprintf("--alpha %v: want a value in (0, 0.5)", *alpha))
	}
	if *resamples < 100 {
		problems = append(problems, "--resamples: want at least 100")
	}
	if len(problems) > 0 {
		return fmt.Errorf("eval gate: %s", strings.Join(problems, "; "))
	}
	_, conn, err := openConfiguredEvalStore(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	b, rb, err := loadRun(ctx, conn, *candidate)
	if err != nil {
		return err
	}
	baseID := *baseline
	if pv, ok := strings.CutPrefix(baseID, "latest:"); ok {
		runs, err := store.Runs(ctx, conn, store.RunFilter{Dataset: b.Dataset, Version: b.Version, App: b.App, Feature: b.Feature,
			PromptVersion: pv, Status: eval.StatusDone, Limit: 2})
		if err != nil {
			return err
		}
		baseID = ""
		for _, r := range runs {
			if r.ID != b.ID {
				baseID = r.ID
				break
			}
		}
		if baseID == "" {
			return fmt.Errorf("eval gate: no done run of %s for %s/%s with prompt version %s to compare with; run the baseline first",
				eval.Ref(b.Dataset, b.Version), b.App, b.Feature, pv)
		}
	}
	a, ra, err := loadRun(ctx, conn, baseID)
	if err != nil {
		return err
	}
	c := eval.Compare(ra, rb, eval.CompareOptions{Resamples: *resamples, Level: 1 - *alpha, Seed: *seed})
	v := eval.Gate(c, eval.GateOptions{Margin: *margin, Directions: dirs})
	describeRun(out, "baseline", a, ra)
	describeRun(out, "candidate", b, rb)
	warnings := coverageWarnings(a, b, c)
	for _, w := range warnings {
		fmt.Fprintln(out, "warning:", w)
	}
	pct := fmt.Sprintf("%g%%", 100*(1-*alpha))
	for _, f := range v.Failures {
		signal := "pass rate"
		if f.Signal == "mean" {
			signal = "mean"
		}
		fmt.Fprintf(out, "%s %s %s -> %s: %+.3f, %s CI [%+.3f, %+.3f]; cases: %s\n", f.Metric, signal, num(f.Baseline),
			num(f.Candidate), f.Change.Diff, pct, f.Change.Lo, f.Change.Hi, caseList(f.Cases, len(f.Cases)+f.Omitted))
		if f.Omitted > 0 {
			fmt.Fprintf(out, "  (and %d more cases)\n", f.Omitted)
		}
	}
	fmt.Fprintln(out, v.String())
	if !v.Pass {
		return fmt.Errorf("gate failed: %s dropped", strings.Join(v.FailedMetrics(), ", "))
	}
	if *requireComplete && len(warnings) > 0 {
		return fmt.Errorf("gate failed: the comparison is incomplete (--require-complete): %s", warnings[0])
	}
	return nil
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}

func interval(iv eval.Interval) string {
	if iv.N == 0 {
		return "-"
	}
	mark := ""
	if iv.ExcludesZero() {
		mark = " *"
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]%s", iv.Diff, iv.Lo, iv.Hi, mark)
}

func caseList(ids []string, limit int) string {
	if len(ids) <= limit {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:limit], ", ") + fmt.Sprintf(" (and %d more)", len(ids)-limit)
}
