// Package command carries out commands: it loads a meeting, lets the domain decide, appends the
// commit, and answers with the reply every transport sends back. Status maps every error to the
// status all transports answer with.
package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/trace"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/internal/wire"
)

// Log is what command handling needs of the log.
type Log interface {
	Load(ctx context.Context, meetingID uuid.UUID) (eventstore.Loaded, error)
	Cached(meetingID uuid.UUID) (eventstore.Loaded, bool)
	Append(ctx context.Context, c domain.Commit, expected uint64) (eventstore.Appended, error)
	CommitAt(ctx context.Context, seq uint64) (eventstore.Recorded, error)
}

// Observer counts commands for the metrics.
type Observer interface {
	// ObserveCommand counts a handled command by name and outcome, with its duration.
	ObserveCommand(name, outcome string, d time.Duration)
	// Conflict counts an append refused because the meeting changed since it was loaded.
	Conflict()
}

// Reply is the answer to a command, the same over NATS, HTTP and the CLI.
type Reply struct {
	MeetingID uuid.UUID `json:"meeting_id"`
	// CitizenID names the citizen of a command to their own aggregate (grant-mandate,
	// revoke-mandate), whose MeetingID is the nil UUID.
	CitizenID uuid.UUID `json:"citizen_id,omitzero"`
	CommandID uuid.UUID `json:"command_id"`
	Command   string    `json:"command"`
	// Sequence is the stream sequence the commit was written at; a query can wait for it.
	Sequence uint64 `json:"sequence"`
	// Duplicate is true when the command id had been handled before: the reply is the first one
	// and nothing new was written.
	Duplicate bool         `json:"duplicate"`
	Events    []ReplyEvent `json:"events"`
}

// ReplyEvent is one event the command wrote.
type ReplyEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Service handles commands: load the meeting, let the domain decide, append the commit.
// A concurrency conflict reloads and decides again a few times before it is answered as one.
type Service struct {
	log       Log
	now       func() time.Time
	metrics   Observer
	conflicts int

	// Services is the catalogue invitations and suggestions name their service from; New sets
	// the embedded default, serve the municipality's.
	Services *domain.Catalogue
	// Addresses finds or reserves the person an e-mail address belongs to, for invitations by
	// address; nil refuses them (the embedded default has no sign-in that verifies addresses).
	Addresses Addresses
	// Citizens is the log of the citizens' own aggregates: their mandates. A support actor is
	// honoured only while a mandate recorded there stands; nil refuses every support actor and
	// every command about mandates.
	Citizens CitizenLog
}

// CitizenLog is what the command service needs of the citizens' log (eventstore.Citizens).
type CitizenLog interface {
	Load(ctx context.Context, citizen uuid.UUID) (eventstore.LoadedCitizen, error)
	Append(ctx context.Context, c domain.CitizenCommit, expected uint64) (eventstore.Appended, error)
	CommitAt(ctx context.Context, seq uint64) (domain.CitizenCommit, error)
}

// Addresses is the people directory as invitations by e-mail address use it (auth.People).
type Addresses interface {
	Reserve(ctx context.Context, email string) (uuid.UUID, error)
}

// New returns a service writing to log. now is the clock; metrics may be nil.
func New(log Log, now func() time.Time, metrics Observer) *Service {
	return &Service{log: log, now: now, metrics: metrics, conflicts: 8, Services: domain.DefaultCatalogue()}
}

// Handle carries out the command for the actor. commandID makes it idempotent: the same id again
// returns the first reply and writes nothing. Errors are domain errors (with their kind) or
// failures of the log.
func (s *Service) Handle(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command) (Reply, error) {
	start := time.Now()
	r, err := s.handle(ctx, actor, commandID, cmd)
	if s.metrics != nil && cmd != nil {
		s.metrics.ObserveCommand(cmd.CommandName(), outcome(r, err), time.Since(start))
	}
	return r, err
}

