package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// MandateKind is what a mandate lets its holder do (forvaltningsloven § 8). It is a closed set.
type MandateKind string

// The kinds of mandate.
const (
	// MandateSupport is a bisidder: at the citizen's side, seeing their meetings, history and
	// follow-ups and helping with the meetings' arrangements, but not deciding for them what
	// only the citizen or a representative may: consent to share with the region or another
	// authority (forvaltningsloven § 28).
	MandateSupport MandateKind = "support"
	// MandateRepresentative is a partsrepræsentant: takes over the citizen's powers in their
	// meetings, as the citizen would act, consent to share included.
	MandateRepresentative MandateKind = "representative"
)

// Evidence is what a mandate's grant or revocation rests on. It is a closed set.
type Evidence string

// The kinds of evidence.
const (
	// EvidenceSignIn: the citizen gave or took back the mandate themself, signed in.
	EvidenceSignIn Evidence = "citizen_sign_in"
	// EvidencePowerOfAttorney: a caseworker recorded the citizen's written power of attorney (or
	// its written revocation), whose reference the event keeps.
	EvidencePowerOfAttorney Evidence = "power_of_attorney"
	// EvidenceRenounced: the holder gave up the mandate themself.
	EvidenceRenounced Evidence = "holder_renounced"
)

// MaxDocument bounds the reference of a written power of attorney (a journal number).
const MaxDocument = 200

// MaxMandateMeetings bounds the meetings one mandate can be limited to.
const MaxMandateMeetings = 50

// GrantMandate gives a person a mandate to act for the citizen.
type GrantMandate struct {
	// Citizen is whose mandate it is; a citizen may leave it out (it is then their own).
	Citizen uuid.UUID   `json:"citizen_id,omitzero"`
	Person  uuid.UUID   `json:"person_id"`
	Kind    MandateKind `json:"kind"`
	Name    string      `json:"name,omitempty"`
	// Until is the last day the mandate stands (YYYY-MM-DD); empty: until it is revoked.
	Until string `json:"until,omitempty"`
	// Document is the reference of the citizen's written power of attorney, which a caseworker
	// must give when recording a mandate for the citizen.
	Document string `json:"document,omitempty"`
	// Meetings, when given, limits the mandate to these meetings of the citizen: its holder sees
	// and acts on them alone (a bisidder for one meeting). Empty: all the citizen's meetings.
	Meetings []uuid.UUID `json:"meeting_ids,omitempty"`
}

// CommandName implements Command.
func (*GrantMandate) CommandName() string { return CmdGrantMandate }

// MeetingID implements Command: a mandate is the citizen's, not a meeting's.
func (*GrantMandate) MeetingID() uuid.UUID { return uuid.Nil }

// CitizenID implements CitizenCommand.
func (c *GrantMandate) CitizenID() uuid.UUID { return c.Citizen }

// ForCitizen implements CitizenCommand.
func (c *GrantMandate) ForCitizen(citizen uuid.UUID) CitizenCommand {
	x := *c
	x.Citizen = citizen
	return &x
}

// Validate implements Command.
func (c *GrantMandate) Validate() error {
	if err := firstError(id("person_id", c.Person), mandateKind(c.Kind), text("name", c.Name, false, MaxName),
		text("document", c.Document, false, MaxDocument)); err != nil {
		return err
	}
	if c.Until != "" {
		if _, err := time.Parse(time.DateOnly, c.Until); err != nil {
			return FieldErrorf("until", "%q is not a date like 2027-06-30", c.Until)
		}
	}
	if len(c.Meetings) > MaxMandateMeetings {
		return FieldErrorf("meeting_ids", "names %d meetings, at most %d", len(c.Meetings), MaxMandateMeetings)
	}
	for i, m := range c.Meetings {
		if m == uuid.Nil {
			return FieldErrorf("meeting_ids", "meeting %d is empty", i+1)
		}
		if slices.Contains(c.Meetings[:i], m) {
			return FieldErrorf("meeting_ids", "names meeting %s twice", m)
		}
	}
	return nil
}

