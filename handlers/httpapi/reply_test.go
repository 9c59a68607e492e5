package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
)

// TestWriteReplyAsWriteJSON holds the command answer's writer to writeJSON, byte for byte and
// header for header, on replies as commands give them (payloads with HTML characters, quotes,
// non-ASCII; a duplicate; a citizen's own aggregate; no events).
func TestWriteReplyAsWriteJSON(t *testing.T) {
	var events []command.ReplyEvent
	for _, d := range []domain.EventData{
		domain.ParticipantInvited{ParticipantID: uuid.New(), Name: `Karin <Holm> & "co"`, Kind: domain.KindProfessional, Service: "Jobcenter"},
		domain.AgendaSet{Items: []string{"Min bolig og min økonomi", "a\u2028b", "<b>"}},
	} {
		data, err := domain.EncodeEventData(d)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, command.ReplyEvent{Type: d.EventType(), Data: data})
	}
	for _, r := range []command.Reply{
		{MeetingID: uuid.New(), CommandID: uuid.New(), Command: domain.CmdInviteParticipant, Sequence: 42, Events: events},
		{MeetingID: uuid.New(), CommandID: uuid.New(), Command: domain.CmdCitizenSetsAgenda, Sequence: 7, Duplicate: true, Events: events[1:]},
		{CitizenID: uuid.New(), CommandID: uuid.New(), Command: "grant-mandate", Sequence: 1, Events: []command.ReplyEvent{}},
	} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, 200, r)
		writeReply(got, r)
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Errorf("writeReply\ngot  %s\nwant %s", got.Body, want.Body)
		}
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Errorf("writeReply answered %d %v, writeJSON %d %v", got.Code, got.Header(), want.Code, want.Header())
		}
	}
}

// BenchmarkWriteReply writes the answer to an invitation as writeJSON did and as writeReply
// does, in one run.
//
//	go test ./handlers/httpapi -run '^$' -bench WriteReply -benchmem
func BenchmarkWriteReply(b *testing.B) {
	data, _ := domain.EncodeEventData(domain.ParticipantInvited{ParticipantID: uuid.New(), Name: "Karin Holm", Kind: domain.KindProfessional, Service: "Jobcenter"})
	r := command.Reply{MeetingID: uuid.New(), CommandID: uuid.New(), Command: domain.CmdInviteParticipant, Sequence: 42,
		Events: []command.ReplyEvent{{Type: domain.TypeParticipantInvited, Data: data}}}
	for _, tc := range []struct {
		name  string
		write func(http.ResponseWriter, command.Reply)
	}{
		{"writeJSON", func(w http.ResponseWriter, r command.Reply) { writeJSON(w, http.StatusOK, r) }},
		{"writeReply", writeReply},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				clear(w.h)
				tc.write(w, r)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
