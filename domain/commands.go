package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/internal/wire"
)

// Command is something a person asks of a meeting. Its name is the CLI verb and the NATS subject
// suffix (dialog.cmd.<name>). Validate checks what can be checked without the meeting's state.
type Command interface {
	CommandName() string
	MeetingID() uuid.UUID
	Validate() error
}

// Limits on what a command may carry. They keep the log and the pages sane, and they are the
// numbers the error messages name.
const (
	MaxTitle       = 200
	MaxAgendaItems = 30
	MaxAgendaItem  = 1000
	MaxName        = 200
	MaxService     = 200
	MaxAddress     = 500
	MaxReason      = 1000
	MaxWhat        = 2000
	MaxPresent     = 100
	// MaxParticipants bounds the people ever invited to one meeting, withdrawn invitations
	// included (re-inviting one of them does not count again): the services read model keeps
	// pairs of services per citizen, so a meeting's invitations are what a report's cost grows
	// with, and any citizen could otherwise inflate it.
	MaxParticipants = 50
	MaxSuggestions  = 100
	MaxFollowUps    = 200
	// MaxCommits bounds how many commands change one meeting, so that no meeting grows without
	// end (each load and cached append costs time in proportion to it).
	MaxCommits = 1000
)

// ConveneMeeting calls a new meeting for a citizen. The caller chooses the meeting id (a new
// random UUID), so that a retried command names the same meeting.
type ConveneMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Citizen uuid.UUID `json:"citizen_id"`
	Title   string    `json:"title,omitempty"`
}

// CitizenSetsAgenda replaces the agenda with the citizen's own words.
type CitizenSetsAgenda struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Items   []string  `json:"items"`
}

// InviteParticipant invites a professional, someone from the region or the citizen's network.
type InviteParticipant struct {
	Meeting     uuid.UUID       `json:"meeting_id"`
	Participant uuid.UUID       `json:"participant_id"`
	Name        string          `json:"name"`
	Kind        ParticipantKind `json:"kind"`
	Service     string          `json:"service,omitempty"`
}

// WithdrawInvitation takes an invitation back.
type WithdrawInvitation struct {
	Meeting     uuid.UUID `json:"meeting_id"`
	Participant uuid.UUID `json:"participant_id"`
}

// SuggestParticipant lets an invited participant suggest someone; the citizen decides.
type SuggestParticipant struct {
	Meeting     uuid.UUID       `json:"meeting_id"`
	Suggestion  uuid.UUID       `json:"suggestion_id"`
	Participant uuid.UUID       `json:"participant_id,omitzero"`
	Name        string          `json:"name"`
	Kind        ParticipantKind `json:"kind"`
	Service     string          `json:"service,omitempty"`
	Reason      string          `json:"reason,omitempty"`
}

// RespondToInvitation is the invitee's answer.
type RespondToInvitation struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Accept  bool      `json:"accept"`
	Reason  string    `json:"reason,omitempty"`
}

// ScheduleMeeting sets (or changes) the time and place.
type ScheduleMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	At      time.Time `json:"at"`
	Place   PlaceKind `json:"place"`
	Address string    `json:"address,omitempty"`
}

// RecordAttendance says the meeting was held and who was there.
type RecordAttendance struct {
	Meeting uuid.UUID   `json:"meeting_id"`
	Present []uuid.UUID `json:"present"`
}

// RecordFollowUp records what was agreed, who is responsible and by when. The caller chooses the
// follow-up id.
type RecordFollowUp struct {
	Meeting     uuid.UUID `json:"meeting_id"`
	FollowUp    uuid.UUID `json:"follow_up_id"`
	What        string    `json:"what"`
	Responsible uuid.UUID `json:"responsible"`
	Due         string    `json:"due,omitempty"`
}

// CompleteFollowUp says a follow-up was done.
type CompleteFollowUp struct {
	Meeting  uuid.UUID `json:"meeting_id"`
	FollowUp uuid.UUID `json:"follow_up_id"`
}

// CloseMeeting ends a held meeting.
type CloseMeeting struct {
	Meeting    uuid.UUID `json:"meeting_id"`
	NextAgreed bool      `json:"next_agreed"`
}

// CancelMeeting calls a meeting off before it is held.
type CancelMeeting struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Reason  string    `json:"reason,omitempty"`
}

// commandInfo describes one command for the registry, the CLI help and the API document.
type commandInfo struct {
	summary string
	new     func() Command
}

