package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// encodeTexts are strings that encoding/json writes with care: HTML characters, quotes and
// backslashes, every kind of control character, U+2028 and U+2029, invalid UTF-8 (alone, cut
// short, and as a surrogate), non-ASCII, and DEL, which it leaves alone.
var encodeTexts = []string{
	"", "Mette", "Søren Kierkegaards Vej 1", `<script>&amp;</script>`, `"quoted" \back\slash/`,
	"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "line\u2028para\u2029end", "\xff", "a\xc3", "\xed\xa0\x80",
	"\xe2\x80", "日本語 🙂", "\ufffd", "æøå ÆØÅ", "tab\tand\nnewline",
}

// encodeCommits are commits of every registered event type: with every field zero, with every
// field set to text, with slices empty rather than nil, all events in one, and no events.
func encodeCommits(t testing.TB, text string, at time.Time) []Commit {
	var actor Actor
	fill(t, reflect.ValueOf(&actor).Elem(), text)
	commit := func(es ...Event) Commit {
		return Commit{CommandID: uuid.New(), Command: text, MeetingID: uuid.New(), CitizenID: uuid.New(),
			Actor: actor, At: at, Events: es}
	}
	var out []Commit
	var all []Event
	for _, e := range everyEventType(t, text) {
		out = append(out, commit(e.zero), commit(e.full))
		all = append(all, e.full)
	}
	out = append(out,
		commit(all...),
		commit(),
		Commit{},
		commit(NewEvent(AgendaSet{Items: []string{}}), NewEvent(MeetingHeld{Present: []uuid.UUID{}})),
		commit(NewEvent(AgendaSet{Items: []string{text, "", text}})),
		commit(NewEvent(MeetingScheduled{At: at, Place: PlaceKind(text)})),
		commit(NewEvent(MeetingClosed{NextAgreed: false}), NewEvent(MeetingCancelled{})),
		commit(NewEvent(ParticipantSuggested{SuggestionID: uuid.New(), Name: text})),
	)
	for i := range out {
		out[i].Actor.Role = Role(text)
	}
	out = append(out, commit(NewEvent(MeetingCancelled{Reason: text})))
	return out
}

var encodeTimes = []time.Time{
	{},
	time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.UTC),
	time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.FixedZone("CET", 3600)),
	time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("", -(9*3600+30*60))),
	time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	time.Now(),
}

// TestEncodeCommitAsJSON holds the writer to encoding/json, byte for byte, on every event type
// and field: the log must not change shape because the code that writes it did.
func TestEncodeCommitAsJSON(t *testing.T) {
	for _, text := range encodeTexts {
		for _, at := range encodeTimes {
			for _, c := range encodeCommits(t, text, at) {
				want, err := encodeCommitJSON(c)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := appendCommit(nil, c)
				if !ok {
					t.Fatalf("writer refused %+v, which encoding/json writes as %s", c, want)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("wrote %+v\ngot  %s\nwant %s", c, got, want)
				}
			}
		}
	}
}

// TestEncodeEventDataAsJSON holds a reply's payloads to json.Marshal, byte for byte, on every
// event type and field, and on a payload type the writer does not know.
func TestEncodeEventDataAsJSON(t *testing.T) {
	for _, text := range encodeTexts {
		for _, at := range encodeTimes {
			for _, c := range encodeCommits(t, text, at) {
				for _, e := range append(c.Events, NewEvent(foreignEvent{Note: text})) {
					want, werr := json.Marshal(e.Data)
					got, err := EncodeEventData(e.Data)
					if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
						t.Fatalf("EncodeEventData(%#v)\ngot  %s, %v\nwant %s, %v", e.Data, got, err, want, werr)
					}
				}
			}
		}
	}
}

// foreignEvent is a payload type the writer does not know.
type foreignEvent struct {
	Note string `json:"note"`
}

// EventType implements EventData.
func (foreignEvent) EventType() string { return TypeMeetingCancelled }

