package eventstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// appendRetrying appends like a command handler does through a failover: a timeout or a lost
// leader is retried with the same command id at the same expected sequence, so a write that did
// land is answered as a duplicate instead of written twice.
func appendRetrying(ctx context.Context, s *Store, c domain.Commit, expected uint64) (uint64, error) {
	for attempt := 0; ; attempt++ {
		a, err := s.Append(ctx, c, expected)
		if err == nil {
			return a.Seq, nil
		}
		if errors.Is(err, ErrConcurrentUpdate) {
			// Only one writer per meeting here: a conflict can only be our own earlier attempt,
			// which Append answers as a duplicate. A conflict is a bug.
			return 0, err
		}
		retries.Add(1)
		select {
		case <-ctx.Done():
			return 0, errors.Join(ctx.Err(), err)
		case <-time.After(backoff(attempt)):
		}
	}
}

// testNodeLoss stops the stream's leader while writers keep appending, then brings it back:
// every acknowledged commit is in the log exactly once, in order.
func testNodeLoss(t *testing.T, c *cluster, s *Store) {
	ctx := ctxT(t)
	retries.Store(0)
	const writers = 4
	var (
		acked   sync.Map // command id -> seq
		nAcked  atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		errs    = make(chan error, writers)
		perMeet = make([][]uuid.UUID, writers)
		cits    = make([]uuid.UUID, writers)
		meets   = make([]uuid.UUID, writers)
	)
	for w := 0; w < writers; w++ {
		cits[w], meets[w] = uuid.New(), uuid.New()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			expected := uint64(0)
			for i := 0; !stop.Load(); i++ {
				cm := conveneCommit(cits[w], meets[w])
				if i > 0 {
					cm = agendaCommit(cits[w], meets[w], "punkt")
				}
				seq, err := appendRetrying(ctx, s, cm, expected)
				if err != nil {
					errs <- err
					return
				}
				acked.Store(cm.CommandID, seq)
				perMeet[w] = append(perMeet[w], cm.CommandID)
				nAcked.Add(1)
				expected = seq
			}
		}(w)
	}
	waitFor := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for nAcked.Load() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(100)
	info, err := s.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := -1
	for i, cfg := range c.configs {
		if info.Cluster != nil && cfg.Name == info.Cluster.Leader {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("no stream leader among nodes (info %+v)", info.Cluster)
	}
	before := nAcked.Load()
	c.stopNode(leader)
	waitFor(before + 200)
	if nAcked.Load() < before+200 {
		t.Fatalf("appends did not continue after the leader stopped: %d acked before, %d now", before, nAcked.Load())
	}
	c.startNode(leader)
	waitFor(nAcked.Load() + 100)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}

	// Read everything back: every acknowledged command exactly once, at its sequence, in order.
	seen := map[uuid.UUID]int{}
	order := map[uuid.UUID][]uuid.UUID{}
	// Per citizen: other subtests share the stream (one of them writes a corrupt message).
	for w := range writers {
		err = s.Read(ctx, ReadOptions{Filter: CitizenFilter(cits[w])}, func(r Recorded) error {
			seen[r.Commit.CommandID]++
			if want, ok := acked.Load(r.Commit.CommandID); ok && want.(uint64) != r.Seq {
				t.Errorf("command %s acknowledged at %d, found at %d", r.Commit.CommandID, want, r.Seq)
			}
			order[r.Commit.MeetingID] = append(order[r.Commit.MeetingID], r.Commit.CommandID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	missing, doubled := 0, 0
	acked.Range(func(k, _ any) bool {
		switch seen[k.(uuid.UUID)] {
		case 0:
			missing++
		case 1:
		default:
			doubled++
		}
		return true
	})
	if missing > 0 || doubled > 0 {
		t.Fatalf("of %d acknowledged commits, %d missing and %d doubled", nAcked.Load(), missing, doubled)
	}
	for w := range writers {
		got := order[meets[w]]
		if len(got) != len(perMeet[w]) {
			t.Fatalf("meeting %d: log holds %d commits, writer was acknowledged %d", w, len(got), len(perMeet[w]))
		}
		for i := range got {
			if got[i] != perMeet[w][i] {
				t.Fatalf("meeting %d commit %d: got %s, want %s", w, i, got[i], perMeet[w][i])
			}
		}
	}
	t.Logf("%d commits acknowledged across a leader loss (%d attempts retried); all present once, in order", nAcked.Load(), retries.Load())
}

// retries counts publish attempts that failed and were retried during the node-loss test.
var retries atomic.Int64
