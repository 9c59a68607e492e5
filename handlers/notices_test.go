package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/handlers/web"
	"github.com/aabendialog/aabendialog/internal/ical"
	"github.com/aabendialog/aabendialog/projections"
)

// refusingMail is a real SMTP server that refuses every recipient as unknown (550).
type refusingMail struct{}

func (refusingMail) Reset()                               {}
func (refusingMail) Logout() error                        { return nil }
func (refusingMail) Mail(string, *smtp.MailOptions) error { return nil }
func (refusingMail) Rcpt(string, *smtp.RcptOptions) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}
func (refusingMail) Data(io.Reader) error { return nil }

// noticeEnv is webEnv with the people log, the notices' reactor (on a mail server that refuses
// everyone) and the pages that show them.
type noticeEnv struct {
	*webEnv
	people  *auth.People
	reactor *notify.Reactor
}

func newNoticeEnv(t *testing.T) *noticeEnv {
	t.Helper()
	e := newEnv(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	people, err := auth.OpenPeople(ctx, e.store.JetStream(), 1, e.clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	e.service.Addresses = people
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return refusingMail{}, nil }))
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ch, err := notify.NewSMTP(notify.SMTPConfig{Addr: ln.Addr().String(), From: "aabendialog@kommune.example.dk"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := notify.Open(ctx, filepath.Join(t.TempDir(), "notices.db"), e.store, ch, people,
		notify.Config{PublicURL: "https://aabendialog.example.dk", Poll: 10 * time.Millisecond}, e.clock.Now, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = r.Close(); _ = ch.Close() })
	models := e.readModels(log)
	q := &projections.Queries{MeetingsModel: models[0], ServicesModel: models[1], Now: e.clock.Now}
	h, err := (&web.Pages{Service: e.service, Queries: q, Verifier: e.verify, Log: log,
		NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, Now: e.clock.Now, CSRFKey: make([]byte, 32),
		Notices: r, NoticeSettings: people, PublicURL: "https://aabendialog.example.dk"}).Handler()
	if err != nil {
		t.Fatal(err)
	}
	w := &webEnv{env: e, pages: httptest.NewServer(h), queries: q}
	t.Cleanup(w.pages.Close)
	return &noticeEnv{webEnv: w, people: people, reactor: r}
}

