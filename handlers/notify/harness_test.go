package notify_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is a real embedded node with the log, the command service, the people log, a real SMTP
// server and the notices' reactor, all in the test process.
type env struct {
	t       testing.TB
	ctx     context.Context
	node    *testnode.Env
	service *command.Service
	people  *auth.People
	clock   *clock
	mail    *mailServer
	reactor *notify.Reactor
	reg     *prometheus.Registry
	file    string
	cfg     notify.Config
	stop    func()
}

const publicURL = "https://aabendialog.example.dk"

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, node: testnode.Start(t), clock: &clock{now: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)},
		mail: startMailServer(t)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.service = command.New(e.node.Store, e.clock.Now, metrics.New())
	var err error
	if e.people, err = auth.OpenPeople(ctx, e.node.Store.JetStream(), 1, e.clock.Now, log); err != nil {
		t.Fatal(err)
	}
	e.service.Addresses = e.people
	e.file = filepath.Join(t.TempDir(), "notices.db")
	e.cfg = notify.Config{PublicURL: publicURL, RemindBefore: notify.DefaultRemindBefore, Poll: 10 * time.Millisecond,
		FirstRetry: 5 * time.Millisecond, MaxRetry: 20 * time.Millisecond}
	e.start()
	return e
}

// start opens the reactor on the file and runs it; stop ends it, as a restart would.
func (e *env) start() {
	e.t.Helper()
	ch, err := notify.NewSMTP(notify.SMTPConfig{Addr: e.mail.addr, From: "aabendialog@kommune.example.dk", Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.reg = prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := notify.Open(e.ctx, e.file, e.node.Store, ch, e.people, e.cfg, e.clock.Now, e.reg, log)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	<-r.Running()
	e.reactor = r
	e.stop = func() {
		cancel()
		<-done
		if err := r.Close(); err != nil {
			e.t.Error(err)
		}
		_ = ch.Close()
	}
	e.t.Cleanup(func() {
		if e.reactor == r {
			e.stop()
			e.reactor = nil
		}
	})
}

func (e *env) restart() {
	e.stop()
	e.reactor = nil
	e.start()
}

func (e *env) do(a domain.Actor, cmd domain.Command) command.Reply {
	e.t.Helper()
	r, err := e.service.Handle(e.ctx, a, uuid.New(), cmd)
	if err != nil {
		e.t.Fatalf("%s: %v", cmd.CommandName(), err)
	}
	return r
}

// waitMail waits until n messages have arrived, and returns them; it fails after a minute
// (a bound against hanging, not a measure of speed).
func (e *env) waitMail(n int) []received {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.mail.messages()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("got %d messages, want %d", len(got), n)
		}
		select {
		case <-e.mail.arrived:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitCheckpoint waits until the reactor has handled the log up to seq.
func (e *env) waitCheckpoint(seq uint64) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for e.reactor.Checkpoint() < seq {
		if time.Now().After(deadline) {
			e.t.Fatalf("notices at %d, want %d", e.reactor.Checkpoint(), seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits for the log to be handled and for the sender to have nothing due, so a test can
// say that no more messages come.
func (e *env) settle() {
	e.t.Helper()
	last, err := e.node.Store.LastSeq(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.waitCheckpoint(last)
	deadline := time.Now().Add(time.Minute)
	for {
		n := gaugeValue(e.t, e.reg, "aabendialog_notices_pending")
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%v notices still pending", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gaugeValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Counter != nil:
				total += m.Counter.GetValue()
			}
		}
	}
	return total
}

// counter is the value of a counter with the given label values.
func counter(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func byRecipient(msgs []received) map[string][]received {
	out := map[string][]received{}
	for _, m := range msgs {
		out[strings.ToLower(m.to)] = append(out[strings.ToLower(m.to)], m)
	}
	return out
}
