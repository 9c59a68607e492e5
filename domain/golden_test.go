package domain_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files of the current event shapes")

// goldenEvents holds one sample of every event type. Their encoded form is stored in
// testdata/golden/<Type>.v<version>.json; once written, a golden file of a shipped version is
// never changed, because the log keeps that shape forever. A new shape gets a new version, an
// upcaster, and a new golden file beside the old one.
var goldenEvents = map[string]domain.EventData{
	domain.TypeMeetingConvened:      domain.MeetingConvened{MeetingID: meetingID, CitizenID: citizenID, Title: "Mit netværksmøde"},
	domain.TypeAgendaSet:            domain.AgendaSet{Items: []string{"Min bolig", "Arbejde og penge", "Hvordan jeg har det"}},
	domain.TypeParticipantInvited:   invJob,
	domain.TypeInvitationWithdrawn:  domain.InvitationWithdrawn{ParticipantID: psykID},
	domain.TypeParticipantSuggested: domain.ParticipantSuggested{SuggestionID: suggestID, Name: "Bo", Kind: domain.KindProfessional, Service: "Socialpsykiatrien", Reason: "Kender boligen"},
	domain.TypeInvitationAccepted:   domain.InvitationAccepted{ParticipantID: jobID},
	domain.TypeInvitationDeclined:   domain.InvitationDeclined{ParticipantID: psykID, Reason: "Ferie"},
	domain.TypeMeetingScheduled:     domain.MeetingScheduled{At: when, Place: domain.PlaceHome},
	domain.TypeMeetingRescheduled:   domain.MeetingRescheduled{At: when.Add(24 * time.Hour), Place: domain.PlaceChosen, Address: "Biblioteket, Slagelse"},
	domain.TypeMeetingHeld:          domain.MeetingHeld{Present: []uuid.UUID{citizenID, jobID}},
	domain.TypeFollowUpRecorded:     domain.FollowUpRecorded{FollowUpID: followID, What: "Søge om bostøtte", Responsible: jobID, Due: "2026-12-01"},
	domain.TypeFollowUpCompleted:    domain.FollowUpCompleted{FollowUpID: followID},
	domain.TypeMeetingClosed:        domain.MeetingClosed{NextAgreed: true},
	domain.TypeMeetingCancelled:     domain.MeetingCancelled{Reason: "Syg"},
	domain.TypeConsentWithdrawn:     domain.ConsentWithdrawn{ParticipantID: psykID},
}

func goldenCommit(d domain.EventData) domain.Commit {
	return domain.Commit{
		CommandID: uuid.MustParse("0193a000-0000-7000-8000-0000000000cc"), Command: "golden",
		MeetingID: meetingID, CitizenID: citizenID, Actor: support, At: t0,
		Events: []domain.Event{domain.NewEvent(d)},
	}
}

func TestGoldenFilesCoverEveryEventType(t *testing.T) {
	var have []string
	for k := range goldenEvents {
		have = append(have, k)
	}
	slices.Sort(have)
	if want := domain.EventTypes(); !slices.Equal(have, want) {
		t.Fatalf("golden samples for %v, event types %v: add a sample for each new type", have, want)
	}
}

func TestGoldenFiles(t *testing.T) {
	for typ, d := range goldenEvents {
		t.Run(typ, func(t *testing.T) {
			got, err := domain.EncodeCommit(goldenCommit(d))
			if err != nil {
				t.Fatal(err)
			}
			want := golden(t, typ, got)
			back, err := domain.DecodeCommit(want)
			if err != nil {
				t.Fatalf("decode golden file: %v", err)
			}
			if !reflect.DeepEqual(back, goldenCommit(d)) {
				t.Fatalf("decoded golden file:\ngot  %+v\nwant %+v", back, goldenCommit(d))
			}
		})
	}
}

// golden holds an encoded commit to testdata/golden/<typ>.v1.json (writing it with -update) and
// returns the file's bytes, for the test to decode.
func golden(t *testing.T, typ string, got []byte) []byte {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "golden", typ+".v1.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./domain -update to write it): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("encoded form changed; old events keep their shape forever.\ngot:\n%s\nwant:\n%s", pretty.Bytes(), want)
	}
	return want
}

func TestDecodeCommitRefuses(t *testing.T) {
	good, err := domain.EncodeCommit(goldenCommit(domain.MeetingClosed{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"unknown envelope version", `"v":1`, `"v":2`},
		{"unknown event type", `"MeetingClosed"`, `"MeetingExploded"`},
		{"unknown event version", `"v":1,"data"`, `"v":7,"data"`},
		{"no meeting", `"meeting_id":"` + meetingID.String() + `"`, `"meeting_id":"00000000-0000-0000-0000-000000000000"`},
		{"no events", `"events":[{"type":"MeetingClosed","v":1,"data":{"next_agreed":false}}]`, `"events":[]`},
		{"payload of the wrong shape", `"data":{"next_agreed":false}`, `"data":{"next_agreed":"yes"}`},
		{"not JSON", `{`, `[`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, good) {
				t.Fatalf("the test did not change the commit: %s not in %s", tc.from, good)
			}
			if c, err := domain.DecodeCommit(bad); err == nil {
				t.Fatalf("decoded %s as %+v, want an error", bad, c)
			}
		})
	}
}
