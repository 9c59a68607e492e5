package notify_test

import (
	"mime"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/notify"
	ownical "github.com/aabendialog/aabendialog/internal/ical"
)

// Distinctive strings seeded into every personal field: none may appear in any message.
var secrets = []string{"HEMMELIGTITEL7731", "HEMMELIGDAGSORDEN5150", "Navnesen Hemmelig", "Hemmelighedsvej 42", "HEMMELIGOPFOLGNING8812",
	"HEMMELIGGRUND3301", "HEMMELIGFORSLAG6620", "Forslagsnavn Skjult"}

func citizenActor(id uuid.UUID) domain.Actor { return domain.Actor{ID: id, Role: domain.RoleCitizen} }
func networkActor(id uuid.UUID) domain.Actor { return domain.Actor{ID: id, Role: domain.RoleNetwork} }

// checkNothingPersonal fails if a message holds any seeded personal text, raw or decoded.
func checkNothingPersonal(t *testing.T, m received) {
	t.Helper()
	p := parse(t, m.raw)
	subject, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	for _, s := range secrets {
		for what, text := range map[string]string{"raw message": string(m.raw), "text": p.text, "calendar": p.calRaw,
			"subject": subject} {
			if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
				t.Errorf("message to %s: %s holds %q:\n%s", m.to, what, s, text)
			}
		}
	}
}

type calCheck struct {
	method   string
	sequence int
	start    time.Time
	meeting  uuid.UUID
	person   uuid.UUID
	place    domain.PlaceKind
}

func checkCalendar(t *testing.T, p parsed, want calCheck) {
	t.Helper()
	if p.calendar == nil {
		t.Fatalf("no calendar part; want METHOD:%s", want.method)
	}
	if got := p.calendar.Props.Get(ical.PropMethod); got == nil || got.Value != want.method {
		t.Errorf("METHOD: got %v, want %s", got, want.method)
	}
	if p.method != want.method {
		t.Errorf("Content-Type method: got %q, want %s", p.method, want.method)
	}
	events := p.calendar.Events()
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1", len(events))
	}
	ev := events[0]
	if uid, _ := ev.Props.Text(ical.PropUID); uid != ownical.UID(want.meeting, want.person) {
		t.Errorf("UID: got %q, want %q", uid, ownical.UID(want.meeting, want.person))
	}
	if seq, err := ev.Props.Get(ical.PropSequence).Int(); err != nil || seq != want.sequence {
		t.Errorf("SEQUENCE: got %d (%v), want %d", seq, err, want.sequence)
	}
	if start, err := ev.DateTimeStart(time.UTC); err != nil || !start.Equal(want.start) {
		t.Errorf("DTSTART: got %v (%v), want %v", start, err, want.start)
	}
	if loc, _ := ev.Props.Text(ical.PropLocation); loc != notify.PlaceName(want.place) {
		t.Errorf("LOCATION: got %q, want %q", loc, notify.PlaceName(want.place))
	}
	if sum, _ := ev.Props.Text(ical.PropSummary); sum != ownical.Summary {
		t.Errorf("SUMMARY: got %q, want %q", sum, ownical.Summary)
	}
}

