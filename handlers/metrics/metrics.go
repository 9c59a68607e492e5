// Package metrics holds the service's Prometheus metrics: commands, HTTP requests and the read
// models' lag, in a registry of their own.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/projections"
)

// Metrics are the service's Prometheus metrics, in a registry of their own (no global state).
type Metrics struct {
	Registry  *prometheus.Registry
	commands  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	conflicts prometheus.Counter
	http      *prometheus.CounterVec

	// byCommand holds each command name's series that every command touches (the "ok" count and
	// the duration), resolved from the vectors on the name's first use rather than by label
	// lookup on every command: name -> *commandSeries.
	byCommand sync.Map
}

// commandSeries are one command name's series of the ok outcome and of the duration.
type commandSeries struct {
	ok      prometheus.Counter
	latency prometheus.Observer
}

// New registers the metrics, with the Go runtime's and the process's.
func New() *Metrics {
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

// ObserveCommand counts a handled command by name and outcome, with its duration.
func (m *Metrics) ObserveCommand(name, outcome string, d time.Duration) {
	s := m.series(name)
	if outcome == "ok" {
		s.ok.Inc()
	} else {
		m.commands.WithLabelValues(name, outcome).Inc()
	}
	s.latency.Observe(d.Seconds())
}

func (m *Metrics) series(name string) *commandSeries {
	if s, ok := m.byCommand.Load(name); ok {
		return s.(*commandSeries)
	}
	s, _ := m.byCommand.LoadOrStore(name, &commandSeries{ok: m.commands.WithLabelValues(name, "ok"), latency: m.latency.WithLabelValues(name)})
	return s.(*commandSeries)
}

// Conflict counts an append refused because the meeting changed since it was loaded.
func (m *Metrics) Conflict() { m.conflicts.Inc() }

// Counted counts h's requests by route and status code.
func (m *Metrics) Counted(route string, h http.Handler) http.Handler {
	byCode := m.http.MustCurryWith(prometheus.Labels{"route": route})
	// The 200 series is resolved once, on the first 200 (so a route never answered shows none),
	// instead of by label lookup on every request.
	ok := sync.OnceValue(func() prometheus.Counter { return byCode.WithLabelValues("200") })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			ok().Inc()
			return
		}
		byCode.WithLabelValues(strconv.Itoa(sw.status)).Inc()
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// WatchFsyncs adds group commit by fsync to the metrics (eventstore.Node.FsyncStats): the
// rounds, the writers who waited for one, and whether an fsync failed.
func (m *Metrics) WatchFsyncs(stats func() eventstore.FsyncStats) {
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aabendialog_log_fsyncs_total",
			Help: "Fsync rounds the embedded node ran: for writers waiting for their writes to be on disk, and one a second of its own when none waits."},
			func() float64 { return float64(stats().Rounds) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aabendialog_log_fsync_waits_total",
			Help: "Writes that waited for an fsync round before they were answered."},
			func() float64 { return float64(stats().Waits) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_log_fsync_failed",
			Help: "1 after an fsync of the log failed: every durable write is refused until serve is restarted."},
			func() float64 {
				if stats().Failed {
					return 1
				}
				return 0
			}),
	)
}

// WatchReadModels adds each read model's lag to the metrics: events behind the log, seconds
// since it last had nothing to apply (0 when caught up), whether it is running, the sequence
// of the commit it stopped on, and the unreadable commits it was told to pass over.
func (m *Metrics) WatchReadModels(ps []*projections.Projector, lastSeq func() (uint64, error)) {
	for _, p := range ps {
		labels := prometheus.Labels{"projection": p.Name()}
		m.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_read_model_lag_events", ConstLabels: labels,
				Help: "Commits in the log the read model has not applied yet."}, func() float64 {
				last, err := lastSeq()
				if err != nil {
					return -1
				}
				return float64(last - min(last, p.Status().Seq))
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_read_model_lag_seconds", ConstLabels: labels,
				Help: "Seconds since the read model last had nothing left to apply; 0 when it has caught up."}, func() float64 {
				last, err := lastSeq()
				st := p.Status()
				if err != nil || st.Seq >= last || st.CaughtUpAt.IsZero() {
					return 0
				}
				return time.Since(st.CaughtUpAt).Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_read_model_up", ConstLabels: labels,
				Help: "1 while the read model follows the log, 0 after it stopped on a commit it could not apply."}, func() float64 {
				if p.Status().Error != "" {
					return 0
				}
				return 1
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_read_model_stopped_at_seq", ConstLabels: labels,
				Help: "The log sequence of the commit the read model stopped on (it cannot read or apply it); 0 while it runs."}, func() float64 {
				return float64(p.Status().StoppedAt)
			}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aabendialog_read_model_skipped_commits_total", ConstLabels: labels,
				Help: "Unreadable commits the read model passed over since the process started, as serve --skip-unreadable says."}, func() float64 {
				return float64(p.Status().Skipped)
			}),
		)
	}
}
