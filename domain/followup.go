package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// FollowUp is something agreed at a meeting, with who is responsible and by when.
type FollowUp struct {
	ID          uuid.UUID `json:"id"`
	What        string    `json:"what"`
	Responsible uuid.UUID `json:"responsible"`
	Due         string    `json:"due,omitempty"` // YYYY-MM-DD
	RecordedAt  time.Time `json:"recorded_at"`
	Completed   bool      `json:"completed"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// RecordFollowUp records what was agreed, who is responsible and by when. The caller chooses the
// follow-up id.
type RecordFollowUp struct {
	Meeting     uuid.UUID `json:"meeting_id"`
	FollowUp    uuid.UUID `json:"follow_up_id"`
	What        string    `json:"what"`
	Responsible uuid.UUID `json:"responsible"`
	Due         string    `json:"due,omitempty"`
}

// CommandName implements Command.
func (*RecordFollowUp) CommandName() string { return CmdRecordFollowUp }

// MeetingID implements Command.
func (c *RecordFollowUp) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RecordFollowUp) Validate() error {
	if err := firstError(id("meeting_id", c.Meeting), id("follow_up_id", c.FollowUp),
		lines("what", c.What, true, MaxWhat), id("responsible", c.Responsible)); err != nil {
		return err
	}
	if c.Due != "" {
		if _, err := time.Parse(time.DateOnly, c.Due); err != nil {
			return FieldErrorf("due", "%q is not a date like 2026-12-24", c.Due)
		}
	}
	return nil
}

// CompleteFollowUp says a follow-up was done.
type CompleteFollowUp struct {
	Meeting  uuid.UUID `json:"meeting_id"`
	FollowUp uuid.UUID `json:"follow_up_id"`
}

// CommandName implements Command.
func (*CompleteFollowUp) CommandName() string { return CmdCompleteFollowUp }

// MeetingID implements Command.
func (c *CompleteFollowUp) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CompleteFollowUp) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("follow_up_id", c.FollowUp))
}

// FollowUpRecorded: something was agreed, with who is responsible and by when.
type FollowUpRecorded struct {
	FollowUpID  uuid.UUID `json:"follow_up_id"`
	What        string    `json:"what"`
	Responsible uuid.UUID `json:"responsible"`
	Due         string    `json:"due,omitempty"` // a date, YYYY-MM-DD
}

// EventType implements EventData.
func (FollowUpRecorded) EventType() string { return TypeFollowUpRecorded }

// FollowUpCompleted: the responsible person (or the citizen) says it was done.
type FollowUpCompleted struct {
	FollowUpID uuid.UUID `json:"follow_up_id"`
}

// EventType implements EventData.
func (FollowUpCompleted) EventType() string { return TypeFollowUpCompleted }

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

func (m *Meeting) applyFollowUpRecorded(c Commit, e FollowUpRecorded) {
	m.followUps = append(m.followUps, FollowUp{ID: e.FollowUpID, What: e.What, Responsible: e.Responsible, Due: e.Due, RecordedAt: c.At})
}

func (m *Meeting) applyFollowUpCompleted(c Commit, e FollowUpCompleted) {
	if i := m.followUpIndex(e.FollowUpID); i >= 0 {
		m.followUps[i].Completed, m.followUps[i].CompletedAt = true, c.At
	}
}

func (m *Meeting) followUpIndex(id uuid.UUID) int {
	return slices.IndexFunc(m.followUps, func(f FollowUp) bool { return f.ID == id })
}
