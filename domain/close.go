package domain

import "github.com/google/uuid"

// CloseMeeting ends a held meeting.
type CloseMeeting struct {
	Meeting    uuid.UUID `json:"meeting_id"`
	NextAgreed bool      `json:"next_agreed"`
}

// CommandName implements Command.
func (*CloseMeeting) CommandName() string { return CmdCloseMeeting }

// MeetingID implements Command.
func (c *CloseMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CloseMeeting) Validate() error { return id("meeting_id", c.Meeting) }

// CancelMeeting calls a meeting off before it is held.
type CancelMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Reason  string    `json:"reason,omitempty"`
}

// CommandName implements Command.
func (*CancelMeeting) CommandName() string { return CmdCancelMeeting }

// MeetingID implements Command.
func (c *CancelMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CancelMeeting) Validate() error {
	return firstError(id("meeting_id", c.Meeting), lines("reason", c.Reason, false, MaxReason))
}

// MeetingClosed: the meeting is over; NextAgreed says a next meeting was agreed.
type MeetingClosed struct {
	NextAgreed bool `json:"next_agreed"`
}

// EventType implements EventData.
func (MeetingClosed) EventType() string { return TypeMeetingClosed }

// MeetingCancelled: the citizen called the meeting off.
type MeetingCancelled struct {
	Reason string `json:"reason,omitempty"`
}

// EventType implements EventData.
func (MeetingCancelled) EventType() string { return TypeMeetingCancelled }

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

func (m *Meeting) applyClosed(c Commit, e MeetingClosed) {
	m.status, m.closedAt, m.nextAgreed = StatusClosed, c.At, e.NextAgreed
}

func (m *Meeting) applyCancelled(c Commit, e MeetingCancelled) {
	m.status, m.cancelledAt, m.cancelReason = StatusCancelled, c.At, e.Reason
}