// RevokeMandate takes a person's mandate back.
type RevokeMandate struct {
	Citizen uuid.UUID `json:"citizen_id,omitzero"`
	Person  uuid.UUID `json:"person_id"`
	// Document is the reference of the citizen's written revocation, for a caseworker.
	Document string `json:"document,omitempty"`
}

// CommandName implements Command.
func (*RevokeMandate) CommandName() string { return CmdRevokeMandate }

// MeetingID implements Command: a mandate is the citizen's, not a meeting's.
func (*RevokeMandate) MeetingID() uuid.UUID { return uuid.Nil }

// CitizenID implements CitizenCommand.
func (c *RevokeMandate) CitizenID() uuid.UUID { return c.Citizen }

// ForCitizen implements CitizenCommand.
func (c *RevokeMandate) ForCitizen(citizen uuid.UUID) CitizenCommand {
	x := *c
	x.Citizen = citizen
	return &x
}

// Validate implements Command.
func (c *RevokeMandate) Validate() error {
	return firstError(id("person_id", c.Person), text("document", c.Document, false, MaxDocument))
}

// MandateGranted: the citizen gave Person a mandate, on the evidence named.
type MandateGranted struct {
	Person   uuid.UUID   `json:"person_id"`
	Kind     MandateKind `json:"kind"`
	Name     string      `json:"name,omitempty"`
	Until    string      `json:"until,omitempty"`
	Evidence Evidence    `json:"evidence"`
	Document string      `json:"document,omitempty"`
	// Meetings limits the mandate to these meetings; empty (and in every grant written before
	// the field existed): all the citizen's meetings.
	Meetings []uuid.UUID `json:"meeting_ids,omitempty"`
}

// EventType implements EventData.
func (MandateGranted) EventType() string { return TypeMandateGranted }

// MandateRevoked: Person's mandate ended, on the evidence named.
type MandateRevoked struct {
	Person   uuid.UUID `json:"person_id"`
	Evidence Evidence  `json:"evidence"`
	Document string    `json:"document,omitempty"`
}

// EventType implements EventData.
func (MandateRevoked) EventType() string { return TypeMandateRevoked }

func mandateKind(k MandateKind) error {
	switch k {
	case MandateSupport, MandateRepresentative:
		return nil
	case "":
		return FieldErrorf("kind", "is missing: use support or representative")
	}
	return FieldErrorf("kind", "%q is not a kind of mandate: use support (bisidder) or representative (partsrepræsentant)", k)
}

// evidence says what a grant or revocation by a rests on: the citizen's own sign-in, or a
// caseworker's record of a written document. Anyone else is refused: a mandate is the
// citizen's to give, never a support person's to pass on.
func evidence(a Actor, citizen uuid.UUID, document, what string) (Evidence, error) {
	switch {
	case a.Role == RoleCitizen && a.ID == citizen:
		return EvidenceSignIn, nil
	case a.Role == RoleCitizen:
		return "", Errorf(Forbidden, "a citizen can %s only for themself", what).Because(RuleMandateNotYours)
	case a.Role == RoleProfessional && document == "":
		return "", Errorf(Forbidden, "a caseworker can %s only on the citizen's written power of attorney: give its reference in document", what).Because(RuleMandateNeedsDocument)
	case a.Role == RoleProfessional:
		return EvidencePowerOfAttorney, nil
	}
	return "", Errorf(Forbidden, "only the citizen, or a caseworker on the citizen's written power of attorney, can %s", what).Because(RuleMandateNotYours)
}

func (c *Citizen) grant(a Actor, g *GrantMandate, now time.Time) ([]Event, error) {
	ev, err := evidence(a, g.Citizen, g.Document, "give a mandate")
	if err != nil {
		return nil, err
	}
	if g.Person == g.Citizen {
		return nil, FieldErrorf("person_id", "is the citizen; a mandate is given to someone else")
	}
	e := MandateGranted{Person: g.Person, Kind: g.Kind, Name: g.Name, Until: g.Until, Evidence: ev, Document: g.Document, Meetings: g.Meetings}
	if g.Until != "" && !(Mandate{Until: g.Until}).StandsAt(now) {
		return nil, FieldErrorf("until", "%s has passed; give a day from today on", g.Until)
	}
	if m, ok := c.Mandate(g.Person, now); ok && m.Kind == g.Kind && m.Until == g.Until && m.Name == g.Name && sameMeetings(m.Meetings, g.Meetings) {
		return nil, Errorf(Conflict, "this person already holds this mandate").Because(RuleMandateHeld)
	}
	return one(e), nil
}

