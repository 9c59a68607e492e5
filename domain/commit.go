package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/internal/wire"
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

// Event is one thing that happened to a meeting. Data is one of the payload types in events.go.
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

// decodeAs reads the current shape of a payload strictly.
func decodeAs[T EventData](raw json.RawMessage) (EventData, error) {
	var d T
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return d, nil
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

// shape is what the scanner and the writer need of a struct type: its fields' JSON keys in field
// order, and which of them the tags leave out when empty (omitempty) or zero (omitzero).
type shape struct {
	keys                []string
	omitEmpty, omitZero []bool
}

// shapes caches shapeOf by type.
var shapes sync.Map // reflect.Type -> *shape

func shapeOf(t reflect.Type) *shape {
	if sh, ok := shapes.Load(t); ok {
		return sh.(*shape)
	}
	n := t.NumField()
	sh := &shape{keys: make([]string, n), omitEmpty: make([]bool, n), omitZero: make([]bool, n)}
	for i := range n {
		key, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		sh.keys[i] = key
		for _, o := range strings.Split(opts, ",") {
			sh.omitEmpty[i] = sh.omitEmpty[i] || o == "omitempty"
			sh.omitZero[i] = sh.omitZero[i] || o == "omitzero"
		}
	}
	shapes.Store(t, sh)
	return sh
}

// structKeys are the JSON keys of a struct type's fields, in field order, as their tags name them.
func structKeys(t reflect.Type) []string { return shapeOf(t).keys }

// readFields reads an object into the struct v, whose fields' JSON keys are keys. A null leaves
// its field as it is, as encoding/json does; a field of a type this code does not read fails r.
func readFields(r *wire.Reader, v reflect.Value, keys []string) {
	r.Object(keys, func(k int) {
		if r.Null() {
			return
		}
		switch p := v.Field(k).Addr().Interface().(type) {
		case *uuid.UUID:
			*p = readUUID(r)
		case *string:
			*p = r.Str()
		case *ParticipantKind:
			*p = ParticipantKind(r.Known(kindNames))
		case *PlaceKind:
			*p = PlaceKind(r.Known(placeNames))
		case *time.Time:
			*p = r.Time()
		case *bool:
			*p = r.Bool()
		case *[]string:
			*p = r.Strings()
		case *[]uuid.UUID:
			*p = readUUIDs(r)
		default:
			r.Fail()
		}
	})
}

// scanCommit reads a commit as EncodeCommit writes it, or reports false. It reads through
// wire.Reader, which takes only what it reads exactly as encoding/json does (FuzzScanCommit
// holds the mapping to that); anything else is left to decodeCommitJSON.
func scanCommit(b []byte) (Commit, bool) {
	r := wire.NewReader(b)
	var c Commit
	v := 0
	r.Object(commitKeys, func(k int) {
		switch k {
		case 0:
			v = r.Int()
		case 1:
			c.CommandID = readUUID(&r)
		case 2:
			c.Command = r.Known(commandOrder)
		case 3:
			c.MeetingID = readUUID(&r)
		case 4:
			c.CitizenID = readUUID(&r)
		case 5:
			c.Actor = readActor(&r)
		case 6:
			c.At = r.Time()
		case 7:
			c.Events = readEvents(&r)
		}
	})
	// What DecodeCommit refuses is left to encoding/json, which words the error.
	if !r.End() || v < 1 || v > CommitVersion || c.MeetingID == uuid.Nil || c.CitizenID == uuid.Nil || len(c.Events) == 0 {
		return Commit{}, false
	}
	return c, true
}

var (
	commitKeys = []string{"v", "command_id", "command", "meeting_id", "citizen_id", "actor", "at", "events"}
	actorKeys  = []string{"id", "role", "service", "on_behalf_of"}
	eventKeys  = []string{"type", "v", "data"}
	roleNames  = []string{string(RoleCitizen), string(RoleSupport), string(RoleProfessional), string(RoleNetwork), string(RoleEvaluator), string(RoleAdmin)}
)

func readActor(r *wire.Reader) Actor {
	var a Actor
	r.Object(actorKeys, func(k int) {
		switch k {
		case 0:
			a.ID = readUUID(r)
		case 1:
			a.Role = Role(r.Known(roleNames))
		case 2:
			a.Service = r.Str()
		case 3:
			a.OnBehalfOf = readUUID(r)
		}
	})
	return a
}

func readEvents(r *wire.Reader) []Event {
	var es []Event
	r.Array(func() { es = append(es, readEvent(r)) })
	return es
}

// readEvent reads one event of the current version of a known type; its type and version must
// come before its payload, as EncodeCommit writes them.
func readEvent(r *wire.Reader) Event {
	var e Event
	var codec eventCodec
	v := 0
	r.Object(eventKeys, func(k int) {
		switch k {
		case 0:
			name := r.Span()
			var ok bool
			if codec, ok = eventCodecs[string(name)]; !ok || codec.name != string(name) {
				r.Fail()
			}
			e.Type = codec.name
		case 1:
			v = r.Int()
		case 2:
			if codec.scan == nil || v != codec.version {
				r.Fail()
				return
			}
			e.Data = codec.scan(r)
		}
	})
	if e.Data == nil {
		r.Fail()
	}
	return e
}

// readUUID reads a UUID in any form uuid.UUID's UnmarshalText takes, as encoding/json does.
func readUUID(r *wire.Reader) uuid.UUID {
	var id uuid.UUID
	if b := r.Span(); !r.OK() || id.UnmarshalText(b) != nil {
		r.Fail()
	}
	return id
}

// readUUIDs reads a list of UUIDs; null reads as nil and [] as an empty slice, as encoding/json
// reads them.
func readUUIDs(r *wire.Reader) []uuid.UUID {
	if r.Null() {
		return nil
	}
	out := []uuid.UUID{}
	r.Array(func() { out = append(out, readUUID(r)) })
	return out
}

// writer writes JSON in the form encoding/json writes it, through wire's Append functions:
// compact, keys in struct order, strings escaped as json.Marshal escapes them (HTML characters
// included). What it cannot write as encoding/json would sets bad, and the caller falls back to
// encoding/json.
type writer struct {
	b   []byte
	bad bool
}

// appendCommit appends the commit as encodeCommitJSON writes it, or reports false.
func appendCommit(dst []byte, c Commit) ([]byte, bool) {
	w := writer{b: dst}
	w.raw(`{"v":`)
	w.b = strconv.AppendInt(w.b, CommitVersion, 10)
	w.raw(`,"command_id":`)
	w.uuid(c.CommandID)
	w.raw(`,"command":`)
	w.str(c.Command)
	w.raw(`,"meeting_id":`)
	w.uuid(c.MeetingID)
	w.raw(`,"citizen_id":`)
	w.uuid(c.CitizenID)
	w.raw(`,"actor":`)
	w.actor(c.Actor)
	w.raw(`,"at":`)
	w.time(c.At.UTC())
	w.raw(`,"events":[`)
	for i, e := range c.Events {
		if i > 0 {
			w.raw(",")
		}
		w.event(e.Data)
	}
	w.raw("]}")
	return w.b, !w.bad
}

func (w *writer) actor(a Actor) {
	w.raw(`{"id":`)
	w.uuid(a.ID)
	w.raw(`,"role":`)
	w.str(string(a.Role))
	if a.Service != "" {
		w.raw(`,"service":`)
		w.str(a.Service)
	}
	if a.OnBehalfOf != uuid.Nil {
		w.raw(`,"on_behalf_of":`)
		w.uuid(a.OnBehalfOf)
	}
	w.raw("}")
}

// event writes one event of a payload type registered in eventCodecs. A payload of any other
// type (a pointer, say, or nil) is bad, so that encoding/json decides what becomes of it.
func (w *writer) event(d EventData) {
	if d == nil {
		w.bad = true
		return
	}
	name := d.EventType()
	codec, ok := eventCodecs[name]
	if !ok || reflect.TypeOf(d) != codec.typ {
		w.bad = true
		return
	}
	w.raw(`{"type":`)
	w.str(name)
	w.raw(`,"v":`)
	w.b = strconv.AppendInt(w.b, int64(codec.version), 10)
	w.raw(`,"data":`)
	w.fields(reflect.ValueOf(d))
	w.raw("}")
}

// empty is encoding/json's omitempty test for the kinds payloads have.
func empty(f reflect.Value) bool {
	switch f.Kind() {
	case reflect.String, reflect.Slice:
		return f.Len() == 0
	case reflect.Bool:
		return !f.Bool()
	}
	return false
}

// fields writes the struct v as encoding/json does: its fields in order under their tags' keys,
// leaving out what omitempty and omitzero leave out. A field of a type the writer does not know
// is bad.
func (w *writer) fields(v reflect.Value) {
	sh := shapeOf(v.Type())
	w.b = append(w.b, '{')
	first := true
	for i, key := range sh.keys {
		f := v.Field(i)
		if sh.omitZero[i] && f.IsZero() || sh.omitEmpty[i] && empty(f) {
			continue
		}
		if !first {
			w.b = append(w.b, ',')
		}
		first = false
		w.str(key)
		w.b = append(w.b, ':')
		switch x := f.Interface().(type) {
		case uuid.UUID:
			w.uuid(x)
		case time.Time:
			w.time(x)
		case []string:
			w.b = wire.AppendArray(w.b, x, wire.AppendString)
		case []uuid.UUID:
			w.b = wire.AppendArray(w.b, x, appendUUID)
		default:
			switch f.Kind() {
			case reflect.String:
				w.str(f.String())
			case reflect.Bool:
				w.b = strconv.AppendBool(w.b, f.Bool())
			default:
				w.bad = true
			}
		}
	}
	w.b = append(w.b, '}')
}

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) str(s string) { w.b = wire.AppendString(w.b, s) }

func (w *writer) uuid(id uuid.UUID) { w.b = wire.AppendUUID(w.b, id) }

// time writes t as time.Time's MarshalJSON does; a time it refuses (a year outside 0 to 9999, an
// offset of a day or more) is bad.
func (w *writer) time(t time.Time) {
	var err error
	if w.b, err = wire.AppendTime(w.b, t); err != nil {
		w.bad = true
	}
}

func appendUUID(b []byte, id uuid.UUID) []byte { return wire.AppendUUID(b, id) }
