package eventstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
)

// TestConformance runs one suite against the embedded single node and a 3-node cluster (R3).
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if testing.Short() && b.replicas > 1 {
				t.Skip("cluster in -short mode")
			}
			c := b.start(t)
			s := c.open(t, b.replicas)
			t.Run("AppendAndLoad", func(t *testing.T) { testAppendAndLoad(t, s) })
			t.Run("ConcurrentAppendsOneWinnerPerRound", func(t *testing.T) { testRace(t, s) })
			t.Run("RetriedCommandWritesOnce", func(t *testing.T) { testRetry(t, s) })
			t.Run("ReadAsOf", func(t *testing.T) { testReadAsOf(t, s) })
			t.Run("ReadByCitizenAndMeeting", func(t *testing.T) { testReadFilters(t, s) })
			t.Run("CacheSeesOtherWriters", func(t *testing.T) { testOtherWriter(t, c, s, b.replicas) })
			t.Run("RetryAfterDuplicateWindowWritesOnce", func(t *testing.T) { testRetryAfterWindow(t, c, b.replicas) })
			t.Run("FirstCommitClaimsTheMeetingID", func(t *testing.T) { testFirstCommit(t, s) })
			t.Run("CommandIDReusedOnAnotherMeeting", func(t *testing.T) { testIDReusedElsewhere(t, s) })
			t.Run("CachedStateEqualsStateFromLog", func(t *testing.T) { testCachedEqualsCold(t, c, s, b.replicas) })
			t.Run("StateSeesOnlyItsOwnCommands", func(t *testing.T) { testCommandsUpToState(t, s) })
			t.Run("CorruptMessageNamesSequence", func(t *testing.T) { testCorrupt(t, s) })
			if b.replicas > 1 {
				t.Run("NodeStopsWhileAppending", func(t *testing.T) { testNodeLoss(t, c, s) })
			}
		})
	}
}

