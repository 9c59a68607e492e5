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
// Every file is reached through the directory opened when the streams directory was first
// found (os.Root), never again by path: were the data directory's file system unmounted, a path
// would lead to whatever lies under it, and a round that finds nothing there to sync must not
// count as done. After a failed fsync the kernel may have dropped the pages it could not write,
// and a later fsync can succeed without them; so a failed fsync fails every wait from then on,
// until the process starts again (as PostgreSQL does). Any other failure fails its round only.
type syncer struct {
	path string   // the account's streams directory
	root *os.Root // it, opened by the first round that finds it

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
	broken        atomic.Bool // failed is set, for FsyncStats
}

// syncRound is one fsync of the streams; done is closed when it has finished, err set before,
// and then each of then is called with err.
type syncRound struct {
	done chan struct{}
	err  error
	then []func(error)
}

// finish ends the round with err.
func (r *syncRound) finish(err error) {
	r.err = err
	close(r.done)
	for _, fn := range r.then {
		fn(err)
	}
}

// errSyncerClosed answers the writers still waiting when the node shuts down.
var errSyncerClosed = errors.New("the node is shutting down: the write's fsync is not known")

func newSyncer(path string) *syncer {
	s := &syncer{
		path:    path,
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

// after calls fn, on the syncer's goroutine, once a round that starts after the call has
// finished, with that round's error: wait without a goroutine parked on it. The store hands a
// commit's answer to it from nats.go's delivery, so that the command waiting is woken once,
// after the fsync, instead of once for the answer and once for the round.
func (s *syncer) after(fn func(error)) {
	s.waits.Add(1)
	s.mu.Lock()
	r := s.next
	select {
	case <-r.done: // the syncer has stopped: r is the round it left closed
		s.mu.Unlock()
		fn(r.err)
		return
	default:
	}
	r.then = append(r.then, fn)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
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
			r.finish(errSyncerClosed)
			for _, st := range s.streams {
				st.close()
			}
			if s.root != nil {
				s.root.Close()
			}
			return
		case <-s.kick:
		}
		s.mu.Lock()
		r := s.next
		s.next = &syncRound{done: make(chan struct{})}
		s.mu.Unlock()
		err := s.failed
		if err == nil {
			err = s.syncAll()
			if _, ok := errors.AsType[*fsyncError](err); ok {
				s.failed = err
				s.broken.Store(true)
			}
		}
		s.rounds.Add(1)
		r.finish(err) // then was appended to under mu, before the swap above

	}
}

