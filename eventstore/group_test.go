package eventstore

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// The group commit tests hold the writer as if a write were under way, let commits queue
// behind it, and then let them go: the queue is written as one group, as it would be if they had
// arrived during a slow fsync, without depending on timing.

// holdWriter marks every write the writer allows as under way; release ends one, so the commits
// queued meanwhile go, in one group.
func holdWriter(w *groupWriter) (release func()) {
	w.mu.Lock()
	w.busy = w.inflight
	w.mu.Unlock()
	return w.handOff
}

// waitQueued waits until n commits are waiting for the writer.
func waitQueued(w *groupWriter, n int) {
	for {
		w.mu.Lock()
		q := len(w.queue)
		w.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

type appendResult struct {
	a   Appended
	err error
}

// appendAll appends the commits at their expected sequences at the same time, while the writer
// is held, and returns their answers once the held write has ended.
func appendAll(t *testing.T, s *Store, commits []commitAt) []appendResult {
	t.Helper()
	ctx := ctxT(t)
	release := holdWriter(s.group)
	res := make([]appendResult, len(commits))
	var wg sync.WaitGroup
	for i, c := range commits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i].a, res[i].err = s.Append(ctx, c.commit, c.expected)
		}()
	}
	waitQueued(s.group, len(commits))
	release()
	wg.Wait()
	return res
}

type commitAt struct {
	commit   domain.Commit
	expected uint64
}

// agendaMeetings convenes n meetings and returns their agenda commits at the right sequences.
func agendaMeetings(t *testing.T, s *Store, n int) []commitAt {
	t.Helper()
	ctx := ctxT(t)
	var out []commitAt
	for range n {
		citizen, meeting := uuid.New(), uuid.New()
		a, err := s.Append(ctx, conveneCommit(citizen, meeting), 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, commitAt{agendaCommit(citizen, meeting, "Min bolig"), a.Seq})
	}
	return out
}

func TestGroupCommitWritesWaitingCommitsAsOneBatch(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	commits := agendaMeetings(t, s, 8)
	before := s.GroupCommitStats()
	res := appendAll(t, s, commits)
	seen := map[uint64]bool{}
	for i, r := range res {
		if r.err != nil || r.a.Duplicate || seen[r.a.Seq] {
			t.Fatalf("commit %d: %+v %v", i, r.a, r.err)
		}
		seen[r.a.Seq] = true
		// The sequence answered is the commit's own: its meeting, read from the log, ends there
		// with this command.
		s.cache = newMeetingCache(10)
		l, err := s.LoadOwned(ctxT(t), commits[i].commit.CitizenID, commits[i].commit.MeetingID)
		if err != nil || l.Seq != r.a.Seq {
			t.Fatalf("meeting %d reads at %d (%v), its commit was answered at %d", i, l.Seq, err, r.a.Seq)
		}
		if seq, ok := l.CommandSeq(commits[i].commit.CommandID); !ok || seq != r.a.Seq {
			t.Fatalf("meeting %d: command at %d %v, want %d", i, seq, ok, r.a.Seq)
		}
	}
	after := s.GroupCommitStats()
	if after.Batches-before.Batches != 1 || after.Batched-before.Batched != 8 || after.Fallbacks != before.Fallbacks {
		t.Fatalf("group commit: before %+v, after %+v; want one batch of 8", before, after)
	}
}