func testAppendAndLoad(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()

	l, err := s.Load(ctx, meeting)
	if err != nil {
		t.Fatalf("load unknown meeting: %v", err)
	}
	if l.Seq != 0 || l.Meeting.Exists() {
		t.Fatalf("unknown meeting: got seq %d exists %v, want 0 false", l.Seq, l.Meeting.Exists())
	}

	a1, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatalf("append convene: %v", err)
	}
	a2, err := s.Append(ctx, agendaCommit(citizen, meeting, "Min bolig", "Mit arbejde"), a1.Seq)
	if err != nil {
		t.Fatalf("append agenda: %v", err)
	}
	if a2.Seq <= a1.Seq {
		t.Fatalf("got seq %d after %d, want it larger", a2.Seq, a1.Seq)
	}
	// A fresh store has an empty cache: this is the cold path.
	cold, err := Open(ctxT(t), s.Conn(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*Store{"warm": s, "cold": cold} {
		l, err := st.Load(ctx, meeting)
		if err != nil {
			t.Fatalf("%s load: %v", name, err)
		}
		if l.Seq != a2.Seq || l.Meeting.CitizenID() != citizen {
			t.Errorf("%s load: got seq %d citizen %s, want %d %s", name, l.Seq, l.Meeting.CitizenID(), a2.Seq, citizen)
		}
		if got := l.Meeting.Agenda(); !slices.Equal(got, []string{"Min bolig", "Mit arbejde"}) {
			t.Errorf("%s load: got agenda %q", name, got)
		}
		if l.Subject != MeetingSubject(citizen, meeting) {
			t.Errorf("%s load: got subject %s", name, l.Subject)
		}
	}
	// Loading by the owner's subject gives the same.
	lo, err := cold.LoadOwned(ctx, citizen, meeting)
	if err != nil || lo.Seq != a2.Seq {
		t.Fatalf("load owned: got seq %d err %v, want %d", lo.Seq, err, a2.Seq)
	}
	// A convene on an existing meeting id at expected 0 is a conflict.
	if _, err := s.Append(ctx, conveneCommit(citizen, meeting), 0); !errors.Is(err, ErrConcurrentUpdate) || !domain.IsKind(err, domain.Conflict) {
		t.Fatalf("second convene at 0: got %v, want a concurrent-update conflict", err)
	}
}

// testRace: N goroutines append at the same expected sequence, round after round. Exactly one wins
// each round; afterwards the meeting holds exactly the winners, none lost or doubled.
func testRace(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	first, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 8, 15
	expected := first.Seq
	var winners []string
	for round := 0; round < rounds; round++ {
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won       []string
			wonSeq    uint64
			conflicts int
		)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				item := fmt.Sprintf("round %d writer %d", round, w)
				a, err := s.Append(ctx, agendaCommit(citizen, meeting, item), expected)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, item)
					wonSeq = a.Seq
				case errors.Is(err, ErrConcurrentUpdate):
					conflicts++
				default:
					t.Errorf("round %d writer %d: %v", round, w, err)
				}
			}(w)
		}
		wg.Wait()
		if len(won) != 1 || conflicts != writers-1 {
			t.Fatalf("round %d: got %d winners and %d conflicts, want 1 and %d", round, len(won), conflicts, writers-1)
		}
		winners = append(winners, won[0])
		expected = wonSeq
	}
	var got []string
	err = s.Read(ctx, ReadOptions{Filter: MeetingSubject(citizen, meeting)}, func(r Recorded) error {
		if a, ok := r.Commit.Events[0].Data.(domain.AgendaSet); ok {
			got = append(got, a.Items[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, winners) {
		t.Fatalf("log holds %q, want the winners %q", got, winners)
	}
	l, err := s.Load(ctx, meeting)
	if err != nil || l.Seq != expected {
		t.Fatalf("load: got seq %d err %v, want %d", l.Seq, err, expected)
	}
}

func testRetry(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	a1, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := agendaCommit(citizen, meeting, "Første gang")
	a2, err := s.Append(ctx, cmd, a1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := s.LastSeq(ctx)
	again, err := s.Append(ctx, cmd, a1.Seq)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !again.Duplicate || again.Seq != a2.Seq {
		t.Fatalf("retry: got %+v, want duplicate at %d", again, a2.Seq)
	}
	if now, _ := s.LastSeq(ctx); now != last {
		t.Fatalf("retry wrote: log at %d, want %d", now, last)
	}
	l, err := s.Load(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := l.CommandSeq(cmd.CommandID); !ok || seq != a2.Seq {
		t.Fatalf("command seq: got %d %v, want %d", seq, ok, a2.Seq)
	}
}

func testReadAsOf(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	var seqs []uint64
	var times []time.Time
	prev := uint64(0)
	for i, c := range []domain.Commit{
		conveneCommit(citizen, meeting),
		agendaCommit(citizen, meeting, "a"),
		agendaCommit(citizen, meeting, "a", "b"),
		agendaCommit(citizen, meeting, "a", "b", "c"),
	} {
		a, err := s.Append(ctx, c, prev)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		prev = a.Seq
		seqs = append(seqs, a.Seq)
		time.Sleep(5 * time.Millisecond)
		times = append(times, time.Now())
		time.Sleep(5 * time.Millisecond)
	}
	for i := range seqs {
		want := i // agenda items after commit i
		l, err := s.LoadAsOf(ctx, meeting, seqs[i], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(l.Meeting.Agenda()); got != want || l.Seq != seqs[i] {
			t.Errorf("as of seq %d: got %d items at seq %d, want %d at %d", seqs[i], got, l.Seq, want, seqs[i])
		}
		l, err = s.LoadAsOf(ctx, meeting, 0, times[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := len(l.Meeting.Agenda()); got != want || l.Seq != seqs[i] {
			t.Errorf("as of time %d: got %d items at seq %d, want %d at %d", i, got, l.Seq, want, seqs[i])
		}
	}
	n := 0
	if err := s.Read(ctx, ReadOptions{Filter: MeetingSubject(citizen, meeting), From: seqs[1], UntilSeq: seqs[2]}, func(Recorded) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("read from %d until %d: got %d commits, want 2", seqs[1], seqs[2], n)
	}
}

func testReadFilters(t *testing.T, s *Store) {
	ctx := ctxT(t)
	anna, bo := uuid.New(), uuid.New()
	want := map[uuid.UUID][]uuid.UUID{}
	for _, citizen := range []uuid.UUID{anna, bo, anna} {
		m := uuid.New()
		if _, err := s.Append(ctx, conveneCommit(citizen, m), 0); err != nil {
			t.Fatal(err)
		}
		want[citizen] = append(want[citizen], m)
	}
	for citizen, meetings := range want {
		var got []uuid.UUID
		err := s.Read(ctx, ReadOptions{Filter: CitizenFilter(citizen)}, func(r Recorded) error {
			if r.Commit.CitizenID != citizen {
				t.Errorf("citizen filter %s returned a commit of %s", citizen, r.Commit.CitizenID)
			}
			got = append(got, r.Commit.MeetingID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, meetings) {
			t.Errorf("citizen %s: got meetings %v, want %v", citizen, got, meetings)
		}
	}
	// A citizen with nothing in the log reads nothing and returns at once.
	if err := s.Read(ctx, ReadOptions{Filter: CitizenFilter(uuid.New())}, func(Recorded) error {
		t.Error("read a commit for a citizen with none")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Reading from past the end returns at once.
	last, _ := s.LastSeq(ctx)
	if err := s.Read(ctx, ReadOptions{From: last + 1}, func(Recorded) error {
		t.Error("read past the end")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// testOtherWriter: two stores (two processes, in effect) write the same meeting; each one's cache
// notices the other's commits.
func testOtherWriter(t *testing.T, c *cluster, a *Store, replicas int) {
	ctx := ctxT(t)
	b := c.open(t, replicas)
	citizen, meeting := uuid.New(), uuid.New()
	s1, err := a.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, meeting); err != nil { // warm a's cache
		t.Fatal(err)
	}
	lb, err := b.Load(ctx, meeting)
	if err != nil || lb.Seq != s1.Seq {
		t.Fatalf("b load: got %d %v, want %d", lb.Seq, err, s1.Seq)
	}
	s2, err := b.Append(ctx, agendaCommit(citizen, meeting, "fra b"), lb.Seq)
	if err != nil {
		t.Fatal(err)
	}
	la, err := a.Load(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	if la.Seq != s2.Seq || !slices.Equal(la.Meeting.Agenda(), []string{"fra b"}) {
		t.Fatalf("a after b wrote: got seq %d agenda %q, want %d [fra b]", la.Seq, la.Meeting.Agenda(), s2.Seq)
	}
	// a's stale expectation is refused.
	if _, err := a.Append(ctx, agendaCommit(citizen, meeting, "fra a"), s1.Seq); !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("stale append: got %v, want ErrConcurrentUpdate", err)
	}
}

func testCorrupt(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	a, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := &nats.Msg{Subject: MeetingSubject(citizen, meeting), Data: []byte(`{"v":1,"events":[{"type":"Nonsense"}]}`)}
	ack, err := s.JetStream().PublishMsg(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Open(ctx, s.Conn(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fresh.Load(ctx, meeting)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Seq != ack.Sequence {
		t.Fatalf("load: got %v, want a CorruptError at %d", err, ack.Sequence)
	}
	n := 0
	err = s.Read(ctx, ReadOptions{Filter: MeetingSubject(citizen, meeting)}, func(r Recorded) error { n++; return nil })
	if !errors.As(err, &ce) || ce.Seq != ack.Sequence || n != 1 {
		t.Fatalf("read: got %v after %d commits, want a CorruptError at %d after 1 (the convene at %d)", err, n, ack.Sequence, a.Seq)
	}
}

// testRetryAfterWindow retries a written command after JetStream has forgotten its id, at the
// meeting's current sequence (as a handler that reloaded would): it is answered as a duplicate.
func testRetryAfterWindow(t *testing.T, c *cluster, replicas int) {
	ctx := ctxT(t)
	s, err := Open(ctx, c.connect(t), Config{Replicas: replicas, DuplicateWindow: 200 * time.Millisecond, AppendTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // give the shared stream its window back for the other subtests
		if _, err := Open(ctx, c.connect(t), Config{Replicas: replicas}); err != nil {
			t.Fatal(err)
		}
	}()
	citizen, meeting := uuid.New(), uuid.New()
	a1, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := agendaCommit(citizen, meeting, "x")
	a2, err := s.Append(ctx, cmd, a1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the window (the server checks it about once a second)
	l, err := s.Load(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, cmd, l.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Seq != a2.Seq {
		t.Fatalf("retry after the window: got %+v, want a duplicate at %d", again, a2.Seq)
	}
	if l2, _ := s.Load(ctx, meeting); l2.Seq != a2.Seq {
		t.Fatalf("meeting at %d after the retry, want %d: written twice", l2.Seq, a2.Seq)
	}
}

// testIDReusedElsewhere appends two meetings' commits with the same command id: from two people
// both are written; from the same person, within the duplicate window, the second is answered as
// a duplicate of the first (the command service then refuses it, seeing another meeting).
func testIDReusedElsewhere(t *testing.T, s *Store) {
	ctx := ctxT(t)
	cit := uuid.New()
	m1, m2 := uuid.New(), uuid.New()
	b1, err := s.Append(ctx, conveneCommit(cit, m1), 0)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := s.Append(ctx, conveneCommit(cit, m2), 0)
	if err != nil {
		t.Fatal(err)
	}
	x := agendaCommit(cit, m1, "m1")
	if _, err := s.Append(ctx, x, b1.Seq); err != nil {
		t.Fatal(err)
	}
	ax, err := s.Append(ctx, x, b1.Seq)
	if err != nil || !ax.Duplicate {
		t.Fatalf("the same commit again: got %+v %v, want a duplicate", ax, err)
	}
	same := agendaCommit(cit, m2, "m2 by the same person")
	same.CommandID = x.CommandID
	if as, err := s.Append(ctx, same, b2.Seq); err != nil || !as.Duplicate || as.Seq != ax.Seq {
		t.Fatalf("the same person's command id on another meeting: got %+v %v, want the duplicate of sequence %d", as, err, ax.Seq)
	}
	y := agendaCommit(cit, m2, "m2")
	y.CommandID = x.CommandID
	y.Actor = domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: cit}
	ay, err := s.Append(ctx, y, b2.Seq)
	if err != nil || ay.Duplicate {
		t.Fatalf("another person's same command id on another meeting: got %+v %v, want a new write", ay, err)
	}
	l, err := s.Load(ctx, m2)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Meeting.Agenda(); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("meeting 2 agenda %v, want [m2]", got)
	}
}

// testCachedEqualsCold compares the state this process cached while writing with the state
// another store builds from the log: they are the same, times included.
func testCachedEqualsCold(t *testing.T, c *cluster, s *Store, replicas int) {
	ctx := ctxT(t)
	cit, m := uuid.New(), uuid.New()
	conv := conveneCommit(cit, m)
	conv.At = time.Now().In(time.FixedZone("CET", 3600)) // a local time with a monotonic reading
	a, err := s.Append(ctx, conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	warm, err := s.Load(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cold, err := c.open(t, replicas).Load(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if warm.Seq != a.Seq || cold.Seq != a.Seq {
		t.Fatalf("got seqs %d and %d, want %d", warm.Seq, cold.Seq, a.Seq)
	}
	if w, c := warm.Meeting.ConvenedAt(), cold.Meeting.ConvenedAt(); w != c {
		t.Fatalf("convened at: cached %v, from the log %v", w, c)
	}
}

// testFirstCommit: a meeting's first commit claims its id in the index before it is written. A
// retry is answered as a duplicate; another citizen's meeting with the same id is refused and
// writes nothing; and the log's last message is always a commit.
func testFirstCommit(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, other, meeting := uuid.New(), uuid.New(), uuid.New()
	first := conveneCommit(citizen, meeting)
	a, err := s.Append(ctx, first, 0)
	if err != nil || a.Duplicate {
		t.Fatalf("first commit: %+v %v", a, err)
	}
	if last, _ := s.LastSeq(ctx); last != a.Seq {
		t.Fatalf("log ends at %d, the commit is at %d: the last message must be a commit", last, a.Seq)
	}
	s2 := *s
	s2.cache = newMeetingCache(10) // a process that has not seen the meeting
	again, err := s2.Append(ctx, first, 0)
	if err != nil || !again.Duplicate || again.Seq != a.Seq {
		t.Fatalf("retried first commit: got %+v %v, want a duplicate at %d", again, err, a.Seq)
	}
	before, _ := s.LastSeq(ctx)
	if _, err := s2.Append(ctx, conveneCommit(other, meeting), 0); !domain.IsKind(err, domain.Conflict) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("another citizen's meeting with the same id: got %v, want a conflict", err)
	}
	if _, err := s2.Append(ctx, conveneCommit(citizen, meeting), 0); !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("a new command convening an existing meeting: got %v, want a concurrent update", err)
	}
	if after, _ := s.LastSeq(ctx); after != before {
		t.Fatalf("refused first commits wrote: %d → %d", before, after)
	}
	if owner, err := s.owner(ctx, meeting); err != nil || owner != citizen {
		t.Fatalf("owner %s %v, want %s", owner, err, citizen)
	}
}

// testCommandsUpToState: the states of a meeting share one record of its commands, and a state
// taken before a command was written must not answer that command as already written.
func testCommandsUpToState(t *testing.T, s *Store) {
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	first := conveneCommit(citizen, meeting)
	a1, err := s.Append(ctx, first, 0)
	if err != nil {
		t.Fatal(err)
	}
	before, ok := s.Cached(meeting)
	if !ok || before.Seq != a1.Seq {
		t.Fatalf("cached after the convene: got %d %v, want %d", before.Seq, ok, a1.Seq)
	}
	second := agendaCommit(citizen, meeting, "Min bolig")
	a2, err := s.Append(ctx, second, a1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := before.CommandSeq(second.CommandID); ok {
		t.Errorf("state at %d: got the later command at %d, want it unseen", before.Seq, seq)
	}
	if seq, ok := before.CommandSeq(first.CommandID); !ok || seq != a1.Seq {
		t.Errorf("state at %d: got the convene at %d %v, want %d", before.Seq, seq, ok, a1.Seq)
	}
	after, err := s.Load(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   uuid.UUID
		want uint64
	}{{first.CommandID, a1.Seq}, {second.CommandID, a2.Seq}} {
		if seq, ok := after.CommandSeq(c.id); !ok || seq != c.want {
			t.Errorf("state at %d: got command at %d %v, want %d", after.Seq, seq, ok, c.want)
		}
	}
	// Appending the convene again on the old state is answered from the record: a duplicate.
	if a, err := s.Append(ctx, first, 0); err != nil || !a.Duplicate || a.Seq != a1.Seq {
		t.Errorf("convene again: got %+v %v, want a duplicate at %d", a, err, a1.Seq)
	}
}
