package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// RecordAttendance says the meeting was held and who was there.
type RecordAttendance struct {
	Meeting uuid.UUID   `json:"meeting_id"`
	Present []uuid.UUID `json:"present"`
}

// CommandName implements Command.
func (*RecordAttendance) CommandName() string { return CmdRecordAttendance }

// MeetingID implements Command.
func (c *RecordAttendance) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RecordAttendance) Validate() error {
	if err := id("meeting_id", c.Meeting); err != nil {
		return err
	}
	if len(c.Present) == 0 {
		return FieldErrorf("present", "is missing: name who was there, the citizen first of all")
	}
	if len(c.Present) > MaxPresent {
		return FieldErrorf("present", "names %d people; at most %d are allowed", len(c.Present), MaxPresent)
	}
	seen := make(map[uuid.UUID]bool, len(c.Present))
	for i, p := range c.Present {
		if err := id("present", p); err != nil {
			return atIndex(err, "present", i)
		}
		if seen[p] {
			return FieldErrorf(indexed("present", i), "names %s twice", p)
		}
		seen[p] = true
	}
	return nil
}

// MeetingHeld: the meeting took place with these people present; the citizen is always one.
type MeetingHeld struct {
	Present []uuid.UUID `json:"present"`
}

// EventType implements EventData.
func (MeetingHeld) EventType() string { return TypeMeetingHeld }

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
			return nil, FieldErrorf(indexed("present", i), "%s was not invited to this meeting", id)
		}
	}
	if !citizen {
		return nil, FieldErrorf("present", "the citizen must be among those present: nothing about the citizen without the citizen").Because(RuleCitizenPresent)
	}
	return one(MeetingHeld{Present: append([]uuid.UUID(nil), c.Present...)}), nil
}

func (m *Meeting) applyHeld(c Commit, e MeetingHeld) {
	m.citizenPresent = slices.Contains(e.Present, c.CitizenID)
	for _, id := range e.Present {
		if p := m.participantRef(id); p != nil {
			p.Present = true
		}
	}
	m.status, m.heldAt = StatusHeld, c.At
}

// attended reports whether id was present at the held meeting.
func (m *Meeting) attended(id uuid.UUID) bool {
	if id == m.citizen {
		return m.status == StatusHeld || m.status == StatusClosed
	}
	p := m.participantRef(id)
	return p != nil && p.Present
}
