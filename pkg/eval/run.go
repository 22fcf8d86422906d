package eval

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
)

// Source is the score source of eval results, so that they never mix with the live checks'
// ("checks") in any series.
const Source = "eval"

// Environment is the environment label of the events a run scores.
const Environment = "eval"

// Status is the state of a run.
type Status string

// The states of a run. A run that stopped early (interrupted or failed) can be resumed.
const (
	StatusRunning     Status = "running"
	StatusDone        Status = "done"
	StatusInterrupted Status = "interrupted"
	StatusFailed      Status = "failed"
)

// Run is one evaluation of a dataset version against one prompt version of a target.
type Run struct {
	ID            string
	Dataset       string
	Version       uint32
	App           string
	Feature       string
	PromptVersion string
	Model         string
	// Target says what answered: "openai", "http", "command" or "outputs".
	Target string
	// Params are the target's settings as JSON, without secrets, so that a resumed run calls
	// the same target the same way.
	Params     string
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Status     Status
	// Cases is the number of cases in the dataset version.
	Cases   uint32
	Summary Summary
}

// NewRunID returns a run id that sorts by start time: "run-20261127-101500-" and 6 hex digits of
// random. It is valid as the prefix of an event id.
func NewRunID(now time.Time, random uint32) string {
	return fmt.Sprintf("run-%s-%06x", now.UTC().Format("20060102-150405"), random&0xffffff)
}

// Output is what the target answered for one case.
type Output struct {
	Text         string
	FinishReason string
	InputTokens  int64
	OutputTokens int64
	LatencyMS    float64
}

// Result is the outcome of one case in a run: the target's output and its scores, or the error
// that remained after the retries (then without scores: there is nothing to judge).
type Result struct {
	RunID      string
	CaseID     string
	Tags       []string
	Output     string
	LatencyMS  float64
	Attempts   int
	Error      string
	FinishedAt time.Time
	Scores     []event.Score
}

// CaseEvent builds the event that a case and its output make, so that the live scorer judges it
// exactly as it judges production traffic: app, feature, prompt version and model from the run;
// input, messages, expected answer, context, contract and system instructions from the case.
// Its environment is "eval" and its id run_id:case_id.
func CaseEvent(run *Run, c *Case, out Output, at time.Time) *event.Event {
	return &event.Event{
		EventID:            run.ID + ":" + c.ID,
		Timestamp:          at,
		App:                run.App,
		Feature:            run.Feature,
		Environment:        Environment,
		Model:              run.Model,
		PromptVersion:      run.PromptVersion,
		Input:              c.Input,
		Messages:           c.Messages,
		Output:             out.Text,
		SystemInstructions: c.SystemInstructions,
		Expected:           c.Expected,
		Context:            c.Context,
		OutputSchema:       c.OutputSchema,
		LatencyMS:          out.LatencyMS,
		InputTokens:        out.InputTokens,
		OutputTokens:       out.OutputTokens,
		FinishReason:       out.FinishReason,
		Status:             event.StatusOK,
		Attributes:         map[string]string{"eval_run": run.ID, "eval_dataset": Ref(run.Dataset, run.Version)},
	}
}

// Pending returns the cases that still need a call: those without a finished result in done
// (case id → true). Cases whose result was an error are in Pending again, so a resumed run
// retries them.
func Pending(cases []Case, done map[string]bool) []Case {
	out := make([]Case, 0, len(cases))
	for _, c := range cases {
		if !done[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// MetricSummary is one metric's aggregate over a run's results.
type MetricSummary struct {
	Metric   string     `json:"metric"`
	Kind     event.Kind `json:"kind"`
	N        int        `json:"n"`
	Mean     float64    `json:"mean"`
	PassRate float64    `json:"pass_rate"`
}

// Summary aggregates a run's results.
type Summary struct {
	Results int             `json:"results"`
	Errors  int             `json:"errors"`
	Metrics []MetricSummary `json:"metrics"`
}

// Summarize aggregates results per metric, in metric name order.
func Summarize(results []Result) Summary {
	s := Summary{Results: len(results), Metrics: []MetricSummary{}}
	acc := map[string]*MetricSummary{}
	for _, r := range results {
		if r.Error != "" {
			s.Errors++
		}
		for _, sc := range r.Scores {
			m := acc[sc.Metric]
			if m == nil {
				m = &MetricSummary{Metric: sc.Metric, Kind: sc.Kind}
				acc[sc.Metric] = m
			}
			m.N++
			m.Mean += sc.Value
			if sc.Pass {
				m.PassRate++
			}
		}
	}
	for _, m := range acc {
		m.Mean /= float64(m.N)
		m.PassRate /= float64(m.N)
		s.Metrics = append(s.Metrics, *m)
	}
	slices.SortFunc(s.Metrics, func(a, b MetricSummary) int { return strings.Compare(a.Metric, b.Metric) })
	return s
}

// Progress is the state of a run in flight, for a progress line.
type Progress struct {
	Done, Total, Errors int
	Elapsed             time.Duration
}

// String renders the progress as "37/120 done, 2 errors, 4.1 cases/s, ETA 20s".
func (p Progress) String() string {
	rate := 0.0
	if p.Elapsed > 0 {
		rate = float64(p.Done) / p.Elapsed.Seconds()
	}
	eta := "?"
	switch {
	case p.Done >= p.Total:
		eta = "0s"
	case rate > 0:
		secs := float64(p.Total-p.Done) / rate
		eta = (time.Duration(math.Ceil(secs)) * time.Second).String()
	}
	return fmt.Sprintf("%d/%d done, %d errors, %.1f cases/s, ETA %s", p.Done, p.Total, p.Errors, rate, eta)
}
