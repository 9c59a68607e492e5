package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

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

// apply folds one event into the meeting. What each event does is next to it, in the file of the
// behaviour it belongs to; a payload of any other type changes nothing.
func (m *Meeting) apply(c Commit, d EventData) {
	switch e := d.(type) {
	case MeetingConvened:
		m.applyConvened(c, e)
	case AgendaSet:
		m.applyAgendaSet(c, e)
	case ParticipantInvited:
		m.applyInvited(c, e)
	case InvitationWithdrawn:
		m.applyWithdrawn(c, e)
	case ParticipantSuggested:
		m.applySuggested(c, e)
	case InvitationAccepted:
		m.applyAccepted(c, e)
	case InvitationDeclined:
		m.applyDeclined(c, e)
	case MeetingScheduled:
		m.applyScheduled(c, e)
	case MeetingRescheduled:
		m.applyRescheduled(c, e)
	case MeetingHeld:
		m.applyHeld(c, e)
	case FollowUpRecorded:
		m.applyFollowUpRecorded(c, e)
	case FollowUpCompleted:
		m.applyFollowUpCompleted(c, e)
	case MeetingClosed:
		m.applyClosed(c, e)
	case MeetingCancelled:
		m.applyCancelled(c, e)
	case ConsentWithdrawn:
		m.applyConsentWithdrawn(c, e)
	}
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
	return p != nil && !p.ConsentWithdrawn && (!p.Withdrawn || p.Present)
}