func TestGroupCommitDuplicateInBatchAnswersAsDuplicate(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	ctx := ctxT(t)
	commits := agendaMeetings(t, s, 6)
	// The first commit was written once already: its retry reaches the writer through a
	// store that has not seen it (another process), in the same batch as five new commits.
	first, err := s.Append(ctx, commits[0].commit, commits[0].expected)
	if err != nil {
		t.Fatal(err)
	}
	other := &Store{nc: s.nc, js: s.js, stream: s.stream, index: s.index, cfg: s.cfg, cache: newMeetingCache(10), readStream: s.readStream, group: s.group, durable: s.durable}
	lastBefore, _ := s.LastSeq(ctx)
	before := s.GroupCommitStats()
	res := appendAll(t, other, commits)
	if r := res[0]; r.err != nil || !r.a.Duplicate || r.a.Seq != first.Seq {
		t.Fatalf("retried commit: got %+v %v, want a duplicate at %d", r.a, r.err, first.Seq)
	}
	for i, r := range res[1:] {
		if r.err != nil || r.a.Duplicate {
			t.Fatalf("commit %d beside the duplicate: %+v %v", i+1, r.a, r.err)
		}
	}
	if last, _ := s.LastSeq(ctx); last != lastBefore+5 {
		t.Fatalf("log went from %d to %d, want the five new commits only", lastBefore, last)
	}
	if after := s.GroupCommitStats(); after.Fallbacks != before.Fallbacks+1 {
		t.Fatalf("group commit: before %+v, after %+v; want the batch refused and written singly", before, after)
	}
}

func TestGroupCommitStaleSequenceFailsOnlyItsCommit(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	ctx := ctxT(t)
	commits := agendaMeetings(t, s, 6)
	// Someone else changed the third meeting after its commit was decided.
	c := commits[2].commit
	if _, err := s.Append(ctx, agendaCommit(c.CitizenID, c.MeetingID, "Noget andet"), commits[2].expected); err != nil {
		t.Fatal(err)
	}
	lastBefore, _ := s.LastSeq(ctx)
	before := s.GroupCommitStats()
	res := appendAll(t, s, commits)
	for i, r := range res {
		if i == 2 {
			if !errors.Is(r.err, ErrConcurrentUpdate) {
				t.Fatalf("stale commit: got %+v %v, want a concurrent update", r.a, r.err)
			}
			continue
		}
		if r.err != nil || r.a.Duplicate {
			t.Fatalf("commit %d beside the stale one: %+v %v", i, r.a, r.err)
		}
	}
	if last, _ := s.LastSeq(ctx); last != lastBefore+5 {
		t.Fatalf("log went from %d to %d, want the five fresh commits", lastBefore, last)
	}
	if after := s.GroupCommitStats(); after.Fallbacks != before.Fallbacks+1 {
		t.Fatalf("group commit: before %+v, after %+v; want the batch refused and written singly", before, after)
	}
}

func TestGroupCommitTwoCommitsOfOneMeetingGoInTurn(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	commits := agendaMeetings(t, s, 4)
	// Two commands decided on the same state of the first meeting: one is written, the other is
	// refused as a conflict, and neither takes the batch of the others down with it.
	c := commits[0]
	twin := commitAt{agendaCommit(c.commit.CitizenID, c.commit.MeetingID, "Tvilling"), c.expected}
	commits = append(commits, twin)
	before := s.GroupCommitStats()
	res := appendAll(t, s, commits)
	var written, conflicts int
	for i, r := range res {
		switch {
		case r.err == nil && !r.a.Duplicate:
			written++
		case errors.Is(r.err, ErrConcurrentUpdate) && (i == 0 || i == 4):
			conflicts++
		default:
			t.Fatalf("commit %d: %+v %v", i, r.a, r.err)
		}
	}
	if written != 4 || conflicts != 1 {
		t.Fatalf("written %d, conflicts %d; want 4 and 1", written, conflicts)
	}
	if after := s.GroupCommitStats(); after.Fallbacks != before.Fallbacks || after.Batches == before.Batches {
		t.Fatalf("group commit: before %+v, after %+v; want a batch without a fallback", before, after)
	}
}

// A commit whose caller gave up still gets its answer to whoever leads: cancelling one waiting
// caller does not stall the others.
func TestGroupCommitCancelledCallerDoesNotStallOthers(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	commits := agendaMeetings(t, s, 4)
	release := holdWriter(s.group)
	ctx, cancel := context.WithCancel(ctxT(t))
	res := make([]appendResult, len(commits))
	var wg sync.WaitGroup
	for i, c := range commits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx := ctxT(t)
			if i == 0 {
				cctx = ctx
			}
			res[i].a, res[i].err = s.Append(cctx, c.commit, c.expected)
		}()
	}
	waitQueued(s.group, len(commits))
	cancel()
	release()
	wg.Wait()
	for i, r := range res[1:] {
		if r.err != nil {
			t.Fatalf("commit %d: %v", i+1, r.err)
		}
	}
}

