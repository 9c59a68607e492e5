package eventstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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
// since it stopped being the newest, an older block the server rewrote (a compaction writes a
// new file, unsynced, and renames it over the old one: the new file is fsynced before the
// directory that names it), the msgs directory when it changed, and once, when the stream is
// first seen, everything under it (its configuration, the directories); a derived stream's
// newest block (the meeting index, derived) only in a round of its own. A directory's change
// is told by its modification time, which is not trusted while it is recent (settled). When no
// writer asks for a round for a second the syncer runs one of its own, for what the server
// changes on its timers. The power-cut tests (TestPowerCut*) prove it on a file system that
// forgets whatever was not fsynced.
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

	mu         sync.Mutex
	next       *syncRound // the round that starts after the one under way
	threadFrom int        // the writers a round must have to use the thread (threadFrom)
	kick       chan struct{}
	stop       chan struct{}
	stopOnce   sync.Once
	done       chan struct{} // closed when the loop has returned

	// Owned by the loop.
	thread    *fsyncThread // fsyncs the grown blocks off Go's scheduler; nil without cgo
	rootStamp time.Time
	streams   map[string]*syncedStream
	failed    error

	rounds, waits atomic.Int64
	broken        atomic.Bool // failed is set, for FsyncStats
}

// syncRound is one fsync of the streams; done is closed when it has finished, err set before,
// and then each of then is called with err.
type syncRound struct {
	done    chan struct{}
	err     error
	then    []func(error)
	waiting int // writers who joined it (wait and after), under the syncer's mu
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
		path:       path,
		next:       &syncRound{done: make(chan struct{})},
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		streams:    map[string]*syncedStream{},
		threadFrom: threadFrom,
	}
	if t, err := startFsyncThread(); err == nil {
		s.thread = t
	} // else the loop's goroutine fsyncs, as it did before the thread
	go s.loop()
	return s
}

// wait returns when everything the node answered before the call is on disk, or the fsync's
// error, or ctx's.
func (s *syncer) wait(ctx context.Context) error {
	s.waits.Add(1)
	s.mu.Lock()
	r := s.next
	r.waiting++
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
	r.waiting++
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// idleRound is how often the syncer runs a round of its own when no writer asked for one: what
// the server changes on its own timers (a block rewritten after messages aged out) is then on
// disk within about this, not only at the server's own flush or with the next write.
const idleRound = time.Second

func (s *syncer) loop() {
	defer close(s.done)
	tick := time.NewTicker(idleRound)
	defer tick.Stop()
	var ended time.Time // when the last round ended
	busy := false       // the last round had busyRound writers or more (gap)
	for {
		idle := false // a round of the syncer's own, not a writer's
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
			if s.thread != nil {
				s.thread.close()
			}
			return
		case <-s.kick:
		case <-tick.C:
			if time.Since(ended) < idleRound {
				continue // writers asked for rounds since the last tick
			}
			idle = true
		}
		if d := gap(busy, time.Since(ended)); d > 0 {
			time.Sleep(d) // writers arriving meanwhile join this round
		}
		s.mu.Lock()
		r := s.next
		s.next = &syncRound{done: make(chan struct{})}
		// Later joiners go to s.next.
		onThread := s.thread != nil && r.waiting >= s.threadFrom
		busy = r.waiting >= busyRound
		s.mu.Unlock()
		err := s.failed
		if err == nil {
			err = s.syncAll(onThread, idle)
			if _, ok := errors.AsType[*fsyncError](err); ok {
				s.failed = err
				s.broken.Store(true)
			}
		}
		s.rounds.Add(1)
		ended = time.Now()
		r.finish(err) // then was appended to under mu, before the swap above

	}
}

// roundGap is how long after a busy round ends the next one waits (gap). Under a heavy load the
// writers that arrive meanwhile share the next fsync instead of asking for one each, and where
// each fsync costs CPU (a virtual disk: 125–190 µs of it here) the CPU saved is worth more than
// the wait: at 64 clients over HTTP, 3.5–6 % more durable commands in two series of
// alternations (docs/benchmarks.md, "Group commit"). Only the round after a busy one waits, so
// rounds alternate between larger and smaller and the wait stays bounded; keeping every round
// waiting while a moving average of their writers stayed high made rounds of 24 writers and
// cost 6 %. A light load never waits.
const roundGap = 600 * time.Microsecond

// busyRound is how many writers make a round busy.
const busyRound = 12

// gap is how long the next round waits: the rest of roundGap since the last round ended when
// that round was busy, else nothing.
func gap(lastBusy bool, sinceEnded time.Duration) time.Duration {
	if !lastBusy {
		return 0
	}
	return max(0, roundGap-sinceEnded)
}

// close stops the loop; writers still waiting are told their fsync is not known.
func (s *syncer) close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// threadFrom is how many writers a round must have before its blocks are fsynced on the fsync
// thread. A round of a few is fsynced from the loop's goroutine: at a light load the thread's
// two wake-ups (the request, the answer) cost more time than the hand-over of a processor they
// save, and under load the hand-over costs more CPU than the wake-ups (docs/benchmarks.md,
// "Group commit").
const threadFrom = 4

// derived says whether a stream's new messages are left out of a writer's round: what it holds
// is derived from the log and made whole from it when a store opens (the meeting index,
// Store.repairIndex), so a convene's round fsyncs the log alone. Its configuration, new and
// rewritten blocks are followed as every stream's are, and an idle round fsyncs its messages
// too.
func derived(stream string) bool { return stream == IndexStreamName }

// syncAll fsyncs what every stream wrote since the last round; onThread fsyncs the grown blocks
// on the fsync thread, and idle (a round of the syncer's own) the derived streams' too.
func (s *syncer) syncAll(onThread, idle bool) error {
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
		s.rootStamp = settled(fi.ModTime())
	}
	var grown []*syncedStream
	for name, st := range s.streams {
		size, err := st.sync(s.root)
		if err != nil {
			return err
		}
		if size >= 0 && (idle || !derived(name)) {
			st.pending = size
			grown = append(grown, st)
		}
	}
	if len(grown) == 0 {
		return nil
	}
	errs := make([]error, len(grown))
	if onThread {
		files := make([]*os.File, len(grown))
		for i, st := range grown {
			files[i] = st.f
		}
		errs = s.thread.fsync(files)
	} else {
		// The newest blocks that grew are fsynced side by side: a round then takes about one
		// fsync however many streams were written (a convened meeting writes two).
		var wg sync.WaitGroup
		for i, st := range grown[1:] {
			wg.Go(func() { errs[i+1] = st.f.Sync() })
		}
		errs[0] = grown[0].f.Sync()
		wg.Wait()
	}
	for i, st := range grown {
		if errs[i] != nil {
			errs[i] = &fsyncError{errs[i]}
		} else {
			st.synced = st.pending // sync found it grown to this
		}
	}
	return errors.Join(errs...)
}