// TestNoticesOfAMeeting follows one meeting through invitations, a declined answer, a move,
// a withdrawal and a cancellation, and checks who is told what, the calendar parts, and that
// nothing personal is in any message.
func TestNoticesOfAMeeting(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen, Title: secrets[0]})
	e.do(cit, &domain.CitizenSetsAgenda{Meeting: meeting, Items: []string{secrets[1]}})
	first := e.clock.Now().Add(72 * time.Hour).Truncate(time.Minute)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: first, Place: domain.PlaceChosen, Address: secrets[3]})
	addrA, addrB, addrC := "anna@example.dk", "bo@example.dk", "carl@example.dk"
	for _, a := range []string{addrA, addrB} {
		e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: a, Name: secrets[2], Kind: domain.KindNetwork})
	}
	a, _ := e.people.Reserve(e.ctx, addrA)
	b, _ := e.people.Reserve(e.ctx, addrB)
	got := e.waitMail(2)
	for _, m := range got {
		p := parse(t, m.raw)
		p.text = strings.ReplaceAll(p.text, "\r\n", "\n")
		person := map[string]uuid.UUID{addrA: a, addrB: b}[m.to]
		if !strings.Contains(p.text, "Du er inviteret til et møde i Åben Dialog. Se invitationen:") &&
			!strings.Contains(p.text, "Du er inviteret til et møde i Åben Dialog.\nTidspunkt:") {
			t.Errorf("invitation text: %q", p.text)
		}
		if !strings.Contains(p.text, publicURL+"/moeder/"+meeting.String()) {
			t.Errorf("invitation has no link to the meeting: %q", p.text)
		}
		if !strings.Contains(p.text, notify.DanishTime(first)) {
			t.Errorf("invitation has not the time %q: %q", notify.DanishTime(first), p.text)
		}
		checkCalendar(t, p, calCheck{"REQUEST", 0, first, meeting, person, domain.PlaceChosen})
	}
	// B declines; the meeting moves: only A is told, with a higher SEQUENCE.
	e.do(networkActor(b), &domain.RespondToInvitation{Meeting: meeting, Accept: false, Reason: secrets[5]})
	moved := first.Add(24 * time.Hour)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: moved, Place: domain.PlaceOnline})
	got = e.waitMail(3)
	if got[2].to != addrA {
		t.Fatalf("the move was told to %s, want only %s", got[2].to, addrA)
	}
	p := parse(t, got[2].raw)
	checkCalendar(t, p, calCheck{"REQUEST", 1, moved, meeting, a, domain.PlaceOnline})
	// A suggests someone: the citizen has no address, so the notice waits on the inbox page.
	e.do(networkActor(a), &domain.SuggestParticipant{Meeting: meeting, Suggestion: uuid.New(), Name: secrets[7], Kind: domain.KindNetwork, Reason: secrets[6]})
	// A is withdrawn: CANCEL for A's UID.
	e.do(cit, &domain.WithdrawInvitation{Meeting: meeting, Participant: a})
	got = e.waitMail(4)
	p = parse(t, got[3].raw)
	if got[3].to != addrA || !strings.Contains(p.text, "trukket tilbage") {
		t.Fatalf("withdrawal: to %s, text %q", got[3].to, p.text)
	}
	checkCalendar(t, p, calCheck{"CANCEL", 2, moved, meeting, a, domain.PlaceOnline})
	// C is invited, then the meeting is cancelled: C is told with CANCEL; A (withdrawn) and B
	// (declined) are not.
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: addrC, Name: secrets[2] + " C", Kind: domain.KindNetwork})
	c, _ := e.people.Reserve(e.ctx, addrC)
	e.do(cit, &domain.CancelMeeting{Meeting: meeting, Reason: secrets[5]})
	e.settle()
	got = e.mail.messages()
	if len(got) != 6 {
		t.Fatalf("got %d messages, want 6 (2 invitations, a move, a withdrawal, an invitation, a cancellation)", len(got))
	}
	checkCalendar(t, parse(t, got[4].raw), calCheck{"REQUEST", 1, moved, meeting, c, domain.PlaceOnline})
	p = parse(t, got[5].raw)
	if got[5].to != addrC || !strings.Contains(p.text, "aflyst") {
		t.Fatalf("cancellation: to %s, text %q", got[5].to, p.text)
	}
	checkCalendar(t, p, calCheck{"CANCEL", 2, moved, meeting, c, domain.PlaceOnline})
	ids := map[string]bool{}
	for _, m := range got {
		checkNothingPersonal(t, m)
		id := parse(t, m.raw).header.Get("Message-ID")
		if id == "" || ids[id] {
			t.Errorf("Message-ID %q missing or used twice", id)
		}
		ids[id] = true
	}
	inbox, err := e.reactor.Inbox(e.ctx, citizen, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].Kind != notify.KindSuggestion || inbox[0].State != "inbox" {
		t.Fatalf("citizen's inbox: got %+v, want the suggestion waiting", inbox)
	}
}

