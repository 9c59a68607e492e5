package projections_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

// lifecycle is one meeting's commits, as the domain writes them: 12 commits, 12 events.
func lifecycle(at time.Time, i int) []domain.Commit {
	cit, m := uuid.New(), uuid.New()
	pros := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	svcs := []string{"Jobcenter", "Center for Handicap og Psykiatri", "Center for Børn og Familie", "Center for Sundhed og Ældre", "Socialpsykiatrien"}
	citizen := domain.Actor{ID: cit, Role: domain.RoleCitizen}
	var cs []domain.Commit
	add := func(a domain.Actor, d domain.EventData) {
		at = at.Add(time.Minute)
		cs = append(cs, domain.Commit{CommandID: uuid.New(), Command: "bench", MeetingID: m, CitizenID: cit, Actor: a, At: at,
			Events: []domain.Event{domain.NewEvent(d)}})
	}
	add(citizen, domain.MeetingConvened{MeetingID: m, CitizenID: cit, Title: "Mit netværksmøde"})
	add(citizen, domain.AgendaSet{Items: []string{"Min bolig", "Arbejde og penge"}})
	for k, p := range pros {
		add(citizen, domain.ParticipantInvited{ParticipantID: p, Name: "Karin Holm", Kind: domain.KindProfessional, Service: svcs[(i+k)%len(svcs)]})
	}
	add(citizen, domain.MeetingScheduled{At: at.Add(72 * time.Hour), Place: domain.PlaceHome})
	for _, p := range pros {
		add(domain.Actor{ID: p, Role: domain.RoleProfessional, Service: "x"}, domain.InvitationAccepted{ParticipantID: p})
	}
	add(citizen, domain.MeetingHeld{Present: []uuid.UUID{cit, pros[0], pros[1]}})
	add(citizen, domain.FollowUpRecorded{FollowUpID: uuid.New(), What: "Søge om bostøtte", Responsible: pros[0], Due: "2026-12-01"})
	add(citizen, domain.MeetingClosed{NextAgreed: true})
	return cs
}

var (
	bigOnce sync.Once
	bigEnv  *env
	bigErr  error
)

