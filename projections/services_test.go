package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

// dumpCitizenMonths is the services read model's table of services per citizen and month.
func dumpCitizenMonths(t testing.TB, p *projections.Projector) string {
	t.Helper()
	var b strings.Builder
	if err := p.View(func(db *sql.DB) error {
		rows, err := db.Query(`SELECT citizen_id, service, month, meetings FROM service_citizen_months ORDER BY citizen_id, service, month`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c, s, m string
			var n int
			if err := rows.Scan(&c, &s, &m, &n); err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %s %s %d\n", c, s, m, n)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// oldTotals and oldPairs are the services report's queries as they were before the read model
// kept each citizen's services month by month, and before suppression: the oracle the report is
// held to. The pairs query joined every citizen's invitations with each other.
type oldTotal struct{ Meetings, Citizens, Invited, Accepted, Attended int }

func oldReport(t testing.TB, db *sql.DB, from, to, service string) (map[string]oldTotal, map[[2]string][2]int) {
	t.Helper()
	conds, args := []string{"sp.invited = 1"}, []any{}
	if from != "" {
		conds, args = append(conds, "sm.convened_on >= ?"), append(args, from)
	}
	if to != "" {
		conds, args = append(conds, "sm.convened_on <= ?"), append(args, to)
	}
	period := strings.Join(conds, " AND ")
	periodArgs := append([]any{}, args...)
	svc := ""
	if service != "" {
		svc, args = " AND sp.service = ?", append(args, service)
	}
	totals := map[string]oldTotal{}
	rows, err := db.Query(`SELECT sp.service, count(DISTINCT sp.meeting_id), count(DISTINCT sm.citizen_id), count(*), sum(sp.accepted), sum(sp.attended)
		FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
		WHERE `+period+svc+` GROUP BY sp.service ORDER BY sp.service`, args...)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var o oldTotal
		if err := rows.Scan(&s, &o.Meetings, &o.Citizens, &o.Invited, &o.Accepted, &o.Attended); err != nil {
			t.Fatal(err)
		}
		totals[s] = o
	}
	rows.Close()
	pairs := map[[2]string][2]int{}
	for _, p := range oldPairRows(t, db, period, periodArgs, service) {
		pairs[[2]string{p.A, p.B}] = [2]int{*p.SharedCitizens, *p.MeetingsTogether}
	}
	return totals, pairs
}

func oldPairRows(t testing.TB, db *sql.DB, period string, periodArgs []any, service string) []projections.ServicePair {
	pairCond, pairArgs := "", periodArgs
	if service != "" {
		pairCond, pairArgs = " AND (a.service = ? OR b.service = ?)", append(append([]any{}, periodArgs...), service, service)
	}
	rows, err := db.Query(`WITH s AS (
			SELECT sp.service, sp.meeting_id, sm.citizen_id, max(sp.attended) AS attended
			FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
			WHERE `+period+` GROUP BY sp.service, sp.meeting_id)
		SELECT a.service, b.service, count(DISTINCT a.citizen_id),
			count(DISTINCT CASE WHEN a.meeting_id = b.meeting_id AND a.attended = 1 AND b.attended = 1 THEN a.meeting_id END)
		FROM s a JOIN s b ON a.citizen_id = b.citizen_id AND a.service < b.service`+pairCond+`
		GROUP BY a.service, b.service ORDER BY 3 DESC, a.service, b.service`, pairArgs...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []projections.ServicePair
	for rows.Next() {
		var p projections.ServicePair
		var n, m int
		if err := rows.Scan(&p.A, &p.B, &n, &m); err != nil {
			t.Fatal(err)
		}
		p.SharedCitizens, p.MeetingsTogether = &n, &m
		out = append(out, p)
	}
	return out
}

// handHistory writes, through the command service, histories the seed does not: two people of
// one service in a meeting and one withdrawn, an invitation withdrawn and given again for
// another service or for no service, a meeting cancelled, meetings in several months.
func handHistory(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	svc := command.New(e.store, func() time.Time { return now }, nil)
	run := func(a domain.Actor, c domain.Command) {
		t.Helper()
		if _, err := svc.Handle(ctx, a, uuid.New(), c); err != nil {
			t.Fatalf("%s: %v", c.CommandName(), err)
		}
	}
	c1 := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	c2 := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	p := make([]uuid.UUID, 8)
	for i := range p {
		p[i] = uuid.New()
	}
	invite := func(c domain.Actor, m uuid.UUID, who uuid.UUID, kind domain.ParticipantKind, service string) {
		inv := &domain.InviteParticipant{Meeting: m, Participant: who, Name: "N", Kind: kind, Service: service}
		if domain.NeedsConsent(kind) {
			inv.ConsentVersion = domain.ConsentTextVersion
		}
		run(c, inv)
	}
	m1, m2, m3, m4 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	run(c1, &domain.ConveneMeeting{Meeting: m1, Citizen: c1.ID})
	invite(c1, m1, p[1], domain.KindProfessional, "Jobcenter")
	invite(c1, m1, p[2], domain.KindProfessional, "Misbrugscenter")
	invite(c1, m1, p[3], domain.KindProfessional, "Jobcenter")
	run(c1, &domain.WithdrawInvitation{Meeting: m1, Participant: p[3]}) // Jobcenter stays, through p1
	run(c1, &domain.WithdrawInvitation{Meeting: m1, Participant: p[2]}) // Misbrugscenter leaves
	invite(c1, m1, p[2], domain.KindProfessional, "Center for Børn og Familie")
	invite(c1, m1, p[4], domain.KindNetwork, "")
	invite(c1, m1, p[5], domain.KindRegion, "Regionspsykiatrien")
	run(c1, &domain.WithdrawInvitation{Meeting: m1, Participant: p[5]})
	invite(c1, m1, p[5], domain.KindNetwork, "") // again, with no service
	run(c1, &domain.ScheduleMeeting{Meeting: m1, At: now.Add(48 * time.Hour), Place: domain.PlaceHome})
	run(domain.Actor{ID: p[1], Role: domain.RoleProfessional, Service: "Jobcenter"}, &domain.RespondToInvitation{Meeting: m1, Accept: true})
	now = now.Add(48 * time.Hour)
	run(c1, &domain.RecordAttendance{Meeting: m1, Present: []uuid.UUID{c1.ID, p[1], p[2]}})
	run(c1, &domain.CloseMeeting{Meeting: m1})

	now = time.Date(2026, 2, 15, 9, 0, 0, 0, time.UTC)
	run(c1, &domain.ConveneMeeting{Meeting: m2, Citizen: c1.ID})
	invite(c1, m2, p[6], domain.KindProfessional, "Misbrugscenter")
	invite(c1, m2, p[1], domain.KindProfessional, "Jobcenter")
	run(c1, &domain.CancelMeeting{Meeting: m2})

	now = time.Date(2026, 5, 3, 9, 0, 0, 0, time.UTC)
	run(c1, &domain.ConveneMeeting{Meeting: m3, Citizen: c1.ID})
	invite(c1, m3, p[7], domain.KindProfessional, "Center for Sundhed og Ældre")
	invite(c1, m3, p[1], domain.KindProfessional, "Jobcenter")
	run(c1, &domain.WithdrawInvitation{Meeting: m3, Participant: p[7]}) // the month keeps Jobcenter only

	now = time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC)
	run(c2, &domain.ConveneMeeting{Meeting: m4, Citizen: c2.ID})
	invite(c2, m4, p[1], domain.KindProfessional, "Jobcenter")
	invite(c2, m4, p[6], domain.KindProfessional, "Misbrugscenter")
	run(c2, &domain.ScheduleMeeting{Meeting: m4, At: now.Add(time.Hour), Place: domain.PlaceOnline})
	now = now.Add(time.Hour)
	run(c2, &domain.RecordAttendance{Meeting: m4, Present: []uuid.UUID{c2.ID, p[1], p[6]}})
}

// periodsOfData lists every period the report takes that holds a meeting: all time, and each
// year, quarter and month, with their first and last days.
func periodsOfData(t *testing.T, p *projections.Projector) [][3]string {
	t.Helper()
	out := [][3]string{{"", "", ""}}
	seen := map[string]bool{}
	if err := p.View(func(db *sql.DB) error {
		rows, err := db.Query(`SELECT DISTINCT substr(convened_on, 1, 7) FROM service_meetings ORDER BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m string
			rows.Scan(&m)
			first, _ := time.Parse("2006-01", m)
			q := (int(first.Month()) + 2) / 3
			qFirst := time.Date(first.Year(), time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
			yFirst := time.Date(first.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
			for _, per := range [][3]string{
				{m, first.Format(time.DateOnly), first.AddDate(0, 1, -1).Format(time.DateOnly)},
				{fmt.Sprintf("%d-Q%d", first.Year(), q), qFirst.Format(time.DateOnly), qFirst.AddDate(0, 3, -1).Format(time.DateOnly)},
				{fmt.Sprint(first.Year()), yFirst.Format(time.DateOnly), yFirst.AddDate(1, 0, -1).Format(time.DateOnly)},
			} {
				if !seen[per[0]] {
					seen[per[0]] = true
					out = append(out, per)
				}
			}
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAgainstOldQuery holds the services report, for every period and some services, to the
// old queries: with k = 1 it must give the same figures and order; with k = 5 it must suppress
// exactly the groups of fewer than five citizens, and list no pair with a suppressed service.
func checkAgainstOldQuery(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	admin := domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}
	k1 := *e.q
	k1.MinGroup = 1
	checked := 0
	for _, per := range periodsOfData(t, e.services) {
		for _, service := range []string{"", "Jobcenter", "Misbrugscenter", "Center for Børn og Familie"} {
			var oldTotals, allTotals map[string]oldTotal
			var oldPairs map[[2]string][2]int
			var oldOrder []projections.ServicePair
			e.services.View(func(db *sql.DB) error {
				oldTotals, oldPairs = oldReport(t, db, per[1], per[2], service)
				allTotals, _ = oldReport(t, db, per[1], per[2], "")
				conds, args := "sp.invited = 1", []any{}
				if per[0] != "" {
					conds, args = conds+" AND sm.convened_on >= ? AND sm.convened_on <= ?", []any{per[1], per[2]}
				}
				oldOrder = oldPairRows(t, db, conds, args, service)
				return nil
			})
			f := projections.ServicesReportFilter{Period: per[0], Service: service}
			r, err := k1.Services(ctx, admin, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.From != per[1] || r.To != per[2] {
				t.Fatalf("period %q is %s to %s, want %s to %s", per[0], r.From, r.To, per[1], per[2])
			}
			if len(r.PerService) != len(oldTotals) {
				t.Fatalf("period %q service %q: %d services, the old query %d", per[0], service, len(r.PerService), len(oldTotals))
			}
			for _, s := range r.PerService {
				o := oldTotals[s.Service]
				if s.Suppressed || (oldTotal{*s.Meetings, *s.Citizens, *s.Invited, *s.Accepted, *s.Attended}) != o {
					t.Fatalf("period %q: %s is %+v, the old query %+v", per[0], s.Service, s, o)
				}
			}
			got := fmt.Sprint(pairText(r.Together))
			if want := fmt.Sprint(pairText(oldOrder)); got != want {
				t.Fatalf("period %q service %q: pairs\n%s\nthe old query\n%s", per[0], service, got, want)
			}
			checked += len(r.Together)

			r5, err := e.q.Services(ctx, admin, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range r5.PerService {
				if s.Suppressed != (oldTotals[s.Service].Citizens < 5) || (s.Suppressed && (s.Citizens != nil || s.Meetings != nil || s.Invited != nil)) {
					t.Fatalf("period %q with k = 5: %+v, the old query %+v", per[0], s, oldTotals[s.Service])
				}
			}
			want := 0
			for pair := range oldPairs {
				if allTotals[pair[0]].Citizens >= 5 && allTotals[pair[1]].Citizens >= 5 {
					want++
				}
			}
			if len(r5.Together) != want {
				t.Fatalf("period %q service %q with k = 5: %d pairs listed, want %d (those of two shown services)", per[0], service, len(r5.Together), want)
			}
			suppressedSeen := false
			for _, p := range r5.Together {
				o := oldPairs[[2]string{p.A, p.B}]
				switch {
				case p.Suppressed != (o[0] < 5):
					t.Fatalf("period %q with k = 5: pair %+v, the old query %v", per[0], p, o)
				case p.Suppressed && (p.SharedCitizens != nil || p.MeetingsTogether != nil):
					t.Fatalf("a suppressed pair carries figures: %+v", p)
				case !p.Suppressed && (suppressedSeen || *p.SharedCitizens != o[0] || *p.MeetingsTogether != o[1]):
					t.Fatalf("period %q with k = 5: pair %+v, the old query %v (shown pairs come first)", per[0], p, o)
				}
				suppressedSeen = suppressedSeen || p.Suppressed
			}
		}
	}
	t.Logf("compared %d pairs over %d periods", checked, len(periodsOfData(t, e.services)))
	if checked < 50 {
		t.Fatalf("only %d pairs compared", checked)
	}
}

func pairText(ps []projections.ServicePair) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s+%s:%d/%d", p.A, p.B, *p.SharedCitizens, *p.MeetingsTogether))
	}
	return out
}

// TestServicesReportMatchesTheOldQuery: the report counts pairs from the services per citizen
// and month the projector keeps; on a seeded log and histories the seed does not write, it
// gives what the old quadratic query gave, commit by commit, after a rebuild in bulk, and after
// the migration fills the table of a file from before it.
func TestServicesReportMatchesTheOldQuery(t *testing.T) {
	e := newEnv(t)
	e.seed(120)
	handHistory(t, e)
	e.caughtUp()
	checkAgainstOldQuery(t, e)
	followed := dumpCitizenMonths(t, e.services)

	if _, err := e.services.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt := dumpCitizenMonths(t, e.services); rebuilt != followed {
		t.Fatalf("a rebuild in bulk gives other services per citizen and month:\n%s\nfollowing the log:\n%s", rebuilt, followed)
	}
	checkAgainstOldQuery(t, e)

	// A file from before the table: the migration fills it from the rows there are.
	e.stop()
	cur, err := filepath.Glob(filepath.Join(e.dir, "services.*.db"))
	if err != nil || len(cur) != 1 {
		t.Fatalf("services files: %v %v", cur, err)
	}
	db, err := sql.Open("sqlite3", cur[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE service_citizen_months; DELETE FROM schema_migrations WHERE name = '002_service_citizen_months.sql'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.start()
	if migrated := dumpCitizenMonths(t, e.services); migrated != followed {
		t.Fatalf("the migration gives other services per citizen and month:\n%s\nfollowing the log:\n%s", migrated, followed)
	}
}

// TestServicesReportTellsAProfessionalOnlyTheirMeetings: a professional invited to one meeting
// of a citizen does not learn of the citizen's other meetings and services; an evaluator gets no
// meeting id and no figure for a group of fewer than k citizens.
func TestServicesReportTellsAProfessionalOnlyTheirMeetings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := command.New(e.store, func() time.Time { return e.now }, nil)
	run := func(a domain.Actor, c domain.Command) command.Reply {
		t.Helper()
		r, err := svc.Handle(ctx, a, uuid.New(), c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	addiction := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Misbrugscenter"}
	gone := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	a, b := uuid.New(), uuid.New()
	run(citizen, &domain.ConveneMeeting{Meeting: a, Citizen: citizen.ID})
	run(citizen, &domain.InviteParticipant{Meeting: a, Participant: job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"})
	run(citizen, &domain.InviteParticipant{Meeting: a, Participant: gone.ID, Name: "Ole", Kind: domain.KindProfessional, Service: "Jobcenter"})
	run(citizen, &domain.WithdrawInvitation{Meeting: a, Participant: gone.ID})
	run(citizen, &domain.ConveneMeeting{Meeting: b, Citizen: citizen.ID})
	last := run(citizen, &domain.InviteParticipant{Meeting: b, Participant: addiction.ID, Name: "Bo", Kind: domain.KindProfessional, Service: "Misbrugscenter"})

	r, err := e.q.Services(ctx, job, projections.ServicesReportFilter{}, last.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(r)
	if len(r.PerMeeting) != 1 || r.PerMeeting[0].MeetingID != a || strings.Contains(string(raw), b.String()) {
		t.Fatalf("the professional of meeting A sees %s", raw)
	}
	for _, p := range r.Together {
		if !p.Suppressed {
			t.Fatalf("a pair of one citizen is shown: %s", raw)
		}
	}
	for _, s := range r.PerService {
		if !s.Suppressed {
			t.Fatalf("a service of one citizen is shown: %s", raw)
		}
	}
	if r, err := e.q.Services(ctx, gone, projections.ServicesReportFilter{}, last.Sequence); err != nil || len(r.PerMeeting) != 0 {
		t.Fatalf("a withdrawn invitee sees %+v (%v)", r.PerMeeting, err)
	}
	r, err = e.q.Services(ctx, evaluator, projections.ServicesReportFilter{}, last.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(r)
	if len(r.PerMeeting) != 0 || strings.Contains(string(raw), a.String()) || strings.Contains(string(raw), b.String()) || strings.Contains(string(raw), citizen.ID.String()) {
		t.Fatalf("the evaluator's report holds a meeting or a person: %s", raw)
	}
	if len(r.PerService) != 2 || !r.PerService[0].Suppressed || !r.PerService[1].Suppressed || strings.Contains(string(raw), `"citizens"`) {
		t.Fatalf("the evaluator's report shows a group of one citizen: %s", raw)
	}
}

// adversarialLog writes, straight into the log (the domain would refuse a hundred invitations
// once it bounds them at 50), one citizen's 30 meetings with the same 100 services invited to
// each: the case that made one report cost 7.7 s of CPU. Beside it, 600 citizens with one
// meeting of three of those services each, so that every one of the hundred is met by at least
// five citizens and shown: the worst case for the report as it is now.
func adversarialLog(b *testing.B, store *eventstore.Store) []string {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	services := make([]string, 100)
	for i := range services {
		services[i] = fmt.Sprintf("Tjeneste %03d", i)
	}
	write := func(citizen uuid.UUID, svcs []string) {
		m := uuid.New()
		actor := domain.Actor{ID: citizen, Role: domain.RoleCitizen}
		at = at.Add(time.Minute)
		a, err := store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "convene-meeting", MeetingID: m, CitizenID: citizen, Actor: actor, At: at,
			Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: m, CitizenID: citizen})}}, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range svcs {
			p := uuid.New()
			if a, err = store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: m, CitizenID: citizen, Actor: actor, At: at,
				Events: []domain.Event{domain.NewEvent(domain.ParticipantInvited{ParticipantID: p, Name: "N", Kind: domain.KindProfessional, Service: s})}}, a.Seq); err != nil {
				b.Fatal(err)
			}
		}
	}
	adversary := uuid.New()
	for range 30 {
		write(adversary, services)
	}
	for i := range 600 {
		write(uuid.New(), []string{services[i%100], services[(i+33)%100], services[(i+67)%100]})
	}
	return services
}

// BenchmarkServicesReport measures one services report on the adversarial log, as the old
// query computed its pairs and as the report does now (k = 5, every service shown), and how
// long the projector took to follow that log commit by commit.
//
//	go test ./projections -run '^$' -bench ServicesReport -benchtime 5x
func BenchmarkServicesReport(b *testing.B) {
	store := testnode.Start(b, testnode.Fsync(eventstore.Fsync{Interval: time.Second})).Store
	services := adversarialLog(b, store)
	catalogue, err := domain.NewCatalogue(services)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	last, err := store.LastSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	ps := openBoth(b, dir, store)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0, c0 := time.Now(), cpuTime()
	for _, p := range ps {
		go p.Run(rctx)
	}
	for _, p := range ps {
		if err := p.WaitFor(ctx, last); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d commits followed commit by commit in %.2f s (%.2f CPU-s, both read models)", last, time.Since(t0).Seconds(), (cpuTime() - c0).Seconds())
	q := &projections.Queries{MeetingsModel: ps[0], ServicesModel: ps[1], Now: time.Now, Catalogue: catalogue}
	evaluator := domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}
	b.Run("old-pairs-query", func(b *testing.B) {
		c0 := cpuTime()
		for range b.N {
			ps[1].View(func(db *sql.DB) error {
				if n := len(oldPairRows(b, db, "sp.invited = 1", nil, "")); n != 4950 {
					b.Fatalf("%d pairs", n)
				}
				return nil
			})
		}
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	})
	b.Run("report", func(b *testing.B) {
		c0 := cpuTime()
		for range b.N {
			r, err := q.Services(ctx, evaluator, projections.ServicesReportFilter{}, 0)
			if err != nil || len(r.Together) != 4950 || slices.ContainsFunc(r.PerService, func(s projections.ServiceTotals) bool { return s.Suppressed }) {
				b.Fatalf("%d pairs, %v", len(r.Together), err)
			}
		}
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	})
	for _, p := range ps {
		p.Close()
	}
}

// TestServicesReportNamesFreeTextAnden: a service written as free text before there was a
// catalogue ("Min bror Oluf Brandt 0101901234" came through once) reaches no one in the report,
// not even as the name of a suppressed cell or in a professional's own meeting: it is counted
// as domain.ServiceOther, with the catalogue's services by their names.
func TestServicesReportNamesFreeTextAnden(t *testing.T) {
	store := testnode.Start(t).Store
	ctx := context.Background()
	const freeText = "Min bror Oluf Brandt 0101901234"
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	pro := uuid.New()
	var last uint64
	var proMeeting uuid.UUID
	for i := range 6 {
		citizen, m := uuid.New(), uuid.New()
		actor := domain.Actor{ID: citizen, Role: domain.RoleCitizen}
		a, err := store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "convene-meeting", MeetingID: m, CitizenID: citizen, Actor: actor, At: at,
			Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: m, CitizenID: citizen})}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		invited := []domain.ParticipantInvited{
			{ParticipantID: uuid.New(), Name: "N", Kind: domain.KindProfessional, Service: freeText},
			{ParticipantID: uuid.New(), Name: "N", Kind: domain.KindProfessional, Service: "Jobcenter"},
		}
		if i == 0 {
			invited[1].ParticipantID, proMeeting = pro, m
		}
		for _, ev := range invited {
			if a, err = store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: m, CitizenID: citizen, Actor: actor, At: at,
				Events: []domain.Event{domain.NewEvent(ev)}}, a.Seq); err != nil {
				t.Fatal(err)
			}
		}
		last = a.Seq
	}
	ps := openBoth(t, t.TempDir(), store)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, p := range ps {
		go p.Run(rctx)
		defer p.Close()
	}
	for name, k := range map[string]int{"k=1": 1, "k=7": 7} {
		q := &projections.Queries{MeetingsModel: ps[0], ServicesModel: ps[1], Now: time.Now, MinGroup: k}
		for _, a := range []domain.Actor{{ID: uuid.New(), Role: domain.RoleEvaluator}, {ID: pro, Role: domain.RoleProfessional, Service: "Jobcenter"}} {
			r, err := q.Services(ctx, a, projections.ServicesReportFilter{}, last)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(r)
			if strings.Contains(string(raw), "Oluf") {
				t.Fatalf("%s, %s: the free text reached the report: %s", name, a.Role, raw)
			}
			var names []string
			for _, s := range r.PerService {
				names = append(names, s.Service)
			}
			if !slices.Equal(names, []string{"Jobcenter", domain.ServiceOther}) && !slices.Equal(names, []string{domain.ServiceOther, "Jobcenter"}) {
				t.Errorf("%s, %s: services %v, want Jobcenter and %s", name, a.Role, names, domain.ServiceOther)
			}
			if k == 1 && (r.PerService[0].Citizens == nil || *r.PerService[0].Citizens != 6) {
				t.Errorf("%s, %s: %s", name, a.Role, raw)
			}
			if a.Role == domain.RoleProfessional && (len(r.PerMeeting) != 2 || r.PerMeeting[0].MeetingID != proMeeting) {
				t.Errorf("%s: the professional's own meeting: %+v", name, r.PerMeeting)
			}
		}
	}
}
