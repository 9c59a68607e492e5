package domain

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Schedule is when and where a meeting is held.
type Schedule struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// ScheduleMeeting sets (or changes) the time and place.
type ScheduleMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// CommandName implements Command.
func (*ScheduleMeeting) CommandName() string { return CmdScheduleMeeting }

// MeetingID implements Command.
func (c *ScheduleMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *ScheduleMeeting) Validate() error {
	if err := id("meeting_id", c.Meeting); err != nil {
		return err
	}
	if c.At.IsZero() {
		return FieldErrorf("at", "is missing: give the time as RFC 3339, like 2026-12-01T10:00:00+01:00")
	}
	if y := c.At.Year(); y < 2000 || y > 2999 {
		return FieldErrorf("at", "year %d is out of range", y)
	}
	switch c.Place {
	case PlaceHome, PlaceChosen, PlaceOffice, PlaceOnline:
	case "":
		return FieldErrorf("place", "is missing: use home, chosen, office or online")
	default:
		return FieldErrorf("place", "%q is not a kind of place: use home, chosen, office or online", c.Place)
	}
	if err := text("address", c.Address, c.Place == PlaceChosen, MaxAddress); err != nil {
		if c.Place == PlaceChosen && strings.TrimSpace(c.Address) == "" {
			return FieldErrorf("address", "is missing: say where the place the citizen chose is")
		}
		return err
	}
	return nil
}

// MeetingScheduled: the citizen chose the time and place for the first time.
type MeetingScheduled struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// EventType implements EventData.
func (MeetingScheduled) EventType() string { return TypeMeetingScheduled }

// MeetingRescheduled: the citizen changed the time or place.
type MeetingRescheduled struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// EventType implements EventData.
func (MeetingRescheduled) EventType() string { return TypeMeetingRescheduled }

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

func (m *Meeting) applyScheduled(_ Commit, e MeetingScheduled) {
	m.schedule = &Schedule{At: e.At, Place: e.Place, Address: e.Address}
	m.status = StatusScheduled
}

func (m *Meeting) applyRescheduled(_ Commit, e MeetingRescheduled) {
	m.schedule = &Schedule{At: e.At, Place: e.Place, Address: e.Address}
	m.status = StatusScheduled
	m.reschedules++
}
