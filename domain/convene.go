package domain

import "github.com/google/uuid"

// ConveneMeeting calls a new meeting for a citizen. The caller chooses the meeting id (a new
// random UUID), so that a retried command names the same meeting.
type ConveneMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Citizen uuid.UUID `json:"citizen_id"`
	Title   string    `json:"title,omitempty"`
}

// CommandName implements Command.
func (*ConveneMeeting) CommandName() string { return CmdConveneMeeting }

// MeetingID implements Command.
func (c *ConveneMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *ConveneMeeting) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("citizen_id", c.Citizen), text("title", c.Title, false, MaxTitle))
}

// MeetingConvened: a citizen (or their support person) called a meeting.
type MeetingConvened struct {
	MeetingID uuid.UUID `json:"meeting_id"`
	CitizenID uuid.UUID `json:"citizen_id"`
	Title     string    `json:"title,omitempty"`
}

// EventType implements EventData.
func (MeetingConvened) EventType() string { return TypeMeetingConvened }

func (m *Meeting) convene(a Actor, c *ConveneMeeting) ([]Event, error) {
	if !a.ActsFor(c.Citizen) {
		return nil, Errorf(Forbidden, "only the citizen or their support person can convene the citizen's meeting")
	}
	if m.Exists() {
		return nil, Errorf(Conflict, "meeting %s already exists; use a new meeting id", c.Meeting)
	}
	return one(MeetingConvened{MeetingID: c.Meeting, CitizenID: c.Citizen, Title: c.Title}), nil
}

func (m *Meeting) applyConvened(c Commit, e MeetingConvened) {
	m.id, m.citizen, m.title = e.MeetingID, e.CitizenID, e.Title
	m.status, m.convenedAt = StatusConvened, c.At
}
