package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
)

// walk reads every page of a list, limit items at a time, and returns the ids in order.
func walk[T any](t *testing.T, limit int, page func(projections.Page) (projections.Paged[T], error), id func(T) uuid.UUID) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	pg := projections.Page{Limit: limit}
	for range 1000 {
		p, err := page(pg)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > limit {
			t.Fatalf("a page of %d items, asked for %d", len(p.Items), limit)
		}
		for _, it := range p.Items {
			ids = append(ids, id(it))
		}
		if p.NextCursor == "" {
			return ids
		}
		if len(p.Items) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		pg.Cursor = p.NextCursor
	}
	t.Fatal("the pages do not end")
	return nil
}

// TestPagesWalkEveryList: small pages of history, follow-ups, the inbox and the services
// report's meetings give exactly the whole list, in order, once each, also when meetings are
// convened at the same instant (ties broken by id) and while new ones are written between
// pages; a wrong limit or a cursor of another list is refused naming the parameter.
func TestPagesWalkEveryList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := command.New(e.store, func() time.Time { return e.now }, nil)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	var meetings []uuid.UUID
	var last uint64
	convene := func() {
		t.Helper()
		m := uuid.New()
		for _, c := range []domain.Command{&domain.ConveneMeeting{Meeting: m, Citizen: citizen.ID},
			&domain.InviteParticipant{Meeting: m, Participant: job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"}} {
			r, err := svc.Handle(ctx, citizen, uuid.New(), c)
			if err != nil {
				t.Fatal(err)
			}
			last = r.Sequence
		}
		meetings = append(meetings, m)
	}
	for range 7 {
		convene() // all at the same instant: e.now
	}
	e.caughtUp()
	history := func(pg projections.Page) (projections.Paged[projections.MeetingView], error) {
		return e.q.History(ctx, citizen, citizen.ID, pg, last)
	}
	meetingID := func(v projections.MeetingView) uuid.UUID { return v.MeetingID }
	whole, err := history(projections.Page{Limit: projections.HistoryLimits.Max})
	if err != nil || len(whole.Items) != 7 || whole.NextCursor != "" {
		t.Fatalf("the whole history in one page: %d items, next %q, %v", len(whole.Items), whole.NextCursor, err)
	}
	want := []uuid.UUID{}
	for _, v := range whole.Items {
		want = append(want, v.MeetingID)
	}
	for _, limit := range []int{1, 2, 3, 7} {
		if got := walk(t, limit, history, meetingID); !slices.Equal(got, want) {
			t.Errorf("history in pages of %d: %v, want %v", limit, got, want)
		}
	}

	// A meeting convened between two pages is not lost, and nothing is shown twice. (Keyset
	// paging: what sorts before the cursor's position is not shown on later pages; a meeting
	// convened later sorts after every page's position.)
	first, err := history(projections.Page{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute) // convened later, so after every page's position
	convene()
	e.caughtUp()
	got := []uuid.UUID{}
	for _, v := range first.Items {
		got = append(got, v.MeetingID)
	}
	got = append(got, walk(t, 2, func(pg projections.Page) (projections.Paged[projections.MeetingView], error) {
		if pg.Cursor == "" {
			pg.Cursor = first.NextCursor
		}
		return e.q.History(ctx, citizen, citizen.ID, pg, last)
	}, meetingID)...)
	if !containsAll(got, meetings) {
		t.Errorf("history across a write: %d meetings %v, want all 8 once: %v", len(got), got, meetings)
	}

	// The inbox's invitations page the same way, and its cursor continues only what has more.
	var invited []uuid.UUID
	pg := projections.Page{Limit: 3}
	for range 10 {
		in, err := e.q.Inbox(ctx, job, pg, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range in.Invitations {
			invited = append(invited, m.MeetingID)
		}
		if pg.Cursor = in.NextCursor; pg.Cursor == "" {
			break
		}
	}
	if len(invited) != 8 || !containsAll(invited, meetings) {
		t.Errorf("the inbox in pages of 3: %d invitations %v", len(invited), invited)
	}

	// The services report's per-meeting rows, for the professional.
	rows := walk(t, 2, func(pg projections.Page) (projections.Paged[projections.MeetingService], error) {
		r, err := e.q.Services(ctx, job, projections.ServicesReportFilter{Page: pg}, 0)
		return projections.Paged[projections.MeetingService]{Items: r.PerMeeting, NextCursor: r.NextCursor}, err
	}, func(m projections.MeetingService) uuid.UUID { return m.MeetingID })
	if len(rows) != 8 || !containsAll(rows, meetings) {
		t.Errorf("the services report's meetings in pages of 2: %d rows", len(rows))
	}

	// Refused: a limit out of range, a cursor of another list, a cursor that is not one.
	for name, call := range map[string]func() error{
		"limit above the largest": func() error {
			_, err := e.q.History(ctx, citizen, citizen.ID, projections.Page{Limit: projections.HistoryLimits.Max + 1}, 0)
			return err
		},
		"a negative limit": func() error {
			_, err := e.q.FollowUps(ctx, citizen, projections.FollowUpFilter{}, projections.Page{Limit: -1}, 0)
			return err
		},
		"the inbox's cursor on the history": func() error {
			in, _ := e.q.Inbox(ctx, job, projections.Page{Limit: 1}, 0)
			_, err := e.q.History(ctx, citizen, citizen.ID, projections.Page{Cursor: in.NextCursor}, 0)
			return err
		},
		"not a cursor": func() error {
			_, err := e.q.Inbox(ctx, job, projections.Page{Cursor: "not-a-cursor!"}, 0)
			return err
		},
	} {
		err := call()
		var fe *domain.Error
		if !errorsAs(err, &fe) || fe.Kind != domain.Invalid || (fe.Field != "limit" && fe.Field != "cursor") {
			t.Errorf("%s: %v, want an invalid limit or cursor", name, err)
		}
	}
}

// TestFollowUpsPage walks a seeded citizen's follow-ups one at a time.
func TestFollowUpsPage(t *testing.T) {
	e := newEnv(t)
	e.seed(40)
	e.caughtUp()
	var c string
	if err := e.meetings.View(func(db *sql.DB) error {
		return db.QueryRow(`SELECT m.citizen_id FROM follow_ups f JOIN meetings m ON m.meeting_id = f.meeting_id
			GROUP BY m.citizen_id ORDER BY count(*) DESC LIMIT 1`).Scan(&c)
	}); err != nil {
		t.Fatal(err)
	}
	citizen := domain.Actor{ID: uuid.MustParse(c), Role: domain.RoleCitizen}
	whole, err := e.q.FollowUps(context.Background(), citizen, projections.FollowUpFilter{}, projections.Page{Limit: projections.FollowUpLimits.Max}, 0)
	if err != nil || len(whole.Items) < 3 {
		t.Fatalf("the seeded citizen's follow-ups: %d, %v", len(whole.Items), err)
	}
	got := walk(t, 1, func(pg projections.Page) (projections.Paged[projections.FollowUpView], error) {
		return e.q.FollowUps(context.Background(), citizen, projections.FollowUpFilter{}, pg, 0)
	}, func(f projections.FollowUpView) uuid.UUID { return f.ID })
	want := []uuid.UUID{}
	for _, f := range whole.Items {
		want = append(want, f.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("follow-ups one at a time: %v, want %v", got, want)
	}
}

func containsAll(got, want []uuid.UUID) bool {
	seen := map[uuid.UUID]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			return false
		}
	}
	return len(got) == len(want)
}

// TestPageBytesBound: a page stops before its JSON passes MaxPageBytes, but holds at least one
// item however large.
func TestPageBytesBound(t *testing.T) {
	big := make([]string, 11)
	for i := range big {
		big[i] = strings.Repeat("æ", 150_000) // 300 kB of JSON each
	}
	page, more := projections.Fit(big, 10, projections.MaxPageBytes)
	if b, _ := json.Marshal(page); len(page) != 3 || !more || len(b) > projections.MaxPageBytes {
		t.Fatalf("a page of %d items, %d bytes, more %v", len(page), len(b), more)
	}
	huge := []string{strings.Repeat("x", 2*projections.MaxPageBytes), "y"}
	if page, more := projections.Fit(huge, 10, projections.MaxPageBytes); len(page) != 1 || !more {
		t.Fatalf("an item larger than a page: %d items, more %v", len(page), more)
	}
	if page, more := projections.Fit(big[:2], 10, projections.MaxPageBytes); len(page) != 2 || more {
		t.Fatalf("a short list: %d items, more %v", len(page), more)
	}
}
