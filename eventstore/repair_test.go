package eventstore

import (
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
)

// TestOpenRepairsTheMeetingIndex writes a meeting's first commit to the log without its claim,
// as a power failure leaves it when it takes the index's last writes and keeps the log's: the
// store that opens next claims the meeting again, so it is found by its id and its id stays its
// citizen's.
func TestOpenRepairsTheMeetingIndex(t *testing.T) {
	c := startCluster(t, 1)
	s := c.open(t, 1)
	claimed := conveneCommit(uuid.New(), uuid.New())
	if _, err := s.Append(ctxT(t), claimed, 0); err != nil {
		t.Fatal(err)
	}
	citizen, meeting := uuid.New(), uuid.New()
	data, err := domain.EncodeCommit(conveneCommit(citizen, meeting))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.js.PublishMsg(ctxT(t), &nats.Msg{Subject: MeetingSubject(citizen, meeting), Data: data}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Load(ctxT(t), meeting); err != nil || l.Meeting.Exists() {
		t.Fatalf("before the repair: Load = %v, %v; want the meeting not found (no claim)", l.Meeting.Exists(), err)
	}

	repaired := c.open(t, 1)
	for _, m := range []domain.Commit{claimed, conveneCommit(citizen, meeting)} {
		l, err := repaired.Load(ctxT(t), m.MeetingID)
		if err != nil || !l.Meeting.Exists() || l.Meeting.CitizenID() != m.CitizenID {
			t.Fatalf("after the repair: meeting %s exists %v (citizen %s), %v; want its citizen's", m.MeetingID, l.Meeting != nil && l.Meeting.Exists(), m.CitizenID, err)
		}
	}
	if _, err := repaired.Append(ctxT(t), conveneCommit(uuid.New(), meeting), 0); !domain.IsKind(err, domain.Conflict) {
		t.Fatalf("another citizen's convene of the repaired meeting: %v, want a conflict", err)
	}
	info, err := repaired.index.Info(ctxT(t))
	if err != nil || info.State.Msgs != 2 {
		t.Fatalf("index holds %d claims (%v), want 2: each meeting once", info.State.Msgs, err)
	}
}

func TestParseMeetingSubject(t *testing.T) {
	citizen, meeting := uuid.New(), uuid.New()
	if c, m, ok := parseMeetingSubject(MeetingSubject(citizen, meeting)); !ok || c != citizen || m != meeting {
		t.Fatalf("parseMeetingSubject(MeetingSubject) = %s %s %v", c, m, ok)
	}
	for _, bad := range []string{"dialog.events", "dialog.events." + citizen.String(), "dialog.meetings." + meeting.String(),
		"dialog.events.x." + meeting.String(), "dialog.events." + citizen.String() + ".y", "other." + citizen.String() + "." + meeting.String()} {
		if _, _, ok := parseMeetingSubject(bad); ok {
			t.Errorf("parseMeetingSubject(%q) ok", bad)
		}
	}
}