// The command names, in the order a meeting usually meets them.
const (
	CmdConveneMeeting      = "convene-meeting"
	CmdCitizenSetsAgenda   = "citizen-sets-agenda"
	CmdInviteParticipant   = "invite-participant"
	CmdWithdrawInvitation  = "withdraw-invitation"
	CmdSuggestParticipant  = "suggest-participant"
	CmdRespondToInvitation = "respond-to-invitation"
	CmdScheduleMeeting     = "schedule-meeting"
	CmdRecordAttendance    = "record-attendance"
	CmdRecordFollowUp      = "record-follow-up"
	CmdCompleteFollowUp    = "complete-follow-up"
	CmdCloseMeeting        = "close-meeting"
	CmdCancelMeeting       = "cancel-meeting"
)

var commandOrder = []string{
	CmdConveneMeeting, CmdCitizenSetsAgenda, CmdInviteParticipant, CmdWithdrawInvitation,
	CmdSuggestParticipant, CmdRespondToInvitation, CmdScheduleMeeting, CmdRecordAttendance,
	CmdRecordFollowUp, CmdCompleteFollowUp, CmdCloseMeeting, CmdCancelMeeting,
}

var commands = map[string]commandInfo{
	CmdConveneMeeting:      {"call a new meeting for a citizen (citizen or support person)", func() Command { return &ConveneMeeting{} }},
	CmdCitizenSetsAgenda:   {"set the agenda in the citizen's own words (citizen or support person)", func() Command { return &CitizenSetsAgenda{} }},
	CmdInviteParticipant:   {"invite a professional, someone from the region or the citizen's network", func() Command { return &InviteParticipant{} }},
	CmdWithdrawInvitation:  {"take an invitation back (citizen or support person)", func() Command { return &WithdrawInvitation{} }},
	CmdSuggestParticipant:  {"suggest someone to invite; the citizen decides (invited participants)", func() Command { return &SuggestParticipant{} }},
	CmdRespondToInvitation: {"accept or decline an invitation (the invitee)", func() Command { return &RespondToInvitation{} }},
	CmdScheduleMeeting:     {"choose or change the time and place (citizen or support person)", func() Command { return &ScheduleMeeting{} }},
	CmdRecordAttendance:    {"record that the meeting was held and who was there; the citizen must be", func() Command { return &RecordAttendance{} }},
	CmdRecordFollowUp:      {"record what was agreed, who is responsible and by when", func() Command { return &RecordFollowUp{} }},
	CmdCompleteFollowUp:    {"mark a follow-up as done (the person responsible or the citizen)", func() Command { return &CompleteFollowUp{} }},
	CmdCloseMeeting:        {"close a held meeting, noting whether a next one was agreed", func() Command { return &CloseMeeting{} }},
	CmdCancelMeeting:       {"call a meeting off before it is held (citizen or support person)", func() Command { return &CancelMeeting{} }},
}

// CommandNames returns every command name in the order a meeting usually meets them.
func CommandNames() []string { return slices.Clone(commandOrder) }

// CommandSummary returns a one-line description of the command for help texts.
func CommandSummary(name string) string { return commands[name].summary }

// NewCommand returns an empty command of the given name, or false for an unknown name.
func NewCommand(name string) (Command, bool) {
	info, ok := commands[name]
	if !ok {
		return nil, false
	}
	return info.new(), true
}

// DecodeCommand reads a command sent from outside as a JSON object. It is strict: an unknown
// name, an unknown or repeated field, a value of the wrong type — each is an Invalid error naming
// the field. The decoded command is validated before it is returned.
func DecodeCommand(name string, body []byte) (Command, error) {
	cmd, ok := NewCommand(name)
	if !ok {
		return nil, FieldErrorf("command", "unknown command %q; the commands are %s", name, strings.Join(commandOrder, ", "))
	}
	if !scanCommand(body, cmd) {
		if err := decodeStrict(body, cmd); err != nil {
			return nil, err
		}
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// decodeStrict decodes a JSON object field by field into the struct dst points to, so that every
// error can name its field. Keys are walked as tokens, so a repeated key is refused instead of
// silently taking the last value.
func decodeStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return FieldErrorf("body", "is not a JSON object: %s", jsonProblem(err))
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return FieldErrorf("body", "is not a JSON object")
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	known := map[string]int{}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[tag] = i
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return FieldErrorf("body", "is not a JSON object: %s", jsonProblem(err))
		}
		k, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return FieldErrorf("body", "is not a JSON object: %s", jsonProblem(err))
		}
		switch i, ok := known[k]; {
		case k == "":
			return FieldErrorf("body", "has a field with an empty name")
		case !ok:
			return FieldErrorf(k, "is not a field of this command")
		case seen[k]:
			return FieldErrorf(k, "is given twice")
		case bytes.Equal(raw, []byte("null")):
		default:
			if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
				return FieldErrorf(k, "%s", fieldProblem(t.Field(i).Type, err))
			}
		}
		seen[k] = true
	}
	if _, err := dec.Token(); err != nil {
		return FieldErrorf("body", "is not a JSON object: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return FieldErrorf("body", "has more than one JSON value")
	}
	return nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("expected an object, got %s", te.Value)
	}
	return err.Error()
}

