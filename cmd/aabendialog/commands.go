package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
)

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// verb is one command-line verb that sends a meeting command.
type verb struct {
	name  string
	usage string
	// flags declares the verb's own flags and returns a function that builds the command once
	// they are parsed, and the id it generated for the user to keep (or uuid.Nil).
	flags func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error)
	// done says in a few words what happened.
	done string
}

// fieldFlags maps the command's JSON fields to the flags that set them, so the server's errors
// name the flag the user typed.
var fieldFlags = map[string]string{
	"meeting_id": "--meeting", "citizen_id": "--citizen", "participant_id": "--participant", "items": "--item",
	"present": "--present", "follow_up_id": "--follow-up", "responsible": "--responsible", "what": "--what",
	"due": "--due", "at": "--at", "place": "--place", "address": "--address", "name": "--name", "kind": "--kind",
	"service": "--service", "reason": "--reason", "title": "--title", "person_id": "--person", "until": "--until",
	"document": "--document", "consent_version": "--consent", "meeting_ids": "--meeting",
}

// ids reads the id flags of one command. An empty flag is uuid.Nil, which the server names as
// missing; the first malformed one is kept to be reported, naming its flag.
type ids struct{ err error }

func (p *ids) id(flagName, s string) uuid.UUID {
	if s == "" || p.err != nil {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		p.err = fmt.Errorf("--%s: %q is not a UUID like 0190a4c2-6f1e-7c3a-9d2b-5e8f0a1b2c3d", flagName, s)
	}
	return id
}

func meetingFlag(fs *flag.FlagSet) *string {
	return fs.String("meeting", "", "the meeting's id (required)")
}

