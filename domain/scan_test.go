package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fill sets every field of v, so that a field the scanner does not know shows up: as a key it
// refuses, or as a difference from encoding/json.
func fill(t testing.TB, v reflect.Value, text string) {
	switch {
	case v.Type() == reflect.TypeFor[uuid.UUID]():
		v.Set(reflect.ValueOf(uuid.New()))
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.FixedZone("CET", 3600))))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), text)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), text)
		}
	default:
		t.Fatalf("fill: no sample value for %s", v.Type())
	}
}

// samples are commits of every registered event type as EncodeCommit writes them: each with
// every field set (to text), each with every field zero, and all of them in one commit.
func samples(t testing.TB, text string) [][]byte {
	var actor Actor
	fill(t, reflect.ValueOf(&actor).Elem(), text)
	actor.Role = RoleSupport
	var out [][]byte
	var all []Event
	add := func(es ...Event) {
		c := Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: uuid.New(), CitizenID: uuid.New(),
			Actor: actor, At: time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.UTC), Events: es}
		b, err := EncodeCommit(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, e := range everyEventType(t, text) {
		add(e.zero)
		add(e.full)
		all = append(all, e.full)
	}
	add(all...)
	return out
}

// everyEventType is one event of each registered type (in EventTypes order) with every field
// zero, and one with every field set to text.
func everyEventType(t testing.TB, text string) []struct{ zero, full Event } {
	var out []struct{ zero, full Event }
	for _, name := range EventTypes() {
		zero, err := eventCodecs[name].decode(eventCodecs[name].version, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		p := reflect.New(reflect.TypeOf(zero)).Elem()
		fill(t, p, text)
		out = append(out, struct{ zero, full Event }{NewEvent(zero), NewEvent(p.Interface().(EventData))})
	}
	return out
}

// TestScanCommitReadsWhatEncodeCommitWrites: the scanner takes every event type in the form
// EncodeCommit writes (or catching up falls back to encoding/json without anyone noticing), and
// reads it as encoding/json does.
func TestScanCommitReadsWhatEncodeCommitWrites(t *testing.T) {
	for _, b := range samples(t, "Søren Kierkegaards Vej 1") {
		got, ok := scanCommit(b)
		if !ok {
			t.Fatalf("scanner refused %s", b)
		}
		want, err := decodeCommitJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanned %s\ngot  %+v\nwant %+v", b, got, want)
		}
	}
}

// FuzzScanCommit holds the scanner to encoding/json on any input: what it accepts it reads the
// same way, and DecodeCommit answers as encoding/json alone would.
func FuzzScanCommit(f *testing.F) {
	for _, text := range []string{"Mette", `"<&>"`, "\u2028", ""} {
		for _, b := range samples(f, text) {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"v":1,"events":[{"type":"AgendaSet","v":1,"data":{"items":null}}]}`,
		`{"v":01}`, `{"v":1.0}`, `{"v":1e0}`, `{"V":1}`, `{"v":1,"v":1}`, ` {}`, `{} `, `{}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := decodeCommitJSON(b)
		if got, ok := scanCommit(b); ok {
			if werr != nil {
				t.Fatalf("scanner read %q, encoding/json refuses it: %v", b, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("scanned %q\ngot  %+v\nwant %+v", b, got, want)
			}
		}
		got, err := DecodeCommit(b)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeCommit(%q) = %+v, %v; encoding/json: %+v, %v", b, got, err, want, werr)
		}
	})
}

// BenchmarkDecodeCommit compares the scanner with encoding/json on a commit as catching up sees
// most of them.
//
//	go test ./domain -run '^$' -bench DecodeCommit -benchmem
func BenchmarkDecodeCommit(b *testing.B) {
	c := Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: uuid.New(), CitizenID: uuid.New(),
		Actor: Actor{ID: uuid.New(), Role: RoleCitizen}, At: time.Now(),
		Events: []Event{NewEvent(ParticipantInvited{ParticipantID: uuid.New(), Name: "Karin Holm", Kind: KindProfessional, Service: "Jobcenter"})}}
	raw, err := EncodeCommit(c)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name   string
		decode func([]byte) (Commit, error)
	}{{"scanner", DecodeCommit}, {"encoding-json", decodeCommitJSON}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := d.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
