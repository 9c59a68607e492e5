package accesslog_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// BenchmarkNewestPage reads the newest page (100 entries) of a busy caseworker's reads, as an
// administrator's misuse investigation does, on a log of 200,000 entries of which the
// caseworker's are one in ten, spread over the whole log. Before the backward windows a page
// was one forward scan of all the reader's entries; docs/benchmarks.md has both figures.
func BenchmarkNewestPage(b *testing.B) {
	env := testnode.Start(b, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	log, err := accesslog.Open(b.Context(), env.Conn, 1, accesslog.DefaultRetention, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	busy := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	others := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Ydelsescenter"}
	for range 200 {
		batch := make([]accesslog.Entry, 1000)
		for i := range batch {
			r := others
			if i%10 == 0 {
				r = busy
			}
			batch[i] = accesslog.Entry{Reader: r, Citizen: uuid.New(), What: "history"}
		}
		if err := log.Record(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		page, err := log.Entries(b.Context(), accesslog.Filter{Actor: busy.ID, Limit: 100})
		if err != nil || len(page) != 100 {
			b.Fatalf("%d entries, %v", len(page), err)
		}
	}
}
