package domain

import (
	"encoding/json"
	"reflect"
	"slices"

	"github.com/aabendialog/aabendialog/internal/wire"
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
	TypeConsentWithdrawn     = "ConsentWithdrawn"

	// The citizen aggregate's events (citizen.go, mandate.go).
	TypeMandateGranted = "MandateGranted"
	TypeMandateRevoked = "MandateRevoked"
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
	TypeConsentWithdrawn:     current[ConsentWithdrawn](),
}

// citizenEventCodecs registers the citizen aggregate's payload types, as eventCodecs does the
// meeting's.
var citizenEventCodecs = map[string]eventCodec{
	TypeMandateGranted: current[MandateGranted](),
	TypeMandateRevoked: current[MandateRevoked](),
}

// CitizenEventTypes returns the name of every event type a citizen's subject may hold, sorted.
func CitizenEventTypes() []string {
	names := make([]string, 0, len(citizenEventCodecs))
	for n := range citizenEventCodecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// EventTypes returns the name of every event type the log may hold, sorted.
func EventTypes() []string {
	names := make([]string, 0, len(eventCodecs))
	for n := range eventCodecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// eventCodec knows one event type's current version and how to read every version of it.
type eventCodec struct {
	name    string
	version int
	decode  func(v int, raw json.RawMessage) (EventData, error)
	// scan reads the current version as EncodeCommit writes it; nil leaves it to decode.
	scan func(r *wire.Reader) EventData
	// typ is the payload type of the current version, which EncodeCommit writes by its fields.
	typ reflect.Type
}

// current is the codec for an event type that has had only one shape so far; the scanner reads
// that shape by the payload's struct fields.
func current[T EventData]() eventCodec {
	var zero T
	keys := structKeys(reflect.TypeFor[T]())
	return eventCodec{name: zero.EventType(), version: 1, typ: reflect.TypeFor[T](),
		scan: func(r *wire.Reader) EventData {
			var d T
			readFields(r, reflect.ValueOf(&d).Elem(), keys)
			return d
		},
		decode: func(_ int, raw json.RawMessage) (EventData, error) { return decodeAs[T](raw) }}
}

// decodeAs reads the current shape of a payload strictly.
func decodeAs[T EventData](raw json.RawMessage) (EventData, error) {
	var d T
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return d, nil
}
