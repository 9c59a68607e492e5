package eventstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The syncer's bookkeeping, on a directory laid out as nats-server lays out its streams. That
// the fsyncs it makes keep every acknowledged commit through a power failure is proved on a file
// system that forgets what was not synced (powercut_test.go).

func writeBlock(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestSyncerFollowsTheNewestBlock(t *testing.T) {
	root := filepath.Join(t.TempDir(), "streams")
	s := &syncer{path: root, streams: map[string]*syncedStream{}}
	if err := s.syncAll(false, false); err != nil {
		t.Fatalf("no streams directory yet: %v", err)
	}
	msgs := filepath.Join(root, "DIALOG", "msgs")
	writeBlock(t, filepath.Join(root, "DIALOG", "meta.inf"), "{}")
	writeBlock(t, filepath.Join(msgs, "1.blk"), "one")
	writeBlock(t, filepath.Join(msgs, "2.blk"), "two")
	if err := s.syncAll(false, false); err != nil {
		t.Fatal(err)
	}
	st := s.streams["DIALOG"]
	if st == nil || st.last != 2 || st.synced != 3 {
		t.Fatalf("after the first round: %+v, want the stream found at block 2, synced at 3 bytes", st)
	}

	writeBlock(t, filepath.Join(msgs, "2.blk"), "more")
	if err := s.syncAll(false, false); err != nil || st.synced != 7 {
		t.Fatalf("the newest block grew: synced %d (%v), want 7", st.synced, err)
	}

	// Two blocks added between rounds: both followed, the newest held.
	writeBlock(t, filepath.Join(msgs, "3.blk"), "three")
	writeBlock(t, filepath.Join(msgs, "4.blk"), "four!")
	if err := s.syncAll(false, false); err != nil || st.last != 4 || st.synced != 5 || filepath.Base(st.f.Name()) != "4.blk" {
		t.Fatalf("after new blocks: last %d synced %d (%v), want 4 and 5", st.last, st.synced, err)
	}

	// The newest block removed (its messages aged out) and the next one made: found again.
	if err := os.Remove(filepath.Join(msgs, "4.blk")); err != nil {
		t.Fatal(err)
	}
	if err := s.syncAll(false, false); err != nil {
		t.Fatal(err)
	}
	writeBlock(t, filepath.Join(msgs, "5.blk"), "five")
	if err := s.syncAll(false, false); err != nil || s.streams["DIALOG"].last != 5 {
		t.Fatalf("after a removed block: %+v (%v), want block 5", s.streams["DIALOG"], err)
	}

	// A second stream appears; a stream removed is forgotten, not an error.
	writeBlock(t, filepath.Join(root, "DIALOG_ACCESS", "msgs", "1.blk"), "entry")
	if err := s.syncAll(false, false); err != nil || s.streams["DIALOG_ACCESS"] == nil {
		t.Fatalf("a new stream: %v %v", s.streams, err)
	}
	if err := os.RemoveAll(filepath.Join(root, "DIALOG_ACCESS")); err != nil {
		t.Fatal(err)
	}
	if err := s.syncAll(false, false); err != nil {
		t.Fatalf("a removed stream: %v", err)
	}
	if _, ok := s.streams["DIALOG_ACCESS"]; ok {
		t.Fatal("a removed stream is still followed")
	}

	// The streams directory moved away (a file system unmounted under it): a round that finds
	// nothing at its path is not done, since the files it follows are still the old ones.
	if err := os.Rename(root, root+".gone"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	writeBlock(t, filepath.Join(root+".gone", "DIALOG", "msgs", "5.blk"), "grown")
	if err := s.syncAll(false, false); err != nil || s.streams["DIALOG"].synced != 9 {
		t.Fatalf("after the directory moved: %+v %v, want the moved block followed and synced", s.streams["DIALOG"], err)
	}
}

func TestBlockIndex(t *testing.T) {
	for name, want := range map[string]int{"1.blk": 1, "27.blk": 27, "0.blk": 0, "x.blk": 0, "3.idx": 0, "index.db": 0, "4.blk.tmp": 0} {
		if got, _ := blockIndex(name); got != want {
			t.Errorf("blockIndex(%q) = %d, want %d", name, got, want)
		}
	}
}

// Every waiting writer is answered, and writers who arrive together share rounds.
func TestWaitDurableSharesFsyncs(t *testing.T) {
	c := startCluster(t, 1)
	s := c.open(t, 1)
	nd := c.nodes[0]
	if nd.Durable() == nil {
		t.Fatal("a single node with fsync always does not group commit by fsync")
	}
	ctx := ctxT(t)
	const writers = 64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			citizen := uuid.New()
			for range 10 {
				a, err := s.Append(ctx, conveneCommit(citizen, uuid.New()), 0)
				if err != nil {
					errs <- err
					return
				}
				if d := s.durable.Load(); d < a.Seq {
					errs <- fmt.Errorf("answered at %d, on disk only up to %d", a.Seq, d)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := nd.FsyncStats()
	rounds, waits := st.Rounds, st.Waits
	if st.Failed {
		t.Fatal("an fsync failed")
	}
	// An append finds its commit already on disk when another's fsync covered it.
	if waits == 0 || waits > writers*10 || rounds == 0 || rounds >= waits {
		t.Fatalf("%d waits in %d rounds for %d appends: want rounds shared", waits, rounds, writers*10)
	}
	if last, _ := s.LastSeq(ctx); s.durable.Load() != last {
		t.Fatalf("durable up to %d, the log ends at %d", s.durable.Load(), last)
	}

	// A node whose server syncs by itself has nothing to wait for.
	for _, cfg := range []NodeConfig{{ServerFsync: true}, {Fsync: Fsync{Interval: 1e9}}} {
		cfg.DataDir, cfg.Port = t.TempDir(), freePort(t)
		other, err := StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if other.Durable() != nil || other.WaitDurable(ctx) != nil {
			t.Errorf("%+v: the node group commits by fsync, but its server syncs by itself", cfg.Fsync)
		}
		other.Shutdown()
	}
}

// A writer still waiting when the node shuts down is told its write's fsync is not known, and
// is not answered as written.
func TestWaitDurableAtShutdown(t *testing.T) {
	c := startCluster(t, 1)
	s := c.open(t, 1)
	nd := c.nodes[0]
	nd.syncer.close() // as Shutdown begins; the server still answers
	if err := nd.WaitDurable(context.Background()); !errors.Is(err, errSyncerClosed) {
		t.Fatalf("wait after close: %v, want %v", err, errSyncerClosed)
	}
	ctx := ctxT(t)
	citizen, meeting := uuid.New(), uuid.New()
	if _, err := s.Append(ctx, conveneCommit(citizen, meeting), 0); !errors.Is(err, errSyncerClosed) {
		t.Fatalf("append after the node's fsyncs stopped: %v, want %v", err, errSyncerClosed)
	}
	// Written to the server, but never answered as written.
	if m, err := s.stream.GetLastMsgForSubject(ctx, MeetingSubject(citizen, meeting)); err != nil || m == nil {
		t.Fatalf("the commit did not reach the server: %v", err)
	}
}

// A listing of the msgs directory tells a block the server rewrote and renamed into place from
// the newest block growing: only the first is a change of the directory (and is fsynced before
// it), so the writes the newest block takes between looks do not make every listing fsync the
// directory again.
func TestSyncerTellsARenamedBlockFromTheNewestGrowing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "streams")
	msgs := filepath.Join(root, "DIALOG", "msgs")
	writeBlock(t, filepath.Join(msgs, "1.blk"), "one")
	writeBlock(t, filepath.Join(msgs, "2.blk"), "two")
	s := &syncer{path: root, streams: map[string]*syncedStream{}}
	if err := s.syncAll(false, false); err != nil {
		t.Fatal(err)
	}
	st := s.streams["DIALOG"]
	if changed, err := st.syncRenamedBlocks(); err != nil || changed {
		t.Fatalf("nothing happened: changed %v (%v)", changed, err)
	}
	writeBlock(t, filepath.Join(msgs, "2.blk"), " and more")
	if changed, err := st.syncRenamedBlocks(); err != nil || changed {
		t.Fatalf("the newest block grew: changed %v (%v), want no change", changed, err)
	}
	// A compaction of block 1: written beside it, renamed over it.
	writeBlock(t, filepath.Join(msgs, "1.new"), "on")
	if err := os.Rename(filepath.Join(msgs, "1.new"), filepath.Join(msgs, "1.blk")); err != nil {
		t.Fatal(err)
	}
	if changed, err := st.syncRenamedBlocks(); err != nil || !changed {
		t.Fatalf("block 1 rewritten: changed %v (%v), want a change", changed, err)
	}
	if changed, err := st.syncRenamedBlocks(); err != nil || changed {
		t.Fatalf("looked at again: changed %v (%v), want none", changed, err)
	}
}

func TestGap(t *testing.T) {
	for _, c := range []struct {
		name       string
		lastBusy   bool
		sinceEnded time.Duration
		want       time.Duration
	}{
		{"after a light round", false, 0, 0},
		{"at once after a busy round", true, 0, roundGap},
		{"a while after a busy round", true, 200 * time.Microsecond, roundGap - 200*time.Microsecond},
		{"long after a busy round", true, time.Millisecond, 0},
	} {
		if got := gap(c.lastBusy, c.sinceEnded); got != c.want {
			t.Errorf("%s: gap = %v, want %v", c.name, got, c.want)
		}
	}
}
