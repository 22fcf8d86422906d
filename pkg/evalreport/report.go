package evalreport

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/eval"
	"github.com/vigilhq/vigil/pkg/event"
)

// HistoryPoint is one row of the v_eval_history view: one run's aggregate of one metric.
type HistoryPoint struct {
	Dataset       string
	Version       uint32
	PromptVersion string
	Metric        string
	StartedAt     time.Time
	RunID         string
	Model         string
	Status        string
	Cases         uint64
	MeanValue     float64
	PassRate      float64
}

// Input is what a report shows. Run and Results are required; the rest is optional.
type Input struct {
	// Run is the run the report is about (the candidate, B in the comparison).
	Run     *eval.Run
	Results []eval.Result
	// Against is the run compared with (the baseline, A), with its results and the comparison
	// eval.Compare(AgainstResults, Results, ...) made; nil for a report of Run alone.
	Against        *eval.Run
	AgainstResults []eval.Result
	Comparison     *eval.Comparison
	// History holds the runs of Run's dataset over time, as v_eval_history returns them.
	History []HistoryPoint
	// Warnings are shown above the comparison (what it leaves out).
	Warnings []string
	// Generated is the time printed in the header (zero: now).
	Generated time.Time
	// MaxCases caps the cases shown with their outputs (default 100); the rest are counted.
	MaxCases int
}

// DefaultMaxCases is the number of cases a report shows unless Input.MaxCases says otherwise.
const DefaultMaxCases = 100

//go:embed report.js
var script string

//go:embed report.css
var style string

//go:embed report.html.tmpl
var pageTemplate string

var tmpl = template.Must(template.New("report").Parse(pageTemplate))

// csp allows nothing but the inline style and the one script of the page (by its hash): the
// report works offline, and even text that escaped escaping could not run or fetch anything.
var csp = func() string {
	sum := sha256.Sum256([]byte(script))
	return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// Render writes the report of in to w as one HTML document. It fails only on an invalid input
// (the error names the field) or a write error.
func Render(w io.Writer, in Input) error {
	p, err := build(in)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("render eval report of run %s: %w", in.Run.ID, err)
	}
	return nil
}

type page struct {
	Title      string
	CSP        string
	Style      template.CSS
	Script     template.JS
	Generated  string
	Run        runView
	Against    *runView
	Warnings   []string
	Level      string
	Compare    []metricRow
	Shared     int
	Resamples  int
	Seed       uint64
	Plots      []plotView
	Legend     []legendItem
	Cases      []caseView
	CasesTitle string
	Omitted    int
	Counts     []statusCount
}

type runView struct {
	Role, ID, Dataset, App, Feature, Prompt, Model, Status, Started string
	Results, Cases, Errors                                          int
}

type metricRow struct {
	Metric, Kind, PassA, PassB, PassDiff, MeanA, MeanB, MeanDiff string
	N                                                            int
	PassClass, MeanClass                                         string
	Regressions                                                  []caseLink
	RegOmitted                                                   int
	Fixes                                                        int
	PlotAnchor                                                   string
}

type caseLink struct{ ID, Anchor string }

type statusCount struct {
	Status string
	N      int
}