func (c *Citizen) revoke(a Actor, r *RevokeMandate, now time.Time) ([]Event, error) {
	var ev Evidence
	if a.Role == RoleSupport && a.ID == r.Person && a.OnBehalfOf == r.Citizen {
		ev = EvidenceRenounced // the holder may give it up; that takes nothing from the citizen
	} else {
		var err error
		if ev, err = evidence(a, r.Citizen, r.Document, "take back a mandate"); err != nil {
			return nil, err
		}
	}
	if _, ok := c.mandates[r.Person]; !ok {
		return nil, Errorf(Conflict, "person %s holds no mandate from this citizen", r.Person).Because(RuleNoMandate)
	}
	return one(MandateRevoked{Person: r.Person, Evidence: ev, Document: r.Document}), nil
}

// CheckMandate refuses a support actor whose mandate from the citizen they name does not stand
// at now, with a message that says why; any other actor passes. It is checked on every command
// and every read, by the command service and the read side.
func (c *Citizen) CheckMandate(a Actor, now time.Time) error {
	_, err := c.StandingMandate(a, now)
	return err
}

// StandingMandate returns the mandate a support actor acts on, refusing one that does not stand
// at now with a message that says why. Any other actor gets the zero Mandate, which Allows and
// Covers treat as no limit.
func (c *Citizen) StandingMandate(a Actor, now time.Time) (Mandate, error) {
	if a.Role != RoleSupport {
		return Mandate{}, nil
	}
	m, ok := c.mandates[a.ID]
	switch {
	case !ok:
		return Mandate{}, Errorf(Forbidden, "you act for citizen %s, but they have not given you a mandate (or took it back); ask them to give you one", a.OnBehalfOf).Because(RuleNoMandate)
	case !m.StandsAt(now):
		return Mandate{}, Errorf(Forbidden, "your mandate from citizen %s ran out on %s; ask them for a new one", a.OnBehalfOf, m.Until).Because(RuleMandateExpired)
	}
	return m, nil
}

// Covers reports whether the mandate reaches the meeting: every meeting when it names none.
func (m Mandate) Covers(meeting uuid.UUID) bool {
	return len(m.Meetings) == 0 || slices.Contains(m.Meetings, meeting)
}

// Allows refuses a command the mandate does not reach: a meeting outside the meetings it is
// limited to (and so a new meeting, when it is limited), or the citizen's consent to share,
// which a bisidder cannot give. The zero Mandate (not a support actor) allows everything;
// commands to the citizen's own aggregate are Citizen.Decide's to judge.
func (m Mandate) Allows(cmd Command) error {
	if m.Person == uuid.Nil {
		return nil
	}
	if _, ok := cmd.(CitizenCommand); ok {
		return nil
	}
	if len(m.Meetings) > 0 {
		if _, ok := cmd.(*ConveneMeeting); ok {
			return Errorf(Forbidden, "your mandate covers only some of the citizen's meetings, so it does not let you convene a new one").Because(RuleMandateScope)
		}
		if !m.Covers(cmd.MeetingID()) {
			return Errorf(Forbidden, "your mandate does not cover meeting %s; the citizen limited it to other meetings", cmd.MeetingID()).Because(RuleMandateScope)
		}
	}
	if inv, ok := cmd.(*InviteParticipant); ok && m.Kind == MandateSupport && NeedsConsent(inv.Kind) {
		return Errorf(Forbidden, "a bisidder cannot give the citizen's consent to share the meeting with someone from outside the municipality; the citizen, or a representative (partsrepræsentant), must invite them").Because(RuleConsentNotBisidder)
	}
	return nil
}

func sameMeetings(a, b []uuid.UUID) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(m uuid.UUID) bool { return !slices.Contains(b, m) })
}
