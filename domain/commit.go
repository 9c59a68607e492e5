package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	scan func(s *scanner) EventData
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
		scan: func(s *scanner) EventData {
			var d T
			s.fields(reflect.ValueOf(&d).Elem(), keys)
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

// fields reads an object into the struct v, whose fields' JSON keys are keys. A null leaves its
// field as it is, as encoding/json does; a field of a type the scanner does not read is bad.
func (s *scanner) fields(v reflect.Value, keys []string) {
	s.object(keys, func(k int) {
		if s.null() {
			return
		}
		switch p := v.Field(k).Addr().Interface().(type) {
		case *uuid.UUID:
			*p = s.uuid()
		case *string:
			*p = s.str()
		case *ParticipantKind:
			*p = ParticipantKind(s.known(kindNames))
		case *PlaceKind:
			*p = PlaceKind(s.known(placeNames))
		case *time.Time:
			*p = s.time()
		case *bool:
			*p = s.bool()
		case *[]string:
			*p = s.strings()
		case *[]uuid.UUID:
			*p = s.uuids()
		default:
			s.bad = true
		}
	})
}

// scanner reads JSON in the form encoding/json writes it: compact, with no escapes in strings,
// no nulls, and only the keys of the type being read, each once. Anything outside that form sets
// bad, and the caller falls back to encoding/json; so whatever the scanner accepts, it reads
// exactly as encoding/json does (FuzzScanCommit holds it to that).
type scanner struct {
	b   []byte
	i   int
	bad bool
}

// scanCommit reads a commit as EncodeCommit writes it, or reports false.
func scanCommit(b []byte) (Commit, bool) {
	s := scanner{b: b}
	var c Commit
	v := 0
	s.object(commitKeys, func(k int) {
		switch k {
		case 0:
			v = s.int()
		case 1:
			c.CommandID = s.uuid()
		case 2:
			c.Command = s.known(commandOrder)
		case 3:
			c.MeetingID = s.uuid()
		case 4:
			c.CitizenID = s.uuid()
		case 5:
			c.Actor = s.actor()
		case 6:
			c.At = s.time()
		case 7:
			c.Events = s.events()
		}
	})
	// What DecodeCommit refuses is left to encoding/json, which words the error.
	if s.bad || s.i != len(b) || v < 1 || v > CommitVersion || c.MeetingID == uuid.Nil || c.CitizenID == uuid.Nil || len(c.Events) == 0 {
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

func (s *scanner) actor() Actor {
	var a Actor
	s.object(actorKeys, func(k int) {
		switch k {
		case 0:
			a.ID = s.uuid()
		case 1:
			a.Role = Role(s.known(roleNames))
		case 2:
			a.Service = s.str()
		case 3:
			a.OnBehalfOf = s.uuid()
		}
	})
	return a
}

func (s *scanner) events() []Event {
	var es []Event
	s.array(func() { es = append(es, s.event()) })
	return es
}

// event reads one event of the current version of a known type; its type and version must come
// before its payload, as EncodeCommit writes them.
func (s *scanner) event() Event {
	var e Event
	var codec eventCodec
	v := 0
	s.object(eventKeys, func(k int) {
		switch k {
		case 0:
			name := s.span()
			var ok bool
			if codec, ok = eventCodecs[string(name)]; !ok || codec.name != string(name) {
				s.bad = true
			}
			e.Type = codec.name
		case 1:
			v = s.int()
		case 2:
			if codec.scan == nil || v != codec.version {
				s.bad = true
				return
			}
			e.Data = codec.scan(s)
		}
	})
	if e.Data == nil {
		s.bad = true
	}
	return e
}

// object reads an object whose keys are among keys, calling value with each key's index when
// the scanner stands at its value. A key outside keys, or one seen twice, is bad.
func (s *scanner) object(keys []string, value func(k int)) {
	if !s.next('{') {
		s.bad = true
		return
	}
	if s.next('}') {
		return
	}
	var seen uint64
	for !s.bad {
		name := s.span()
		k := index(keys, name)
		if s.bad || k < 0 || seen&(1<<k) != 0 || !s.next(':') {
			s.bad = true
			return
		}
		seen |= 1 << k
		value(k)
		if !s.next(',') {
			s.expect('}')
			return
		}
	}
}

// array reads an array, calling elem when the scanner stands at each element.
func (s *scanner) array(elem func()) {
	if !s.next('[') {
		s.bad = true
		return
	}
	if s.next(']') {
		return
	}
	for !s.bad {
		elem()
		if !s.next(',') {
			s.expect(']')
			return
		}
	}
}

func (s *scanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) expect(c byte) {
	if !s.next(c) {
		s.bad = true
	}
}

// span reads a string and returns the bytes between its quotes: valid UTF-8 with no escapes and
// no control characters, which encoding/json would keep as they are.
func (s *scanner) span() []byte {
	if s.bad || !s.next('"') {
		s.bad = true
		return nil
	}
	start, ascii := s.i, true
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(out) {
				s.bad = true
			}
			return out
		case c == '\\' || c < 0x20:
			s.bad = true
			return nil
		case c >= 0x80:
			ascii = false
		}
	}
	s.bad = true
	return nil
}

func (s *scanner) str() string { return string(s.span()) }

// known reads a string, sharing the memory of the one in names it equals.
func (s *scanner) known(names []string) string {
	b := s.span()
	if i := index(names, b); i >= 0 {
		return names[i]
	}
	return string(b)
}

func index(names []string, b []byte) int {
	for i, n := range names {
		if string(b) == n {
			return i
		}
	}
	return -1
}

// null reads a null, which encoding/json reads into a slice as nil.
func (s *scanner) null() bool {
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) strings() []string {
	if s.null() {
		return nil
	}
	out := []string{} // as encoding/json reads [], not nil
	s.array(func() { out = append(out, s.str()) })
	return out
}

func (s *scanner) uuid() uuid.UUID {
	var id uuid.UUID
	if b := s.span(); s.bad || id.UnmarshalText(b) != nil {
		s.bad = true
	}
	return id
}

func (s *scanner) uuids() []uuid.UUID {
	if s.null() {
		return nil
	}
	out := []uuid.UUID{}
	s.array(func() { out = append(out, s.uuid()) })
	return out
}

func (s *scanner) time() time.Time {
	var t time.Time
	start := s.i
	if s.span(); s.bad || t.UnmarshalJSON(s.b[start:s.i]) != nil {
		s.bad = true
	}
	return t
}

// int reads a small non-negative integer, written without sign, fraction or exponent.
func (s *scanner) int() int {
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if d := s.i - start; d == 0 || d > 9 || (d > 1 && s.b[start] == '0') {
		s.bad = true
	}
	return n
}

func (s *scanner) bool() bool {
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
	default:
		s.bad = true
	}
	return false
}

