package handlers_test

import (
	"context"
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
