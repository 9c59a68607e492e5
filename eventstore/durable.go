package eventstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// syncer is group commit by fsync: the embedded node's server writes every message to its
// stream's block file before it answers, but does not sync it (SyncAlways off); a writer that
// needs its write on disk calls wait after the server's answer, and one fsync of the streams'
// files, started after that answer, covers every write answered before it began. Writers that
// arrive while an fsync is under way share the next one, so one fsync serves as many writes as
// arrive during the previous fsync, and the server does no more work per write than with an
// interval (docs/benchmarks.md, "Group commit").
//
// What it syncs, per stream directory under jetstream/$G/streams: the newest message block
// (nats-server appends to the newest block only, and writes it with write(2) before it answers
// a publish when the stream has one replica), every block before it that has not been synced
// since it stopped being the newest, the msgs directory when a block was added, and once, when
// the stream is first seen, everything under it (its configuration, the directories). A
// stream's older blocks are changed only by removals (compaction writes a new file and renames
// it over the old one; the server syncs those on its own interval). The power-cut test
// (TestPowerCutKeepsAcknowledgedCommits) proves it on a file system that forgets whatever was
// not fsynced.
//
// After a failed fsync the kernel may have dropped the pages it could not write, and a later
// fsync can succeed without them; so one failure fails every wait from then on, until the
// process starts again (as PostgreSQL does).
type syncer struct {
	root string // the account's streams directory

	mu       sync.Mutex
	next     *syncRound // the round that starts after the one under way
	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when the loop has returned

	// Owned by the loop.
	rootStamp time.Time
	streams   map[string]*syncedStream
	failed    error

	rounds, waits atomic.Int64
}

// syncRound is one fsync of the streams; done is closed when it has finished, err set before.
type syncRound struct {
	done chan struct{}
	err  error
}

// errSyncerClosed answers the writers still waiting when the node shuts down.
var errSyncerClosed = errors.New("the node is shutting down: the write's fsync is not known")

func newSyncer(root string) *syncer {
	s := &syncer{
		root:    root,
		next:    &syncRound{done: make(chan struct{})},
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		streams: map[string]*syncedStream{},
	}
	go s.loop()
	return s
}

// wait returns when everything the node answered before the call is on disk, or the fsync's
// error, or ctx's.
func (s *syncer) wait(ctx context.Context) error {
	s.waits.Add(1)
	s.mu.Lock()
	r := s.next
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // a round is already asked for; it is r or starts before r, and r follows
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("wait for the log's fsync: %w", ctx.Err())
	}
}

func (s *syncer) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			s.mu.Lock()
			r := s.next
			s.next = &syncRound{done: make(chan struct{}), err: errSyncerClosed}
			close(s.next.done)
			s.mu.Unlock()
			r.err = errSyncerClosed
			close(r.done)
			for _, st := range s.streams {
				st.close()
			}
			return
		case <-s.kick:
		}
		s.mu.Lock()
		r := s.next
		s.next = &syncRound{done: make(chan struct{})}
		s.mu.Unlock()
		if s.failed == nil {
			s.failed = s.syncAll()
		}
		s.rounds.Add(1)
		r.err = s.failed
		close(r.done)
	}
}

// close stops the loop; writers still waiting are told their fsync is not known.
func (s *syncer) close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// syncAll fsyncs what every stream wrote since the last round.
func (s *syncer) syncAll() error {
	fi, err := os.Stat(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no stream yet, so nothing written
	}
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if !fi.ModTime().Equal(s.rootStamp) {
		// A stream was added (or removed): find it, and make its directory entry durable.
		entries, err := os.ReadDir(s.root)
		if err != nil {
			return fmt.Errorf("fsync the log: %w", err)
		}
		for name, st := range s.streams {
			if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == name }) {
				st.close() // the stream was deleted
				delete(s.streams, name)
			}
		}
		for _, e := range entries {
			if _, ok := s.streams[e.Name()]; ok || !e.IsDir() {
				continue
			}
			st, err := openSyncedStream(filepath.Join(s.root, e.Name()))
			if err != nil {
				return err
			}
			s.streams[e.Name()] = st
		}
		for _, dir := range []string{s.root, filepath.Dir(s.root), filepath.Dir(filepath.Dir(s.root))} {
			if err := syncPath(dir); err != nil {
				return err
			}
		}
		s.rootStamp = fi.ModTime()
	}
	for name, st := range s.streams {
		if err := st.sync(); err != nil {
			if errors.Is(err, fs.ErrNotExist) { // the stream was deleted
				st.close()
				delete(s.streams, name)
				continue
			}
			return err
		}
	}
	return nil
}