// TestEncodeCommitFallsBack: what the writer cannot write goes to encoding/json, which writes it
// or refuses it as before.
func TestEncodeCommitFallsBack(t *testing.T) {
	ok := Commit{MeetingID: uuid.New(), CitizenID: uuid.New(), Actor: Actor{ID: uuid.New(), Role: RoleCitizen},
		At: time.Now(), Events: []Event{NewEvent(MeetingClosed{NextAgreed: true})}}
	with := func(change func(c *Commit)) Commit {
		c := ok
		c.Events = append([]Event(nil), ok.Events...)
		change(&c)
		return c
	}
	for _, tc := range []struct {
		name    string
		c       Commit
		wantErr bool
	}{
		{"a pointer payload", with(func(c *Commit) { c.Events[0] = NewEvent(&MeetingClosed{NextAgreed: true}) }), false},
		{"a payload from outside the package", with(func(c *Commit) { c.Events[0] = NewEvent(foreignEvent{Note: "<x>"}) }), false},
		{"a commit in the year 10000", with(func(c *Commit) { c.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), true},
		{"a commit before year 0", with(func(c *Commit) { c.At = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }), true},
		{"an event in the year 10000", with(func(c *Commit) {
			c.Events[0] = NewEvent(MeetingScheduled{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Place: PlaceHome})
		}), true},
		{"an offset of a day", with(func(c *Commit) {
			c.Events[0] = NewEvent(MeetingRescheduled{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)), Place: PlaceHome})
		}), true},
		{"an offset in seconds", with(func(c *Commit) {
			c.Events[0] = NewEvent(MeetingRescheduled{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+17)), Place: PlaceHome})
		}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := encodeCommitJSON(tc.c)
			got, err := EncodeCommit(tc.c)
			if (werr != nil) != tc.wantErr {
				t.Fatalf("encoding/json: %v, want an error: %v", werr, tc.wantErr)
			}
			if !bytes.Equal(got, want) || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("EncodeCommit = %s, %v; encoding/json: %s, %v", got, err, want, werr)
			}
		})
	}
}

// FuzzEncodeCommit holds EncodeCommit to encoding/json on any text in any field and any time:
// the same bytes, or the same error.
func FuzzEncodeCommit(f *testing.F) {
	for _, text := range encodeTexts {
		f.Add(text, "Jobcenter", int64(1793955600), int64(123456789), 3600)
	}
	f.Add("a", "b", int64(253402300800), int64(0), 0) // the year 10000
	f.Add("a", "b", int64(-62167219201), int64(0), 0) // before the year 0
	f.Add("a", "b", int64(0), int64(0), 86400)
	f.Fuzz(func(t *testing.T, text, service string, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		for _, c := range encodeCommits(t, text, at) {
			c.Actor.Service = service
			want, werr := encodeCommitJSON(c)
			got, err := EncodeCommit(c)
			if !bytes.Equal(got, want) || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("EncodeCommit(%+v)\ngot  %s, %v\nwant %s, %v", c, got, err, want, werr)
			}
			for _, e := range c.Events {
				want, werr := json.Marshal(e.Data)
				if got, err := EncodeEventData(e.Data); !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
					t.Fatalf("EncodeEventData(%#v)\ngot  %s, %v\nwant %s, %v", e.Data, got, err, want, werr)
				}
			}
		}
	})
}

// benchCommits are commits as the command path writes most of them.
func benchCommits() map[string]Commit {
	actor := Actor{ID: uuid.New(), Role: RoleCitizen}
	commit := func(cmd string, es ...Event) Commit {
		return Commit{CommandID: uuid.New(), Command: cmd, MeetingID: uuid.New(), CitizenID: uuid.New(),
			Actor: actor, At: time.Now(), Events: es}
	}
	return map[string]Commit{
		"invite": commit(CmdInviteParticipant, NewEvent(ParticipantInvited{ParticipantID: uuid.New(), Name: "Karin Holm", Kind: KindProfessional, Service: "Jobcenter"})),
		"agenda": commit(CmdCitizenSetsAgenda, NewEvent(AgendaSet{Items: []string{"Min bolig og min økonomi", "Hvem gør hvad", "Arbejde & penge"}})),
	}
}

// BenchmarkEncodeCommit compares the writer with encoding/json on the commits the command path
// writes most.
//
//	go test ./domain -run '^$' -bench EncodeCommit -benchmem
func BenchmarkEncodeCommit(b *testing.B) {
	for name, c := range benchCommits() {
		for _, e := range []struct {
			name   string
			encode func(Commit) ([]byte, error)
		}{{"writer", EncodeCommit}, {"encoding-json", encodeCommitJSON}} {
			b.Run(name+"/"+e.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := e.encode(c); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncodeEventData writes a reply's payloads with json.Marshal and with EncodeEventData.
//
//	go test ./domain -run '^$' -bench EncodeEventData -benchmem
func BenchmarkEncodeEventData(b *testing.B) {
	for name, c := range benchCommits() {
		d := c.Events[0].Data
		b.Run(name+"/json.Marshal", func(b *testing.B) {
			for b.Loop() {
				_, _ = json.Marshal(d)
			}
		})
		b.Run(name+"/EncodeEventData", func(b *testing.B) {
			for b.Loop() {
				_, _ = EncodeEventData(d)
			}
		})
	}
}
