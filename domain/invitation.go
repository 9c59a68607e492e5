package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Participant is someone the citizen invited.
type Participant struct {
	ID         uuid.UUID       `json:"id"`
	Name       string          `json:"name"`
	Kind       ParticipantKind `json:"kind"`
	Service    string          `json:"service,omitempty"`
	Answer     Answer          `json:"answer"`
	Reason     string          `json:"reason,omitempty"` // why they declined
	Withdrawn  bool            `json:"withdrawn"`
	Present    bool            `json:"present"`
	InvitedAt  time.Time       `json:"invited_at"`
	AnsweredAt time.Time       `json:"answered_at,omitzero"`
	// ConsentVersion is the consent text the citizen agreed to for sharing the meeting with this
	// participant from outside the municipality; ConsentWithdrawn, that they took it back.
	ConsentVersion   string `json:"consent_version,omitempty"`
	ConsentWithdrawn bool   `json:"consent_withdrawn,omitempty"`
}

// Suggestion is someone a participant suggested inviting; the citizen decides.
type Suggestion struct {
	ID            uuid.UUID       `json:"id"`
	ParticipantID uuid.UUID       `json:"participant_id,omitzero"`
	Name          string          `json:"name"`
	Kind          ParticipantKind `json:"kind"`
	Service       string          `json:"service,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	SuggestedBy   uuid.UUID       `json:"suggested_by"`
	SuggestedAt   time.Time       `json:"suggested_at"`
}

// InviteParticipant invites a professional, someone from the region or the citizen's network.
type InviteParticipant struct {
	Meeting     uuid.UUID       `json:"meeting_id"`
	Participant uuid.UUID       `json:"participant_id"`
	Name        string          `json:"name"`
	Kind        ParticipantKind `json:"kind"`
	Service     string          `json:"service,omitempty"`
	// Email invites someone not yet in the staff directory by address, instead of by id: the
	// command service finds or reserves the person the address belongs to, and the invitation
	// binds to whoever first signs in with that address verified. The address is kept with the
	// person, never in the meeting's log.
	Email string `json:"email,omitempty"`
	// ConsentVersion is the version of the consent text (ConsentText) the citizen agreed to,
	// required when inviting from the region or another authority (NeedsConsent).
	ConsentVersion string `json:"consent_version,omitempty"`
}

// CommandName implements Command.
func (*InviteParticipant) CommandName() string { return CmdInviteParticipant }

// MeetingID implements Command.
func (c *InviteParticipant) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *InviteParticipant) Validate() error {
	pid := id("participant_id", c.Participant)
	if c.Email != "" {
		pid = EmailAddress("email", c.Email)
	}
	err := firstError(id("meeting_id", c.Meeting), pid,
		text("name", c.Name, true, MaxName), participantKind("kind", c.Kind), text("service", c.Service, false, MaxService),
		consentVersion(c.Kind, c.ConsentVersion))
	if err == nil && c.Kind == KindProfessional && strings.TrimSpace(c.Service) == "" {
		return FieldErrorf("service", "is missing: a professional comes from a service or centre, name it")
	}
	return err
}

// WithdrawInvitation takes an invitation back.
type WithdrawInvitation struct {
	Meeting     uuid.UUID `json:"meeting_id"`
	Participant uuid.UUID `json:"participant_id"`
}

// CommandName implements Command.
func (*WithdrawInvitation) CommandName() string { return CmdWithdrawInvitation }

// MeetingID implements Command.
func (c *WithdrawInvitation) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *WithdrawInvitation) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("participant_id", c.Participant))
}

// SuggestParticipant lets an invited participant suggest someone; the citizen decides.
type SuggestParticipant struct {
	Meeting     uuid.UUID       `json:"meeting_id"`
	Suggestion  uuid.UUID       `json:"suggestion_id"`
	Participant uuid.UUID       `json:"participant_id,omitzero"`
	Name        string          `json:"name"`
	Kind        ParticipantKind `json:"kind"`
	Service     string          `json:"service,omitempty"`
	Reason      string          `json:"reason,omitempty"`
}

// CommandName implements Command.
func (*SuggestParticipant) CommandName() string { return CmdSuggestParticipant }

// MeetingID implements Command.
func (c *SuggestParticipant) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *SuggestParticipant) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("suggestion_id", c.Suggestion),
		text("name", c.Name, true, MaxName), participantKind("kind", c.Kind),
		text("service", c.Service, false, MaxService), lines("reason", c.Reason, false, MaxReason))
}

// RespondToInvitation is the invitee's answer.
type RespondToInvitation struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Accept  bool      `json:"accept"`
	Reason  string    `json:"reason,omitempty"`
}

// CommandName implements Command.
func (*RespondToInvitation) CommandName() string { return CmdRespondToInvitation }

// MeetingID implements Command.
func (c *RespondToInvitation) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RespondToInvitation) Validate() error {
	if err := firstError(id("meeting_id", c.Meeting), lines("reason", c.Reason, false, MaxReason)); err != nil {
		return err
	}
	if c.Accept && c.Reason != "" {
		return FieldErrorf("reason", "is only given when declining")
	}
	return nil
}

// ParticipantInvited: the citizen invited someone.
type ParticipantInvited struct {
	ParticipantID uuid.UUID       `json:"participant_id"`
	Name          string          `json:"name"`
	Kind          ParticipantKind `json:"kind"`
	Service       string          `json:"service,omitempty"`
	// ConsentVersion is the consent text the citizen agreed to (from outside the municipality
	// only). Added later: an invitation written before has none, which reads as invited before
	// consent was recorded.
	ConsentVersion string `json:"consent_version,omitempty"`
}

// EventType implements EventData.
func (ParticipantInvited) EventType() string { return TypeParticipantInvited }

// InvitationWithdrawn: the citizen withdrew an invitation.
type InvitationWithdrawn struct {
	ParticipantID uuid.UUID `json:"participant_id"`
}

// EventType implements EventData.
func (InvitationWithdrawn) EventType() string { return TypeInvitationWithdrawn }

// ParticipantSuggested: a participant suggested someone; only the citizen can invite them.
type ParticipantSuggested struct {
	SuggestionID  uuid.UUID       `json:"suggestion_id"`
	ParticipantID uuid.UUID       `json:"participant_id,omitzero"`
	Name          string          `json:"name"`
	Kind          ParticipantKind `json:"kind"`
	Service       string          `json:"service,omitempty"`
	Reason        string          `json:"reason,omitempty"`
}

// EventType implements EventData.
func (ParticipantSuggested) EventType() string { return TypeParticipantSuggested }

// InvitationAccepted: an invitee said yes.
type InvitationAccepted struct {
	ParticipantID uuid.UUID `json:"participant_id"`
}

// EventType implements EventData.
func (InvitationAccepted) EventType() string { return TypeInvitationAccepted }

// InvitationDeclined: an invitee said no.
type InvitationDeclined struct {
	ParticipantID uuid.UUID `json:"participant_id"`
	Reason        string    `json:"reason,omitempty"`
}

// EventType implements EventData.
func (InvitationDeclined) EventType() string { return TypeInvitationDeclined }

func (m *Meeting) invite(a Actor, c *InviteParticipant) ([]Event, error) {
	if err := m.citizenOnly(a, "invite participants; a participant can suggest someone instead"); err != nil {
		return nil, err
	}
	if err := m.notYetHeld("who is invited"); err != nil {
		return nil, err
	}
	if c.Participant == m.citizen {
		return nil, FieldErrorf("participant_id", "is the citizen, who is always part of their own meeting").Because(RuleCitizenIsPart)
	}
	if _, ok := m.invited(c.Participant); ok {
		return nil, Errorf(Conflict, "%s is already invited", c.Participant).Because(RuleAlreadyInvited)
	}
	if m.participantRef(c.Participant) == nil && len(m.participant) >= MaxParticipants {
		return nil, Errorf(Conflict, "the meeting already has %d invitations (withdrawn ones count), the most allowed; convene another meeting", MaxParticipants).Because(RuleTooManyParticipants)
	}
	return one(ParticipantInvited{ParticipantID: c.Participant, Name: c.Name, Kind: c.Kind, Service: c.Service, ConsentVersion: c.ConsentVersion}), nil
}

func (m *Meeting) withdraw(a Actor, c *WithdrawInvitation) ([]Event, error) {
	if err := m.citizenOnly(a, "withdraw an invitation"); err != nil {
		return nil, err
	}
	if err := m.notYetHeld("who is invited"); err != nil {
		return nil, err
	}
	if _, ok := m.invited(c.Participant); !ok {
		return nil, Errorf(NotFound, "%s has no invitation to this meeting", c.Participant).Because(RuleNotInvited)
	}
	return one(InvitationWithdrawn{ParticipantID: c.Participant}), nil
}

func (m *Meeting) suggest(a Actor, c *SuggestParticipant) ([]Event, error) {
	if _, ok := m.invited(a.ID); !ok {
		if a.ActsFor(m.citizen) {
			return nil, Errorf(Forbidden, "the citizen invites directly; suggestions are for invited participants")
		}
		return nil, Errorf(Forbidden, "only an invited participant can suggest someone")
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	for _, s := range m.suggestions {
		if s.ID == c.Suggestion {
			return nil, Errorf(Conflict, "suggestion %s already exists; use a new suggestion id", c.Suggestion)
		}
	}
	if c.Participant != uuid.Nil {
		if c.Participant == m.citizen {
			return nil, FieldErrorf("participant_id", "is the citizen, who is always part of their own meeting").Because(RuleCitizenIsPart)
		}
		if _, ok := m.invited(c.Participant); ok {
			return nil, Errorf(Conflict, "%s is already invited", c.Participant).Because(RuleAlreadyInvited)
		}
	}
	if len(m.suggestions) >= MaxSuggestions {
		return nil, Errorf(Conflict, "the meeting already has %d suggestions, the most allowed", MaxSuggestions)
	}
	return one(ParticipantSuggested{
		SuggestionID: c.Suggestion, ParticipantID: c.Participant, Name: c.Name, Kind: c.Kind,
		Service: c.Service, Reason: c.Reason,
	}), nil
}

func (m *Meeting) respond(a Actor, c *RespondToInvitation) ([]Event, error) {
	p, ok := m.invited(a.ID)
	if !ok {
		return nil, Errorf(Forbidden, "only someone invited to this meeting can answer an invitation to it").Because(RuleOnlyInvitedAnswer)
	}
	if err := m.notYetHeld("the answers"); err != nil {
		return nil, err
	}
	if c.Accept {
		if p.Answer == AnswerAccepted {
			return nil, Errorf(Conflict, "you have already accepted this invitation").Because(RuleAlreadyAccepted)
		}
		return one(InvitationAccepted{ParticipantID: a.ID}), nil
	}
	if p.Answer == AnswerDeclined {
		return nil, Errorf(Conflict, "you have already declined this invitation").Because(RuleAlreadyDeclined)
	}
	return one(InvitationDeclined{ParticipantID: a.ID, Reason: c.Reason}), nil
}

func (m *Meeting) applyInvited(c Commit, e ParticipantInvited) {
	p := Participant{ID: e.ParticipantID, Name: e.Name, Kind: e.Kind, Service: e.Service, Answer: AnswerPending, InvitedAt: c.At, ConsentVersion: e.ConsentVersion}
	if i := m.participantIndex(e.ParticipantID); i >= 0 {
		m.participant[i] = p // invited again after a withdrawal
	} else {
		m.participant = append(m.participant, p)
	}
}

func (m *Meeting) applyWithdrawn(_ Commit, e InvitationWithdrawn) {
	if p := m.participantRef(e.ParticipantID); p != nil {
		p.Withdrawn = true
	}
}

func (m *Meeting) applySuggested(c Commit, e ParticipantSuggested) {
	m.suggestions = append(m.suggestions, Suggestion{
		ID: e.SuggestionID, ParticipantID: e.ParticipantID, Name: e.Name, Kind: e.Kind,
		Service: e.Service, Reason: e.Reason, SuggestedBy: c.Actor.ID, SuggestedAt: c.At,
	})
}

func (m *Meeting) applyAccepted(c Commit, e InvitationAccepted) {
	if p := m.participantRef(e.ParticipantID); p != nil {
		p.Answer, p.Reason, p.AnsweredAt = AnswerAccepted, "", c.At
	}
}

func (m *Meeting) applyDeclined(c Commit, e InvitationDeclined) {
	if p := m.participantRef(e.ParticipantID); p != nil {
		p.Answer, p.Reason, p.AnsweredAt = AnswerDeclined, e.Reason, c.At
	}
}

func (m *Meeting) participantIndex(id uuid.UUID) int {
	return slices.IndexFunc(m.participant, func(p Participant) bool { return p.ID == id })
}

func (m *Meeting) participantRef(id uuid.UUID) *Participant {
	if i := m.participantIndex(id); i >= 0 {
		return &m.participant[i]
	}
	return nil
}

// invited returns the participant with this id whose invitation stands (not withdrawn).
func (m *Meeting) invited(id uuid.UUID) (Participant, bool) {
	if p := m.participantRef(id); p != nil && !p.Withdrawn && !p.ConsentWithdrawn {
		return *p, true
	}
	return Participant{}, false
}
