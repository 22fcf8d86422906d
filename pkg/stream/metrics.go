package stream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	outcomeAck        = "ack"
	outcomeDeadLetter = "dead_letter"
	outcomeNak        = "nak"
)

// Metrics counts what sources do, labelled by stage. One Metrics serves every source of a process.
type Metrics struct {
	messages *prometheus.CounterVec
	retries  *prometheus.CounterVec
	batch    *prometheus.HistogramVec
}

// NewMetrics registers the source metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_stream_messages_total",
			Help: "Messages settled by a stage, by outcome (ack, dead_letter, nak).",
		}, []string{"stage", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_stream_batch_retries_total",
			Help: "Batches retried after a transient stage failure.",
		}, []string{"stage"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_stream_batch_duration_seconds",
			Help:    "Time from fetching a batch to settling it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"stage"}),
	}
	reg.MustRegister(m.messages, m.retries, m.batch)
	return m
}

func (m *Metrics) settled(stage, outcome string, n int) {
	if m != nil {
		m.messages.WithLabelValues(stage, outcome).Add(float64(n))
	}
}

func (m *Metrics) retried(stage string) {
	if m != nil {
		m.retries.WithLabelValues(stage).Inc()
	}
}

func (m *Metrics) batchDone(stage string, d time.Duration) {
	if m != nil {
		m.batch.WithLabelValues(stage).Observe(d.Seconds())
	}
}