// bigEvents is the size of the benchmark log: a million unless AABENDIALOG_BENCH_EVENTS says
// otherwise (for quick profiling).
var bigEvents = func() int {
	if n, err := strconv.Atoi(os.Getenv("AABENDIALOG_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}()

// bigLog is a log of a million commits (83,334 meetings of 12), built once per run: the
// benchmarks measure the read side.
func bigLog(b *testing.B) *env {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aabendialog-bench-")
		if err != nil {
			bigErr = err
			return
		}
		// As serve opens it: long reads over TCP.
		nd, err := testnode.StartIn(dir, testnode.Fsync(eventstore.Fsync{Interval: time.Minute}), testnode.Reader())
		if err != nil {
			bigErr = err
			return
		}
		store := nd.Store
		// Through Store.Append, as the command path writes: each commit with its message id and
		// expected sequence in headers (which every reader receives and decodes), each meeting's
		// id claimed, and the meetings of 32 writers interleaved in the log.
		start := time.Date(2025, 11, 1, 8, 0, 0, 0, time.UTC)
		meetings := (bigEvents + 11) / 12
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < meetings; i = int(next.Add(1)) - 1 {
					var last uint64
					for _, c := range lifecycle(start.Add(time.Duration(i)*time.Minute), i) {
						a, err := store.Append(context.Background(), c, last)
						if err != nil {
							errs <- err
							return
						}
						last = a.Seq
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			bigErr = err
			return
		}
		bigEnv = &env{node: nd, store: store, now: start.AddDate(1, 0, 0)}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigEnv
}

// cpuTime is the CPU time this process has used, the embedded server's included: on a shared
// machine it varies less between runs than the wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCatchUp builds both read models from an empty file over the million-commit log, the
// two projectors side by side as serve runs them, beside a raw ordered-consumer read of the same
// log in the same run.
//
//	go test ./projections -run '^$' -bench CatchUp -benchtime 1x
func BenchmarkCatchUp(b *testing.B) {
	e := bigLog(b)
	ctx := context.Background()
	last, _ := e.store.LastSeq(ctx)
	b.Run("raw-ordered-consumer", func(b *testing.B) {
		for range b.N {
			t0, c0 := time.Now(), cpuTime()
			n := 0
			if err := e.store.ReadRaw(ctx, eventstore.ReadOptions{}, func(eventstore.RawRecorded) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "events/s")
			b.ReportMetric((cpuTime() - c0).Seconds(), "cpu-s")
		}
	})
	b.Run("both-read-models", func(b *testing.B) {
		for range b.N {
			dir := b.TempDir()
			t0, c0 := time.Now(), cpuTime()
			rctx, cancel := context.WithCancel(ctx)
			ps := openBoth(b, dir, e.store)
			// As serve starts them: one shared bulk load of the empty read models, then follow.
			if err := projections.LoadEmpty(ctx, ps); err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				go p.Run(rctx)
			}
			for _, p := range ps {
				if err := p.WaitFor(ctx, last); err != nil {
					b.Fatal(err)
				}
			}
			d, cpu := time.Since(t0), cpuTime()-c0
			cancel()
			for _, p := range ps {
				p.Close()
			}
			b.ReportMetric(float64(last)/d.Seconds(), "events/s")
			b.ReportMetric(d.Seconds(), "s")
			b.ReportMetric(cpu.Seconds(), "cpu-s")
		}
	})
}

// openBoth opens both read models' projectors on new files in dir, as serve does.
func openBoth(b testing.TB, dir string, store *eventstore.Store) []*projections.Projector {
	b.Helper()
	var ps []*projections.Projector
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(context.Background(), dir, proj, store, quiet)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// BenchmarkBulkWrite measures the SQLite half of a catch-up from empty alone: the log is folded
// once, then written into fresh read-model files, both at once, b.N times. The catch-up's other
// half, reading and folding the log, moves with the machine's NATS and CPU noise and hides
// changes to the writes.
//
//	go test ./projections -run '^$' -bench BulkWrite -benchtime 3x
func BenchmarkBulkWrite(b *testing.B) {
	e := bigLog(b)
	ctx := context.Background()
	f, err := projections.FoldLog(ctx, e.store)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		ps := openBoth(b, dir, e.store)
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		if err := projections.WriteFolded(ctx, ps, f); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "s")
		b.ReportMetric((cpuTime() - c0).Seconds(), "cpu-s")
		b.StopTimer()
		for _, p := range ps {
			p.Close()
		}
		b.StartTimer()
	}
}

// BenchmarkRebuild rebuilds each read model from sequence 1 over the million-commit log, and
// both at once.
//
//	go test ./projections -run '^$' -bench Rebuild -benchtime 1x
func BenchmarkRebuild(b *testing.B) {
	e := bigLog(b)
	ctx := context.Background()
	open := func(b *testing.B, proj projections.Projection) *projections.Projector {
		p, err := projections.OpenProjector(ctx, b.TempDir(), proj, e.store, quiet)
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		go p.Run(rctx)
		b.Cleanup(func() { cancel(); time.Sleep(50 * time.Millisecond); p.Close() })
		last, _ := e.store.LastSeq(ctx)
		if err := p.WaitFor(ctx, last); err != nil {
			b.Fatal(err)
		}
		return p
	}
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		b.Run(proj.Name(), func(b *testing.B) {
			p := open(b, proj)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if _, err := p.Rebuild(ctx, nil); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(t0).Seconds(), "s")
			}
		})
	}
	b.Run("both", func(b *testing.B) {
		ps := []*projections.Projector{open(b, projections.Meetings{}), open(b, projections.Services{})}
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			var wg sync.WaitGroup
			for _, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := p.Rebuild(ctx, nil); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(time.Since(t0).Seconds(), "s")
		}
	})
}

