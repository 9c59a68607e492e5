package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// MaxBatch is the most commits one transaction applies while following the log; a rebuild,
// which nobody waits for commit by commit, takes rebuildBatch.
const (
	MaxBatch     = 1000
	rebuildBatch = 5000
)

// Projector keeps one read model up to date with the log. It reads with an ordered consumer
// from its checkpoint + 1 and applies commits in batches, each batch and the new checkpoint in
// one SQLite transaction, so a crash replays at most the batch that was not committed, which the
// checkpoint then skips. A commit it cannot apply stops it, with the sequence and the reason.
type Projector struct {
	proj  Projection
	dir   string
	store *eventstore.Store
	log   *slog.Logger

	// mu guards db against a swap: queries hold it for reading while they run.
	mu sync.RWMutex
	db *DB

	state    sync.Mutex
	seq      uint64
	at       time.Time // when the last applied commit was stored in the log
	caughtUp time.Time // when the projector last had nothing left to apply
	failed   error
	failedAt uint64              // the sequence of the commit it stopped on, if it stopped on one
	skip     map[uint64]struct{} // unreadable commits to pass over; see SkipUnreadable
	skipped  uint64              // how many it has passed over since it started
	advanced chan struct{}       // closed and replaced whenever seq moves
	swaps    chan swapRequest
	stopped  chan struct{} // closed when Run returns: nobody takes swaps any more
	rebuild  sync.Mutex    // one rebuild at a time
}

type swapRequest struct {
	db   *DB
	seq  uint64
	done chan error
}

// Status is how far a projector has come.
type Status struct {
	Name string `json:"name"`
	// Seq is the checkpoint: the last sequence applied.
	Seq uint64 `json:"seq"`
	// CaughtUpAt is when it last had nothing left to apply.
	CaughtUpAt time.Time `json:"caught_up_at"`
	// Error says why it stopped, if it did.
	Error string `json:"error,omitempty"`
	// StoppedAt is the sequence of the commit it stopped on (0 while it runs, or when it
	// stopped on something else).
	StoppedAt uint64 `json:"stopped_at,omitempty"`
	// Skipped counts the unreadable commits it passed over since it started (SkipUnreadable).
	Skipped uint64 `json:"skipped,omitempty"`
}

// OpenProjector opens the projection's current SQLite file under dir (creating it).
func OpenProjector(ctx context.Context, dir string, proj Projection, store *eventstore.Store, log *slog.Logger) (*Projector, error) {
	p := &Projector{proj: proj, dir: dir, store: store, log: log.With("projection", proj.Name()),
		advanced: make(chan struct{}), swaps: make(chan swapRequest), stopped: make(chan struct{})}
	// The files hold names, agendas and follow-ups: the directory is the owner's alone.
	tightened, err := eventstore.SecureDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read models: %w", err)
	}
	if tightened {
		p.log.Warn("the read models' directory could be read by others; now only its owner can", "dir", dir)
	}
	file, err := p.currentFile()
	if err != nil {
		return nil, err
	}
	if p.db, err = OpenDB(ctx, file, migrations, "migrations/"+proj.Name()); err != nil {
		return nil, err
	}
	if p.seq, p.at, err = readCheckpoint(ctx, p.db, proj.Name()); err != nil {
		p.db.Close()
		return nil, err
	}
	if err := p.setCurrent(file); err != nil {
		p.db.Close()
		return nil, err
	}
	return p, nil
}

// Name is the projection's name.
func (p *Projector) Name() string { return p.proj.Name() }

// The current file is named in <name>.current, so a rebuilt file is swapped in by one rename.
func (p *Projector) pointer() string { return filepath.Join(p.dir, p.proj.Name()+".current") }

