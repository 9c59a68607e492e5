package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/google/uuid"
)

// TestReplayAfterWithdrawal: once the citizen withdraws an invitation, the former invitee can no
// longer replay the meeting, not even as of the time they were invited.
func TestReplayAfterWithdrawal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := newCast()
	m := uuid.New()
	rp := &evaluation.Replayer{Store: e.store, Pseudonyms: evaluation.NewPseudonyms(make([]byte, 32))}
	for _, c := range []domain.Command{
		&domain.ConveneMeeting{Meeting: m, Citizen: p.citizen.ID, Title: "Min psykiatri"},
		&domain.InviteParticipant{Meeting: m, Participant: p.job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"},
	} {
		if _, err := e.service.Handle(ctx, p.citizen, uuid.New(), c); err != nil {
			t.Fatal(err)
		}
	}
	r, err := rp.Replay(ctx, p.job, evaluation.ReplayQuery{Meeting: m})
	if err != nil || len(r.Meetings) != 1 || r.Meetings[0].Title != "Min psykiatri" {
		t.Fatalf("the invitee's replay: %+v %v", r, err)
	}
	invited := r.Entries[len(r.Entries)-1].Seq
	if _, err := e.service.Handle(ctx, p.citizen, uuid.New(), &domain.WithdrawInvitation{Meeting: m, Participant: p.job.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.Replay(ctx, p.job, evaluation.ReplayQuery{Meeting: m, AtSeq: invited}); !domain.IsKind(err, domain.NotFound) {
		t.Fatalf("withdrawn invitee replaying the past: got %v, want not found", err)
	}
	// Someone else's meeting is answered exactly as one that does not exist.
	unknown := uuid.New()
	_, errUnknown := rp.Replay(ctx, p.stranger, evaluation.ReplayQuery{Meeting: unknown})
	_, errOther := rp.Replay(ctx, p.stranger, evaluation.ReplayQuery{Meeting: m})
	if !domain.IsKind(errUnknown, domain.NotFound) || !domain.IsKind(errOther, domain.NotFound) ||
		strings.ReplaceAll(errOther.Error(), m.String(), unknown.String()) != errUnknown.Error() {
		t.Fatalf("a stranger's replay of someone's meeting %q differs from an unknown meeting's %q", errOther, errUnknown)
	}
	if _, err := rp.Replay(ctx, p.evaluator, evaluation.ReplayQuery{Citizen: p.citizen.ID.String()}); !domain.IsKind(err, domain.Invalid) {
		t.Fatalf("an evaluator asking by citizen id: got %v, want invalid", err)
	}
}

// TestEvaluatorsSeeAndenForFreeTextServices: an invitation written before the catalogue, with a
// free-text service that names a person, is read forever, but an evaluator's replay shows it as
// "anden"; the citizen still sees what was written. Today's commands cannot write one.
func TestEvaluatorsSeeAndenForFreeTextServices(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := newCast()
	m := uuid.New()
	const leak = "Min bror Oluf Brandt 0101901234"
	conv, err := e.service.Handle(ctx, p.citizen, uuid.New(), &domain.ConveneMeeting{Meeting: m, Citizen: p.citizen.ID, Title: "Mit møde"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.service.Handle(ctx, p.citizen, uuid.New(), &domain.InviteParticipant{Meeting: m, Participant: p.job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: leak}); !domain.IsKind(err, domain.Invalid) {
		t.Fatalf("an invitation with a free-text service: %v, want refused", err)
	}
	// As an older version wrote it.
	old := domain.Commit{CommandID: uuid.New(), Command: domain.CmdInviteParticipant, MeetingID: m, CitizenID: p.citizen.ID, Actor: p.citizen, At: e.clock.Now().UTC(),
		Events: []domain.Event{domain.NewEvent(domain.ParticipantInvited{ParticipantID: p.job.ID, Name: "Karin", Kind: domain.KindProfessional, Service: leak})}}
	if _, err := e.store.Append(ctx, old, conv.Sequence); err != nil {
		t.Fatal(err)
	}
	rp := &evaluation.Replayer{Store: e.store, Pseudonyms: evaluation.NewPseudonyms(make([]byte, 32)), Citizens: func(context.Context) ([]uuid.UUID, error) { return []uuid.UUID{p.citizen.ID}, nil }}
	pseudonym := evaluation.NewPseudonyms(make([]byte, 32)).Of(p.citizen.ID)
	r, err := rp.Replay(ctx, p.evaluator, evaluation.ReplayQuery{Citizen: pseudonym})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(r)
	if strings.Contains(string(raw), "Oluf") || strings.Contains(string(raw), "0101901234") || !strings.Contains(string(raw), `"service":"anden"`) {
		t.Errorf("the evaluator's replay shows the free-text service, or not as anden:\n%s", raw)
	}
	own, err := rp.Replay(ctx, p.citizen, evaluation.ReplayQuery{Meeting: m})
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(own); !strings.Contains(string(raw), leak) {
		t.Errorf("the citizen's own replay lost what was written:\n%s", raw)
	}
}