// Meetings convened at once claim their ids in one batch; a claim of an id another citizen's
// meeting holds fails that batch, and then only that claim is refused, as a conflict.
func TestGroupClaimsWriteMeetingsConvenedTogetherAsOneBatch(t *testing.T) {
	s := startCluster(t, 1, serverFsync).openGroup(t)
	ctx := ctxT(t)
	taken := uuid.New()
	if _, err := s.Append(ctx, conveneCommit(uuid.New(), taken), 0); err != nil {
		t.Fatal(err)
	}
	for _, round := range []struct {
		name  string
		taken bool
	}{{"all new", false}, {"one id taken", true}} {
		t.Run(round.name, func(t *testing.T) {
			commits := make([]domain.Commit, 6)
			for i := range commits {
				commits[i] = conveneCommit(uuid.New(), uuid.New())
			}
			if round.taken {
				commits[3] = conveneCommit(uuid.New(), taken)
			}
			before := s.GroupClaimStats()
			release := holdWriter(s.claims)
			res := make([]appendResult, len(commits))
			var wg sync.WaitGroup
			for i, c := range commits {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i].a, res[i].err = s.Append(ctx, c, 0)
				}()
			}
			waitQueued(s.claims, len(commits))
			release()
			wg.Wait()
			for i, r := range res {
				if round.taken && i == 3 {
					if domain.KindOf(r.err) != domain.Conflict {
						t.Fatalf("the claim of a taken id: %+v %v, want a conflict", r.a, r.err)
					}
					continue
				}
				if r.err != nil || r.a.Duplicate {
					t.Fatalf("convene %d: %+v %v", i, r.a, r.err)
				}
				l, err := s.Load(ctx, commits[i].MeetingID) // found by its id alone: through the claim
				if err != nil || l.Seq != r.a.Seq || l.Meeting.CitizenID() != commits[i].CitizenID {
					t.Fatalf("meeting %d loads at %d for %s (%v); convened at %d for %s", i, l.Seq, l.Meeting.CitizenID(), err, r.a.Seq, commits[i].CitizenID)
				}
			}
			after := s.GroupClaimStats()
			fallbacks := int64(0)
			if round.taken {
				fallbacks = 1
			}
			if after.Batches-before.Batches != 1-fallbacks || after.Fallbacks-before.Fallbacks != fallbacks {
				t.Fatalf("claims: before %+v, after %+v; want one batch of 6 (refused: %v)", before, after, round.taken)
			}
		})
	}
}

// A log written before claims were group committed has an index stream without atomic batches:
// opening it turns them on, and its claims then go in batches.
func TestOpenTurnsOnAtomicBatchesOfAnOlderIndex(t *testing.T) {
	c := startCluster(t, 1)
	js, err := jetstream.New(c.connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: IndexStreamName, Subjects: []string{"dialog.meetings.*"}, Storage: jetstream.FileStorage,
		MaxMsgsPerSubject: 1, AllowDirect: true, DenyDelete: true, DenyPurge: true,
	}); err != nil {
		t.Fatal(err)
	}
	s := c.openGroup(t)
	info, err := s.index.Info(ctx)
	if err != nil || !info.Config.AllowAtomicPublish {
		t.Fatalf("index stream after Open: atomic batches %v (%v)", info != nil && info.Config.AllowAtomicPublish, err)
	}
	release := holdWriter(s.claims)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Append(ctx, conveneCommit(uuid.New(), uuid.New()), 0)
		}()
	}
	waitQueued(s.claims, len(errs))
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("convene %d: %v", i, err)
		}
	}
	if st := s.GroupClaimStats(); st.Batches != 1 || st.Fallbacks != 0 {
		t.Fatalf("claims: %+v, want one batch", st)
	}
}
