package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// CommitVersion is the version of the commit envelope this code writes.
const CommitVersion = 1

// Commit is what one command decided: its events, written atomically as one message on the
// meeting's subject. Every event in it shares the command id, the acting person and the time.
type Commit struct {
	CommandID uuid.UUID `json:"command_id"`
	Command   string    `json:"command"`
	MeetingID uuid.UUID `json:"meeting_id"`
	CitizenID uuid.UUID `json:"citizen_id"`
	Actor     Actor     `json:"actor"`
	At        time.Time `json:"at"`
	Events    []Event   `json:"events"`
}

// Event is one thing that happened to a meeting. Data is one of the payload types registered in
// versions.go, each defined in the file of its behaviour.
type Event struct {
	Type string    `json:"type"`
	Data EventData `json:"data"`
}

// EventData is an event's payload. Payloads are plain structs; the function that applies them to
// a meeting never fails.
type EventData interface {
	EventType() string
}

// NewEvent wraps a payload as an event.
func NewEvent(d EventData) Event { return Event{Type: d.EventType(), Data: d} }

type commitJSON struct {
	V         int         `json:"v"`
	CommandID uuid.UUID   `json:"command_id"`
	Command   string      `json:"command"`
	MeetingID uuid.UUID   `json:"meeting_id"`
	CitizenID uuid.UUID   `json:"citizen_id"`
	Actor     Actor       `json:"actor"`
	At        time.Time   `json:"at"`
	Events    []eventJSON `json:"events"`
}

type eventJSON struct {
	Type string          `json:"type"`
	V    int             `json:"v"`
	Data json.RawMessage `json:"data"`
}

// EncodeCommit returns the commit as versioned JSON, the form stored in the log.
func EncodeCommit(c Commit) ([]byte, error) {
	// Every command writes one commit, so it is written without reflection (profiles put
	// encoding/json here and in DecodeCommand at a third of a command's CPU), byte for byte as
	// encoding/json writes it: TestEncodeCommitAsJSON and FuzzEncodeCommit hold it to that.
	// Whatever the writer does not know, such as a time out of range or a payload type from
	// outside this package, goes through encoding/json, which writes it or words the error.
	if b, ok := appendCommit(make([]byte, 0, 512), c); ok {
		return b, nil
	}
	return encodeCommitJSON(c)
}

// EncodeEventData writes an event's payload byte for byte as json.Marshal writes it: without
// reflection over encoding/json for the payload types this package registers (every command's
// reply carries its events' payloads), through json.Marshal for anything else.
func EncodeEventData(d EventData) ([]byte, error) {
	if d != nil {
		if codec, ok := eventCodecs[d.EventType()]; ok && reflect.TypeOf(d) == codec.typ {
			w := writer{b: make([]byte, 0, 128)}
			w.fields(reflect.ValueOf(d))
			if !w.bad {
				return w.b, nil
			}
		}
	}
	return json.Marshal(d)
}

// encodeCommitJSON is EncodeCommit through encoding/json: the reference for what a commit looks
// like in the log.
func encodeCommitJSON(c Commit) ([]byte, error) {
	cj := commitJSON{
		V: CommitVersion, CommandID: c.CommandID, Command: c.Command, MeetingID: c.MeetingID,
		CitizenID: c.CitizenID, Actor: c.Actor, At: c.At.UTC(), Events: make([]eventJSON, len(c.Events)),
	}
	for i, e := range c.Events {
		codec, ok := eventCodecs[e.Data.EventType()]
		if !ok {
			return nil, fmt.Errorf("encode event %d: unknown event type %q", i, e.Data.EventType())
		}
		raw, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("encode event %d (%s): %w", i, e.Data.EventType(), err)
		}
		cj.Events[i] = eventJSON{Type: e.Data.EventType(), V: codec.version, Data: raw}
	}
	return json.Marshal(cj)
}

// DecodeCommit reads a commit written by any version of this service, upcasting old event shapes
// to the current ones. An unknown envelope version or event type is an error: the log is never
// read past in silence.
func DecodeCommit(b []byte) (Commit, error) {
	// Catching up reads every commit in the log: the form EncodeCommit writes is read without
	// reflection (encoding/json was a quarter of a catch-up's CPU; docs/benchmarks.md, "The JSON
	// codec", has the figures). Anything else,
	// including every malformed commit, goes through encoding/json, which says what is wrong.
	if c, ok := scanCommit(b); ok {
		return c, nil
	}
	return decodeCommitJSON(b)
}

// decodeCommitJSON is DecodeCommit through encoding/json: the reference for what a commit means.
func decodeCommitJSON(b []byte) (Commit, error) {
	var cj commitJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return Commit{}, fmt.Errorf("decode commit: %w", err)
	}
	if cj.V < 1 || cj.V > CommitVersion {
		return Commit{}, fmt.Errorf("decode commit: unknown envelope version %d", cj.V)
	}
	if cj.MeetingID == uuid.Nil || cj.CitizenID == uuid.Nil {
		return Commit{}, fmt.Errorf("decode commit: meeting_id and citizen_id are required")
	}
	if len(cj.Events) == 0 {
		return Commit{}, fmt.Errorf("decode commit: no events")
	}
	c := Commit{
		CommandID: cj.CommandID, Command: cj.Command, MeetingID: cj.MeetingID, CitizenID: cj.CitizenID,
		Actor: cj.Actor, At: cj.At, Events: make([]Event, len(cj.Events)),
	}
	for i, ej := range cj.Events {
		codec, ok := eventCodecs[ej.Type]
		if !ok {
			return Commit{}, fmt.Errorf("decode event %d: unknown event type %q", i, ej.Type)
		}
		if ej.V < 1 || ej.V > codec.version {
			return Commit{}, fmt.Errorf("decode event %d (%s): unknown version %d", i, ej.Type, ej.V)
		}
		d, err := codec.decode(ej.V, ej.Data)
		if err != nil {
			return Commit{}, fmt.Errorf("decode event %d (%s v%d): %w", i, ej.Type, ej.V, err)
		}
		c.Events[i] = Event{Type: ej.Type, Data: d}
	}
	return c, nil
}