// BenchmarkLagAt2000PerSecond sends commands through the command service at 2,000 a second for
// b.N commands and measures, for each, the time from its acknowledgement to both read models
// having applied it.
//
//	go test ./projections -run '^$' -bench LagAt2000 -benchtime 20000x
func BenchmarkLagAt2000PerSecond(b *testing.B) {
	store := testnode.Start(b, testnode.Fsync(eventstore.Fsync{Interval: time.Second})).Store
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	var ps []*projections.Projector
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, dir, proj, store, quiet)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
		go p.Run(ctx)
	}
	svc := command.New(store, time.Now, nil)
	const clients = 16
	const rate = 2000.0
	var (
		mu  sync.Mutex
		lag []time.Duration
		wg  sync.WaitGroup
		wwg sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cit := uuid.New()
			actor := domain.Actor{ID: cit, Role: domain.RoleCitizen}
			interval := time.Duration(float64(time.Second) * clients / rate)
			next := start.Add(time.Duration(i) * interval / clients)
			var m uuid.UUID
			for k := 0; k < b.N/clients; k++ {
				time.Sleep(time.Until(next))
				next = next.Add(interval)
				var cmd domain.Command
				if k%20 == 0 {
					m = uuid.New()
					cmd = &domain.ConveneMeeting{Meeting: m, Citizen: cit}
				} else {
					cmd = &domain.InviteParticipant{Meeting: m, Participant: uuid.New(), Name: fmt.Sprint("P", k), Kind: domain.KindProfessional, Service: "Jobcenter"}
				}
				r, err := svc.Handle(ctx, actor, uuid.New(), cmd)
				if err != nil {
					b.Error(err)
					return
				}
				acked := time.Now()
				wwg.Add(1)
				go func() {
					defer wwg.Done()
					for _, p := range ps {
						if err := p.WaitFor(ctx, r.Sequence); err != nil {
							b.Error(err)
							return
						}
					}
					d := time.Since(acked)
					mu.Lock()
					lag = append(lag, d)
					mu.Unlock()
				}()
			}
		}()
	}
	wg.Wait()
	wwg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lag)
	if len(lag) == 0 {
		return
	}
	b.ReportMetric(float64(len(lag))/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(lag[len(lag)/2].Microseconds())/1e3, "lag-p50-ms")
	b.ReportMetric(float64(lag[len(lag)*99/100].Microseconds())/1e3, "lag-p99-ms")
	for _, p := range ps {
		p.Close()
	}
}

// BenchmarkEvaluate computes every indicator over the million-commit log's meetings read model.
//
//	go test ./projections -run '^$' -bench 'Evaluate|Replay' -benchtime 5x
func BenchmarkEvaluate(b *testing.B) {
	e := bigLog(b)
	ctx := context.Background()
	p, err := projections.OpenProjector(ctx, b.TempDir(), projections.Meetings{}, e.store, quiet)
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.Run(rctx)
	last, _ := e.store.LastSeq(ctx)
	if err := p.WaitFor(ctx, last); err != nil {
		b.Fatal(err)
	}
	q := &projections.Queries{MeetingsModel: p, Now: func() time.Time { return e.now }}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		ev, err := q.Evaluate(ctx, evaluator, projections.ServicesFilter{}, 0)
		if err != nil || ev.Meetings == 0 {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "s")
		b.ReportMetric(float64(ev.Meetings), "meetings")
	}
}

// BenchmarkReplayCitizenAsOf replays one citizen's history as of a time, pseudonymised, from the
// million-commit log.
func BenchmarkReplayCitizenAsOf(b *testing.B) {
	e := bigLog(b)
	ctx := context.Background()
	var cits []uuid.UUID
	e.store.Read(ctx, eventstore.ReadOptions{UntilSeq: 12 * 500}, func(r eventstore.Recorded) error {
		if _, ok := r.Commit.Events[0].Data.(domain.MeetingConvened); ok {
			cits = append(cits, r.Commit.CitizenID)
		}
		return nil
	})
	rp := &evaluation.Replayer{Store: e.store, Pseudonyms: evaluation.NewPseudonyms(make([]byte, 32))}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		r, err := rp.Replay(ctx, evaluator, evaluation.ReplayQuery{Citizen: cits[i%len(cits)].String(), AsOf: asOf})
		d = append(d, time.Since(t0))
		if err != nil || len(r.Entries) == 0 {
			b.Fatalf("%v %d", err, len(r.Entries))
		}
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1e3, "p99-ms")
}

// TestMain removes the benchmarks' shared million-commit log (half a gigabyte) when the run ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigEnv != nil {
		bigEnv.node.Close()
		_ = os.RemoveAll(bigEnv.node.Dir)
	}
	os.Exit(code)
}