func fieldProblem(t reflect.Type, err error) string {
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		return "is not a UUID like 0190a4c2-7e1b-7c3d-9f00-3b8d2c1e4a55"
	case reflect.TypeFor[[]uuid.UUID]():
		return "must be a list of UUIDs"
	case reflect.TypeFor[time.Time]():
		return "is not an RFC 3339 time like 2026-12-01T10:00:00+01:00"
	case reflect.TypeFor[bool]():
		return "must be true or false"
	case reflect.TypeFor[[]string]():
		return "must be a list of texts"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("must be a %s, not a %s", te.Type, te.Value)
	}
	return "has the wrong form"
}

// text checks a one-line field (a title, a name, a service, an address, an agenda item): valid
// UTF-8, no control characters and no line breaks, not blank when required, at most max
// characters.
func text(field, s string, required bool, max int) error {
	return checkText(field, s, required, max, false)
}

// lines checks a free text that may run over several lines (what was agreed, a reason).
func lines(field, s string, required bool, max int) error {
	return checkText(field, s, required, max, true)
}

func checkText(field, s string, required bool, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return FieldErrorf(field, "is not valid UTF-8 text")
	}
	if required && strings.TrimSpace(s) == "" {
		return FieldErrorf(field, "is missing")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return FieldErrorf(field, "is %d characters long; at most %d are allowed", n, max)
	}
	if multiline && !PlainLines(s) {
		return FieldErrorf(field, "contains a control character or a direction mark; only letters, signs, spaces and line breaks are allowed")
	}
	if !multiline && !PlainText(s) {
		return FieldErrorf(field, "contains a line break, a control character or a direction mark; write it on one line")
	}
	return nil
}

// PlainText reports whether s is one line a person could have typed: valid UTF-8 without control
// characters (C0, DEL, C1), line breaks or tabs, and without the bidirectional formatting
// characters that make text read otherwise than it is stored. Names, titles, services and
// addresses must be plain text: a line break in one would forge a row in a listing.
func PlainText(s string) bool { return plain(s, false) }

// PlainLines is PlainText that also allows line breaks and tabs, for free texts such as what
// was agreed at a meeting or a reason.
func PlainLines(s string) bool { return plain(s, true) }

func plain(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			if !multiline {
				return false
			}
		case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL and C1 controls
			return false
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
			return false
		}
	}
	return true
}

func id(field string, v uuid.UUID) error {
	if v == uuid.Nil {
		return FieldErrorf(field, "is missing")
	}
	return nil
}

func participantKind(field string, k ParticipantKind) error {
	switch k {
	case KindProfessional, KindNetwork, KindRegion, KindOther:
		return nil
	case "":
		return FieldErrorf(field, "is missing: use professional, network, region or other")
	}
	return FieldErrorf(field, "%q is not a kind of participant: use professional, network, region or other", k)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CommandName implements Command.
func (*ConveneMeeting) CommandName() string { return CmdConveneMeeting }

// MeetingID implements Command.
func (c *ConveneMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *ConveneMeeting) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("citizen_id", c.Citizen), text("title", c.Title, false, MaxTitle))
}

// CommandName implements Command.
func (*CitizenSetsAgenda) CommandName() string { return CmdCitizenSetsAgenda }

// MeetingID implements Command.
func (c *CitizenSetsAgenda) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CitizenSetsAgenda) Validate() error {
	if err := id("meeting_id", c.Meeting); err != nil {
		return err
	}
	if len(c.Items) == 0 {
		return FieldErrorf("items", "is missing: the agenda needs at least one item")
	}
	if len(c.Items) > MaxAgendaItems {
		return FieldErrorf("items", "has %d items; at most %d are allowed", len(c.Items), MaxAgendaItems)
	}
	for i, it := range c.Items {
		if err := text(fmt.Sprintf("items[%d]", i), it, true, MaxAgendaItem); err != nil {
			return err
		}
	}
	return nil
}

// CommandName implements Command.
func (*InviteParticipant) CommandName() string { return CmdInviteParticipant }