// settled waits until the reactor has handled the whole log and sent (or given up) everything.
func (n *noticeEnv) settled(people ...uuid.UUID) {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		done := n.reactor.Checkpoint() >= n.lastSeq()
		for _, p := range people {
			ns, err := n.reactor.Inbox(context.Background(), p, 100)
			if err != nil {
				n.t.Fatal(err)
			}
			for _, x := range ns {
				done = done && x.State != "pending"
			}
			done = done && len(ns) > 0
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatal("the notices did not settle")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoticePages: the invitee's inbox lists their notice (kept there without an address), the
// meeting's .ics has the notices' UID and SEQUENCE and is refused to others, the citizen (only)
// sees an address that keeps failing, and /varsler changes, removes or opts out of e-mail.
func TestNoticePages(t *testing.T) {
	n := newNoticeEnv(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	cv := n.visitor(citizen)
	path := n.meeting(cv, pro) // the professional is invited by id: no address
	meeting := uuid.MustParse(strings.TrimPrefix(path, "/moeder/"))
	at := n.clock.Now().Add(72 * time.Hour).In(time.UTC).Truncate(time.Hour)
	if _, err := n.service.Handle(context.Background(), citizen, uuid.New(), &domain.ScheduleMeeting{Meeting: meeting, At: at, Place: domain.PlaceOffice}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.service.Handle(context.Background(), citizen, uuid.New(), &domain.InviteParticipant{Meeting: meeting, Email: "ukendt@example.dk", Name: "Ulla Ukendt", Kind: domain.KindNetwork}); err != nil {
		t.Fatal(err)
	}
	bad, _ := n.people.Reserve(context.Background(), "ukendt@example.dk")
	n.settled(pro.ID, bad)

	pv := n.visitor(pro)
	if st, _ := pv.see("/indbakke"); st != http.StatusOK || !strings.Contains(pv.last, "Du er inviteret til et møde") || !strings.Contains(pv.last, "ikke sendt på e-mail") {
		t.Fatalf("the invitee's inbox: %d, want the invitation notice waiting there\n%s", st, pv.last)
	}
	// The citizen sees the failing address; the professional does not.
	if st, _ := cv.see(path); st != http.StatusOK || !strings.Contains(cv.last, "Vi kan ikke nå Ulla Ukendt på e-mail") {
		t.Fatalf("the citizen's meeting page: %d, want the failing address marked\n%s", st, cv.last)
	}
	// The professional suggests someone: the citizen's notice is on their own page.
	if _, err := n.service.Handle(context.Background(), pro, uuid.New(), &domain.SuggestParticipant{Meeting: meeting, Suggestion: uuid.New(), Name: "Sofie", Kind: domain.KindNetwork}); err != nil {
		t.Fatal(err)
	}
	n.settled(citizen.ID)
	if st, _ := cv.see("/moeder"); st != http.StatusOK || !strings.Contains(cv.last, "En deltager har foreslået en mere til dit møde") {
		t.Fatalf("the citizen's page: %d, want the suggestion's notice\n%s", st, cv.last)
	}
	if _, _ = pv.see("/indbakke"); strings.Contains(pv.last, "foreslået en mere") {
		t.Fatalf("the professional sees the citizen's notice")
	}
	if _, _ = pv.see(path); strings.Contains(pv.last, "Vi kan ikke nå") {
		t.Fatalf("a participant sees whose address fails")
	}
	// The .ics: the invitee's UID and the meeting's SEQUENCE.
	if st, _ := pv.get(path + "/kalender.ics"); st != http.StatusOK {
		t.Fatalf("GET .ics: %d\n%s", st, pv.last)
	}
	cal, err := goical.NewDecoder(bytes.NewReader([]byte(pv.last))).Decode()
	if err != nil {
		t.Fatalf("the .ics does not parse: %v\n%s", err, pv.last)
	}
	ev := cal.Events()[0]
	if uid, _ := ev.Props.Text(goical.PropUID); uid != ical.UID(meeting, pro.ID) {
		t.Errorf("UID: got %q, want %q", uid, ical.UID(meeting, pro.ID))
	}
	if start, _ := ev.DateTimeStart(time.UTC); !start.Equal(at) {
		t.Errorf("DTSTART: got %v, want %v", start, at)
	}
	if strings.Contains(pv.last, "Mit møde") || strings.Contains(pv.last, "At sove bedre") {
		t.Errorf("the .ics holds the title or agenda:\n%s", pv.last)
	}
	outsider := n.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"})
	if st, _ := outsider.get(path + "/kalender.ics"); st != http.StatusNotFound {
		t.Fatalf("an outsider's .ics: %d, want 404", st)
	}
	if st, _ := n.visitor(domain.Actor{}).get(path + "/kalender.ics"); st == http.StatusOK {
		t.Fatalf("the .ics without sign-in: 200")
	}
	// /varsler: a bad address is refused and nothing written; a form from another session is
	// refused; a good one is kept; then opting out.
	f := pv.form("/varsler")
	if st, _ := pv.post("/varsler", withFields(f, "choice", "email", "email", "ikke-en-adresse")); st != http.StatusBadRequest || !strings.Contains(pv.last, "ligner ikke en e-mailadresse") {
		t.Fatalf("a bad address: %d\n%s", st, pv.last)
	}
	if got := n.people.Notices(pro.ID); got.Email != "" {
		t.Fatalf("a refused address was written: %+v", got)
	}
	if st, _ := pv.post("/varsler", withFields(withValue(f, "csrf", "forkert"), "choice", "email", "email", "karin@example.dk")); st == http.StatusSeeOther {
		t.Fatalf("a form without the session's token was taken")
	}
	if got := n.people.Notices(pro.ID); got.Email != "" {
		t.Fatalf("a refused form was written: %+v", got)
	}
	if st, loc := pv.post("/varsler", withFields(f, "choice", "email", "email", "karin@example.dk")); st != http.StatusSeeOther {
		t.Fatalf("a good address: %d %s\n%s", st, loc, pv.last)
	}
	if got := n.people.Notices(pro.ID); got.Email != "karin@example.dk" || got.OptOut {
		t.Fatalf("after the change: %+v", got)
	}
	if st, _ := pv.post("/varsler", withFields(f, "choice", "fra")); st != http.StatusSeeOther {
		t.Fatalf("opt out: %d\n%s", st, pv.last)
	}
	if _, ok := n.people.NoticeAddress(pro.ID); ok {
		t.Fatalf("opted out, but an address is still used")
	}
	if st, _ := pv.post("/varsler", withFields(f, "choice", "slet")); st != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", st, pv.last)
	}
	if got := n.people.Notices(pro.ID); got.Email != "" || got.OptOut {
		t.Fatalf("after removing: %+v", got)
	}
}

// TestInvitePageTakesAnAddress: without an identity provider, the invitation page takes a
// network member's e-mail address, and the invitation's notice goes to that address's person.
func TestInvitePageTakesAnAddress(t *testing.T) {
	n := newNoticeEnv(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	cv := n.visitor(citizen)
	loc := cv.submit("/moeder/nyt", "title", "Mit møde")
	path := strings.TrimSuffix(loc[:strings.Index(loc, "?")], "/dagsorden")
	if st, _ := cv.post(path+"/inviter", cv.form(path+"/inviter", "name", "Lise", "kind", "network", "email", "ikke-en-adresse")); st != http.StatusBadRequest {
		t.Fatalf("a bad address: %d, want 400\n%s", st, cv.last)
	}
	cv.submit(path+"/inviter", "name", "Lise", "kind", "network", "email", "lise@example.dk")
	lise, _ := n.people.Reserve(context.Background(), "lise@example.dk")
	n.settled(lise)
	ns, err := n.reactor.Inbox(context.Background(), lise, 10)
	if err != nil || len(ns) != 1 || ns[0].Kind != notify.KindInvitation {
		t.Fatalf("the notices of the address's person: %+v (%v), want the invitation", ns, err)
	}
	if ns[0].State != "failed" { // this test's mail server refuses everyone: it was tried
		t.Fatalf("state %q, want failed (sent to the address and refused)", ns[0].State)
	}
}
