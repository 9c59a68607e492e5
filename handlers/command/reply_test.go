package command

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// replies are answers as commands give them, and a few with names encoding/json writes with
// care (HTML characters, quotes, control characters, non-ASCII, invalid UTF-8).
func replies(t testing.TB) []Reply {
	c := domain.Commit{CommandID: uuid.New(), Command: domain.CmdInviteParticipant, MeetingID: uuid.New(),
		Events: []domain.Event{domain.NewEvent(domain.ParticipantInvited{ParticipantID: uuid.New(), Name: "Karin <Holm>", Kind: domain.KindProfessional, Service: "Jobcenter"})}}
	r, err := reply(c, 42, false)
	if err != nil {
		t.Fatal(err)
	}
	out := []Reply{r, {}, {Events: []ReplyEvent{}}, {Events: []ReplyEvent{{Type: "X"}}}}
	for _, s := range []string{`<&>"\`, "møde\u2028", "\x00\x1f\x7f", "\xff", "日本語"} {
		out = append(out, Reply{MeetingID: uuid.New(), CommandID: uuid.New(), Command: s, Sequence: 1<<64 - 1, Duplicate: true,
			Events: []ReplyEvent{{Type: s, Data: json.RawMessage(`{"a":1}`)}, {Type: "MeetingClosed", Data: json.RawMessage(`{}`)}}})
	}
	return out
}

// TestAppendReplyAsJSON holds the reply writer to json.Marshal, byte for byte.
func TestAppendReplyAsJSON(t *testing.T) {
	for _, r := range replies(t) {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendReply(nil, r); !bytes.Equal(got, want) {
			t.Errorf("AppendReply\ngot  %s\nwant %s", got, want)
		}
	}
}

// BenchmarkAppendReply writes the reply to an invitation, as every command sends one back.
//
//	go test ./handlers/command -run '^$' -bench AppendReply -benchmem
func BenchmarkAppendReply(b *testing.B) {
	r := replies(b)[0]
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendReply(buf[:0], r)
	}
}
