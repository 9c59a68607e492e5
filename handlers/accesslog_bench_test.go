package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// BenchmarkReadLoggedAt1000PerSecond measures what the access log adds to a read: a
// professional's read of a meeting page (one of a citizen's five, the professional invited),
// sent open-loop at 1,000 reads/s, through query.Reads without the access log and with it
// (every read waits for JetStream's ack of its entry, with fsync always: --access-log-wait ack)
// and in buffered mode (serve's default: the entry sent, its ack watched). The
// same node, read models and data serve both; the figure that matters is the ratio of the
// p99s (docs/benchmarks.md, "The access log").
func BenchmarkReadLoggedAt1000PerSecond(b *testing.B) {
	asServe()
	e := newEnvWith(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	models := e.readModels(log)
	q := &projections.Queries{MeetingsModel: models[0], ServicesModel: models[1], Now: e.clock.Now}
	p := newCast()
	ctx := context.Background()
	var last uint64
	var meetings []uuid.UUID
	for range 5 {
		m := uuid.New()
		meetings = append(meetings, m)
		for _, c := range []domain.Command{&domain.ConveneMeeting{Meeting: m, Citizen: p.citizen.ID, Title: "Mit møde"},
			&domain.CitizenSetsAgenda{Meeting: m, Items: []string{"Bolig", "Arbejde"}},
			&domain.InviteParticipant{Meeting: m, Participant: p.job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"}} {
			r, err := e.service.Handle(ctx, p.citizen, uuid.New(), c)
			if err != nil {
				b.Fatal(err)
			}
			last = r.Sequence
		}
	}
	if _, err := q.History(ctx, p.job, p.citizen.ID, projections.Page{}, last); err != nil {
		b.Fatal(err)
	}
	buffered, err := accesslog.Open(ctx, e.nc, 1, accesslog.DefaultRetention, e.clock.Now)
	if err != nil {
		b.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	buffered.Buffered(bctx, log)
	for _, tc := range []struct {
		name  string
		reads *query.Reads
		every time.Duration
	}{
		{"unlogged", &query.Reads{Queries: q, Mandates: e.service}, time.Millisecond},
		{"logged", &query.Reads{Queries: q, Mandates: e.service, Access: e.access}, time.Millisecond},
		{"logged-buffered", &query.Reads{Queries: q, Mandates: e.service, Access: buffered}, time.Millisecond},
		{"unlogged-at-250", &query.Reads{Queries: q, Mandates: e.service}, 4 * time.Millisecond},
		{"logged-at-250", &query.Reads{Queries: q, Mandates: e.service, Access: e.access}, 4 * time.Millisecond},
		{"logged-buffered-at-250", &query.Reads{Queries: q, Mandates: e.service, Access: buffered}, 4 * time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := max(b.N, 2000)
			lat := make([]time.Duration, n)
			var wg sync.WaitGroup
			tick := time.NewTicker(tc.every)
			defer tick.Stop()
			b.ResetTimer()
			t0 := time.Now()
			for i := range n {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := time.Now()
					if v, err := tc.reads.Meeting(ctx, p.job, meetings[i%len(meetings)], 0); err != nil || len(v.Agenda) != 2 {
						b.Errorf("meeting: %+v, %v", v, err)
					}
					lat[i] = time.Since(s)
				}()
			}
			wg.Wait()
			elapsed := time.Since(t0)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(n)/elapsed.Seconds(), "reads/s")
			b.ReportMetric(float64(lat[n/2].Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(lat[n*99/100].Microseconds())/1e3, "p99-ms")
		})
	}
	if got, err := e.access.Entries(ctx, accesslog.Filter{Citizen: p.citizen.ID, Limit: 1}); err != nil || len(got) != 1 {
		b.Fatalf("the logged reads are not in the access log: %v %v", got, err)
	}
}
