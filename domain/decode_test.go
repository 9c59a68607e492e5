package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aabendialog/aabendialog/domain"
)

func TestDecodeCommand(t *testing.T) {
	m := meetingID.String()
	for _, tc := range []struct {
		name, cmd, body string
		field           string // "" means the command decodes
	}{
		{"schedule", "schedule-meeting", `{"meeting_id":"` + m + `","at":"2026-12-01T10:00:00+01:00","place":"home"}`, ""},
		{"agenda", "citizen-sets-agenda", `{"meeting_id":"` + m + `","items":["Bolig","Job"]}`, ""},
		{"null is absent", "close-meeting", `{"meeting_id":"` + m + `","next_agreed":null}`, ""},
		{"unknown command", "delete-meeting", `{}`, "command"},
		{"not JSON", "close-meeting", `{"meeting_id":`, "body"},
		{"array", "close-meeting", `[1,2]`, "body"},
		{"null body", "close-meeting", `null`, "body"},
		{"two values", "close-meeting", `{"meeting_id":"` + m + `"} {}`, "body"},
		{"unknown field", "close-meeting", `{"meeting_id":"` + m + `","cpr":"010203-1234"}`, "cpr"},
		{"bad uuid", "close-meeting", `{"meeting_id":"123"}`, "meeting_id"},
		{"uuid of wrong type", "close-meeting", `{"meeting_id":42}`, "meeting_id"},
		{"bad time", "schedule-meeting", `{"meeting_id":"` + m + `","at":"tomorrow","place":"home"}`, "at"},
		{"bad bool", "close-meeting", `{"meeting_id":"` + m + `","next_agreed":"yes"}`, "next_agreed"},
		{"items not a list", "citizen-sets-agenda", `{"meeting_id":"` + m + `","items":"Bolig"}`, "items"},
		{"present not uuids", "record-attendance", `{"meeting_id":"` + m + `","present":["x"]}`, "present"},
		{"name a number", "invite-participant", `{"meeting_id":"` + m + `","participant_id":"` + m + `","name":7,"kind":"network"}`, "name"},
		{"validated after decoding", "invite-participant", `{"meeting_id":"` + m + `","participant_id":"` + m + `","name":"Mette","kind":"cousin"}`, "kind"},
		{"missing meeting", "cancel-meeting", `{}`, "meeting_id"},
		{"repeated field", "cancel-meeting", `{"meeting_id":"` + m + `","meeting_id":"` + m + `"}`, "meeting_id"},
		{"empty key", "cancel-meeting", `{"":1}`, "body"},
		{"trailing garbage", "cancel-meeting", `{"meeting_id":"` + m + `"}x`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := domain.DecodeCommand(tc.cmd, []byte(tc.body))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v, want a command", err)
				}
				if cmd.CommandName() != tc.cmd || cmd.MeetingID() != meetingID {
					t.Fatalf("got %s for meeting %s", cmd.CommandName(), cmd.MeetingID())
				}
				return
			}
			var de *domain.Error
			if !errorAs(err, &de) || de.Kind != domain.Invalid || de.Field != tc.field {
				t.Fatalf("got %v (%+v), want an invalid error naming %q", err, de, tc.field)
			}
		})
	}
}

// FuzzDecodeCommand feeds arbitrary bodies to every command: decoding never panics, every
// refusal is an Invalid error naming a field, and what decodes survives a round trip.
func FuzzDecodeCommand(f *testing.F) {
	m := meetingID.String()
	f.Add(0, `{"meeting_id":"`+m+`","citizen_id":"`+m+`","title":"Møde"}`)
	f.Add(1, `{"meeting_id":"`+m+`","items":["a","b"]}`)
	f.Add(2, `{"meeting_id":"`+m+`","participant_id":"`+m+`","name":"x","kind":"professional","service":"Jobcenter"}`)
	f.Add(6, `{"meeting_id":"`+m+`","at":"2026-12-01T10:00:00Z","place":"chosen","address":"Torvet 1"}`)
	f.Add(7, `{"meeting_id":"`+m+`","present":["`+m+`"]}`)
	f.Add(8, `{"meeting_id":"`+m+`","follow_up_id":"`+m+`","what":"x","responsible":"`+m+`","due":"2026-12-24"}`)
	f.Add(3, `{"meeting_id":null}`)
	f.Add(5, `{"accept":true,"reason":"\u0000"}`)
	names := domain.CommandNames()
	f.Fuzz(func(t *testing.T, which int, body string) {
		name := names[(which%len(names)+len(names))%len(names)]
		cmd, err := domain.DecodeCommand(name, []byte(body))
		if err != nil {
			var de *domain.Error
			if !errorAs(err, &de) || de.Kind != domain.Invalid || de.Field == "" || de.Message == "" {
				t.Fatalf("%s %q: got %v, want an invalid error naming a field", name, body, err)
			}
			return
		}
		if err := cmd.Validate(); err != nil {
			t.Fatalf("decoded command fails validation: %v", err)
		}
	})
}

// FuzzDecodeCommit feeds arbitrary bytes to the log decoder: it never panics, and a commit it
// accepts encodes and decodes to itself.
func FuzzDecodeCommit(f *testing.F) {
	for _, d := range goldenEvents {
		b, err := domain.EncodeCommit(goldenCommit(d))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"events":[{"type":"AgendaSet","v":1,"data":{"items":null}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := domain.DecodeCommit(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode ") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		again, err := domain.EncodeCommit(c)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := domain.DecodeCommit(again)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if !reflect.DeepEqual(normal(back), normal(c)) {
			t.Fatalf("round trip changed the commit:\n%+v\n%+v", back, c)
		}
	})
}

// normal drops what JSON cannot keep (monotonic clock, location) so commits compare by value.
func normal(c domain.Commit) domain.Commit {
	c.At = c.At.UTC().Round(0)
	return c
}
