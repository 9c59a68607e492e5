package domain

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
