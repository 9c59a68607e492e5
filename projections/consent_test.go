package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
)

// TestConsentWithdrawnEndsAccess: a participant from the region invited with the citizen's
// consent sees the meeting; once the consent is withdrawn they see it nowhere (meeting, history,
// inbox, follow-ups), while the citizen's history shows both the consent and its withdrawal,
// also after a rebuild.
func TestConsentWithdrawnEndsAccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := command.New(e.store, func() time.Time { return e.now }, nil)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	lise := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Regionspsykiatrien"}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	m := uuid.New()
	var last uint64
	run := func(a domain.Actor, c domain.Command) {
		t.Helper()
		r, err := svc.Handle(ctx, a, uuid.New(), c)
		if err != nil {
			t.Fatalf("%s: %v", c.CommandName(), err)
		}
		last = r.Sequence
	}
	run(citizen, &domain.ConveneMeeting{Meeting: m, Citizen: citizen.ID})
	run(citizen, &domain.InviteParticipant{Meeting: m, Participant: lise.ID, Name: "Lise", Kind: domain.KindRegion, Service: "Regionspsykiatrien", ConsentVersion: domain.ConsentTextVersion})
	run(citizen, &domain.InviteParticipant{Meeting: m, Participant: job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"})
	sees := func(a domain.Actor) (meeting, history, inbox bool) {
		t.Helper()
		_, err := e.q.Meeting(ctx, a, m, last)
		h, herr := e.q.History(ctx, a, citizen.ID, projections.Page{}, last)
		in, ierr := e.q.Inbox(ctx, a, projections.Page{}, last)
		if herr != nil || ierr != nil {
			t.Fatal(herr, ierr)
		}
		return err == nil, len(h.Items) == 1, len(in.Invitations) == 1
	}
	if mt, h, in := sees(lise); !mt || !h || !in {
		t.Fatalf("with the consent, the participant sees meeting %v, history %v, inbox %v", mt, h, in)
	}
	run(citizen, &domain.WithdrawConsent{Meeting: m, Participant: lise.ID})
	if mt, h, in := sees(lise); mt || h || in {
		t.Fatalf("after the consent was withdrawn, the participant sees meeting %v, history %v, inbox %v", mt, h, in)
	}
	if mt, h, in := sees(job); !mt || !h || !in {
		t.Fatalf("another participant lost access: meeting %v, history %v, inbox %v", mt, h, in)
	}
	check := func(when string) {
		t.Helper()
		v, err := e.q.Meeting(ctx, citizen, m, last)
		if err != nil {
			t.Fatal(err)
		}
		p := v.Participants[0]
		if p.ID != lise.ID || p.ConsentVersion != domain.ConsentTextVersion || !p.ConsentWithdrawn || v.Participants[1].ConsentVersion != "" {
			t.Fatalf("%s: the citizen's view of the participants: %+v", when, v.Participants)
		}
	}
	check("following the log")
	for _, p := range []*projections.Projector{e.meetings, e.services} {
		if _, err := p.Rebuild(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	check("after a rebuild")
	if mt, _, _ := sees(lise); mt {
		t.Fatal("after a rebuild the participant sees the meeting again")
	}
}
