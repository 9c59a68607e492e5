package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/internal/seed"
	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

type env struct {
	t        *testing.T
	node     *testnode.Env
	store    *eventstore.Store
	dir      string
	meetings *projections.Projector
	services *projections.Projector
	q        *projections.Queries
	now      time.Time
	cancel   context.CancelFunc
	done     chan struct{}
}

var errorsAs = errors.As

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newEnv starts an embedded node (flushing on an interval: these tests measure read models, not
// durability), the log, and both projectors on SQLite files in a temp dir.
func newEnv(t *testing.T) *env {
	t.Helper()
	nd := testnode.Start(t, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	e := &env{t: t, node: nd, store: nd.Store, dir: t.TempDir(), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	e.start()
	return e
}

// mandates opens the citizens' log beside the store, so the seed's support persons get their
// mandates.
func (e *env) mandates() *eventstore.Citizens {
	e.t.Helper()
	c, err := eventstore.OpenCitizens(context.Background(), e.store.Conn(), 1)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	if e.meetings, err = projections.OpenProjector(ctx, e.dir, projections.Meetings{}, e.store, quiet); err != nil {
		e.t.Fatal(err)
	}
	if e.services, err = projections.OpenProjector(ctx, e.dir, projections.Services{}, e.store, quiet); err != nil {
		e.t.Fatal(err)
	}
	e.q = &projections.Queries{MeetingsModel: e.meetings, ServicesModel: e.services, Now: func() time.Time { return e.now }}
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		done := make(chan struct{}, 2)
		go func() { e.meetings.Run(ctx); done <- struct{}{} }()
		go func() { e.services.Run(ctx); done <- struct{}{} }()
		<-done
		<-done
	}()
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.meetings.Close()
	e.services.Close()
	e.cancel = nil
}

// caughtUp waits until both read models have applied the whole log.
func (e *env) caughtUp() uint64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	last, err := e.store.LastSeq(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range []*projections.Projector{e.meetings, e.services} {
		if err := p.WaitFor(ctx, last); err != nil {
			e.t.Fatal(err)
		}
	}
	return last
}

func (e *env) seed(citizens int) seed.Stats {
	e.t.Helper()
	st, err := seed.Write(context.Background(), e.store, seed.Config{Citizens: citizens, Seed: 7, Start: e.now.AddDate(-1, 0, 0), Mandates: e.mandates()})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func count(t *testing.T, p *projections.Projector, query string, args ...any) int {
	t.Helper()
	var n int
	if err := p.View(func(db *sql.DB) error { return db.QueryRow(query, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHistoryMatchesTheLog seeds histories and checks every meeting in every citizen's history
// against the meeting as the domain builds it from the log.
func TestHistoryMatchesTheLog(t *testing.T) {
	e := newEnv(t)
	st := e.seed(60)
	e.caughtUp()
	if n := count(t, e.meetings, `SELECT count(*) FROM meetings`); n != st.Meetings {
		t.Fatalf("read model holds %d meetings, seeded %d", n, st.Meetings)
	}
	if n := count(t, e.meetings, `SELECT count(*) FROM follow_ups`); n != st.FollowUps {
		t.Fatalf("read model holds %d follow-ups, seeded %d", n, st.FollowUps)
	}
	if n := count(t, e.meetings, `SELECT count(*) FROM meetings WHERE status = 'cancelled'`); n != st.Cancelled {
		t.Fatalf("%d cancelled, seeded %d", n, st.Cancelled)
	}
	ctx := context.Background()
	var citizens []uuid.UUID
	if err := e.meetings.View(func(db *sql.DB) error {
		rows, err := db.Query(`SELECT DISTINCT citizen_id FROM meetings`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c uuid.UUID
			rows.Scan(&c)
			citizens = append(citizens, c)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if len(citizens) != 60 {
		t.Fatalf("%d citizens, want 60", len(citizens))
	}
	checked := 0
	for _, c := range citizens {
		h, err := items(e.q.History(ctx, domain.Actor{ID: c, Role: domain.RoleCitizen}, c, projections.Page{}, 0))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range h {
			if i > 0 && v.ConvenedAt.Before(h[i-1].ConvenedAt) {
				t.Fatalf("history not in time order")
			}
			l, err := e.store.Load(ctx, v.MeetingID)
			if err != nil {
				t.Fatal(err)
			}
			m := l.Meeting
			if v.Status != string(m.Status()) || v.Seq != l.Seq || !slices.Equal(v.Agenda, m.Agenda()) || !v.ConvenedAt.Equal(m.ConvenedAt().Truncate(time.Millisecond)) {
				t.Fatalf("meeting %s: read model %s seq %d agenda %v, log %s seq %d agenda %v", v.MeetingID, v.Status, v.Seq, v.Agenda, m.Status(), l.Seq, m.Agenda())
			}
			ps := m.Participants()
			if len(ps) != len(v.Participants) {
				t.Fatalf("meeting %s: %d participants, log %d", v.MeetingID, len(v.Participants), len(ps))
			}
			for j, p := range ps {
				w := v.Participants[j]
				if w.ID != p.ID || w.Answer != string(p.Answer) || w.Present != p.Present || w.Withdrawn != p.Withdrawn || w.Service != p.Service || w.Name != p.Name {
					t.Fatalf("meeting %s participant %d: read model %+v, log %+v", v.MeetingID, j, w, p)
				}
			}
			fs := m.FollowUps()
			if len(fs) != len(v.FollowUps) {
				t.Fatalf("meeting %s: %d follow-ups, log %d", v.MeetingID, len(v.FollowUps), len(fs))
			}
			for j, f := range fs {
				w := v.FollowUps[j]
				if w.ID != f.ID || (w.CompletedAt != nil) != f.Completed || w.Due != f.Due || w.Responsible != f.Responsible {
					t.Fatalf("meeting %s follow-up %d: read model %+v, log %+v", v.MeetingID, j, w, f)
				}
			}
			if s, ok := m.Schedule(); ok && (v.ScheduledAt == nil || !v.ScheduledAt.Equal(s.At) || v.Place != string(s.Place)) {
				t.Fatalf("meeting %s: scheduled %v %s, log %v %s", v.MeetingID, v.ScheduledAt, v.Place, s.At, s.Place)
			}
			checked++
		}
	}
	if checked != st.Meetings {
		t.Fatalf("checked %d meetings, seeded %d", checked, st.Meetings)
	}
}

func TestWhoSeesWhat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := command.New(e.store, func() time.Time { return e.now }, nil)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	support := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: citizen.ID}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	stranger := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	other := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	admin := domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}
	m1, m2 := uuid.New(), uuid.New()
	run := func(a domain.Actor, c domain.Command) command.Reply {
		t.Helper()
		r, err := svc.Handle(ctx, a, uuid.New(), c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	run(citizen, &domain.ConveneMeeting{Meeting: m1, Citizen: citizen.ID})
	run(citizen, &domain.ConveneMeeting{Meeting: m2, Citizen: citizen.ID})
	run(citizen, &domain.CitizenSetsAgenda{Meeting: m1, Items: []string{"Min gæld"}})
	run(citizen, &domain.InviteParticipant{Meeting: m1, Participant: job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"})
	last := run(citizen, &domain.ScheduleMeeting{Meeting: m1, At: e.now.Add(48 * time.Hour), Place: domain.PlaceHome})

	// Read your writes: the sequence the command returned.
	h, err := items(e.q.History(ctx, citizen, citizen.ID, projections.Page{}, last.Sequence))
	if err != nil || len(h) != 2 {
		t.Fatalf("citizen's own history: %d meetings, %v", len(h), err)
	}
	if h, err := items(e.q.History(ctx, support, citizen.ID, projections.Page{}, last.Sequence)); err != nil || len(h) != 2 {
		t.Fatalf("support person: %d meetings, %v", len(h), err)
	}
	if h, err := items(e.q.History(ctx, job, citizen.ID, projections.Page{}, last.Sequence)); err != nil || len(h) != 1 || h[0].MeetingID != m1 || h[0].Agenda[0] != "Min gæld" {
		t.Fatalf("invited professional: %+v, %v (want only the meeting they are invited to)", h, err)
	}
	for _, a := range []domain.Actor{stranger, other} {
		if h, err := items(e.q.History(ctx, a, citizen.ID, projections.Page{}, last.Sequence)); err != nil || len(h) != 0 {
			t.Fatalf("%s not invited sees %d meetings (%v)", a.Role, len(h), err)
		}
	}
	for _, a := range []domain.Actor{evaluator, admin} {
		if _, err := items(e.q.History(ctx, a, citizen.ID, projections.Page{}, 0)); !domain.IsKind(err, domain.Forbidden) {
			t.Fatalf("%s: got %v, want forbidden", a.Role, err)
		}
		if _, err := e.q.Inbox(ctx, a, projections.Page{}, 0); !domain.IsKind(err, domain.Forbidden) {
			t.Fatalf("%s inbox: got %v, want forbidden", a.Role, err)
		}
		if _, err := items(e.q.FollowUps(ctx, a, projections.FollowUpFilter{}, projections.Page{}, 0)); !domain.IsKind(err, domain.Forbidden) {
			t.Fatalf("%s follow-ups: got %v, want forbidden", a.Role, err)
		}
	}
	in, err := e.q.Inbox(ctx, job, projections.Page{}, last.Sequence)
	if err != nil || len(in.Invitations) != 1 || in.Invitations[0].MeetingID != m1 || len(in.Coming) != 0 {
		t.Fatalf("inbox before answering: %+v %v", in, err)
	}
	r := run(job, &domain.RespondToInvitation{Meeting: m1, Accept: true})
	in, err = e.q.Inbox(ctx, job, projections.Page{}, r.Sequence)
	if err != nil || len(in.Invitations) != 0 || len(in.Coming) != 1 || in.Coming[0].Agenda[0] != "Min gæld" {
		t.Fatalf("inbox after accepting: %+v %v", in, err)
	}
	if in, _ := e.q.Inbox(ctx, stranger, projections.Page{}, r.Sequence); len(in.Invitations)+len(in.Coming)+len(in.FollowUps) != 0 {
		t.Fatalf("a stranger's inbox shows %+v", in)
	}
	// Services: professionals see their meetings, evaluators only totals, citizens nothing; one
	// citizen is a group below k, so the totals are suppressed.
	rep, err := e.q.Services(ctx, job, projections.ServicesReportFilter{}, r.Sequence)
	if err != nil || len(rep.PerService) != 1 || rep.PerService[0].Service != "Jobcenter" || !rep.PerService[0].Suppressed || rep.PerService[0].Accepted != nil ||
		len(rep.PerMeeting) != 1 || rep.PerMeeting[0].MeetingID != m1 || rep.PerMeeting[0].Accepted != 1 || rep.MinGroup != projections.DefaultMinGroup {
		t.Fatalf("services for a professional: %+v %v", rep, err)
	}
	if rep, err := e.q.Services(ctx, stranger, projections.ServicesReportFilter{}, r.Sequence); err != nil || len(rep.PerMeeting) != 0 {
		t.Fatalf("services for a professional of no meeting: %+v %v", rep, err)
	}
	rep, err = e.q.Services(ctx, evaluator, projections.ServicesReportFilter{}, r.Sequence)
	if err != nil || len(rep.PerService) != 1 || !rep.PerService[0].Suppressed || len(rep.PerMeeting) != 0 {
		t.Fatalf("services for an evaluator: %+v %v", rep, err)
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), citizen.ID.String()) || strings.Contains(string(b), job.ID.String()) || strings.Contains(string(b), m1.String()) {
		t.Fatalf("the services report names a person or a meeting: %s", b)
	}
	k1 := *e.q
	k1.MinGroup = 1
	if rep, err := k1.Services(ctx, evaluator, projections.ServicesReportFilter{}, r.Sequence); err != nil || len(rep.PerService) != 1 || rep.PerService[0].Suppressed ||
		*rep.PerService[0].Accepted != 1 || *rep.PerService[0].Citizens != 1 {
		t.Fatalf("services for an evaluator with k = 1: %+v %v", rep, err)
	}
	for _, a := range []domain.Actor{citizen, support} {
		if _, err := e.q.Services(ctx, a, projections.ServicesReportFilter{}, 0); !domain.IsKind(err, domain.Forbidden) {
			t.Fatalf("services for a %s: got %v, want forbidden", a.Role, err)
		}
	}
	for _, bad := range []string{"1/1/2026", "2026-01-01", "2026-13", "2026-Q5", "26"} {
		if _, err := e.q.Services(ctx, job, projections.ServicesReportFilter{Period: bad}, 0); !domain.IsKind(err, domain.Invalid) || !strings.Contains(err.Error(), "period") {
			t.Fatalf("period %q: got %v", bad, err)
		}
	}
	// Waiting for a sequence the log never reaches is bounded.
	e.q.MaxWait = 100 * time.Millisecond
	var nc *projections.NotCaughtUpError
	if _, err := items(e.q.History(ctx, citizen, citizen.ID, projections.Page{}, r.Sequence+1000)); !errorsAs(err, &nc) {
		t.Fatalf("waiting for a future sequence: got %v", err)
	}
}

// TestDeliveredTwiceChangesNothing applies a batch the read model has already seen.
func TestDeliveredTwiceChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed(10)
	last := e.caughtUp()
	before := snapshot(t, e)
	var batch []eventstore.RawRecorded
	if err := e.store.ReadRaw(context.Background(), eventstore.ReadOptions{}, func(r eventstore.RawRecorded) error {
		batch = append(batch, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*projections.Projector{e.meetings, e.services} {
		if err := p.ApplyAgain(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if p.Status().Seq != last {
			t.Fatalf("%s checkpoint moved to %d", p.Name(), p.Status().Seq)
		}
	}
	if after := snapshot(t, e); after != before {
		t.Fatalf("read models changed when the log was delivered again")
	}
}

// snapshot is every query's answer as JSON, for comparing two read models.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	var citizens, people []uuid.UUID
	e.meetings.View(func(db *sql.DB) error {
		for q, dst := range map[string]*[]uuid.UUID{`SELECT DISTINCT citizen_id FROM meetings ORDER BY 1`: &citizens, `SELECT DISTINCT participant_id FROM participants ORDER BY 1`: &people} {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id uuid.UUID
				rows.Scan(&id)
				*dst = append(*dst, id)
			}
			rows.Close()
		}
		return nil
	})
	for _, c := range citizens {
		h, err := items(e.q.History(ctx, domain.Actor{ID: c, Role: domain.RoleCitizen}, c, projections.Page{}, 0))
		if err != nil {
			t.Fatal(err)
		}
		out["history "+c.String()] = h
		f, err := items(e.q.FollowUps(ctx, domain.Actor{ID: c, Role: domain.RoleCitizen}, projections.FollowUpFilter{}, projections.Page{}, 0))
		if err != nil {
			t.Fatal(err)
		}
		out["follow-ups "+c.String()] = f
	}
	for _, p := range people {
		a := domain.Actor{ID: p, Role: domain.RoleProfessional, Service: "x"}
		in, err := e.q.Inbox(ctx, a, projections.Page{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		out["inbox "+p.String()] = in
		f, err := items(e.q.FollowUps(ctx, a, projections.FollowUpFilter{Overdue: true}, projections.Page{}, 0))
		if err != nil {
			t.Fatal(err)
		}
		out["overdue "+p.String()] = f
	}
	// The services report with k = 1 (nothing suppressed) and as served, for every kind of period.
	admin := domain.Actor{ID: uuid.MustParse("0193a000-0000-7000-8000-0000000000ad"), Role: domain.RoleAdmin}
	k1 := *e.q
	k1.MinGroup = 1
	for _, f := range []projections.ServicesReportFilter{{}, {Period: "2026"}, {Period: "2025-Q4"}, {Period: "2026-03"}, {Service: "Jobcenter"}} {
		for name, q := range map[string]*projections.Queries{"k=1": &k1, "k=5": e.q} {
			r, err := q.Services(ctx, admin, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			out["services "+name+" "+f.Period+" "+f.Service] = r
		}
	}
	for _, p := range people[:min(len(people), 20)] {
		r, err := e.q.Services(ctx, domain.Actor{ID: p, Role: domain.RoleProfessional, Service: "x"}, projections.ServicesReportFilter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		out["services for "+p.String()] = r
	}
	out["services per citizen and month"] = dumpCitizenMonths(t, e.services)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnreadableCommitStopsOnlyItsProjector writes a commit the meetings read model cannot
// apply (an agenda for a meeting it has never seen): that projector stops, naming the sequence
// and the reason; the services projector goes on.
func TestUnreadableCommitStopsOnlyItsProjector(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, m := uuid.New(), uuid.New()
	a, err := e.store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "citizen-sets-agenda", MeetingID: m, CitizenID: c,
		Actor: domain.Actor{ID: c, Role: domain.RoleCitizen}, At: e.now,
		Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: []string{"x"}})}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.services.WaitFor(ctx, a.Seq); err != nil {
		t.Fatalf("the services projector did not go on: %v", err)
	}
	err = e.meetings.WaitFor(ctx, a.Seq)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("sequence %d", a.Seq)) {
		t.Fatalf("meetings projector: got %v, want it stopped naming sequence %d", err, a.Seq)
	}
	if st := e.meetings.Status(); st.Error == "" || st.Seq != 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestRebuildGivesTheSameAnswers seeds at least 10,000 meetings, builds the read models as the
// log grows, rebuilds both from scratch (answering queries from the old files meanwhile), and
// compares every query's answer.
func TestRebuildGivesTheSameAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 meetings")
	}
	e := newEnv(t)
	st, err := seed.Write(context.Background(), e.store, seed.Config{Citizens: 4200, Seed: 11, Start: e.now.AddDate(-1, 0, 0), Mandates: e.mandates()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Meetings < 10_000 {
		t.Fatalf("seeded only %d meetings", st.Meetings)
	}
	last := e.caughtUp()
	t.Logf("seeded %d meetings by %d citizens in %d commands (log at %d)", st.Meetings, st.Citizens, st.Commands, last)
	before := snapshot(t, e)
	ctx := context.Background()
	for _, p := range []*projections.Projector{e.meetings, e.services} {
		var calls int
		seq, err := p.Rebuild(ctx, func(done, total uint64) {
			calls++
			if done > total {
				t.Errorf("progress %d of %d", done, total)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if seq != last || calls == 0 {
			t.Fatalf("%s rebuilt to %d with %d progress reports, want %d", p.Name(), seq, calls, last)
		}
	}
	if after := snapshot(t, e); after != before {
		t.Fatalf("rebuilt read models answer differently (%d vs %d bytes)", len(after), len(before))
	}
	// The rebuilt files are the current ones after a restart too.
	e.stop()
	e.start()
	if again := snapshot(t, e); again != before {
		t.Fatalf("after a restart the read models answer differently")
	}
}

// TestFactsFromReadModelMatchTheLog: the evaluation reads facts from the meetings read model;
// they must be the facts the domain builds from the log, meeting by meeting.
func TestFactsFromReadModelMatchTheLog(t *testing.T) {
	e := newEnv(t)
	e.seed(80)
	e.caughtUp()
	ctx := context.Background()
	var facts []domain.MeetingFacts
	if err := e.meetings.View(func(db *sql.DB) error {
		var err error
		facts, err = projections.Facts(ctx, db, projections.ServicesFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	fromLog := map[uuid.UUID]*domain.Meeting{}
	if err := e.store.Read(ctx, eventstore.ReadOptions{}, func(r eventstore.Recorded) error {
		m := fromLog[r.Commit.MeetingID]
		if m == nil {
			m = &domain.Meeting{}
			fromLog[r.Commit.MeetingID] = m
		}
		m.Apply(r.Commit)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(facts) != len(fromLog) {
		t.Fatalf("%d meetings in the read model, %d in the log", len(facts), len(fromLog))
	}
	for _, f := range facts {
		want := domain.FactsOf(fromLog[f.MeetingID])
		want.ConvenedAt, want.HeldAt = want.ConvenedAt.Truncate(time.Millisecond), want.HeldAt.Truncate(time.Millisecond)
		if fmt.Sprint(f) != fmt.Sprint(want) {
			t.Fatalf("meeting %s:\nread model %+v\nlog        %+v", f.MeetingID, f, want)
		}
	}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	ev, err := e.q.Evaluate(ctx, evaluator, projections.ServicesFilter{}, 0)
	if err != nil || ev.Meetings != len(facts) || len(ev.Indicators) == 0 {
		t.Fatalf("evaluate: %+v %v", ev, err)
	}
	for _, a := range []domain.Actor{{ID: uuid.New(), Role: domain.RoleCitizen}, {ID: uuid.New(), Role: domain.RoleProfessional, Service: "x"}} {
		if _, err := e.q.Evaluate(ctx, a, projections.ServicesFilter{}, 0); !domain.IsKind(err, domain.Forbidden) {
			t.Fatalf("evaluate by a %s: got %v, want forbidden", a.Role, err)
		}
	}
}

// TestIDsReusedAcrossMeetings: follow-up and suggestion ids are unique within a meeting only;
// another meeting reusing them must not stop the read model.
func TestIDsReusedAcrossMeetings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := command.New(e.store, func() time.Time { return e.now }, nil)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	f, sg := uuid.New(), uuid.New()
	var last uint64
	for range 2 {
		m := uuid.New()
		for _, c := range []domain.Command{
			&domain.ConveneMeeting{Meeting: m, Citizen: citizen.ID},
			&domain.InviteParticipant{Meeting: m, Participant: job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"},
			&domain.ScheduleMeeting{Meeting: m, At: e.now.Add(time.Minute), Place: domain.PlaceHome},
		} {
			if _, err := svc.Handle(ctx, citizen, uuid.New(), c); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.Handle(ctx, job, uuid.New(), &domain.SuggestParticipant{Meeting: m, Suggestion: sg, Name: "Bo", Kind: domain.KindNetwork}); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(time.Hour)
		for _, c := range []domain.Command{
			&domain.RecordAttendance{Meeting: m, Present: []uuid.UUID{citizen.ID}},
			&domain.RecordFollowUp{Meeting: m, FollowUp: f, What: "x", Responsible: citizen.ID},
			&domain.CompleteFollowUp{Meeting: m, FollowUp: f},
		} {
			r, err := svc.Handle(ctx, citizen, uuid.New(), c)
			if err != nil {
				t.Fatal(err)
			}
			last = r.Sequence
		}
	}
	h, err := items(e.q.History(ctx, citizen, citizen.ID, projections.Page{}, last))
	if err != nil || len(h) != 2 || len(h[1].FollowUps) != 1 || h[1].FollowUps[0].CompletedAt == nil || len(h[1].Suggestions) != 1 {
		t.Fatalf("history with ids reused across meetings: %+v %v", h, err)
	}
}

// TestBulkLoadKeepsTheSchema: a bulk load drops and rebuilds the secondary indexes; afterwards
// the schema is the one the migrations made.
func TestBulkLoadKeepsTheSchema(t *testing.T) {
	e := newEnv(t)
	e.seed(10)
	e.caughtUp()
	schema := func() string {
		var out []string
		for _, p := range []*projections.Projector{e.meetings, e.services} {
			p.View(func(db *sql.DB) error {
				rows, err := db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var a, b, c string
					rows.Scan(&a, &b, &c)
					out = append(out, a+" "+b+" "+c)
				}
				return nil
			})
		}
		return strings.Join(out, "\n")
	}
	before := schema()
	for _, p := range []*projections.Projector{e.meetings, e.services} {
		if _, err := p.Rebuild(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if after := schema(); after != before {
		t.Fatalf("schema after a bulk rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

// TestRebuildFallsBackOnAnUnusualLog: a commit for a meeting never convened cannot be folded in
// bulk; the services read model (which ignores agendas) is then rebuilt commit by commit, to the
// same answers. The bulk load hands over one meeting at a time, so it has written every other
// meeting when it finds the commit: none of that may stay.
func TestRebuildFallsBackOnAnUnusualLog(t *testing.T) {
	defer projections.SetFoldBatch(1)()
	e := newEnv(t)
	e.seed(5)
	ctx := context.Background()
	c := uuid.New()
	a, err := e.store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "citizen-sets-agenda", MeetingID: uuid.New(), CitizenID: c,
		Actor: domain.Actor{ID: c, Role: domain.RoleCitizen}, At: e.now,
		Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: []string{"x"}})}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.services.WaitFor(ctx, a.Seq); err != nil {
		t.Fatal(err)
	}
	admin := domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}
	before, err := e.q.Services(ctx, admin, projections.ServicesReportFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := e.services.Rebuild(ctx, nil)
	if err != nil || seq != a.Seq {
		t.Fatalf("rebuild: seq %d, %v; want %d", seq, err, a.Seq)
	}
	after, err := e.q.Services(ctx, admin, projections.ServicesReportFilter{}, 0)
	if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("services after the rebuild:\n%+v\nbefore:\n%+v (%v)", after, before, err)
	}
}

// items is the items of a page, for tests that ask for the first page only.
func items[T any](p projections.Paged[T], err error) ([]T, error) { return p.Items, err }
