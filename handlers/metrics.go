package handlers

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's Prometheus metrics, in a registry of their own (no global state).
type Metrics struct {
	Registry  *prometheus.Registry
	commands  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	conflicts prometheus.Counter
	http      *prometheus.CounterVec
}

// NewMetrics registers the metrics, with the Go runtime's and the process's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aabendialog_commands_total",
			Help: "Commands handled, by command name and outcome (ok, duplicate, invalid, forbidden, not_found, conflict, unauthenticated, timeout, error).",
		}, []string{"command", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aabendialog_command_duration_seconds",
			Help:    "Time to handle a command: load, decide, append.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aabendialog_append_conflicts_total",
			Help: "Appends refused because the meeting changed since it was loaded (each is retried a few times).",
		}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aabendialog_http_requests_total",
			Help: "HTTP requests, by route and status code.",
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(m.commands, m.latency, m.conflicts, m.http,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeCommand(name, outcome string, d time.Duration) {
	m.commands.WithLabelValues(name, outcome).Inc()
	m.latency.WithLabelValues(name).Observe(d.Seconds())
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