func (s *Service) handle(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command) (Reply, error) {
	if commandID == uuid.Nil {
		return Reply{}, domain.FieldErrorf("command_id", "is missing")
	}
	if cmd == nil {
		return Reply{}, domain.FieldErrorf("command", "is missing")
	}
	if err := cmd.Validate(); err != nil {
		return Reply{}, err
	}
	if err := s.Services.Check(cmd); err != nil {
		return Reply{}, err
	}
	m, err := s.StandingMandate(ctx, actor)
	if err != nil {
		return Reply{}, err
	}
	if err := m.Allows(cmd); err != nil {
		return Reply{}, err
	}
	if cc, ok := cmd.(domain.CitizenCommand); ok {
		return s.handleCitizen(ctx, actor, commandID, cc)
	}
	if inv, ok := cmd.(*domain.InviteParticipant); ok && inv.Email != "" {
		if inv.Participant != uuid.Nil {
			return Reply{}, domain.FieldErrorf("email", "give participant_id or email, not both")
		}
		if s.Addresses == nil {
			return Reply{}, domain.FieldErrorf("email", "invitations by e-mail address need the people directory, which this service was started without; give participant_id")
		}
		// The same address is the same person every time, so a retried command finds the
		// person its first attempt reserved.
		pid, err := s.Addresses.Reserve(ctx, inv.Email)
		if err != nil {
			return Reply{}, fmt.Errorf("invitation by e-mail address: %w", err)
		}
		byID := *inv
		byID.Participant, byID.Email = pid, ""
		cmd = &byID
	}
	trusted := true // the first load may take the cache's state unchecked
	for conflicts := 0; ; {
		region := trace.StartRegion(ctx, "load")
		l, checked, err := s.load(ctx, cmd, trusted)
		region.End()
		if err != nil {
			return Reply{}, err
		}
		trusted = false
		if seq, ok := l.CommandSeq(commandID); ok {
			return s.first(ctx, actor, commandID, cmd, seq)
		}
		now := s.now().UTC()
		region = trace.StartRegion(ctx, "decide")
		events, err := l.Meeting.Decide(actor, cmd, now)
		region.End()
		if err != nil && !checked {
			// Refused on a state another process may have moved past (an invitation this
			// process has not seen): only the log's latest state may refuse.
			continue
		}
		if err != nil {
			return Reply{}, err
		}
		citizen := l.Meeting.CitizenID()
		if c, ok := cmd.(*domain.ConveneMeeting); ok {
			citizen = c.Citizen
		}
		commit := domain.Commit{
			CommandID: commandID, Command: cmd.CommandName(), MeetingID: cmd.MeetingID(), CitizenID: citizen,
			Actor: actor, At: now, Events: events,
		}
		region = trace.StartRegion(ctx, "append")
		a, err := s.log.Append(ctx, commit, l.Seq)
		region.End()
		if errors.Is(err, eventstore.ErrConcurrentUpdate) {
			if s.metrics != nil {
				s.metrics.Conflict()
			}
			if conflicts < s.conflicts {
				// Someone else changed the meeting: decide again on what they wrote.
				if err := backOff(ctx, conflicts); err != nil {
					return Reply{}, err
				}
				conflicts++
				continue
			}
		}
		if err != nil {
			return Reply{}, err
		}
		if a.Duplicate {
			return s.first(ctx, actor, commandID, cmd, a.Seq)
		}
		return reply(commit, a.Seq, false)
	}
}

// load returns the meeting to decide on, and whether the log was asked that it is the latest.
// While trusted, it takes the cache's state without asking (one round trip less), and a meeting
// being convened that is not cached to be new: the append's expected-sequence check and the claim
// of the meeting id refuse a write decided on a stale state, and handle asks the log before it
// answers with a refusal.
func (s *Service) load(ctx context.Context, cmd domain.Command, trusted bool) (eventstore.Loaded, bool, error) {
	if trusted {
		if l, ok := s.log.Cached(cmd.MeetingID()); ok {
			return l, false, nil
		}
		if _, ok := cmd.(*domain.ConveneMeeting); ok {
			return eventstore.Loaded{Meeting: &domain.Meeting{}}, false, nil
		}
	}
	l, err := s.log.Load(ctx, cmd.MeetingID())
	return l, true, err
}

