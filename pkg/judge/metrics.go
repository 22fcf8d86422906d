package judge

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of judging one event with one judge, the outcome label of vigil_judge_calls_total.
const (
	// OutcomeOK: the endpoint answered with a usable verdict.
	OutcomeOK = "ok"
	// OutcomeMalformed: the endpoint answered, but without a usable verdict; the event is skipped.
	OutcomeMalformed = "malformed"
	// OutcomeRejected: the endpoint refused the request for its content (an HTTP 4xx other than
	// 401, 403, 404, 408, 425 and 429); the event is skipped.
	OutcomeRejected = "rejected"
	// OutcomeFailed: the request failed transiently on every attempt, or the endpoint refuses
	// every request (401, 403, 404); the caller retries later.
	OutcomeFailed = "failed"
	// OutcomeRateLimited: no request slot under max_per_minute within the timeout; skipped.
	OutcomeRateLimited = "rate_limited"
	// OutcomeOverBudget: today's max_usd_per_day is spent; skipped until the next UTC day.
	OutcomeOverBudget = "over_budget"
)

var outcomes = []string{OutcomeOK, OutcomeMalformed, OutcomeRejected, OutcomeFailed, OutcomeRateLimited, OutcomeOverBudget}

// Decisions on whether a judge judges an event, the decision label of vigil_judge_events_total.
const (
	DecisionSampled       = "sampled"
	DecisionNotSampled    = "not_sampled"
	DecisionNotApplicable = "not_applicable"
)

// Metrics counts what judges do, labelled by judge name: the label's cardinality is the number of
// judges in the file. One Metrics serves every judge of a process; a nil *Metrics counts nothing.
type Metrics struct {
	calls     *prometheus.CounterVec
	events    *prometheus.CounterVec
	cacheHits *prometheus.CounterVec
	retries   *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	spend     *prometheus.CounterVec
	daySpend  *prometheus.GaugeVec
	paused    *prometheus.GaugeVec
}

// NewMetrics registers the judge metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_calls_total",
			Help: "Events judged by a judge, by outcome (ok, malformed, rejected, failed, rate_limited, over_budget); cached answers count in vigil_judge_cache_hits_total instead.",
		}, []string{"judge", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_events_total",
			Help: "Events seen by a judge, by decision (sampled, not_sampled, not_applicable).",
		}, []string{"judge", "decision"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_cache_hits_total",
			Help: "Events answered from the cache of earlier answers, without a request.",
		}, []string{"judge"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_retries_total",
			Help: "Requests sent again after a transient failure (network error, timeout, HTTP 408, 429 or 5xx).",
		}, []string{"judge"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_judge_request_duration_seconds",
			Help:    "Time of one request to a judge's endpoint, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 11),
		}, []string{"judge"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_tokens_total",
			Help: "Tokens a judge's endpoint reported (or vigil estimated), by direction (input, output).",
		}, []string{"judge", "direction"}),
		spend: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_judge_spend_usd_total",
			Help: "Estimated spend of a judge in US dollars, from its tokens and prices.",
		}, []string{"judge"}),
		daySpend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_judge_day_spend_usd",
			Help: "Spend of a judge in US dollars counted against max_usd_per_day this UTC day, in this process.",
		}, []string{"judge"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_judge_paused",
			Help: "1 while a judge's max_usd_per_day is spent and judging pauses until the next UTC day, else 0.",
		}, []string{"judge"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.events, m.cacheHits, m.retries, m.duration, m.tokens, m.spend, m.daySpend, m.paused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register judge metrics: %w", err)
		}
	}
	return m, nil
}

// init creates every series of judge at zero, so dashboards see it before its first event.
func (m *Metrics) init(judge string) {
	if m == nil {
		return
	}
	for _, o := range outcomes {
		m.calls.WithLabelValues(judge, o)
	}
	for _, d := range []string{DecisionSampled, DecisionNotSampled, DecisionNotApplicable} {
		m.events.WithLabelValues(judge, d)
	}
	m.cacheHits.WithLabelValues(judge)
	m.retries.WithLabelValues(judge)
	m.tokens.WithLabelValues(judge, "input")
	m.tokens.WithLabelValues(judge, "output")
	m.spend.WithLabelValues(judge)
	m.daySpend.WithLabelValues(judge)
	m.paused.WithLabelValues(judge)
}

func (m *Metrics) outcome(judge, outcome string) {
	if m != nil {
		m.calls.WithLabelValues(judge, outcome).Inc()
	}
}

func (m *Metrics) decision(judge, decision string) {
	if m != nil {
		m.events.WithLabelValues(judge, decision).Inc()
	}
}

func (m *Metrics) cacheHit(judge string) {
	if m != nil {
		m.cacheHits.WithLabelValues(judge).Inc()
	}
}

func (m *Metrics) retry(judge string) {
	if m != nil {
		m.retries.WithLabelValues(judge).Inc()
	}
}

func (m *Metrics) request(judge string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(judge).Observe(d.Seconds())
	}
}

func (m *Metrics) usage(judge string, in, out int64, usd, day float64) {
	if m != nil {
		m.tokens.WithLabelValues(judge, "input").Add(float64(in))
		m.tokens.WithLabelValues(judge, "output").Add(float64(out))
		m.spend.WithLabelValues(judge).Add(usd)
		m.daySpend.WithLabelValues(judge).Set(day)
	}
}

func (m *Metrics) budget(judge string, paused bool, day float64) {
	if m != nil {
		v := 0.0
		if paused {
			v = 1
		}
		m.paused.WithLabelValues(judge).Set(v)
		m.daySpend.WithLabelValues(judge).Set(day)
	}
}
