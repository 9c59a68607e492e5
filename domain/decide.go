package domain

import "time"

// Decide says which events the command adds to the meeting when the actor gives it at time now.
// It does not change the meeting. The checks come in a fixed order, so that the answer to a bad
// command is predictable: Invalid (the command itself), Forbidden for roles that never command,
// NotFound (the meeting), Forbidden (this actor for this meeting), Conflict (the meeting's state).
func (m *Meeting) Decide(a Actor, cmd Command, now time.Time) ([]Event, error) {
	if cmd == nil {
		return nil, FieldErrorf("command", "is missing")
	}
	if _, ok := cmd.(CitizenCommand); ok {
		return nil, FieldErrorf("command", "%s is about the citizen's mandates, not a meeting", cmd.CommandName())
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
	case *WithdrawConsent:
		return m.withdrawConsent(a, c)
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