func build(in Input) (*page, error) {
	var problems []error
	if in.Run == nil {
		problems = append(problems, errors.New("evalreport: Input.Run: required"))
	}
	if in.Against != nil && in.Comparison == nil {
		problems = append(problems, errors.New("evalreport: Input.Comparison: required when Input.Against is set"))
	}
	if in.Against == nil && in.Comparison != nil {
		problems = append(problems, errors.New("evalreport: Input.Against: required when Input.Comparison is set"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	gen := in.Generated
	if gen.IsZero() {
		gen = time.Now()
	}
	maxCases := in.MaxCases
	if maxCases <= 0 {
		maxCases = DefaultMaxCases
	}
	p := &page{
		Title:     "Eval report " + in.Run.ID,
		CSP:       csp,
		Style:     template.CSS(style),
		Script:    template.JS(script),
		Generated: gen.UTC().Format("2006-01-02 15:04 UTC"),
		Run:       describe("run", in.Run, in.Results),
		Warnings:  in.Warnings,
	}
	kinds := map[string]event.Kind{}
	for _, m := range in.Run.Summary.Metrics {
		kinds[m.Metric] = m.Kind
	}
	for _, r := range in.Results {
		for _, sc := range r.Scores {
			kinds[sc.Metric] = cmp.Or(kinds[sc.Metric], sc.Kind)
		}
	}
	anchors := caseAnchors(in.Results, in.AgainstResults)
	if in.Against != nil {
		a := describe("against", in.Against, in.AgainstResults)
		p.Against = &a
		c := in.Comparison
		p.Level = fmt.Sprintf("%g%%", 100*c.Level)
		p.Shared, p.Resamples, p.Seed = c.Shared, c.Resamples, c.Seed
		for _, m := range c.Metrics {
			kinds[m.Metric] = cmp.Or(kinds[m.Metric], m.Kind)
			row := metricRow{Metric: m.Metric, Kind: string(m.Kind), N: m.N, PassA: num(m.PassA), PassB: num(m.PassB),
				PassDiff: interval(m.PassDiff), MeanA: num(m.MeanA), MeanB: num(m.MeanB), MeanDiff: interval(m.MeanDiff),
				PassClass: direction(m.PassDiff), Fixes: len(m.Fixes), PlotAnchor: plotAnchor(m.Metric)}
			if dir, ok := eval.DefaultDirections[m.Metric]; ok && m.Kind == event.KindMeasure {
				row.MeanClass = direction(m.MeanDiff)
				if dir == eval.LowerIsBetter {
					row.MeanClass = flip(row.MeanClass)
				}
			}
			for i, id := range m.Regressions {
				if i == 20 {
					row.RegOmitted = len(m.Regressions) - i
					break
				}
				row.Regressions = append(row.Regressions, caseLink{ID: id, Anchor: anchors[id]})
			}
			p.Compare = append(p.Compare, row)
		}
	}
	p.Plots, p.Legend = plots(in, kinds)
	p.Cases, p.Omitted, p.Counts = cases(in, anchors, maxCases)
	if in.Against != nil {
		p.CasesTitle = "Cases that changed"
	} else {
		p.CasesTitle = "Cases that failed a check"
	}
	return p, nil
}

func describe(role string, r *eval.Run, results []eval.Result) runView {
	v := runView{Role: role, ID: r.ID, Dataset: eval.Ref(r.Dataset, r.Version), App: r.App, Feature: r.Feature,
		Prompt: r.PromptVersion, Model: r.Model, Status: string(r.Status), Results: len(results), Cases: int(r.Cases)}
	if !r.StartedAt.IsZero() {
		v.Started = r.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, res := range results {
		if res.Error != "" {
			v.Errors++
		}
	}
	return v
}

// caseAnchors gives every case id an element id of its own: case ids are untrusted text, so the
// page never uses them as ids or selectors.
func caseAnchors(lists ...[]eval.Result) map[string]string {
	var ids []string
	for _, l := range lists {
		for _, r := range l {
			ids = append(ids, r.CaseID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]string, len(ids))
	for i, id := range ids {
		out[id] = fmt.Sprintf("case-%d", i)
	}
	return out
}

func plotAnchor(metric string) string {
	sum := sha256.Sum256([]byte(metric))
	return fmt.Sprintf("plot-%x", sum[:6])
}

// direction classes an interval: "worse" or "better" when it excludes zero, "" otherwise.
func direction(iv eval.Interval) string {
	switch {
	case !iv.ExcludesZero():
		return ""
	case iv.Hi < 0:
		return "worse"
	default:
		return "better"
	}
}

func flip(class string) string {
	switch class {
	case "worse":
		return "better"
	case "better":
		return "worse"
	}
	return class
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

func interval(iv eval.Interval) string {
	if iv.N == 0 || math.IsNaN(iv.Diff) {
		return "–"
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", iv.Diff, iv.Lo, iv.Hi)
}

// Case statuses, in the order the report lists them.
const (
	statusRegression = "regression"
	statusError      = "error"
	statusFix        = "fix"
	statusChanged    = "changed"
	statusFailing    = "failing"
)

var statusOrder = map[string]int{statusRegression: 0, statusError: 1, statusFix: 2, statusChanged: 3, statusFailing: 4}

type caseView struct {
	ID, Anchor, Status string
	Tags               []string
	FailA, FailB       []string
	ErrorA, ErrorB     string
	Ops                []opView
	Open               bool
	HasA               bool
}

type opView struct{ Class, Text string }

var opClass = map[OpKind]string{Equal: "", Delete: "del", Insert: "ins"}

// cases picks the cases worth reading: with a comparison, those that regressed, errored, were
// fixed or whose output changed; alone, those that failed a check or errored.
func cases(in Input, anchors map[string]string, limit int) ([]caseView, int, []statusCount) {
	regressed, fixed := map[string]bool{}, map[string]bool{}
	if in.Comparison != nil {
		for _, m := range in.Comparison.Metrics {
			for _, id := range m.Regressions {
				regressed[id] = true
			}
			for _, id := range m.Fixes {
				fixed[id] = true
			}
		}
	}
	before := map[string]eval.Result{}
	for _, r := range in.AgainstResults {
		before[r.CaseID] = r
	}
	var out []caseView
	for _, r := range in.Results {
		c := caseView{ID: r.CaseID, Anchor: anchors[r.CaseID], Tags: r.Tags, FailB: failing(r), ErrorB: r.Error}
		a, hasA := before[r.CaseID]
		switch {
		case in.Against == nil:
			if r.Error == "" && len(c.FailB) == 0 {
				continue
			}
			c.Status = statusFailing
			if r.Error != "" {
				c.Status = statusError
			}
			c.Ops = []opView{{Text: r.Output}}
		default:
			c.HasA = hasA
			c.FailA, c.ErrorA = failing(a), a.Error
			switch {
			case regressed[r.CaseID]:
				c.Status = statusRegression
			case r.Error != "" && (!hasA || a.Error == ""):
				c.Status = statusError
			case fixed[r.CaseID]:
				c.Status = statusFix
			case hasA && a.Output != r.Output:
				c.Status = statusChanged
			default:
				continue
			}
			for _, op := range WordDiff(a.Output, r.Output) {
				c.Ops = append(c.Ops, opView{Class: opClass[op.Kind], Text: op.Text})
			}
		}
		c.Open = c.Status == statusRegression || c.Status == statusError
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(x, y caseView) int {
		return cmp.Or(cmp.Compare(statusOrder[x.Status], statusOrder[y.Status]), strings.Compare(x.ID, y.ID))
	})
	counts := map[string]int{}
	for _, c := range out {
		counts[c.Status]++
	}
	var sc []statusCount
	for _, s := range []string{statusRegression, statusError, statusFix, statusChanged, statusFailing} {
		if counts[s] > 0 {
			sc = append(sc, statusCount{Status: s, N: counts[s]})
		}
	}
	omitted := 0
	if len(out) > limit {
		omitted = len(out) - limit
		out = out[:limit]
	}
	return out, omitted, sc
}

func failing(r eval.Result) []string {
	var out []string
	for _, sc := range r.Scores {
		if !sc.Pass {
			out = append(out, sc.Metric)
		}
	}
	slices.Sort(out)
	return out
}