func (p *Projector) currentFile() (string, error) {
	b, err := os.ReadFile(p.pointer())
	if errors.Is(err, os.ErrNotExist) {
		return filepath.Join(p.dir, p.proj.Name()+".1.db"), nil
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(p.dir, strings.TrimSpace(string(b))), nil
}

func (p *Projector) setCurrent(file string) error {
	tmp := p.pointer() + ".tmp"
	if err := os.WriteFile(tmp, []byte(filepath.Base(file)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.pointer())
}

func readCheckpoint(ctx context.Context, db *DB, name string) (uint64, time.Time, error) {
	var seq uint64
	var at string
	err := db.conn.QueryRowContext(ctx, `SELECT seq, at FROM checkpoint WHERE projection = ?`, name).Scan(&seq, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	return seq, parseTS(at), nil
}

// Status says how far the projector has come.
func (p *Projector) Status() Status {
	p.state.Lock()
	defer p.state.Unlock()
	s := Status{Name: p.proj.Name(), Seq: p.seq, CaughtUpAt: p.caughtUp, Skipped: p.skipped}
	if p.failed != nil {
		s.Error, s.StoppedAt = p.failed.Error(), p.failedAt
	}
	return s
}

// SkipUnreadable names commits the projector passes over when they cannot be read (decoded),
// instead of stopping on them: the operator's way past a malformed message in the log, which
// refuses deletes. A listed commit that can be read is applied as any other, so a mistyped
// sequence never drops a real commit; a commit that can be read but not applied still stops the
// projector (that is a fault of the read model's code, not of the log). Call it before Run.
func (p *Projector) SkipUnreadable(seqs ...uint64) {
	p.state.Lock()
	defer p.state.Unlock()
	if p.skip == nil {
		p.skip = map[uint64]struct{}{}
	}
	for _, seq := range seqs {
		p.skip[seq] = struct{}{}
	}
}

// skips says whether seq is a commit to pass over if it cannot be read.
func (p *Projector) skips(seq uint64) bool {
	p.state.Lock()
	defer p.state.Unlock()
	_, ok := p.skip[seq]
	return ok
}

// View runs fn with the read pool of the current file; a swap waits for it to finish.
func (p *Projector) View(fn func(db *sql.DB) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return fn(p.db.Read())
}

// WaitFor waits until the projector has applied seq, or ctx ends, or the projector stops.
func (p *Projector) WaitFor(ctx context.Context, seq uint64) error {
	for {
		p.state.Lock()
		cur, failed, ch := p.seq, p.failed, p.advanced
		p.state.Unlock()
		if cur >= seq {
			return nil
		}
		if failed != nil {
			return fmt.Errorf("read model %s stopped: %w", p.proj.Name(), failed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("read model %s has reached %d, not yet %d: %w", p.proj.Name(), cur, seq, ctx.Err())
		}
	}
}

func (p *Projector) advance(seq uint64, at time.Time, caughtUp bool, passed uint64) {
	p.state.Lock()
	p.seq, p.at = seq, at
	p.skipped += passed
	if caughtUp {
		p.caughtUp = time.Now()
	}
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.state.Unlock()
}

func (p *Projector) fail(stop *stopError) {
	p.state.Lock()
	p.failed, p.failedAt = stop.err, stop.seq
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.state.Unlock()
	if stop.seq == 0 {
		p.log.Error("read model stopped", "err", stop.err)
		return
	}
	p.log.Error("read model stopped on a commit", "seq", stop.seq, "subject", stop.subject, "err", stop.err)
}

// Close closes the current file.
func (p *Projector) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.db.Close()
}

// Run follows the log until ctx ends or a commit cannot be applied (then the projector stops
// and says why in Status, the log and readiness; the other projectors go on).
func (p *Projector) Run(ctx context.Context) error {
	defer close(p.stopped)
	if err := p.initialLoad(ctx); err != nil && ctx.Err() == nil {
		p.log.Warn("bulk load of an empty read model failed; following the log commit by commit", "err", err)
	}
	for {
		err := p.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			p.fail(stop)
			return stop.err
		}
		// The log went away for a moment (a leader change, a reconnect): follow again.
		p.log.Warn("following the log failed; trying again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// decoded is a commit read from the log, decoded by the goroutine that received it so that
// decoding runs beside the SQLite writes.
type decoded struct {
	raw    eventstore.RawRecorded
	commit domain.Commit
	err    error
}

func decode(r eventstore.RawRecorded) decoded {
	c, err := domain.DecodeCommit(r.Data)
	return decoded{raw: r, commit: c, err: err}
}

// BulkThreshold is how long a log must be before an empty read model is loaded in bulk instead
// of commit by commit.
const BulkThreshold = 10_000

// initialLoad fills an empty read model from a long log in bulk, as LoadEmpty does for several.
func (p *Projector) initialLoad(ctx context.Context) error {
	return LoadEmpty(ctx, []*Projector{p})
}

// stopError is a commit the projector cannot apply: it stops for good. seq and subject name the
// commit, when it is one commit.
type stopError struct {
	seq     uint64
	subject string
	err     error
}

func (e *stopError) Error() string { return e.err.Error() }

// follow reads the log from the checkpoint + 1 and applies it in batches.
func (p *Projector) follow(ctx context.Context) error {
	p.state.Lock()
	from := p.seq + 1
	p.state.Unlock()
	cons, err := p.store.JetStream().OrderedConsumer(ctx, eventstore.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventstore.AllFilter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * MaxBatch))
	if err != nil {
		return err
	}
	defer it.Stop()
	type item struct {
		d       decoded
		pending uint64
	}
	msgs := make(chan item, 2*MaxBatch)
	errc := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit) // lets the reader go when follow returns with commits still buffered
	go func() {
		defer close(msgs)
		for {
			m, err := it.Next()
			if err == nil {
				var r eventstore.RawRecorded
				var np uint64
				if r, np, err = raw(m); err == nil {
					select {
					case msgs <- item{decode(r), np}:
						continue
					case <-quit:
						return
					}
				}
			}
			errc <- err
			return
		}
	}()
	batch := make([]decoded, 0, rebuildBatch)
	linger := time.NewTimer(time.Hour)
	defer linger.Stop()
	for {
		batch = batch[:0]
		pending := uint64(0)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case req := <-p.swaps:
			req.done <- p.swap(ctx, req)
			continue
		case m, ok := <-msgs:
			if !ok {
				return <-errc
			}
			batch, pending = append(batch, m.d), m.pending
		}
		// Take what has already arrived, up to a batch: a larger one when far behind, where
		// nobody waits for a single commit.
		limit := MaxBatch
		if pending >= MaxBatch {
			limit = rebuildBatch
		}
	fill:
		for len(batch) < limit && pending > 0 {
			linger.Reset(5 * time.Millisecond) // since Go 1.23 a Reset timer delivers no stale tick
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch, pending = append(batch, m.d), m.pending
			case <-linger.C:
				break fill
			}
		}
		// A commit answered a moment ago may not be on disk yet (the node group commits by
		// fsync): a read model that kept it could hold what a power failure takes from the log.
		if err := p.store.WaitDurable(ctx, batch[len(batch)-1].raw.Seq); err != nil {
			return err
		}
		if err := p.applyBatch(ctx, p.currentDB(), batch, pending == 0); err != nil {
			return err
		}
	}
}

func raw(m jetstream.Msg) (eventstore.RawRecorded, uint64, error) {
	meta, err := m.Metadata()
	if err != nil {
		return eventstore.RawRecorded{}, 0, err
	}
	return eventstore.RawRecorded{Seq: meta.Sequence.Stream, Subject: m.Subject(), Time: meta.Timestamp, Data: m.Data()}, meta.NumPending, nil
}

func (p *Projector) currentDB() *DB {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.db
}

// applyBatch applies commits to db in one transaction with the checkpoint, skipping those the
// checkpoint says are done. Only the live database's progress is published.
func (p *Projector) applyBatch(ctx context.Context, db *DB, batch []decoded, caughtUp bool) error {
	if len(batch) == 0 {
		return nil
	}
	cp, cpAt, err := readCheckpoint(ctx, db, p.proj.Name())
	if err != nil {
		return err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	applied := cp
	passed := uint64(0) // unreadable commits passed over
	for _, d := range batch {
		r, c := d.raw, d.commit
		if r.Seq <= applied {
			continue // delivered again: already in this read model
		}
		if d.err != nil {
			if !p.skips(r.Seq) {
				return &stopError{r.Seq, r.Subject, fmt.Errorf("commit at sequence %d (subject %s) cannot be read: %w", r.Seq, r.Subject, d.err)}
			}
			// Passed over as the operator said, and said so every time: the log still holds it.
			p.log.Warn("unreadable commit passed over, as serve --skip-unreadable says", "seq", r.Seq, "subject", r.Subject, "err", d.err)
			applied, cpAt = r.Seq, r.Time
			passed++
			continue
		}
		if err := p.proj.Apply(ctx, tx, eventstore.Recorded{Seq: r.Seq, Subject: r.Subject, Time: r.Time, Commit: c}); err != nil {
			return &stopError{r.Seq, r.Subject, fmt.Errorf("commit at sequence %d (%s on meeting %s) cannot be applied: %w", r.Seq, c.Command, c.MeetingID, err)}
		}
		applied, cpAt = r.Seq, r.Time
	}
	if applied == cp {
		return nil
	}
	if f, ok := p.proj.(Finisher); ok {
		if err := f.Finish(ctx, tx); err != nil {
			return &stopError{err: fmt.Errorf("commits up to sequence %d cannot be applied: %w", applied, err)}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO checkpoint (projection, seq, at) VALUES (?, ?, ?)
		ON CONFLICT (projection) DO UPDATE SET seq = excluded.seq, at = excluded.at`, p.proj.Name(), applied, ts(cpAt)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if db == p.currentDB() {
		p.advance(applied, cpAt, caughtUp, passed)
	}
	return nil
}

// Rebuild builds the read model again from sequence 1 into a new file, reporting progress
// (applied, total) as it goes, and swaps it in once it has caught up; queries go to the old file
// until the swap. It returns the new file's checkpoint.
func (p *Projector) Rebuild(ctx context.Context, progress func(done, total uint64)) (uint64, error) {
	if !p.rebuild.TryLock() {
		return 0, fmt.Errorf("read model %s is being rebuilt already", p.proj.Name())
	}
	defer p.rebuild.Unlock()
	if st := p.Status(); st.Error != "" {
		return 0, fmt.Errorf("read model %s has stopped (%s); restart the server after fixing the cause", p.proj.Name(), st.Error)
	}
	old := p.currentDB().Path
	gen := 1
	if parts := strings.Split(filepath.Base(old), "."); len(parts) == 3 {
		gen, _ = strconv.Atoi(parts[1])
	}
	file := filepath.Join(p.dir, fmt.Sprintf("%s.%d.db", p.proj.Name(), gen+1))
	removeDB(file) // a rebuild that was cut off
	db, err := OpenDB(ctx, file, migrations, "migrations/"+p.proj.Name())
	if err != nil {
		return 0, err
	}
	if err := db.SetDurable(ctx, false); err != nil {
		db.Close()
		return 0, err
	}
	total, err := p.store.LastSeq(ctx)
	if err == nil {
		err = p.store.WaitDurable(ctx, total) // what the read model keeps is in the log for good
	}
	if err != nil {
		db.Close()
		return 0, err
	}
	var seq uint64
	err = errUnusual
	if _, ok := p.proj.(BulkLoader); ok {
		seq, err = p.bulkLoad(ctx, db, total, progress)
	}
	if errors.Is(err, errUnusual) {
		// Found while folding, before anything was written: the new file is still empty.
		seq, err = p.replay(ctx, db, 1, total, rebuildBatch, progress)
	}
	if err == nil {
		err = db.SetDurable(ctx, true)
	}
	if err != nil {
		db.Close()
		return 0, fmt.Errorf("rebuild %s: %w", p.proj.Name(), err)
	}
	done := make(chan error, 1)
	select {
	case p.swaps <- swapRequest{db: db, seq: seq, done: done}:
	case <-ctx.Done():
		db.Close()
		return 0, ctx.Err()
	case <-p.stopped:
		db.Close()
		return 0, fmt.Errorf("rebuild %s: the read model stopped before the new file could be swapped in", p.proj.Name())
	}
	if err := <-done; err != nil { // the follow loop always answers a request it took
		db.Close()
		return 0, fmt.Errorf("rebuild %s: %w", p.proj.Name(), err)
	}
	return p.Status().Seq, nil
}

// swap runs in the follow loop between batches: it brings the new file up to the live
// checkpoint, makes it current, and removes the old one.
func (p *Projector) swap(ctx context.Context, req swapRequest) error {
	p.state.Lock()
	live := p.seq
	p.state.Unlock()
	if req.seq < live {
		if _, err := p.replay(ctx, req.db, req.seq+1, live, MaxBatch, nil); err != nil {
			return err
		}
	}
	if err := p.setCurrent(req.db.Path); err != nil {
		return err
	}
	p.mu.Lock()
	old := p.db
	p.db = req.db
	p.mu.Unlock()
	if err := old.Close(); err != nil {
		p.log.Warn("close the replaced read model", "file", old.Path, "err", err)
	}
	removeDB(old.Path)
	if seq, at, err := readCheckpoint(ctx, req.db, p.proj.Name()); err == nil && seq > live {
		p.advance(seq, at, false, 0) // the rebuild read further than the live file had come
	}
	p.log.Info("read model rebuilt and swapped in", "file", req.db.Path, "seq", max(live, req.seq))
	return nil
}

// replay applies the log from..until to db in batches: one goroutine reads, one decodes, and
// this one writes. It returns the last sequence applied.
func (p *Projector) replay(ctx context.Context, db *DB, from, until uint64, size int, progress func(done, total uint64)) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	raws := make(chan eventstore.RawRecorded, size)
	batches := make(chan []decoded, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(raws)
		readErr <- p.store.ReadRaw(ctx, eventstore.ReadOptions{From: from, UntilSeq: until}, func(r eventstore.RawRecorded) error {
			select {
			case raws <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	go func() {
		defer close(batches)
		batch := make([]decoded, 0, size)
		for r := range raws {
			batch = append(batch, decode(r))
			if len(batch) == size {
				select {
				case batches <- batch:
				case <-ctx.Done():
					return
				}
				batch = make([]decoded, 0, size)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
			}
		}
	}()
	var seq uint64
	for batch := range batches {
		if err := p.applyBatch(ctx, db, batch, false); err != nil {
			return seq, err
		}
		seq = batch[len(batch)-1].raw.Seq
		if progress != nil {
			progress(seq, until)
		}
	}
	if err := <-readErr; err != nil {
		return seq, err
	}
	return seq, ctx.Err()
}

// removeDB deletes a SQLite file with its WAL and shared-memory files.
func removeDB(file string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(file + suffix)
	}
}
