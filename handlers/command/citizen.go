package command

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// handleCitizen carries out a command to the citizen's own aggregate (grant-mandate,
// revoke-mandate): load the citizen, decide, append on their subject. A citizen who names no
// citizen means themself.
func (s *Service) handleCitizen(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.CitizenCommand) (Reply, error) {
	if s.Citizens == nil {
		return Reply{}, domain.Errorf(domain.Forbidden, "this service keeps no mandates")
	}
	if cmd.CitizenID() == uuid.Nil {
		switch actor.Role {
		case domain.RoleCitizen:
			cmd = cmd.ForCitizen(actor.ID)
		case domain.RoleSupport:
			cmd = cmd.ForCitizen(actor.OnBehalfOf)
		}
	}
	if g, ok := cmd.(*domain.GrantMandate); ok {
		if err := s.citizensMeetings(ctx, cmd.CitizenID(), g.Meetings); err != nil {
			return Reply{}, err
		}
	}
	for conflicts := 0; ; {
		l, err := s.Citizens.Load(ctx, cmd.CitizenID())
		if err != nil {
			return Reply{}, err
		}
		if seq, ok := l.CommandSeq(commandID); ok {
			return s.firstCitizen(ctx, actor, commandID, cmd, seq)
		}
		now := s.now().UTC()
		events, err := l.Citizen.Decide(actor, cmd, now)
		if err != nil {
			return Reply{}, err
		}
		commit := domain.CitizenCommit{CommandID: commandID, Command: cmd.CommandName(), CitizenID: cmd.CitizenID(),
			Actor: actor, At: now, Events: events}
		a, err := s.Citizens.Append(ctx, commit, l.Seq)
		if errors.Is(err, eventstore.ErrConcurrentUpdate) && conflicts < s.conflicts {
			if err := backOff(ctx, conflicts); err != nil {
				return Reply{}, err
			}
			conflicts++
			continue
		}
		if err != nil {
			return Reply{}, err
		}
		if a.Duplicate {
			return s.firstCitizen(ctx, actor, commandID, cmd, a.Seq)
		}
		return citizenReply(commit, a.Seq, false)
	}
}

// citizensMeetings refuses a mandate limited to meetings that are not the citizen's: a meeting
// never convened, or another citizen's, is answered alike, so the answer tells nothing of
// other citizens' meetings.
func (s *Service) citizensMeetings(ctx context.Context, citizen uuid.UUID, meetings []uuid.UUID) error {
	for _, id := range meetings {
		l, err := s.log.Load(ctx, id)
		if err != nil {
			return err
		}
		if l.Seq == 0 || l.Meeting.CitizenID() != citizen {
			return domain.FieldErrorf("meeting_ids", "meeting %s is not one of the citizen's meetings", id)
		}
	}
	return nil
}

// firstCitizen answers a repeated command id with the reply to its first write.
func (s *Service) firstCitizen(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.CitizenCommand, seq uint64) (Reply, error) {
	c, err := s.Citizens.CommitAt(ctx, seq)
	if err != nil {
		return Reply{}, err
	}
	if c.CommandID != commandID || c.Command != cmd.CommandName() || c.CitizenID != cmd.CitizenID() || c.Actor.ID != actor.ID {
		return Reply{}, domain.Errorf(domain.Conflict, "command id %s was already used for another command; use a new id", commandID)
	}
	return citizenReply(c, seq, true)
}

func citizenReply(c domain.CitizenCommit, seq uint64, duplicate bool) (Reply, error) {
	r, err := reply(domain.Commit{CommandID: c.CommandID, Command: c.Command, Events: c.Events}, seq, duplicate)
	r.CitizenID = c.CitizenID
	return r, err
}

// Mandates returns the mandates the citizen has given and not revoked, expired ones included:
// only the citizen themself asks.
func (s *Service) Mandates(ctx context.Context, a domain.Actor) ([]domain.Mandate, error) {
	if a.Role != domain.RoleCitizen {
		return nil, domain.Errorf(domain.Forbidden, "only the citizen sees the mandates they have given")
	}
	if s.Citizens == nil {
		return nil, nil
	}
	l, err := s.Citizens.Load(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return l.Citizen.Mandates(), nil
}
