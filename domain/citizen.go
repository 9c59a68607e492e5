package domain

import (
	"encoding/json"
	"fmt"
	"time"
	_ "time/tzdata" // the end of a mandate's last day is Danish midnight on any machine

	"github.com/google/uuid"
)

// Citizen is the aggregate beside Meeting that holds what a citizen decided about who may act
// for them: the mandates they gave (forvaltningsloven § 8). One subject per citizen in the log
// (dialog.citizens.<citizen-id>). Its state changes only by applying commits; Decide says what
// a command would add without changing it.
type Citizen struct {
	id       uuid.UUID
	mandates map[uuid.UUID]Mandate // by the person given the mandate; revoked ones removed
	history  []MandateChange
	commits  int
}

// Mandate is a mandate that was given and not taken back. It may have run out (Until).
type Mandate struct {
	Person uuid.UUID   `json:"person_id"`
	Kind   MandateKind `json:"kind"`
	Name   string      `json:"name,omitempty"`
	// Until is the last day (YYYY-MM-DD, Danish time) the mandate stands; "" until revoked.
	Until     string    `json:"until,omitempty"`
	Evidence  Evidence  `json:"evidence"`
	Document  string    `json:"document,omitempty"`
	GrantedAt time.Time `json:"granted_at"`
	GrantedBy uuid.UUID `json:"granted_by"`
	// Meetings limits the mandate to these meetings; empty: all the citizen's meetings.
	Meetings []uuid.UUID `json:"meeting_ids,omitempty"`
}

// MandateChange is one grant or revocation as the citizen's list of mandates shows it.
type MandateChange struct {
	At       time.Time   `json:"at"`
	By       Actor       `json:"by"`
	Person   uuid.UUID   `json:"person_id"`
	Granted  bool        `json:"granted"`
	Kind     MandateKind `json:"kind,omitempty"`
	Until    string      `json:"until,omitempty"`
	Evidence Evidence    `json:"evidence"`
	Meetings []uuid.UUID `json:"meeting_ids,omitempty"`
}

// danishTime is where a mandate's last day ends.
var danishTime = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil { // impossible: time/tzdata is embedded
		return time.UTC
	}
	return loc
}()

// StandsAt reports whether the mandate stands at time now: it was not revoked (a revoked one is
// not kept) and its last day has not passed in Danish time.
func (m Mandate) StandsAt(now time.Time) bool {
	if m.Until == "" {
		return true
	}
	last, err := time.ParseInLocation(time.DateOnly, m.Until, danishTime)
	if err != nil {
		return false // never written: GrantMandate.Validate checks the date
	}
	return now.Before(last.AddDate(0, 0, 1))
}

// ID returns the citizen's id, uuid.Nil before their first commit.
func (c *Citizen) ID() uuid.UUID { return c.id }

// Commits returns how many commits were applied.
func (c *Citizen) Commits() int { return c.commits }

// Mandate returns the mandate person holds from the citizen and whether it stands at now.
func (c *Citizen) Mandate(person uuid.UUID, now time.Time) (Mandate, bool) {
	m, ok := c.mandates[person]
	if !ok {
		return Mandate{}, false
	}
	return m, m.StandsAt(now)
}

// Mandates returns the mandates given and not revoked, expired ones included, in no order.
func (c *Citizen) Mandates() []Mandate {
	out := make([]Mandate, 0, len(c.mandates))
	for _, m := range c.mandates {
		out = append(out, m)
	}
	return out
}

// History returns every grant and revocation in the order they were recorded.
func (c *Citizen) History() []MandateChange { return append([]MandateChange(nil), c.history...) }

// CitizenCommand is a command to a citizen's own aggregate rather than a meeting: it names the
// citizen (or leaves it to the command service to take the acting citizen's id).
type CitizenCommand interface {
	Command
	CitizenID() uuid.UUID
	// ForCitizen returns the command with the citizen set.
	ForCitizen(citizen uuid.UUID) CitizenCommand
}

// CitizenCommit is what one command to the citizen's aggregate decided, written atomically as
// one message on the citizen's subject.
type CitizenCommit struct {
	CommandID uuid.UUID `json:"command_id"`
	Command   string    `json:"command"`
	CitizenID uuid.UUID `json:"citizen_id"`
	Actor     Actor     `json:"actor"`
	At        time.Time `json:"at"`
	Events    []Event   `json:"events"`
}

// Apply folds one commit into the state. It never fails: the commit was decided on this state.
func (c *Citizen) Apply(cc CitizenCommit) {
	if c.mandates == nil {
		c.mandates = map[uuid.UUID]Mandate{}
	}
	c.id = cc.CitizenID
	c.commits++
	for _, e := range cc.Events {
		switch d := e.Data.(type) {
		case MandateGranted:
			c.mandates[d.Person] = Mandate{Person: d.Person, Kind: d.Kind, Name: d.Name, Until: d.Until,
				Evidence: d.Evidence, Document: d.Document, GrantedAt: cc.At, GrantedBy: cc.Actor.ID, Meetings: d.Meetings}
			c.history = append(c.history, MandateChange{At: cc.At, By: cc.Actor, Person: d.Person, Granted: true, Kind: d.Kind, Until: d.Until,
				Evidence: d.Evidence, Meetings: d.Meetings})
		case MandateRevoked:
			delete(c.mandates, d.Person)
			c.history = append(c.history, MandateChange{At: cc.At, By: cc.Actor, Person: d.Person, Evidence: d.Evidence})
		}
	}
}

