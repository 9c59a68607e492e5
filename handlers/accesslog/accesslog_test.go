package accesslog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func open(t *testing.T, retention time.Duration, opts ...testnode.Option) (*testnode.Env, *accesslog.Log) {
	t.Helper()
	env := testnode.Start(t, opts...)
	n := 0
	l, err := accesslog.Open(t.Context(), env.Conn, 1, retention, func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	return env, l
}

// TestEntriesByCitizenAndReader: entries are read back newest first, by citizen, by reader or
// both, with the time the log's clock gave them; pages of Limit entries before a sequence walk
// every entry exactly once.
func TestEntriesByCitizenAndReader(t *testing.T) {
	_, l := open(t, accesslog.DefaultRetention)
	ctx := t.Context()
	anna, bo := uuid.New(), uuid.New()
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	eva := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	meeting := uuid.New()
	// Anna's data read five times by the caseworker, Bo's twice, and one search by the
	// evaluator touching no one citizen.
	for i := range 5 {
		if err := l.Record(ctx, accesslog.Entry{Reader: job, Citizen: anna, Meeting: meeting, What: "meeting", Purpose: accesslog.PurposeOf(job),
			Criteria: map[string]string{"n": string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, accesslog.Entry{Reader: job, Citizen: bo, What: "history", Purpose: accesslog.PurposeOf(job)},
		accesslog.Entry{Reader: job, Citizen: bo, What: "inbox", Purpose: accesslog.PurposeOf(job)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, accesslog.Entry{Reader: eva, What: "services", Criteria: map[string]string{"period": "2026"}, Purpose: accesslog.PurposeOf(eva)}); err != nil {
		t.Fatal(err)
	}

	got, err := l.Entries(ctx, accesslog.Filter{Citizen: anna})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Criteria["n"] != "e" || got[4].Criteria["n"] != "a" {
		t.Fatalf("Anna's entries, newest first: %+v", got)
	}
	for i, e := range got {
		if e.Citizen != anna || e.Reader != job || e.Meeting != meeting || e.Purpose != accesslog.PurposeMeeting || e.Seq == 0 ||
			(i > 0 && (!e.At.Before(got[i-1].At) || e.Seq >= got[i-1].Seq)) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if got, err = l.Entries(ctx, accesslog.Filter{Actor: eva.ID}); err != nil || len(got) != 1 || got[0].Citizen != uuid.Nil || got[0].Purpose != accesslog.PurposeEvaluation {
		t.Fatalf("the evaluator's search: %+v %v", got, err)
	}
	if got, err = l.Entries(ctx, accesslog.Filter{Citizen: bo, Actor: job.ID}); err != nil || len(got) != 2 || got[0].What != "inbox" {
		t.Fatalf("Bo's entries by the caseworker: %+v %v", got, err)
	}
	if got, err = l.Entries(ctx, accesslog.Filter{Citizen: bo, Actor: eva.ID}); err != nil || len(got) != 0 {
		t.Fatalf("Bo's entries by the evaluator: %+v %v", got, err)
	}

	// Pages of two, each before the last one's sequence.
	var walked []string
	for before, pages := uint64(0), 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		page, err := l.Entries(ctx, accesslog.Filter{Citizen: anna, Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("a page of %d entries, limit 2", len(page))
		}
		for _, e := range page {
			walked = append(walked, e.Criteria["n"])
		}
		before = page[len(page)-1].Seq
	}
	if want := []string{"e", "d", "c", "b", "a"}; !slices.Equal(walked, want) {
		t.Fatalf("the pages walked %v, want %v", walked, want)
	}
}

// TestRetentionIsTheStreamsMaxAge: the retention is the stream's MaxAge, so JetStream itself
// deletes old entries; it can be changed on a later start; nobody deletes an entry before its
// time or purges the log; a retention of zero is refused.
func TestRetentionIsTheStreamsMaxAge(t *testing.T) {
	env, l := open(t, 30*24*time.Hour)
	if got := l.Retention(); got != 30*24*time.Hour {
		t.Fatalf("retention %s", got)
	}
	l2, err := accesslog.Open(t.Context(), env.Conn, 1, 90*24*time.Hour, time.Now)
	if err != nil || l2.Retention() != 90*24*time.Hour {
		t.Fatalf("reopened with 90 days: %v %v", l2.Retention(), err)
	}
	if _, err := accesslog.Open(t.Context(), env.Conn, 1, 0, time.Now); err == nil {
		t.Fatal("a retention of zero was accepted")
	}
	if err := l.Record(t.Context(), accesslog.Entry{Reader: domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}, Citizen: uuid.New(), What: "history"}); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(env.Conn)
	st, err := js.Stream(t.Context(), accesslog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(t.Context(), 1); err == nil {
		t.Fatal("an entry was deleted before its time")
	}
	if err := st.Purge(t.Context()); err == nil {
		t.Fatal("the access log was purged")
	}
	if info, err := st.Info(t.Context()); err != nil || info.State.Msgs != 1 {
		t.Fatalf("the log after the refused deletions: %+v %v", info, err)
	}
}

// TestRecordFailsClosed: with the server gone, Record answers ErrUnavailable, waiting for the
// ack or buffered, so the read it was to log is not answered.
func TestRecordFailsClosed(t *testing.T) {
	for _, wait := range []accesslog.Wait{accesslog.WaitAck, accesslog.WaitBuffered} {
		t.Run(string(wait), func(t *testing.T) {
			env, l := open(t, accesslog.DefaultRetention)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if wait == accesslog.WaitBuffered {
				l.Buffered(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}
			e := accesslog.Entry{Reader: domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}, Citizen: uuid.New(), What: "history"}
			if err := l.Record(ctx, e); err != nil {
				t.Fatal(err)
			}
			env.Close()
			// Buffered, the first entries after the loss may be sent before the missing ack
			// trips the log; within MaxPending it refuses. Keep trying, as reads would.
			var err error
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if err = l.Record(ctx, e); err != nil {
					break
				}
			}
			if !errors.Is(err, accesslog.ErrUnavailable) {
				t.Fatalf("Record with the server gone: %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestBufferedEntriesAreStored: in buffered mode Record returns once the entries are sent, and
// they are stored, once each.
func TestBufferedEntriesAreStored(t *testing.T) {
	_, l := open(t, accesslog.DefaultRetention)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l.Buffered(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	citizen := uuid.New()
	reader := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	for range 50 {
		if err := l.Record(ctx, accesslog.Entry{Reader: reader, Citizen: citizen, What: "meeting"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []accesslog.Entry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(got) < 50; time.Sleep(20 * time.Millisecond) {
		var err error
		if got, err = l.Entries(ctx, accesslog.Filter{Citizen: citizen}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 50 {
		t.Fatalf("%d of 50 buffered entries stored", len(got))
	}
}

// TestPagesAcrossWindows: a page is found by scanning the stream backwards in growing windows;
// a citizen's entries spread thinly over a longer log (the first and last entries thousands of
// others apart) are walked exactly once, in order, by pages that cross the windows' borders.
func TestPagesAcrossWindows(t *testing.T) {
	// Many entries: syncing each would only make the test slow.
	_, l := open(t, accesslog.DefaultRetention, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	ctx := t.Context()
	anna := uuid.New()
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	var want []string
	for i := range 7000 / 500 {
		batch := make([]accesslog.Entry, 0, 500)
		for range 499 {
			batch = append(batch, accesslog.Entry{Reader: job, Citizen: uuid.New(), What: "history"})
		}
		// One of Anna's in every batch of 500, and two in the last.
		n := string(rune('a' + i))
		batch = append(batch, accesslog.Entry{Reader: job, Citizen: anna, What: "meeting", Criteria: map[string]string{"n": n}})
		want = append([]string{n}, want...)
		if err := l.Record(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, accesslog.Entry{Reader: job, Citizen: anna, What: "meeting", Criteria: map[string]string{"n": "z"}}); err != nil {
		t.Fatal(err)
	}
	want = append([]string{"z"}, want...)
	for _, limit := range []int{1, 3, 100} {
		var walked []string
		for before := uint64(0); ; {
			page, err := l.Entries(ctx, accesslog.Filter{Citizen: anna, Limit: limit, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("a page of %d, limit %d", len(page), limit)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				walked = append(walked, e.Criteria["n"])
			}
			before = page[len(page)-1].Seq
		}
		if !slices.Equal(walked, want) {
			t.Fatalf("pages of %d walked %v, want %v", limit, walked, want)
		}
	}
	if got, err := l.Entries(ctx, accesslog.Filter{Actor: job.ID, Limit: 5}); err != nil || len(got) != 5 || got[0].Criteria["n"] != "z" {
		t.Fatalf("the newest five by the reader: %+v %v", got, err)
	}
}
