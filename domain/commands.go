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
	CmdWithdrawConsent     = "withdraw-consent"
	// The citizen's own aggregate: who may act for them.
	CmdGrantMandate  = "grant-mandate"
	CmdRevokeMandate = "revoke-mandate"
)

var commandOrder = []string{
	CmdConveneMeeting, CmdCitizenSetsAgenda, CmdInviteParticipant, CmdWithdrawInvitation,
	CmdSuggestParticipant, CmdRespondToInvitation, CmdScheduleMeeting, CmdRecordAttendance,
	CmdRecordFollowUp, CmdCompleteFollowUp, CmdCloseMeeting, CmdCancelMeeting, CmdWithdrawConsent,
	CmdGrantMandate, CmdRevokeMandate,
}

// commandInfo describes one command for the registry, the CLI help and the API document.
type commandInfo struct {
	summary string
	new     func() Command
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
	CmdWithdrawConsent:     {"take back the consent to share the meeting with a participant from outside the municipality (citizen or support person)", func() Command { return &WithdrawConsent{} }},
	CmdGrantMandate:        {"give a support person or representative a mandate to act for the citizen (the citizen, or a caseworker on a written power of attorney)", func() Command { return &GrantMandate{} }},
	CmdRevokeMandate:       {"take a mandate back (the citizen, a caseworker on a written revocation, or its holder)", func() Command { return &RevokeMandate{} }},
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