// TestRemindersAndFollowUps: reminders 48 h and 2 h before, to invitees who have not declined,
// survive a restart of the reactor; follow-up notices to the person responsible, the day before
// the due date and after it.
func TestRemindersAndFollowUps(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen, Title: secrets[0]})
	at := e.clock.Now().Add(72 * time.Hour).Truncate(time.Hour)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at, Place: domain.PlaceHome})
	for _, addr := range []string{"dorte@example.dk", "erik@example.dk"} {
		e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: addr, Name: secrets[2], Kind: domain.KindNetwork})
	}
	d, _ := e.people.Reserve(e.ctx, "dorte@example.dk")
	erik, _ := e.people.Reserve(e.ctx, "erik@example.dk")
	e.do(networkActor(erik), &domain.RespondToInvitation{Meeting: meeting, Accept: false})
	e.do(networkActor(d), &domain.RespondToInvitation{Meeting: meeting, Accept: true})
	e.settle()
	before := len(e.mail.messages()) // the two invitations
	if n, _ := e.reactor.Scheduled(e.ctx); n != 2 {
		t.Fatalf("scheduled reminders: got %d, want 2", n)
	}
	// The reactor restarts; the reminders are rows in its file, not timers.
	e.restart()
	e.clock.Set(at.Add(-48 * time.Hour))
	got := e.waitMail(before + 1)
	e.settle()
	if got = e.mail.messages(); len(got) != before+1 || got[before].to != "dorte@example.dk" {
		t.Fatalf("48 h reminder: got %d messages, last to %s; want one more, to dorte", len(got), got[len(got)-1].to)
	}
	p := parse(t, got[before].raw)
	if !strings.Contains(p.text, "Påmindelse") || !strings.Contains(p.text, notify.DanishTime(at)) {
		t.Errorf("reminder text: %q", p.text)
	}
	e.clock.Set(at.Add(-2 * time.Hour))
	e.waitMail(before + 2)
	// A meeting set 24 hours ahead gets its 2 h reminder, not a 48 h one at once.
	soon := uuid.New()
	e.do(cit, &domain.ConveneMeeting{Meeting: soon, Citizen: citizen})
	e.do(cit, &domain.InviteParticipant{Meeting: soon, Participant: d, Name: "x", Kind: domain.KindNetwork})
	e.settle()
	n0 := len(e.mail.messages())
	e.do(cit, &domain.ScheduleMeeting{Meeting: soon, At: e.clock.Now().Add(24 * time.Hour), Place: domain.PlaceOnline})
	e.settle()
	if n, _ := e.reactor.Scheduled(e.ctx); n != 1 {
		t.Fatalf("reminders for a meeting 24 h ahead: %d, want the 2 h one only", n)
	}
	if got := len(e.mail.messages()); got != n0+1 {
		t.Fatalf("scheduling 24 h ahead sent %d messages, want 1 (the time, no 48 h reminder)", got-n0)
	}
	e.do(cit, &domain.CancelMeeting{Meeting: soon})
	e.settle()
	before += 3 // the invitation, the time and the cancellation of the second meeting
	// Held, then a follow-up for Dorte due in three days.
	e.clock.Set(at)
	e.do(cit, &domain.RecordAttendance{Meeting: meeting, Present: []uuid.UUID{citizen, d}})
	due := at.In(notify.Copenhagen).AddDate(0, 0, 3).Format(time.DateOnly)
	e.do(cit, &domain.RecordFollowUp{Meeting: meeting, FollowUp: uuid.New(), What: secrets[4], Responsible: d, Due: due})
	got = e.waitMail(before + 3)
	if p := parse(t, got[before+2].raw); !strings.Contains(p.text, "ansvarlig") {
		t.Errorf("follow-up text: %q", p.text)
	}
	dueDay, _ := time.ParseInLocation(time.DateOnly, due, notify.Copenhagen)
	e.clock.Set(dueDay.Add(-16 * time.Hour)) // the day before, 08:00
	got = e.waitMail(before + 4)
	if p := parse(t, got[before+3].raw); !strings.Contains(p.text, "frist i morgen") {
		t.Errorf("due tomorrow text: %q", p.text)
	}
	e.clock.Set(dueDay.Add(32 * time.Hour)) // the day after, 08:00
	got = e.waitMail(before + 5)
	if p := parse(t, got[before+4].raw); !strings.Contains(p.text, "overskredet") {
		t.Errorf("overdue text: %q", p.text)
	}
	e.settle()
	if got := e.mail.messages(); len(got) != before+5 {
		t.Fatalf("got %d messages, want %d", len(got), before+5)
	}
	for _, m := range e.mail.messages() {
		checkNothingPersonal(t, m)
	}
}

func recipients(ms []received) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.to)
	}
	return out
}

