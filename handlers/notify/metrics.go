package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type reactorMetrics struct {
	outcomes *prometheus.CounterVec
	lag      prometheus.Histogram
	reminded prometheus.Counter
	stuck    prometheus.Gauge
	pending  prometheus.GaugeFunc
	seq      prometheus.GaugeFunc
}

func newReactorMetrics(r *Reactor) *reactorMetrics {
	return &reactorMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aabendialog_notices_total",
			Help: "Notices by kind and outcome: sent (handed to the mail server), retry (a try failed; tried again with backoff), failed (given up), inbox (no address or opted out: it waits on the inbox page)."},
			[]string{"kind", "outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aabendialog_notice_lag_seconds",
			Help:    "Time from the event in the log to the notice's hand-off to the mail server.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60, 600}}),
		reminded: prometheus.NewCounter(prometheus.CounterOpts{Name: "aabendialog_reminders_raised_total",
			Help: "Scheduled reminders (before meetings, follow-up due dates) that fell due."}),
		stuck: prometheus.NewGauge(prometheus.GaugeOpts{Name: "aabendialog_notices_stopped_at_seq",
			Help: "The log sequence of a commit the notices cannot read and wait on; 0 while they follow the log."}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_notices_pending",
			Help: "Notices in the outbox not yet sent (waiting for their turn or a retry)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var n int
			if err := r.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		}),
		seq: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aabendialog_notices_checkpoint_seq",
			Help: "The last log sequence turned into notices."}, func() float64 { return float64(r.Checkpoint()) }),
	}
}

func (m *reactorMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.outcomes, m.lag, m.reminded, m.stuck, m.pending, m.seq} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
