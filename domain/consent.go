package domain

import "github.com/google/uuid"

// Consent to share (forvaltningsloven § 28, stk. 2–4): inviting someone from outside the
// municipality's own services (the region, another authority, a private party) passes the
// meeting's information to them, which needs the citizen's express, specific and informed
// consent. The invitation records the version of the text the citizen agreed to; the citizen
// can withdraw it, which takes the participant's access to the meeting away from then on.

// ConsentTextVersion names the consent text the pages show today (ConsentText). A changed text
// gets a new version; invitations keep the version their citizen saw.
const ConsentTextVersion = "samtykke-2026-12"

// ConsentText is what the citizen agrees to, in plain Danish, by version.
var ConsentText = map[string]string{
	ConsentTextVersion: "Jeg giver samtykke til, at kommunen deler oplysningerne om dette møde med den, jeg inviterer: " +
		"mødets titel, dagsorden, tid og sted, hvem der er inviteret, og de aftaler, der bliver skrevet ned. " +
		"Samtykket gælder kun dette møde og denne person. Jeg kan trække det tilbage når som helst; " +
		"så kan personen ikke længere se mødet.",
}

// NeedsConsent reports whether inviting someone of kind shares the meeting outside the
// municipality's own services: the region and others do; the municipality's professionals and
// the citizen's own network do not.
func NeedsConsent(kind ParticipantKind) bool { return kind == KindRegion || kind == KindOther }

// consentVersion checks the consent an invitation of kind records.
func consentVersion(kind ParticipantKind, version string) error {
	switch {
	case NeedsConsent(kind) && version == "":
		return FieldErrorf("consent_version", "is missing: inviting someone from the region or another authority shares the meeting with them, which needs the citizen's consent to the text of version %s", ConsentTextVersion).Because(RuleConsentNeeded)
	case !NeedsConsent(kind) && version != "":
		return FieldErrorf("consent_version", "is only given when inviting someone from the region or another authority")
	case version != "" && ConsentText[version] == "":
		return FieldErrorf("consent_version", "%q is not a consent text; the current one is %s", version, ConsentTextVersion)
	}
	return nil
}

// WithdrawConsent takes back the citizen's consent to share the meeting with a participant from
// outside the municipality: from then on they cannot see the meeting or act in it. It may be
// given at any time, also after the meeting is closed.
type WithdrawConsent struct {
	Meeting     uuid.UUID `json:"meeting_id"`
	Participant uuid.UUID `json:"participant_id"`
}

// CommandName implements Command.
func (*WithdrawConsent) CommandName() string { return CmdWithdrawConsent }

// MeetingID implements Command.
func (c *WithdrawConsent) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *WithdrawConsent) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("participant_id", c.Participant))
}

// ConsentWithdrawn: the citizen took back their consent to share the meeting with a participant.
type ConsentWithdrawn struct {
	ParticipantID uuid.UUID `json:"participant_id"`
}

// EventType implements EventData.
func (ConsentWithdrawn) EventType() string { return TypeConsentWithdrawn }

func (m *Meeting) withdrawConsent(a Actor, c *WithdrawConsent) ([]Event, error) {
	if err := m.citizenOnly(a, "withdraw a consent to share"); err != nil {
		return nil, err
	}
	p := m.participantRef(c.Participant)
	if p == nil || p.ConsentVersion == "" {
		return nil, Errorf(NotFound, "%s was not invited with the citizen's consent to share", c.Participant).Because(RuleNoConsent)
	}
	if p.ConsentWithdrawn {
		return nil, Errorf(Conflict, "the consent to share with %s is already withdrawn", c.Participant).Because(RuleConsentWithdrawn)
	}
	return one(ConsentWithdrawn{ParticipantID: c.Participant}), nil
}

func (m *Meeting) applyConsentWithdrawn(_ Commit, e ConsentWithdrawn) {
	if p := m.participantRef(e.ParticipantID); p != nil {
		p.ConsentWithdrawn = true
	}
}
