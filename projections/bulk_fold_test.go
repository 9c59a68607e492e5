package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestFoldHandsOverEachMeetingAfterItsLastCommit: the fold hands a meeting to the writers as
// soon as the log's count of its commits is applied, whole (every commit in), and holds only
// meetings still open; a meeting counted for more commits than the log holds up to until, or
// not counted, goes at the end; a commit after a meeting's count is an unusual log, not a
// meeting written twice or without its last commit.
func TestFoldHandsOverEachMeetingAfterItsLastCommit(t *testing.T) {
	nd := testnode.Start(t, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	ctx := context.Background()
	citizen := uuid.New()
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	last := map[uuid.UUID]uint64{}
	appendTo := func(m uuid.UUID, d domain.EventData) uint64 {
		t.Helper()
		r, err := nd.Store.Append(ctx, domain.Commit{CommandID: uuid.New(), Command: "test", MeetingID: m, CitizenID: citizen,
			Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: time.Now(), Events: []domain.Event{domain.NewEvent(d)}}, last[m])
		if err != nil {
			t.Fatal(err)
		}
		last[m] = r.Seq
		return r.Seq
	}
	convene := func(m uuid.UUID) {
		appendTo(m, domain.MeetingConvened{MeetingID: m, CitizenID: citizen, Title: "møde"})
	}
	agenda := func(m uuid.UUID, item string) uint64 { return appendTo(m, domain.AgendaSet{Items: []string{item}}) }
	// a: 1-3, b: 2-6, c: 4-5; in order of their last commits: a, c, b.
	convene(a)
	convene(b)
	agenda(a, "a")
	convene(c)
	agenda(c, "c")
	end := agenda(b, "b")

	type handed struct {
		ids  []uuid.UUID
		seqs []uint64
	}
	// run folds with counts, checking (when whole) that every meeting comes with its agenda.
	run := func(counts map[uuid.UUID]uint32, until uint64, whole bool) ([]handed, error) {
		var out []handed
		_, _, err := fold(ctx, nd.Store, until, counts, 1, nil, func(ms []Folded) error {
			var h handed
			for _, f := range ms {
				if whole && len(f.Meeting.Agenda()) != 1 {
					return fmt.Errorf("meeting %s handed over without its agenda", f.Meeting.ID())
				}
				h.ids, h.seqs = append(h.ids, f.Meeting.ID()), append(h.seqs, f.LastSeq)
			}
			out = append(out, h)
			return nil
		})
		return out, err
	}
	order := func(hs []handed) string {
		names := map[uuid.UUID]string{a: "a", b: "b", c: "c"}
		var s []string
		for _, h := range hs {
			for i, id := range h.ids {
				s = append(s, fmt.Sprintf("%s@%d", names[id], h.seqs[i]))
			}
		}
		return strings.Join(s, " ")
	}

	counts, err := nd.Store.CommitCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[a] != 2 || counts[b] != 2 || counts[c] != 2 {
		t.Fatalf("counts %v", counts)
	}
	hs, err := run(counts, end, true)
	if got := order(hs); err != nil || got != "a@3 c@5 b@6" {
		t.Fatalf("handed over %q (%v), want a@3 c@5 b@6", got, err)
	}

	// b counted for a commit after until (3 against 2 read), a not counted: both at the end, in
	// id order.
	hs, err = run(map[uuid.UUID]uint32{b: 3, c: 2}, end, true)
	want := "c@5 a@3 b@6"
	if a.String() > b.String() {
		want = "c@5 b@6 a@3"
	}
	if got := order(hs); err != nil || got != want {
		t.Fatalf("handed over %q (%v), want %s", got, err, want)
	}

	// b counted for one commit: its second commit comes after it was handed over.
	_, err = run(map[uuid.UUID]uint32{a: 2, b: 1, c: 2}, end, false)
	if !errors.Is(err, errUnusual) || !strings.Contains(err.Error(), "sequence 6") {
		t.Fatalf("got %v, want an unusual log at sequence 6", err)
	}

	// An error of the writers stops the fold with it.
	stop := errors.New("writer stopped")
	if _, _, err := fold(ctx, nd.Store, end, map[uuid.UUID]uint32{a: 2, b: 2, c: 2}, 1, nil, func([]Folded) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("got %v, want the writers' error", err)
	}
}