// MeetingID implements Command.
func (c *InviteParticipant) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *InviteParticipant) Validate() error {
	err := firstError(id("meeting_id", c.Meeting), id("participant_id", c.Participant),
		text("name", c.Name, true, MaxName), participantKind("kind", c.Kind), text("service", c.Service, false, MaxService))
	if err == nil && c.Kind == KindProfessional && strings.TrimSpace(c.Service) == "" {
		return FieldErrorf("service", "is missing: a professional comes from a service or centre, name it")
	}
	return err
}

// CommandName implements Command.
func (*WithdrawInvitation) CommandName() string { return CmdWithdrawInvitation }

// MeetingID implements Command.
func (c *WithdrawInvitation) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *WithdrawInvitation) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("participant_id", c.Participant))
}

// CommandName implements Command.
func (*SuggestParticipant) CommandName() string { return CmdSuggestParticipant }

// MeetingID implements Command.
func (c *SuggestParticipant) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *SuggestParticipant) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("suggestion_id", c.Suggestion),
		text("name", c.Name, true, MaxName), participantKind("kind", c.Kind),
		text("service", c.Service, false, MaxService), lines("reason", c.Reason, false, MaxReason))
}

// CommandName implements Command.
func (*RespondToInvitation) CommandName() string { return CmdRespondToInvitation }

// MeetingID implements Command.
func (c *RespondToInvitation) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RespondToInvitation) Validate() error {
	if err := firstError(id("meeting_id", c.Meeting), lines("reason", c.Reason, false, MaxReason)); err != nil {
		return err
	}
	if c.Accept && c.Reason != "" {
		return FieldErrorf("reason", "is only given when declining")
	}
	return nil
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

// CommandName implements Command.
func (*RecordAttendance) CommandName() string { return CmdRecordAttendance }

// MeetingID implements Command.
func (c *RecordAttendance) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RecordAttendance) Validate() error {
	if err := id("meeting_id", c.Meeting); err != nil {
		return err
	}
	if len(c.Present) == 0 {
		return FieldErrorf("present", "is missing: name who was there, the citizen first of all")
	}
	if len(c.Present) > MaxPresent {
		return FieldErrorf("present", "names %d people; at most %d are allowed", len(c.Present), MaxPresent)
	}
	seen := make(map[uuid.UUID]bool, len(c.Present))
	for i, p := range c.Present {
		if err := id(fmt.Sprintf("present[%d]", i), p); err != nil {
			return err
		}
		if seen[p] {
			return FieldErrorf(fmt.Sprintf("present[%d]", i), "names %s twice", p)
		}
		seen[p] = true
	}
	return nil
}

// CommandName implements Command.
func (*RecordFollowUp) CommandName() string { return CmdRecordFollowUp }

// MeetingID implements Command.
func (c *RecordFollowUp) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *RecordFollowUp) Validate() error {
	if err := firstError(id("meeting_id", c.Meeting), id("follow_up_id", c.FollowUp),
		lines("what", c.What, true, MaxWhat), id("responsible", c.Responsible)); err != nil {
		return err
	}
	if c.Due != "" {
		if _, err := time.Parse(time.DateOnly, c.Due); err != nil {
			return FieldErrorf("due", "%q is not a date like 2026-12-24", c.Due)
		}
	}
	return nil
}

// CommandName implements Command.
func (*CompleteFollowUp) CommandName() string { return CmdCompleteFollowUp }

// MeetingID implements Command.
func (c *CompleteFollowUp) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CompleteFollowUp) Validate() error {
	return firstError(id("meeting_id", c.Meeting), id("follow_up_id", c.FollowUp))
}

// CommandName implements Command.
func (*CloseMeeting) CommandName() string { return CmdCloseMeeting }

// MeetingID implements Command.
func (c *CloseMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CloseMeeting) Validate() error { return id("meeting_id", c.Meeting) }

// CommandName implements Command.
func (*CancelMeeting) CommandName() string { return CmdCancelMeeting }

// MeetingID implements Command.
func (c *CancelMeeting) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CancelMeeting) Validate() error {
	return firstError(id("meeting_id", c.Meeting), lines("reason", c.Reason, false, MaxReason))
}

// scanCommand reads a command in the plain form clients send it (no escapes, each key once), as
// decodeStrict would read it, or reports false with dst left zero, leaving
// decodeStrict to read it and word any error.
func scanCommand(body []byte, dst any) bool {
	v := reflect.ValueOf(dst).Elem()
	r := wire.NewReader(body)
	readFields(&r, v, structKeys(v.Type()))
	if !r.End() {
		v.SetZero()
		return false
	}
	return true
}
