package domain

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Decide says which events the command adds to the meeting when the actor gives it at time now.
// It does not change the meeting. The checks come in a fixed order, so that the answer to a bad
// command is predictable: Invalid (the command itself), Forbidden for roles that never command,
// NotFound (the meeting), Forbidden (this actor for this meeting), Conflict (the meeting's state).
func (m *Meeting) Decide(a Actor, cmd Command, now time.Time) ([]Event, error) {
	if cmd == nil {
		return nil, FieldErrorf("command", "is missing")
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Role == RoleEvaluator || a.Role == RoleAdmin {
		return nil, Errorf(Forbidden, "%ss do not take part in meetings and give no meeting commands", a.Role)
	}
	if c, ok := cmd.(*ConveneMeeting); ok {
		return m.convene(a, c)
	}
	if !m.Exists() {
		return nil, Errorf(NotFound, "meeting %s does not exist", cmd.MeetingID())
	}
	if m.id != cmd.MeetingID() || !m.MayView(a) {
		// A meeting the actor may not see is answered as one that does not exist, so that its
		// existence is not told.
		return nil, Errorf(NotFound, "meeting %s does not exist", cmd.MeetingID())
	}
	if m.commits >= MaxCommits {
		return nil, Errorf(Conflict, "the meeting has been changed %d times, the most allowed; convene a new meeting", MaxCommits).Because(RuleTooManyChanges)
	}
	switch c := cmd.(type) {
	case *CitizenSetsAgenda:
		return m.setAgenda(a, c)
	case *InviteParticipant:
		return m.invite(a, c)
	case *WithdrawInvitation:
		return m.withdraw(a, c)
	case *SuggestParticipant:
		return m.suggest(a, c)
	case *RespondToInvitation:
		return m.respond(a, c)
	case *ScheduleMeeting:
		return m.scheduleMeeting(a, c, now)
	case *RecordAttendance:
		return m.recordAttendance(a, c, now)
	case *RecordFollowUp:
		return m.recordFollowUp(a, c)
	case *CompleteFollowUp:
		return m.completeFollowUp(a, c)
	case *CloseMeeting:
		return m.close(a, c)
	case *CancelMeeting:
		return m.cancel(a, c)
	}
	return nil, FieldErrorf("command", "unknown command %T", cmd)
}

func one(d EventData) []Event { return []Event{NewEvent(d)} }

// citizenOnly refuses anyone but the citizen and their support person.
func (m *Meeting) citizenOnly(a Actor, what string) error {
	if a.ActsFor(m.citizen) {
		return nil
	}
	return Errorf(Forbidden, "only the citizen or their support person can %s", what)
}

// open refuses a closed or cancelled meeting; no command changes one.
func (m *Meeting) open() error {
	switch m.status {
	case StatusClosed:
		return Errorf(Conflict, "the meeting is closed; nothing about it can change now").Because(RuleClosed)
	case StatusCancelled:
		return Errorf(Conflict, "the meeting was cancelled; nothing about it can change now").Because(RuleCancelled)
	}
	return nil
}

// notYetHeld refuses a meeting that was held, closed or cancelled.
func (m *Meeting) notYetHeld(what string) error {
	if err := m.open(); err != nil {
		return err
	}
	if m.status == StatusHeld {
		return Errorf(Conflict, "the meeting has been held; %s can no longer change", what).Because(RuleHeld)
	}
	return nil
}

func (m *Meeting) convene(a Actor, c *ConveneMeeting) ([]Event, error) {
	if !a.ActsFor(c.Citizen) {
		return nil, Errorf(Forbidden, "only the citizen or their support person can convene the citizen's meeting")
	}
	if m.Exists() {
		return nil, Errorf(Conflict, "meeting %s already exists; use a new meeting id", c.Meeting)
	}
	return one(MeetingConvened{MeetingID: c.Meeting, CitizenID: c.Citizen, Title: c.Title}), nil
}

func (m *Meeting) setAgenda(a Actor, c *CitizenSetsAgenda) ([]Event, error) {
	if !a.ActsFor(m.citizen) {
		return nil, Errorf(Forbidden, "only the citizen or their support person sets the agenda; the agenda is the citizen's own words")
	}
	if err := m.notYetHeld("the agenda"); err != nil {
		return nil, err
	}
	return one(AgendaSet{Items: append([]string(nil), c.Items...)}), nil
}

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
	return one(ParticipantInvited{ParticipantID: c.Participant, Name: c.Name, Kind: c.Kind, Service: c.Service}), nil
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

func (m *Meeting) scheduleMeeting(a Actor, c *ScheduleMeeting, now time.Time) ([]Event, error) {
	if err := m.citizenOnly(a, "choose the time and place"); err != nil {
		return nil, err
	}
	if err := m.notYetHeld("the time and place"); err != nil {
		return nil, err
	}
	if c.At.Before(now) {
		return nil, FieldErrorf("at", "%s lies in the past; choose a time from now on", c.At.Format(time.RFC3339)).Because(RuleInThePast)
	}
	if m.schedule == nil {
		return one(MeetingScheduled{At: c.At, Place: c.Place, Address: c.Address}), nil
	}
	if m.schedule.At.Equal(c.At) && m.schedule.Place == c.Place && m.schedule.Address == c.Address {
		return nil, Errorf(Conflict, "the meeting is already at that time and place").Because(RuleSameSchedule)
	}
	return one(MeetingRescheduled{At: c.At, Place: c.Place, Address: c.Address}), nil
}

// EarlyStart is how long before its scheduled time a meeting may be recorded as held.
const EarlyStart = time.Hour

func (m *Meeting) recordAttendance(a Actor, c *RecordAttendance, now time.Time) ([]Event, error) {
	if p, ok := m.invited(a.ID); !a.ActsFor(m.citizen) && (!ok || p.Answer != AnswerAccepted) {
		return nil, Errorf(Forbidden, "only the citizen, their support person or a participant who accepted can record attendance")
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	if m.status == StatusHeld {
		return nil, Errorf(Conflict, "attendance is already recorded; the meeting has been held").Because(RuleAlreadyAttended)
	}
	if m.schedule == nil {
		return nil, Errorf(Conflict, "the meeting has no time and place yet; schedule it before recording who attended").Because(RuleNotScheduled)
	}
	if now.Before(m.schedule.At.Add(-EarlyStart)) {
		return nil, Errorf(Conflict, "the meeting is scheduled for %s; record who attended when it has taken place, or move it", m.schedule.At.Format(time.RFC3339)).Because(RuleTooEarly)
	}
	citizen := false
	for i, id := range c.Present {
		if id == m.citizen {
			citizen = true
			continue
		}
		if _, ok := m.invited(id); !ok {
			return nil, FieldErrorf(fmt.Sprintf("present[%d]", i), "%s was not invited to this meeting", id)
		}
	}
	if !citizen {
		return nil, FieldErrorf("present", "the citizen must be among those present: nothing about the citizen without the citizen").Because(RuleCitizenPresent)
	}
	return one(MeetingHeld{Present: append([]uuid.UUID(nil), c.Present...)}), nil
}

// attended reports whether id was present at the held meeting.
func (m *Meeting) attended(id uuid.UUID) bool {
	if id == m.citizen {
		return m.status == StatusHeld || m.status == StatusClosed
	}
	p := m.participantRef(id)
	return p != nil && p.Present
}

func (m *Meeting) recordFollowUp(a Actor, c *RecordFollowUp) ([]Event, error) {
	if !a.ActsFor(m.citizen) && !m.attended(a.ID) {
		return nil, Errorf(Forbidden, "only the citizen, their support person or a participant who attended can record a follow-up")
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	if m.status != StatusHeld {
		return nil, Errorf(Conflict, "follow-ups are recorded at the meeting: record attendance first").Because(RuleAttendanceFirst)
	}
	if m.followUpIndex(c.FollowUp) >= 0 {
		return nil, Errorf(Conflict, "follow-up %s already exists; use a new follow-up id", c.FollowUp)
	}
	if !m.attended(c.Responsible) {
		return nil, FieldErrorf("responsible", "%s did not attend; the citizen or a participant who was there is responsible", c.Responsible).Because(RuleResponsibleAbsent)
	}
	if len(m.followUps) >= MaxFollowUps {
		return nil, Errorf(Conflict, "the meeting already has %d follow-ups, the most allowed", MaxFollowUps)
	}
	return one(FollowUpRecorded{FollowUpID: c.FollowUp, What: c.What, Responsible: c.Responsible, Due: c.Due}), nil
}

func (m *Meeting) completeFollowUp(a Actor, c *CompleteFollowUp) ([]Event, error) {
	i := m.followUpIndex(c.FollowUp)
	if i < 0 {
		return nil, Errorf(NotFound, "follow-up %s does not exist in this meeting", c.FollowUp)
	}
	f := m.followUps[i]
	if a.ID != f.Responsible && !a.ActsFor(m.citizen) {
		return nil, Errorf(Forbidden, "only the person responsible for the follow-up or the citizen can mark it done")
	}
	if m.status == StatusCancelled {
		return nil, Errorf(Conflict, "the meeting was cancelled; nothing about it can change now").Because(RuleCancelled)
	}
	if f.Completed {
		return nil, Errorf(Conflict, "the follow-up is already done").Because(RuleFollowUpDone)
	}
	return one(FollowUpCompleted{FollowUpID: c.FollowUp}), nil
}

func (m *Meeting) close(a Actor, c *CloseMeeting) ([]Event, error) {
	if !a.ActsFor(m.citizen) && !m.attended(a.ID) {
		return nil, Errorf(Forbidden, "only the citizen, their support person or a participant who attended can close the meeting")
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	if m.status != StatusHeld {
		return nil, Errorf(Conflict, "only a held meeting can be closed; record attendance first, or cancel it").Because(RuleCloseNotHeld)
	}
	return one(MeetingClosed{NextAgreed: c.NextAgreed}), nil
}

func (m *Meeting) cancel(a Actor, c *CancelMeeting) ([]Event, error) {
	if err := m.citizenOnly(a, "cancel the meeting"); err != nil {
		return nil, err
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	if m.status == StatusHeld {
		return nil, Errorf(Conflict, "the meeting has been held; close it instead of cancelling it").Because(RuleCancelHeld)
	}
	return one(MeetingCancelled{Reason: c.Reason}), nil
}
