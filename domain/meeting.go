package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a meeting is in its life. It is a closed set.
type Status string

// The statuses of a meeting, in the order they usually come.
const (
	StatusNone      Status = ""          // not convened: the meeting does not exist
	StatusConvened  Status = "convened"  // called, not yet scheduled
	StatusScheduled Status = "scheduled" // a time and place are chosen
	StatusHeld      Status = "held"      // it took place; attendance is recorded
	StatusClosed    Status = "closed"    // over; only follow-ups can still be completed
	StatusCancelled Status = "cancelled" // called off before it was held
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

// Schedule is when and where a meeting is held.
type Schedule struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

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

// Meeting is the aggregate: one Open Dialogue meeting, owned by one citizen. Its state changes only
// by applying commits from the log; Decide says what a command would add without changing it.
type Meeting struct {
	id          uuid.UUID
	citizen     uuid.UUID
	title       string
	status      Status
	agenda      []string
	participant []Participant // in invitation order
	suggestions []Suggestion
	schedule    *Schedule
	followUps   []FollowUp
	convenedAt  time.Time
	heldAt      time.Time
	closedAt    time.Time
	nextAgreed  bool
	commits     int
	// For the read models: how often it was moved, whether the citizen was among those present,
	// and when and why it was called off.
	reschedules    int
	citizenPresent bool
	cancelledAt    time.Time
	cancelReason   string
}

// Exists reports whether the meeting was convened.
func (m *Meeting) Exists() bool { return m.status != StatusNone }

// ID returns the meeting's id.
func (m *Meeting) ID() uuid.UUID { return m.id }

// CitizenID returns the id of the citizen who owns the meeting.
func (m *Meeting) CitizenID() uuid.UUID { return m.citizen }

// Status returns where the meeting is in its life.
func (m *Meeting) Status() Status { return m.status }

// Title returns the meeting's title, which may be empty.
func (m *Meeting) Title() string { return m.title }

// Agenda returns the citizen's agenda items.
func (m *Meeting) Agenda() []string { return slices.Clone(m.agenda) }

// Schedule returns the meeting's time and place, and false when it is not scheduled.
func (m *Meeting) Schedule() (Schedule, bool) {
	if m.schedule == nil {
		return Schedule{}, false
	}
	return *m.schedule, true
}

// Participants returns everyone ever invited, in invitation order, withdrawn invitations included.
func (m *Meeting) Participants() []Participant { return slices.Clone(m.participant) }

// Suggestions returns the participants' suggestions in the order they came.
func (m *Meeting) Suggestions() []Suggestion { return slices.Clone(m.suggestions) }

// FollowUps returns the follow-ups in the order they were recorded.
func (m *Meeting) FollowUps() []FollowUp { return slices.Clone(m.followUps) }

// ConvenedAt returns when the meeting was convened.
func (m *Meeting) ConvenedAt() time.Time { return m.convenedAt }

// HeldAt returns when attendance was recorded, or the zero time.
func (m *Meeting) HeldAt() time.Time { return m.heldAt }

// ClosedAt returns when the meeting was closed, or the zero time.
func (m *Meeting) ClosedAt() time.Time { return m.closedAt }

// NextAgreed reports whether a next meeting was agreed when it was closed.
func (m *Meeting) NextAgreed() bool { return m.nextAgreed }

// Reschedules returns how many times the time or place was changed after it was first set.
func (m *Meeting) Reschedules() int { return m.reschedules }

// CitizenPresent reports whether the citizen was among those recorded present.
func (m *Meeting) CitizenPresent() bool { return m.citizenPresent }

// Cancelled returns when and why the meeting was called off (zero time if it was not).
func (m *Meeting) Cancelled() (time.Time, string) { return m.cancelledAt, m.cancelReason }

// Commits returns how many commits have been applied.
func (m *Meeting) Commits() int { return m.commits }

// Clone returns a deep copy that shares nothing with m.
func (m *Meeting) Clone() *Meeting {
	c := *m
	c.agenda = slices.Clone(m.agenda)
	c.participant = slices.Clone(m.participant)
	c.suggestions = slices.Clone(m.suggestions)
	c.followUps = slices.Clone(m.followUps)
	if m.schedule != nil {
		s := *m.schedule
		c.schedule = &s
	}
	return &c
}

// Apply folds a commit's events into the meeting. It never fails and never validates: the rules
// were checked when the events were decided, and the log is the truth.
func (m *Meeting) Apply(c Commit) {
	for _, e := range c.Events {
		m.apply(c, e.Data)
	}
	m.commits++
}

func (m *Meeting) apply(c Commit, d EventData) {
	switch e := d.(type) {
	case MeetingConvened:
		m.id, m.citizen, m.title = e.MeetingID, e.CitizenID, e.Title
		m.status, m.convenedAt = StatusConvened, c.At
	case AgendaSet:
		m.agenda = slices.Clone(e.Items)
	case ParticipantInvited:
		p := Participant{ID: e.ParticipantID, Name: e.Name, Kind: e.Kind, Service: e.Service, Answer: AnswerPending, InvitedAt: c.At}
		if i := m.participantIndex(e.ParticipantID); i >= 0 {
			m.participant[i] = p // invited again after a withdrawal
		} else {
			m.participant = append(m.participant, p)
		}
	case InvitationWithdrawn:
		if p := m.participantRef(e.ParticipantID); p != nil {
			p.Withdrawn = true
		}
	case ParticipantSuggested:
		m.suggestions = append(m.suggestions, Suggestion{
			ID: e.SuggestionID, ParticipantID: e.ParticipantID, Name: e.Name, Kind: e.Kind,
			Service: e.Service, Reason: e.Reason, SuggestedBy: c.Actor.ID, SuggestedAt: c.At,
		})
	case InvitationAccepted:
		if p := m.participantRef(e.ParticipantID); p != nil {
			p.Answer, p.Reason, p.AnsweredAt = AnswerAccepted, "", c.At
		}
	case InvitationDeclined:
		if p := m.participantRef(e.ParticipantID); p != nil {
			p.Answer, p.Reason, p.AnsweredAt = AnswerDeclined, e.Reason, c.At
		}
	case MeetingScheduled:
		m.schedule = &Schedule{At: e.At, Place: e.Place, Address: e.Address}
		m.status = StatusScheduled
	case MeetingRescheduled:
		m.schedule = &Schedule{At: e.At, Place: e.Place, Address: e.Address}
		m.status = StatusScheduled
		m.reschedules++
	case MeetingHeld:
		m.citizenPresent = slices.Contains(e.Present, c.CitizenID)
		for _, id := range e.Present {
			if p := m.participantRef(id); p != nil {
				p.Present = true
			}
		}
		m.status, m.heldAt = StatusHeld, c.At
	case FollowUpRecorded:
		m.followUps = append(m.followUps, FollowUp{ID: e.FollowUpID, What: e.What, Responsible: e.Responsible, Due: e.Due, RecordedAt: c.At})
	case FollowUpCompleted:
		if i := m.followUpIndex(e.FollowUpID); i >= 0 {
			m.followUps[i].Completed, m.followUps[i].CompletedAt = true, c.At
		}
	case MeetingClosed:
		m.status, m.closedAt, m.nextAgreed = StatusClosed, c.At, e.NextAgreed
	case MeetingCancelled:
		m.status, m.cancelledAt, m.cancelReason = StatusCancelled, c.At, e.Reason
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
	if p := m.participantRef(id); p != nil && !p.Withdrawn {
		return *p, true
	}
	return Participant{}, false
}

func (m *Meeting) followUpIndex(id uuid.UUID) int {
	return slices.IndexFunc(m.followUps, func(f FollowUp) bool { return f.ID == id })
}

// MayView reports whether the actor may see this meeting in full: the citizen, their support
// person, and anyone whose invitation stands or who attended.
func (m *Meeting) MayView(a Actor) bool {
	if !m.Exists() {
		return false
	}
	if a.ActsFor(m.citizen) {
		return true
	}
	if a.Role == RoleEvaluator || a.Role == RoleAdmin {
		return false
	}
	p := m.participantRef(a.ID)
	return p != nil && (!p.Withdrawn || p.Present)
}