func verbs() []verb {
	return []verb{
		{name: domain.CmdConveneMeeting, usage: "--citizen ID [--title TEXT] [--meeting ID]", done: "Meeting convened.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				citizen := fs.String("citizen", "", "the citizen's id (required): the citizen whose meeting it is")
				title := fs.String("title", "", "a title the citizen chooses")
				meeting := fs.String("meeting", "", "the new meeting's id (default: a new random id, printed)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.ConveneMeeting{Meeting: p.id("meeting", *meeting), Citizen: p.id("citizen", *citizen), Title: *title}
					if c.Meeting == uuid.Nil {
						c.Meeting = uuid.New()
					}
					return c, c.Meeting, p.err
				}
			}},
		{name: domain.CmdCitizenSetsAgenda, usage: "--meeting ID --item TEXT [--item TEXT ...]", done: "Agenda set.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				var items stringList
				fs.Var(&items, "item", "an agenda item in the citizen's own words (repeat for more)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.CitizenSetsAgenda{Meeting: p.id("meeting", *m), Items: items}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdInviteParticipant, usage: "--meeting ID (--participant ID | --email ADDRESS) --name TEXT --kind professional|network|region|other [--service TEXT] [--consent VERSION]", done: "Participant invited.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				pid := fs.String("participant", "", "the invitee's id (from the directory: aabendialog directory)")
				email := fs.String("email", "", "instead of --participant: the invitee's e-mail address; notices go to it, and the invitation binds to whoever first signs in with it verified")
				name := fs.String("name", "", "the invitee's name (required)")
				kind := fs.String("kind", "", "professional, network, region or other (required)")
				service := fs.String("service", "", "the service or centre a professional comes from")
				consent := fs.String("consent", "", "region and other only: the version of the consent text the citizen agreed to, to share this meeting with the invitee (today's: "+domain.ConsentTextVersion+")")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.InviteParticipant{Meeting: p.id("meeting", *m), Name: *name, Kind: domain.ParticipantKind(*kind), Service: *service, Email: *email, ConsentVersion: *consent}
					if *email == "" || *pid != "" {
						c.Participant = p.id("participant", *pid)
					}
					return c, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdWithdrawInvitation, usage: "--meeting ID --participant ID", done: "Invitation withdrawn.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				pid := fs.String("participant", "", "the invitee's id (required)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.WithdrawInvitation{Meeting: p.id("meeting", *m), Participant: p.id("participant", *pid)}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdWithdrawConsent, usage: "--meeting ID --participant ID", done: "Consent withdrawn: the participant no longer sees the meeting.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				pid := fs.String("participant", "", "the participant invited with the citizen's consent (required)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.WithdrawConsent{Meeting: p.id("meeting", *m), Participant: p.id("participant", *pid)}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdSuggestParticipant, usage: "--meeting ID --name TEXT --kind KIND [--service TEXT] [--participant ID] [--reason TEXT]", done: "Suggestion sent to the citizen.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				name := fs.String("name", "", "who you suggest (required)")
				kind := fs.String("kind", "", "professional, network, region or other (required)")
				service := fs.String("service", "", "their service or centre")
				pid := fs.String("participant", "", "their id, if known")
				reason := fs.String("reason", "", "why they should come")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.SuggestParticipant{Meeting: p.id("meeting", *m), Suggestion: uuid.New(), Participant: p.id("participant", *pid),
						Name: *name, Kind: domain.ParticipantKind(*kind), Service: *service, Reason: *reason}
					return c, c.Suggestion, p.err
				}
			}},
		{name: domain.CmdRespondToInvitation, usage: "--meeting ID (--accept | --decline [--reason TEXT])", done: "Answer sent.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				accept := fs.Bool("accept", false, "accept the invitation")
				decline := fs.Bool("decline", false, "decline the invitation")
				reason := fs.String("reason", "", "why you decline")
				return func() (domain.Command, uuid.UUID, error) {
					if *accept == *decline {
						return nil, uuid.Nil, usageError("give one of --accept and --decline")
					}
					var p ids
					return &domain.RespondToInvitation{Meeting: p.id("meeting", *m), Accept: *accept, Reason: *reason}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdScheduleMeeting, usage: "--meeting ID --at RFC3339 --place home|chosen|office|online [--address TEXT]", done: "Time and place set.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				at := fs.String("at", "", "when, as RFC 3339: 2026-12-01T10:00:00+01:00 (required)")
				place := fs.String("place", "", "home, chosen, office or online (required)")
				address := fs.String("address", "", "where: required for a place the citizen chose")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.ScheduleMeeting{Meeting: p.id("meeting", *m), Place: domain.PlaceKind(*place), Address: *address}
					if *at != "" {
						t, err := time.Parse(time.RFC3339, *at)
						if err != nil {
							return nil, uuid.Nil, fmt.Errorf("--at: %q is not an RFC 3339 time like 2026-12-01T10:00:00+01:00", *at)
						}
						c.At = t
					}
					return c, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdRecordAttendance, usage: "--meeting ID --present ID [--present ID ...]", done: "Attendance recorded; the meeting is held.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				var present stringList
				fs.Var(&present, "present", "the id of someone who was there, the citizen first of all (repeat for more)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.RecordAttendance{Meeting: p.id("meeting", *m)}
					for _, s := range present {
						c.Present = append(c.Present, p.id("present", s))
					}
					return c, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdRecordFollowUp, usage: "--meeting ID --what TEXT --responsible ID [--due YYYY-MM-DD]", done: "Follow-up recorded.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				what := fs.String("what", "", "what was agreed (required)")
				resp := fs.String("responsible", "", "the id of who is responsible: the citizen or a participant who was there (required)")
				due := fs.String("due", "", "by when, as YYYY-MM-DD")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.RecordFollowUp{Meeting: p.id("meeting", *m), FollowUp: uuid.New(), What: *what,
						Responsible: p.id("responsible", *resp), Due: *due}
					return c, c.FollowUp, p.err
				}
			}},
		{name: domain.CmdCompleteFollowUp, usage: "--meeting ID --follow-up ID", done: "Follow-up marked done.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				f := fs.String("follow-up", "", "the follow-up's id (required)")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.CompleteFollowUp{Meeting: p.id("meeting", *m), FollowUp: p.id("follow-up", *f)}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdCloseMeeting, usage: "--meeting ID [--next-agreed]", done: "Meeting closed.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				next := fs.Bool("next-agreed", false, "a next meeting was agreed")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.CloseMeeting{Meeting: p.id("meeting", *m), NextAgreed: *next}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdCancelMeeting, usage: "--meeting ID [--reason TEXT]", done: "Meeting cancelled.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				m := meetingFlag(fs)
				reason := fs.String("reason", "", "why")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.CancelMeeting{Meeting: p.id("meeting", *m), Reason: *reason}, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdGrantMandate, usage: "--person ID --kind support|representative [--name TEXT] [--until DATE] [--meeting ID ...] [--citizen ID --document REF]", done: "Mandate given.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				person := fs.String("person", "", "the id of the person given the mandate (required)")
				kind := fs.String("kind", "", "support (bisidder: at your side; cannot consent for you to share with the region or others) or representative (partsrepræsentant: acts in your place) (required)")
				name := fs.String("name", "", "their name, as you know them")
				until := fs.String("until", "", "the last day it stands, as YYYY-MM-DD (default: until you take it back)")
				var meetings stringList
				fs.Var(&meetings, "meeting", "limit the mandate to this meeting of yours (repeat for more; default: all your meetings)")
				citizen := fs.String("citizen", "", "a caseworker: the citizen whose written power of attorney this is (a citizen leaves it out)")
				document := fs.String("document", "", "a caseworker: the reference (journal number) of the citizen's written power of attorney")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					c := &domain.GrantMandate{Citizen: p.id("citizen", *citizen), Person: p.id("person", *person), Kind: domain.MandateKind(*kind),
						Name: *name, Until: *until, Document: *document}
					for _, s := range meetings {
						c.Meetings = append(c.Meetings, p.id("meeting", s))
					}
					return c, uuid.Nil, p.err
				}
			}},
		{name: domain.CmdRevokeMandate, usage: "--person ID [--citizen ID --document REF]", done: "Mandate taken back.",
			flags: func(fs *flag.FlagSet) func() (domain.Command, uuid.UUID, error) {
				person := fs.String("person", "", "the id of the person whose mandate ends (required)")
				citizen := fs.String("citizen", "", "a caseworker, or the holder giving it up: the citizen whose mandate it is")
				document := fs.String("document", "", "a caseworker: the reference of the citizen's written revocation")
				return func() (domain.Command, uuid.UUID, error) {
					var p ids
					return &domain.RevokeMandate{Citizen: p.id("citizen", *citizen), Person: p.id("person", *person), Document: *document}, uuid.Nil, p.err
				}
			}},
	}
}

