package domain

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/internal/wire"
)

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

// The closed sets the scanner reads into shared strings.
var (
	kindNames  = []string{string(KindProfessional), string(KindNetwork), string(KindRegion), string(KindOther)}
	placeNames = []string{string(PlaceHome), string(PlaceChosen), string(PlaceOffice), string(PlaceOnline)}
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