// MaxCitizenCommits bounds the commits on one citizen's subject, as MaxCommits does a meeting's.
const MaxCitizenCommits = 1000

// Decide says which events the command adds to the citizen's aggregate when the actor gives it
// at time now. The checks come in the order Meeting.Decide has: the command itself, roles that
// never command, this actor for this citizen, the state.
func (c *Citizen) Decide(a Actor, cmd CitizenCommand, now time.Time) ([]Event, error) {
	if cmd == nil {
		return nil, FieldErrorf("command", "is missing")
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	if err := id("citizen_id", cmd.CitizenID()); err != nil {
		return nil, FieldErrorf("citizen_id", "is missing: name the citizen whose mandate it is")
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Role == RoleEvaluator || a.Role == RoleAdmin {
		return nil, Errorf(Forbidden, "%ss give no commands about a citizen's mandates", a.Role)
	}
	if c.commits >= MaxCitizenCommits {
		return nil, Errorf(Conflict, "the citizen's mandates have been changed %d times, the most allowed", MaxCitizenCommits)
	}
	switch x := cmd.(type) {
	case *GrantMandate:
		return c.grant(a, x, now)
	case *RevokeMandate:
		return c.revoke(a, x, now)
	}
	return nil, FieldErrorf("command", "unknown command %T", cmd)
}

// CitizenCommitVersion is the version of the citizen commit envelope this code writes.
const CitizenCommitVersion = 1

type citizenCommitJSON struct {
	V         int         `json:"v"`
	CommandID uuid.UUID   `json:"command_id"`
	Command   string      `json:"command"`
	CitizenID uuid.UUID   `json:"citizen_id"`
	Actor     Actor       `json:"actor"`
	At        time.Time   `json:"at"`
	Events    []eventJSON `json:"events"`
}

// EncodeCitizenCommit returns the commit as versioned JSON, the form stored in the log. Mandates
// change rarely, so it goes through encoding/json.
func EncodeCitizenCommit(cc CitizenCommit) ([]byte, error) {
	cj := citizenCommitJSON{V: CitizenCommitVersion, CommandID: cc.CommandID, Command: cc.Command, CitizenID: cc.CitizenID,
		Actor: cc.Actor, At: cc.At.UTC(), Events: make([]eventJSON, len(cc.Events))}
	for i, e := range cc.Events {
		codec, ok := citizenEventCodecs[e.Data.EventType()]
		if !ok {
			return nil, fmt.Errorf("encode event %d: unknown citizen event type %q", i, e.Data.EventType())
		}
		raw, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("encode event %d (%s): %w", i, e.Data.EventType(), err)
		}
		cj.Events[i] = eventJSON{Type: e.Data.EventType(), V: codec.version, Data: raw}
	}
	return json.Marshal(cj)
}

// DecodeCitizenCommit reads a citizen commit written by any version of this service, upcasting
// old event shapes. An unknown version or event type is an error.
func DecodeCitizenCommit(b []byte) (CitizenCommit, error) {
	var cj citizenCommitJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return CitizenCommit{}, fmt.Errorf("decode citizen commit: %w", err)
	}
	if cj.V < 1 || cj.V > CitizenCommitVersion {
		return CitizenCommit{}, fmt.Errorf("decode citizen commit: unknown envelope version %d", cj.V)
	}
	if cj.CitizenID == uuid.Nil {
		return CitizenCommit{}, fmt.Errorf("decode citizen commit: citizen_id is required")
	}
	if len(cj.Events) == 0 {
		return CitizenCommit{}, fmt.Errorf("decode citizen commit: no events")
	}
	cc := CitizenCommit{CommandID: cj.CommandID, Command: cj.Command, CitizenID: cj.CitizenID, Actor: cj.Actor, At: cj.At,
		Events: make([]Event, len(cj.Events))}
	for i, ej := range cj.Events {
		codec, ok := citizenEventCodecs[ej.Type]
		if !ok {
			return CitizenCommit{}, fmt.Errorf("decode event %d: unknown citizen event type %q", i, ej.Type)
		}
		if ej.V < 1 || ej.V > codec.version {
			return CitizenCommit{}, fmt.Errorf("decode event %d (%s): unknown version %d", i, ej.Type, ej.V)
		}
		d, err := codec.decode(ej.V, ej.Data)
		if err != nil {
			return CitizenCommit{}, fmt.Errorf("decode event %d (%s v%d): %w", i, ej.Type, ej.V, err)
		}
		cc.Events[i] = Event{Type: ej.Type, Data: d}
	}
	return cc, nil
}
