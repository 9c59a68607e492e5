package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// invitation is one commit: a meeting convened, scheduled, and one person invited.
func invitation(citizen, person uuid.UUID, at time.Time) domain.Commit {
	meeting := uuid.New()
	return domain.Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: meeting, CitizenID: citizen,
		Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: time.Now().UTC(),
		Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen}),
			domain.NewEvent(domain.MeetingScheduled{At: at, Place: domain.PlaceOnline}),
			domain.NewEvent(domain.ParticipantInvited{ParticipantID: person, Name: "x", Kind: domain.KindNetwork})}}
}

// BenchmarkNoticeLag appends invitations at 200 a second (one commit each, fsync always) and
// measures the time from each append's acknowledgement to the real SMTP server's receipt of the
// invitation: p50, p99 and the largest, with the append's own p99 beside them (the raw engine
// in the same run). Run with -benchtime=2000x for ten seconds of load.
func BenchmarkNoticeLag(b *testing.B) {
	e := newEnv(b)
	const rate = 200
	people := make([]uuid.UUID, b.N)
	for i := range people {
		var err error
		if people[i], err = e.people.Reserve(e.ctx, fmt.Sprintf("p%d@example.dk", i)); err != nil {
			b.Fatal(err)
		}
	}
	e.clock.Set(time.Now()) // the retries and reminders run on real time here
	citizen := uuid.New()
	acked := make([]time.Time, b.N)
	appendLat := make([]time.Duration, b.N)
	at := time.Now().Add(30 * 24 * time.Hour)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		start := time.Now()
		if _, err := e.node.Store.Append(e.ctx, invitation(citizen, people[i], at), 0); err != nil {
			b.Fatal(err)
		}
		acked[i] = time.Now()
		appendLat[i] = acked[i].Sub(start)
	}
	got := e.waitMail(b.N)
	b.StopTimer()
	lags := make([]time.Duration, 0, b.N)
	for _, m := range got {
		var i int
		if _, err := fmt.Sscanf(strings.TrimSuffix(m.to, "@example.dk"), "p%d", &i); err != nil {
			b.Fatalf("recipient %q", m.to)
		}
		lags = append(lags, m.at.Sub(acked[i]))
	}
	slices.Sort(lags)
	slices.Sort(appendLat)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lags, 0.5), "lag-p50-ms")
	b.ReportMetric(q(lags, 0.99), "lag-p99-ms")
	b.ReportMetric(q(lags, 1), "lag-max-ms")
	b.ReportMetric(q(appendLat, 0.99), "append-p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkScheduledMeetingsMemory schedules b.N meetings (each with one invitee, so two
// reminders each) through the log, lets the reactor take them all in, and reports the Go heap
// in use after a collection (the whole process's, and what it grew by while the reactor took the
// meetings in) and the rows waiting: the schedule is rows in SQLite queried by due time, so the
// reactor's heap does not grow with b.N. Compare -benchtime=1000x with -benchtime=100000x.
func BenchmarkScheduledMeetingsMemory(b *testing.B) {
	node := testnode.Start(b, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	people, err := auth.OpenPeople(ctx, node.Store.JetStream(), 1, time.Now, log)
	if err != nil {
		b.Fatal(err)
	}
	citizen, person := uuid.New(), uuid.New()
	at := time.Now().Add(60 * 24 * time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := node.Store.Append(ctx, invitation(citizen, person, at.Add(time.Duration(i)*time.Minute)), 0); err != nil {
			b.Fatal(err)
		}
	}
	last, _ := node.Store.LastSeq(ctx)
	// The embedded node shares the process: what the log itself holds (its per-subject state
	// and duplicate window) is in the heap before the reactor starts, and is taken off.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := notify.Open(ctx, filepath.Join(b.TempDir(), "notices.db"), node.Store, nil, people,
		notify.Config{PublicURL: publicURL, RemindBefore: notify.DefaultRemindBefore, Poll: 50 * time.Millisecond}, time.Now, prometheus.NewRegistry(), log)
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	start := time.Now()
	for r.Checkpoint() < last {
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n, _ := r.Scheduled(ctx)
	b.StopTimer()
	cancel()
	<-done
	_ = r.Close()
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric((float64(ms.HeapInuse)-float64(before.HeapInuse))/(1<<20), "reactor-heap-MiB")
	b.ReportMetric(float64(n), "reminders")
	b.ReportMetric(float64(b.N)/took.Seconds(), "commits/s")
	b.ReportMetric(0, "ns/op")
}