// TestANewFileOnAnOldLog: a notices file started on a log with history sends none of it again,
// but knows its meetings: a later move reaches the invitees invited before.
func TestANewFileOnAnOldLog(t *testing.T) {
	e := newEnv(t)
	e.stop()
	e.reactor = nil
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(e.file + suffix)
	}
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	at := e.clock.Now().Add(100 * time.Hour).Truncate(time.Hour)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at, Place: domain.PlaceOnline})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: "jens@example.dk", Name: "x", Kind: domain.KindNetwork})
	jens, _ := e.people.Reserve(e.ctx, "jens@example.dk")
	e.start()
	e.settle()
	if got := e.mail.messages(); len(got) != 0 {
		t.Fatalf("the history was sent again: %v", recipients(got))
	}
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at.Add(time.Hour), Place: domain.PlaceOnline})
	got := e.waitMail(1)
	if got[0].to != "jens@example.dk" {
		t.Fatalf("the move went to %s", got[0].to)
	}
	checkCalendar(t, parse(t, got[0].raw), calCheck{"REQUEST", 1, at.Add(time.Hour), meeting, jens, domain.PlaceOnline})
}

// TestInvitedAgainAfterAWithdrawal: the SEQUENCE of an invitee's UID never goes down, also when
// the invitation is withdrawn and given again; the .ics download's (Sequence) matches.
func TestInvitedAgainAfterAWithdrawal(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	at := e.clock.Now().Add(100 * time.Hour).Truncate(time.Hour)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at, Place: domain.PlaceOffice})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: "lone@example.dk", Name: "x", Kind: domain.KindNetwork})
	lone, _ := e.people.Reserve(e.ctx, "lone@example.dk")
	e.do(cit, &domain.WithdrawInvitation{Meeting: meeting, Participant: lone})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Participant: lone, Name: "x", Kind: domain.KindNetwork})
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at.Add(time.Hour), Place: domain.PlaceOffice})
	got := e.waitMail(4)
	want := []struct {
		method string
		seq    int
	}{{"REQUEST", 0}, {"CANCEL", 1}, {"REQUEST", 2}, {"REQUEST", 3}}
	for i, w := range want {
		start := at
		if i == 3 {
			start = at.Add(time.Hour)
		}
		checkCalendar(t, parse(t, got[i].raw), calCheck{w.method, w.seq, start, meeting, lone, domain.PlaceOffice})
	}
	e.settle()
	if seq, cancel, ok, err := e.reactor.Sequence(e.ctx, meeting, lone); err != nil || !ok || cancel || seq != 3 {
		t.Fatalf("Sequence: %d %v %v %v, want 3, a request", seq, cancel, ok, err)
	}
	e.do(cit, &domain.CancelMeeting{Meeting: meeting})
	got = e.waitMail(5)
	checkCalendar(t, parse(t, got[4].raw), calCheck{"CANCEL", 4, at.Add(time.Hour), meeting, lone, domain.PlaceOffice})
	e.settle()
	if seq, cancel, ok, _ := e.reactor.Sequence(e.ctx, meeting, lone); !ok || !cancel || seq != 4 {
		t.Fatalf("Sequence after cancelling: %d %v %v, want 4, a cancellation", seq, cancel, ok)
	}
}

// TestConsentWithdrawnCancels: when the citizen takes back the consent to share with someone
// from the region, that person gets a CANCEL and nothing more of the meeting: a later move
// reaches only the others.
func TestConsentWithdrawnCancels(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	at := e.clock.Now().Add(100 * time.Hour).Truncate(time.Hour)
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at, Place: domain.PlaceOffice})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: "lise@region.dk", Name: "x", Kind: domain.KindRegion,
		Service: "Regionspsykiatrien", ConsentVersion: domain.ConsentTextVersion})
	lise, _ := e.people.Reserve(e.ctx, "lise@region.dk")
	e.do(cit, &domain.WithdrawConsent{Meeting: meeting, Participant: lise})
	got := e.waitMail(2)
	checkCalendar(t, parse(t, got[0].raw), calCheck{"REQUEST", 0, at, meeting, lise, domain.PlaceOffice})
	checkCalendar(t, parse(t, got[1].raw), calCheck{"CANCEL", 1, at, meeting, lise, domain.PlaceOffice})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: "bo@kommune.dk", Name: "y", Kind: domain.KindNetwork})
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: at.Add(time.Hour), Place: domain.PlaceOffice})
	e.waitMail(4)
	e.settle()
	if got = e.mail.messages(); len(got) != 4 {
		t.Fatalf("%d messages, want 4: the invitation and CANCEL to the region, the invitation and move to the network", len(got))
	}
	for _, m := range got[2:] {
		if strings.Contains(string(m.raw), "lise@region.dk") {
			t.Fatalf("the person whose consent was withdrawn was told more:\n%s", m.raw)
		}
	}
}
