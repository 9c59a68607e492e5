package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/notify"
)

// TestAddressChoices: a person who removed their address or opted out gets no e-mail; the
// notice waits on their inbox page.
func TestAddressChoices(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	for _, addr := range []string{"fie@example.dk", "gorm@example.dk", "hans@example.dk"} {
		_, _ = e.people.Reserve(e.ctx, addr)
	}
	fie, _ := e.people.Reserve(e.ctx, "fie@example.dk")
	gorm, _ := e.people.Reserve(e.ctx, "gorm@example.dk")
	hans, _ := e.people.Reserve(e.ctx, "hans@example.dk")
	if err := e.people.ChangeNotices(e.ctx, fie, "", false); err != nil { // removed
		t.Fatal(err)
	}
	if err := e.people.ChangeNotices(e.ctx, gorm, "gorm@example.dk", true); err != nil { // opted out
		t.Fatal(err)
	}
	if err := e.people.ChangeNotices(e.ctx, hans, "hans.ny@example.dk", false); err != nil { // changed
		t.Fatal(err)
	}
	if err := e.people.ChangeNotices(e.ctx, hans, "ikke en adresse", false); err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("a bad address: got %v, want an error naming email", err)
	}
	for _, p := range []uuid.UUID{fie, gorm, hans} {
		e.do(cit, &domain.InviteParticipant{Meeting: meeting, Participant: p, Name: "x", Kind: domain.KindNetwork})
	}
	e.settle()
	got := e.mail.messages()
	if len(got) != 1 || got[0].to != "hans.ny@example.dk" {
		t.Fatalf("got %v, want one message, to hans.ny@example.dk", recipients(got))
	}
	for _, p := range []uuid.UUID{fie, gorm} {
		inbox, err := e.reactor.Inbox(e.ctx, p, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox) != 1 || inbox[0].State != "inbox" || inbox[0].Kind != notify.KindInvitation {
			t.Fatalf("inbox of %s: %+v", p, inbox)
		}
	}
}

// TestRetryAndFailingAddress: a refused address is retried with backoff, counted in the
// metrics, and marked failing after three tries in a row; the notice is sent once it is taken.
func TestRetryAndFailingAddress(t *testing.T) {
	e := newEnv(t)
	e.mail.mu.Lock()
	e.mail.refuse["ida@example.dk"] = 3
	e.mail.mu.Unlock()
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	e.do(cit, &domain.InviteParticipant{Meeting: meeting, Email: "ida@example.dk", Name: "x", Kind: domain.KindNetwork})
	ida, _ := e.people.Reserve(e.ctx, "ida@example.dk")
	// Retries wait on the service's clock: move it on while the test waits.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				e.clock.Advance(time.Second)
			}
		}
	}()
	e.waitMail(1)
	e.settle()
	if n := counter(t, e.reg, "aabendialog_notices_total", map[string]string{"outcome": "retry"}); n != 3 {
		t.Errorf("retries counted: got %v, want 3", n)
	}
	// Delivered at last: the mark is lifted.
	if f, _ := e.reactor.Failing(e.ctx, []uuid.UUID{ida}); f[ida] {
		t.Errorf("marked failing after a delivery")
	}
	// Now it keeps failing: marked, and the notice given up after the attempts.
	e.mail.mu.Lock()
	e.mail.refuse["ida@example.dk"] = -1
	e.mail.mu.Unlock()
	e.do(cit, &domain.ScheduleMeeting{Meeting: meeting, At: e.clock.Now().Add(time.Hour * 100), Place: domain.PlaceOffice})
	e.settle()
	if f, _ := e.reactor.Failing(e.ctx, []uuid.UUID{ida}); !f[ida] {
		t.Errorf("not marked failing after every try failed")
	}
	if n := counter(t, e.reg, "aabendialog_notices_total", map[string]string{"outcome": "failed"}); n != 1 {
		t.Errorf("given up: got %v, want 1", n)
	}
}

// TestAnAddressThatIsNoAddress: an address with header text in it (as an identity provider's
// claim could carry) is refused for good, and no message is sent to it.
func TestAnAddressThatIsNoAddress(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	cit := citizenActor(citizen)
	e.do(cit, &domain.ConveneMeeting{Meeting: meeting, Citizen: citizen})
	kim, _ := e.people.Reserve(e.ctx, "kim@example.dk")
	if err := e.people.ChangeNotices(e.ctx, kim, "kim@example.dk\r\nBcc: alle@example.dk", false); err == nil {
		t.Fatalf("an address with a header in it was accepted")
	}
	ch, _ := notify.NewSMTP(notify.SMTPConfig{Addr: e.mail.addr, From: "aabendialog@kommune.example.dk"})
	defer ch.Close()
	err := ch.Send(e.ctx, notify.Notice{Kind: notify.KindInvitation, Meeting: meeting, Recipient: kim, CalSeq: -1},
		notify.Address{Email: "kim@example.dk\r\nBcc: alle@example.dk"}, publicURL)
	if !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("got %v, want a permanent failure", err)
	}
	if got := e.mail.messages(); len(got) != 0 {
		t.Fatalf("a message was sent: %v", recipients(got))
	}
}

// TestAnUnreadableCommitStopsTheNotices: a message in the log that is no commit stops the
// notices there, loudly (the metric names it), never skipped in silence; named in
// SkipUnreadable it is passed over and what follows is sent.
func TestAnUnreadableCommitStopsTheNotices(t *testing.T) {
	e := newEnv(t)
	citizen, meeting := uuid.New(), uuid.New()
	ack, err := e.node.Store.JetStream().Publish(e.ctx, "dialog.events."+citizen.String()+"."+meeting.String(), []byte("ikke en commit"))
	if err != nil {
		t.Fatal(err)
	}
	cit := citizenActor(citizen)
	other := uuid.New()
	e.do(cit, &domain.ConveneMeeting{Meeting: other, Citizen: citizen})
	e.do(cit, &domain.InviteParticipant{Meeting: other, Email: "mads@example.dk", Name: "x", Kind: domain.KindNetwork})
	deadline := time.Now().Add(time.Minute)
	for gaugeValue(t, e.reg, "aabendialog_notices_stopped_at_seq") != float64(ack.Sequence) {
		if time.Now().After(deadline) {
			t.Fatalf("the notices do not say they stopped at %d", ack.Sequence)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if cp := e.reactor.Checkpoint(); cp != ack.Sequence-1 {
		t.Fatalf("checkpoint %d, want %d (stopped before the unreadable commit)", cp, ack.Sequence-1)
	}
	if got := e.mail.messages(); len(got) != 0 {
		t.Fatalf("sent past an unreadable commit: %v", recipients(got))
	}
	e.stop()
	e.reactor = nil
	e.cfg.SkipUnreadable = []uint64{ack.Sequence}
	e.start()
	got := e.waitMail(1)
	if got[0].to != "mads@example.dk" {
		t.Fatalf("after passing it over: sent to %s", got[0].to)
	}
	if v := gaugeValue(t, e.reg, "aabendialog_notices_stopped_at_seq"); v != 0 {
		t.Fatalf("still stopped at %v", v)
	}
}