// first answers a repeated command id with the reply to its first write, if it really is the
// same command from the same person.
func (s *Service) first(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command, seq uint64) (Reply, error) {
	r, err := s.log.CommitAt(ctx, seq)
	if err != nil {
		return Reply{}, err
	}
	c := r.Commit
	if c.CommandID != commandID || c.Command != cmd.CommandName() || c.MeetingID != cmd.MeetingID() || c.Actor.ID != actor.ID {
		return Reply{}, domain.Errorf(domain.Conflict, "command id %s was already used for another command; use a new id", commandID)
	}
	return reply(c, seq, true)
}

// StandingMandate returns the mandate a support actor acts on now, read from the log, or refuses
// them: a support actor is honoured only while a mandate recorded there stands, checked on
// every command and, through this method, every read. Other actors get the zero Mandate, which
// limits nothing. The read side uses it to keep a support person to the meetings their mandate
// covers.
func (s *Service) StandingMandate(ctx context.Context, a domain.Actor) (domain.Mandate, error) {
	if a.Role != domain.RoleSupport {
		return domain.Mandate{}, nil
	}
	if s.Citizens == nil {
		return domain.Mandate{}, domain.Errorf(domain.Forbidden, "this service keeps no mandates, so it honours no support person's token").Because(domain.RuleNoMandate)
	}
	l, err := s.Citizens.Load(ctx, a.OnBehalfOf)
	if err != nil {
		return domain.Mandate{}, err
	}
	return l.Citizen.StandingMandate(a, s.now())
}

func reply(c domain.Commit, seq uint64, duplicate bool) (Reply, error) {
	r := Reply{MeetingID: c.MeetingID, CommandID: c.CommandID, Command: c.Command, Sequence: seq, Duplicate: duplicate,
		Events: make([]ReplyEvent, len(c.Events))}
	for i, e := range c.Events {
		data, err := domain.EncodeEventData(e.Data)
		if err != nil {
			return Reply{}, fmt.Errorf("reply: %w", err)
		}
		r.Events[i] = ReplyEvent{Type: e.Type, Data: data}
	}
	return r, nil
}

// AppendReply appends r as JSON, byte for byte what json.Marshal writes, without reflection: the
// reply is what every command sends back, and marshalling it (again validating the events' JSON)
// was a visible part of a command's CPU. It writes with internal/wire, whose Append functions
// write as json.Marshal does (TestAppendReplyAsJSON).
func AppendReply(b []byte, r Reply) []byte {
	b = append(b, `{"meeting_id":`...)
	b = wire.AppendUUID(b, r.MeetingID)
	if r.CitizenID != uuid.Nil {
		b = append(b, `,"citizen_id":`...)
		b = wire.AppendUUID(b, r.CitizenID)
	}
	b = append(b, `,"command_id":`...)
	b = wire.AppendUUID(b, r.CommandID)
	b = append(b, `,"command":`...)
	b = wire.AppendString(b, r.Command)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, r.Sequence, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, r.Duplicate)
	b = append(b, `,"events":`...)
	b = wire.AppendArray(b, r.Events, appendReplyEvent)
	return append(b, '}')
}

func appendReplyEvent(b []byte, e ReplyEvent) []byte {
	b = append(b, `{"type":`...)
	b = wire.AppendString(b, e.Type)
	b = append(b, `,"data":`...)
	if e.Data == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Data...) // json.Marshal's own output: already valid and compact
	}
	return append(b, '}')
}

// outcome names how a command ended, for metrics.
func outcome(r Reply, err error) string {
	switch {
	case err == nil && r.Duplicate:
		return "duplicate"
	case err == nil:
		return "ok"
	case errors.Is(err, auth.ErrUnauthenticated):
		return "unauthenticated"
	}
	if k := domain.KindOf(err); k != "" {
		return string(k)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "error"
}