// syncedStream is one stream's newest message block, held open, and how much of it is synced.
type syncedStream struct {
	msgs   string   // the stream's msgs directory
	last   int      // index of the newest block; 0 before the stream has one
	f      *os.File // the newest block, open
	synced int64    // its size at the last fsync
}

// openSyncedStream finds the stream's newest block and fsyncs everything under the stream's
// directory, so that a stream created since the last round is on disk whole.
func openSyncedStream(dir string) (*syncedStream, error) {
	st := &syncedStream{msgs: filepath.Join(dir, "msgs")}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walked (a compaction's temporary file)
			}
			return err
		}
		if filepath.Dir(path) == st.msgs {
			if i, ok := blockIndex(d.Name()); ok && i > st.last {
				st.last = i
			}
		}
		if d.Type()&fs.ModeSymlink != 0 { // the batch stage, in memory
			return nil
		}
		return syncPath(path)
	})
	if err != nil {
		return nil, fmt.Errorf("fsync the log's stream %s: %w", filepath.Base(dir), err)
	}
	if st.last > 0 {
		if st.f, err = os.Open(st.blockPath(st.last)); err != nil {
			return nil, fmt.Errorf("fsync the log's stream %s: %w", filepath.Base(dir), err)
		}
		if fi, err := st.f.Stat(); err == nil {
			st.synced = fi.Size() // synced by the walk
		}
	}
	return st, nil
}

// sync fsyncs the blocks written since the last round: any that stopped being the newest, and
// the newest if it grew.
func (st *syncedStream) sync() error {
	added := false
	for {
		f, err := os.Open(st.blockPath(st.last + 1))
		if errors.Is(err, fs.ErrNotExist) {
			if st.last == 0 {
				if _, err := os.Stat(st.msgs); err != nil {
					return err // the stream is gone
				}
			}
			break
		}
		if err != nil {
			return fmt.Errorf("fsync the log: %w", err)
		}
		if st.f != nil {
			// The block stopped growing when its successor was made; sync what it last got.
			err := st.f.Sync()
			st.f.Close()
			if err != nil {
				f.Close()
				return fmt.Errorf("fsync the log: %w", err)
			}
		}
		st.f, st.last, st.synced, added = f, st.last+1, -1, true
	}
	if added {
		if err := syncPath(st.msgs); err != nil {
			return err
		}
	}
	if st.f == nil {
		return nil
	}
	fi, err := st.f.Stat()
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
		// The block was removed (its messages aged out, or the stream was purged): find the
		// stream's blocks again.
		fresh, err := openSyncedStream(filepath.Dir(st.msgs))
		if err != nil {
			return err
		}
		if fresh.last < st.last {
			// Only older blocks are left; the next block the server makes is st.last + 1.
			fresh.close()
			fresh.last, fresh.synced = st.last, 0
		}
		st.close()
		*st = *fresh
		return nil
	}
	if fi.Size() == st.synced {
		return nil
	}
	if err := st.f.Sync(); err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	st.synced = fi.Size()
	return nil
}

func (st *syncedStream) blockPath(i int) string {
	return filepath.Join(st.msgs, strconv.Itoa(i)+".blk")
}

func (st *syncedStream) close() {
	if st.f != nil {
		st.f.Close()
		st.f = nil
	}
}

// blockIndex reads a message block's file name, "<index>.blk".
func blockIndex(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".blk")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i > 0
}

// syncPath fsyncs a file or directory by name.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