// writer writes JSON in the form encoding/json writes it: compact, keys in struct order, strings
// escaped as json.Marshal escapes them (HTML characters included). What it cannot write as
// encoding/json would sets bad, and the caller falls back to encoding/json.
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
			list(w, x, w.str)
		case []uuid.UUID:
			list(w, x, w.uuid)
		default:
			switch f.Kind() {
			case reflect.String:
				w.str(f.String())
			case reflect.Bool:
				w.bool(f.Bool())
			default:
				w.bad = true
			}
		}
	}
	w.b = append(w.b, '}')
}

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) uuid(id uuid.UUID) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			w.b = append(w.b, '-')
		}
		w.b = append(w.b, hex[c>>4], hex[c&0xF])
	}
	w.b = append(w.b, '"')
}

// list writes xs as a JSON array (null when nil, as encoding/json writes a nil slice), each
// element by item.
func list[T any](w *writer, xs []T, item func(T)) {
	if xs == nil {
		w.raw("null")
		return
	}
	w.b = append(w.b, '[')
	for i, x := range xs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		item(x)
	}
	w.b = append(w.b, ']')
}

// time writes t as time.Time.MarshalJSON does; a time it refuses (a year outside 0 to 9999, an
// offset of a day or more) is bad.
func (w *writer) time(t time.Time) {
	w.b = append(w.b, '"')
	b, err := t.AppendText(w.b)
	if err != nil {
		w.bad = true
		return
	}
	w.b = append(b, '"')
}

func (w *writer) bool(v bool) {
	if v {
		w.raw("true")
	} else {
		w.raw("false")
	}
}

// str writes s as json.Marshal does: HTML characters, control characters, U+2028 and U+2029
// escaped, and each byte of invalid UTF-8 replaced by \ufffd.
func (w *writer) str(s string) {
	const hex = "0123456789abcdef"
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}
