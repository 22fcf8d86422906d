package ingestsvc

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes counted per event (or span).
const (
	outcomeAccepted    = "accepted"    // stored on EVENTS
	outcomeRejected    = "rejected"    // invalid, or another app's
	outcomeUnavailable = "unavailable" // valid, but JetStream did not store it: the client retries
	outcomeIgnored     = "ignored"     // a span that is not a model call
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	events   *prometheus.CounterVec
	spans    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_requests_total",
			Help: "HTTP requests answered by the ingest API, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_ingest_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, publishing included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_ingest_requests_in_flight",
			Help: "Requests being handled; shutdown waits for them.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_events_total",
			Help: "Events received, by route and outcome (accepted, rejected, unavailable).",
		}, []string{"route", "outcome"}),
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ingest_spans_total",
			Help: "OTLP spans received, by outcome: accepted and rejected model calls, unavailable, or ignored (not a model call).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.events, m.spans)
	return m
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts and times the requests of one route.
func (m *metrics) instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}