// clientFlags are the flags every client verb shares.
type clientFlags struct {
	server, token, commandID string
	json                     bool
	timeout                  time.Duration
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	c := &clientFlags{}
	fs.StringVar(&c.server, "server", envOr("AABENDIALOG_SERVER", "http://127.0.0.1:8080"), "the server's HTTP address (env AABENDIALOG_SERVER)")
	fs.StringVar(&c.token, "token", envOr("AABENDIALOG_TOKEN", ""), "your token, from \"aabendialog token\" or your identity provider (env AABENDIALOG_TOKEN)")
	fs.BoolVar(&c.json, "json", false, "print the server's reply as JSON")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long to wait for the server")
	return c
}

// client checks that a token was given and returns a client for the server; hint says whose
// token is needed.
func (cf *clientFlags) client(hint string) (*httpapi.Client, error) {
	if cf.token == "" {
		return nil, usageError("no token: %s", hint)
	}
	return &httpapi.Client{Server: cf.server, Token: cf.token, HTTP: &http.Client{}}, nil
}

const tokenHint = "give --token or set AABENDIALOG_TOKEN (\"aabendialog token\" issues one)"

func (v verb) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(v.name, v.name+" "+v.usage+" [--json] [--server URL] [--token TOKEN] [--command-id ID]", stderr)
	cf := addClientFlags(fs)
	fs.StringVar(&cf.commandID, "command-id", "", "the command's id, to retry a command safely (default: a new UUIDv7)")
	build := v.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	cmd, generated, err := build()
	if err != nil {
		return err
	}
	id := uuid.Must(uuid.NewV7())
	if cf.commandID != "" {
		if id, err = uuid.Parse(cf.commandID); err != nil {
			return usageError("--command-id %q is not a UUID", cf.commandID)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	client, err := cf.client(tokenHint)
	if err != nil {
		return err
	}
	reply, err := client.Command(ctx, id, cmd)
	if err != nil {
		var ae *httpapi.APIError
		if errors.As(err, &ae) && ae.Field != "" {
			if f, ok := fieldFlags[ae.Field]; ok {
				ae.Field = f
			}
		}
		if cf.json && ae != nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(command.ErrorBody{Error: ae.ErrorDetail})
		}
		return err
	}
	if cf.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reply)
	}
	switch {
	case v.name == domain.CmdConveneMeeting:
		fmt.Fprintln(stdout, reply.MeetingID)
	case generated != uuid.Nil:
		fmt.Fprintln(stdout, generated)
	}
	note := ""
	if reply.Duplicate {
		note = " It had been done before with this command id; nothing new was written."
	}
	if reply.CitizenID != uuid.Nil {
		fmt.Fprintf(stderr, "%s Citizen %s, sequence %d.%s\n", v.done, reply.CitizenID, reply.Sequence, note)
		return nil
	}
	fmt.Fprintf(stderr, "%s Meeting %s, sequence %d.%s\n", v.done, reply.MeetingID, reply.Sequence, note)
	return nil
}

// runSignOut revokes the caller's token: from then on every server process refuses it.
func runSignOut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sign-out", "sign-out [--server URL] [--token TOKEN] [--json]", stderr)
	cf := addClientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client(tokenHint)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	if err := c.Post(ctx, "/api/v1/sign-out", nil); err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(map[string]bool{"signed_out": true})
	}
	fmt.Fprintln(stdout, "Signed out: the token no longer works anywhere.")
	return nil
}
