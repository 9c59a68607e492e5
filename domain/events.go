package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Event type names, past tense. They are stored in the log and read forever: never rename one.
const (
	TypeMeetingConvened      = "MeetingConvened"
	TypeAgendaSet            = "AgendaSet"
	TypeParticipantInvited   = "ParticipantInvited"
	TypeInvitationWithdrawn  = "InvitationWithdrawn"
	TypeParticipantSuggested = "ParticipantSuggested"
	TypeInvitationAccepted   = "InvitationAccepted"
	TypeInvitationDeclined   = "InvitationDeclined"
	TypeMeetingScheduled     = "MeetingScheduled"
	TypeMeetingRescheduled   = "MeetingRescheduled"
	TypeMeetingHeld          = "MeetingHeld"
	TypeFollowUpRecorded     = "FollowUpRecorded"
	TypeFollowUpCompleted    = "FollowUpCompleted"
	TypeMeetingClosed        = "MeetingClosed"
	TypeMeetingCancelled     = "MeetingCancelled"
)

// eventCodecs registers every payload type in one place. A change of shape bumps the version
// and adds an upcaster for the old one here, with a golden file of the old shape.
var eventCodecs = map[string]eventCodec{
	TypeMeetingConvened:      current[MeetingConvened](),
	TypeAgendaSet:            current[AgendaSet](),
	TypeParticipantInvited:   current[ParticipantInvited](),
	TypeInvitationWithdrawn:  current[InvitationWithdrawn](),
	TypeParticipantSuggested: current[ParticipantSuggested](),
	TypeInvitationAccepted:   current[InvitationAccepted](),
	TypeInvitationDeclined:   current[InvitationDeclined](),
	TypeMeetingScheduled:     current[MeetingScheduled](),
	TypeMeetingRescheduled:   current[MeetingRescheduled](),
	TypeMeetingHeld:          current[MeetingHeld](),
	TypeFollowUpRecorded:     current[FollowUpRecorded](),
	TypeFollowUpCompleted:    current[FollowUpCompleted](),
	TypeMeetingClosed:        current[MeetingClosed](),
	TypeMeetingCancelled:     current[MeetingCancelled](),
}

// ParticipantKind says where a participant comes from. It is a closed set.
type ParticipantKind string

// The kinds of participant.
const (
	KindProfessional ParticipantKind = "professional" // from a municipal centre or service
	KindNetwork      ParticipantKind = "network"      // the citizen's own network: family, friends
	KindRegion       ParticipantKind = "region"       // the region, e.g. psychiatry
	KindOther        ParticipantKind = "other"
)

// PlaceKind says where a meeting is held. It is a closed set.
type PlaceKind string

// The kinds of place.
const (
	PlaceHome   PlaceKind = "home"   // the citizen's home
	PlaceChosen PlaceKind = "chosen" // a place the citizen chooses
	PlaceOffice PlaceKind = "office" // a municipal or regional office
	PlaceOnline PlaceKind = "online"
)

// Answer is an invitee's answer to an invitation.
type Answer string

// The answers.
const (
	AnswerPending  Answer = "pending"
	AnswerAccepted Answer = "accepted"
	AnswerDeclined Answer = "declined"
)

// MeetingConvened: a citizen (or their support person) called a meeting.
type MeetingConvened struct {
	MeetingID uuid.UUID `json:"meeting_id"`
	CitizenID uuid.UUID `json:"citizen_id"`
	Title     string    `json:"title,omitempty"`
}

// AgendaSet: the citizen set the agenda in their own words; it replaces any earlier agenda.
type AgendaSet struct {
	Items []string `json:"items"`
}

// ParticipantInvited: the citizen invited someone.
type ParticipantInvited struct {
	ParticipantID uuid.UUID       `json:"participant_id"`
	Name          string          `json:"name"`
	Kind          ParticipantKind `json:"kind"`
	Service       string          `json:"service,omitempty"`
}

// InvitationWithdrawn: the citizen withdrew an invitation.
type InvitationWithdrawn struct {
	ParticipantID uuid.UUID `json:"participant_id"`
}

// ParticipantSuggested: a participant suggested someone; only the citizen can invite them.
type ParticipantSuggested struct {
	SuggestionID  uuid.UUID       `json:"suggestion_id"`
	ParticipantID uuid.UUID       `json:"participant_id,omitzero"`
	Name          string          `json:"name"`
	Kind          ParticipantKind `json:"kind"`
	Service       string          `json:"service,omitempty"`
	Reason        string          `json:"reason,omitempty"`
}

// InvitationAccepted: an invitee said yes.
type InvitationAccepted struct {
	ParticipantID uuid.UUID `json:"participant_id"`
}

// InvitationDeclined: an invitee said no.
type InvitationDeclined struct {
	ParticipantID uuid.UUID `json:"participant_id"`
	Reason        string    `json:"reason,omitempty"`
}

// MeetingScheduled: the citizen chose the time and place for the first time.
type MeetingScheduled struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// MeetingRescheduled: the citizen changed the time or place.
type MeetingRescheduled struct {
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// MeetingHeld: the meeting took place with these people present; the citizen is always one.
type MeetingHeld struct {
	Present []uuid.UUID `json:"present"`
}

// FollowUpRecorded: something was agreed, with who is responsible and by when.
type FollowUpRecorded struct {
	FollowUpID  uuid.UUID `json:"follow_up_id"`
	What        string    `json:"what"`
	Responsible uuid.UUID `json:"responsible"`
	Due         string    `json:"due,omitempty"` // a date, YYYY-MM-DD
}

// FollowUpCompleted: the responsible person (or the citizen) says it was done.
type FollowUpCompleted struct {
	FollowUpID uuid.UUID `json:"follow_up_id"`
}

// MeetingClosed: the meeting is over; NextAgreed says a next meeting was agreed.
type MeetingClosed struct {
	NextAgreed bool `json:"next_agreed"`
}

// MeetingCancelled: the citizen called the meeting off.
type MeetingCancelled struct {
	Reason string `json:"reason,omitempty"`
}

func (MeetingConvened) EventType() string      { return TypeMeetingConvened }
func (AgendaSet) EventType() string            { return TypeAgendaSet }
func (ParticipantInvited) EventType() string   { return TypeParticipantInvited }
func (InvitationWithdrawn) EventType() string  { return TypeInvitationWithdrawn }
func (ParticipantSuggested) EventType() string { return TypeParticipantSuggested }
func (InvitationAccepted) EventType() string   { return TypeInvitationAccepted }
func (InvitationDeclined) EventType() string   { return TypeInvitationDeclined }
func (MeetingScheduled) EventType() string     { return TypeMeetingScheduled }
func (MeetingRescheduled) EventType() string   { return TypeMeetingRescheduled }
func (MeetingHeld) EventType() string          { return TypeMeetingHeld }
func (FollowUpRecorded) EventType() string     { return TypeFollowUpRecorded }
func (FollowUpCompleted) EventType() string    { return TypeFollowUpCompleted }
func (MeetingClosed) EventType() string        { return TypeMeetingClosed }
func (MeetingCancelled) EventType() string     { return TypeMeetingCancelled }

// EventTypes returns the name of every event type the log may hold, sorted.
func EventTypes() []string {
	names := make([]string, 0, len(eventCodecs))
	for n := range eventCodecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// The closed sets the scanner reads into shared strings.
var (
	kindNames  = []string{string(KindProfessional), string(KindNetwork), string(KindRegion), string(KindOther)}
	placeNames = []string{string(PlaceHome), string(PlaceChosen), string(PlaceOffice), string(PlaceOnline)}
)