// close stops the loop; writers still waiting are told their fsync is not known.
func (s *syncer) close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// syncAll fsyncs what every stream wrote since the last round.
func (s *syncer) syncAll() error {
	if s.root == nil {
		root, err := os.OpenRoot(s.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no stream yet, so nothing written
		}
		if err != nil {
			return fmt.Errorf("fsync the log: %w", err)
		}
		// The streams directory's own entry, and its parent's.
		for _, dir := range []string{filepath.Dir(s.path), filepath.Dir(filepath.Dir(s.path))} {
			if err := syncFile(nil, dir); err != nil {
				root.Close()
				return err
			}
		}
		s.root = root
	}
	fi, err := s.root.Stat(".")
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if !fi.ModTime().Equal(s.rootStamp) {
		// A stream was added or removed: follow it, and make the directory's change durable.
		names, err := readDirNames(s.root, ".")
		if err != nil {
			return fmt.Errorf("fsync the log: %w", err)
		}
		for name, st := range s.streams {
			if !slices.Contains(names, name) {
				st.close() // the stream was deleted
				delete(s.streams, name)
			}
		}
		for _, name := range names {
			if _, ok := s.streams[name]; ok {
				continue
			}
			st, err := openSyncedStream(s.root, name)
			if err != nil {
				return err
			}
			s.streams[name] = st
		}
		if err := syncFile(s.root, "."); err != nil {
			return err
		}
		s.rootStamp = fi.ModTime()
	}
	// The newest blocks that grew are fsynced side by side: a round then takes about one
	// fsync however many streams were written (a convened meeting writes two).
	var grown []*syncedStream
	for _, st := range s.streams {
		size, err := st.sync(s.root)
		if err != nil {
			return err
		}
		if size >= 0 {
			st.pending = size
			grown = append(grown, st)
		}
	}
	errs := make([]error, len(grown))
	var wg sync.WaitGroup
	for i, st := range grown[min(1, len(grown)):] {
		wg.Go(func() { errs[i+1] = st.flush() })
	}
	if len(grown) > 0 {
		errs[0] = grown[0].flush()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// flush fsyncs the newest block, which sync found grown to st.pending bytes.
func (st *syncedStream) flush() error {
	if err := st.f.Sync(); err != nil {
		return &fsyncError{err}
	}
	st.synced = st.pending
	return nil
}

// syncedStream is one stream's newest message block, held open, and how much of it is synced.
type syncedStream struct {
	name    string
	dir     *os.Root  // the stream's directory
	stamp   time.Time // its modification time when its own files were last synced
	last    int       // index of the newest block; 0 before the stream has one
	f       *os.File  // the newest block, open
	synced  int64     // its size at the last fsync
	pending int64     // its size when this round found it grown
}

// openSyncedStream finds the stream's newest block and fsyncs everything in the stream's
// directory, so that a stream created since the last round is on disk whole.
func openSyncedStream(root *os.Root, name string) (*syncedStream, error) {
	dir, err := root.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("fsync the log's stream %s: %w", name, err)
	}
	st := &syncedStream{name: name, dir: dir}
	fi, err := dir.Stat(".")
	if err == nil {
		st.stamp = fi.ModTime()
		err = fs.WalkDir(dir.FS(), ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while walked (a compaction's temporary file)
				}
				return err
			}
			if i, ok := blockIndex(d.Name()); ok && filepath.Dir(path) == "msgs" && i > st.last {
				st.last = i
			}
			if d.Type()&fs.ModeSymlink != 0 { // a batch stage, in memory
				return nil
			}
			if err := syncFile(dir, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	if err == nil && st.last > 0 {
		if st.f, err = dir.Open(blockPath(st.last)); err == nil {
			if fi, err := st.f.Stat(); err == nil {
				st.synced = fi.Size() // synced by the walk
			}
		}
	}
	if err != nil {
		st.close()
		return nil, fmt.Errorf("fsync the log's stream %s: %w", name, err)
	}
	return st, nil
}

// sync fsyncs what the stream wrote since the last round, its own files if they changed and any
// block that stopped being the newest, and returns the newest block's size if it grew (for
// flush to fsync), else -1.
func (st *syncedStream) sync(root *os.Root) (int64, error) {
	if err := st.syncMeta(); err != nil {
		return -1, err
	}
	added := false
	for {
		f, err := st.dir.Open(blockPath(st.last + 1))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return -1, fmt.Errorf("fsync the log: %w", err)
		}
		if st.f != nil {
			// The block stopped growing when its successor was made; sync what it last got.
			err := st.f.Sync()
			st.f.Close()
			if err != nil {
				f.Close()
				return -1, &fsyncError{err}
			}
		}
		st.f, st.last, st.synced, added = f, st.last+1, -1, true
	}
	if added {
		if err := syncFile(st.dir, "msgs"); err != nil {
			return -1, err
		}
	}
	if st.f == nil {
		return -1, nil
	}
	fi, err := st.f.Stat()
	if err != nil {
		return -1, fmt.Errorf("fsync the log: %w", err)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
		// The block was removed (its messages aged out, or the stream was purged): find the
		// stream's blocks again.
		fresh, err := openSyncedStream(root, st.name)
		if err != nil {
			return -1, err
		}
		if fresh.last < st.last {
			// Only older blocks are left; the next block the server makes is st.last + 1.
			if fresh.f != nil {
				fresh.f.Close()
				fresh.f = nil
			}
			fresh.last, fresh.synced = st.last, 0
		}
		st.close()
		*st = *fresh
		return -1, nil
	}
	if fi.Size() == st.synced {
		// Unchanged since the last fsync: the file system makes a page part of the file's size
		// only once it holds the page's bytes, so a write still under way then grows it later.
		return -1, nil
	}
	return fi.Size(), nil
}

// syncMeta fsyncs the stream's own files when its directory changed: the server rewrites its
// configuration (meta.inf, meta.sum) through a temporary file renamed into place, unsynced,
// and a stream whose configuration is lost is not loaded at all.
func (st *syncedStream) syncMeta() error {
	fi, err := st.dir.Stat(".")
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if fi.ModTime().Equal(st.stamp) {
		return nil
	}
	entries, err := fs.ReadDir(st.dir.FS(), ".")
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // msgs is synced block by block; the consumers' directories are not the log
		}
		if err := syncFile(st.dir, e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := syncFile(st.dir, "."); err != nil {
		return err
	}
	st.stamp = fi.ModTime()
	return nil
}

func (st *syncedStream) close() {
	if st.f != nil {
		st.f.Close()
		st.f = nil
	}
	st.dir.Close()
}

func blockPath(i int) string { return "msgs/" + strconv.Itoa(i) + ".blk" }

// blockIndex reads a message block's file name, "<index>.blk".
func blockIndex(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".blk")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i > 0
}

// readDirNames lists the directories in dir.
func readDirNames(root *os.Root, dir string) ([]string, error) {
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// fsyncError is a failed fsync: what it was to write may be lost even if the next succeeds.
type fsyncError struct{ err error }

func (e *fsyncError) Error() string { return "fsync the log: " + e.err.Error() }
func (e *fsyncError) Unwrap() error { return e.err }

// syncFile fsyncs a file or directory: name in root, or the path name when root is nil. Only
// the fsync's own failure is an fsyncError.
func syncFile(root *os.Root, name string) error {
	var f *os.File
	var err error
	if root == nil {
		f, err = os.Open(name)
	} else {
		f, err = root.Open(name)
	}
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return &fsyncError{fmt.Errorf("%s: %w", name, err)}
	}
	return nil
}
