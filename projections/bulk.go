package projections

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// A bulk load fills an empty read model from a long log: one row per meeting's final state
// instead of one statement per event, with multi-row inserts. The log is folded and written as
// a stream: a meeting is handed to the writers once its last commit is applied, in batches of
// whole meetings, and its memory goes with its batch. What the load holds at once is the
// meetings still open at that point of the log and a few batches, not the whole folded log
// (docs/benchmarks.md, "Memory").

// BulkLoader is a projection that can write a log's meetings in bulk into an empty file. It
// must write exactly the rows its Apply would have. The meetings come in batches, each sorted
// by id, and every meeting in exactly one batch; the batches are shared with other loaders
// running at the same time: read them, never change them. BulkLoad returns when batches is
// closed (then ctx's error, if it ended: the stream was cut short) or at its first error.
type BulkLoader interface {
	BulkLoad(ctx context.Context, tx *Tx, batches <-chan []Folded) error
}

// Folded is one meeting as the log built it.
type Folded struct {
	Meeting *domain.Meeting
	LastSeq uint64
}

// errUnusual means the log holds something the bulk path leaves to the commit-by-commit path,
// which stops on it with the sequence and the reason.
var errUnusual = errors.New("unusual log")

// The SQLite page cache of a read model's writer: large while a bulk load inserts index rows of
// random ids, small while it follows the log (each commit touches a few pages, which the
// operating system's cache holds anyway). Both read models' caches filled by a load of a
// million commits were a quarter of a gigabyte of the process's steady memory
// (docs/benchmarks.md, "Memory").
const (
	bulkCacheSize   = `PRAGMA cache_size = -65536` // 64 MiB
	followCacheSize = `PRAGMA cache_size = -16384` // 16 MiB
)

// source produces the folded log: it calls emit with each batch of whole meetings, in turn, and
// returns the last sequence folded and when it was stored (0 for an empty log).
type source func(ctx context.Context, emit func([]Folded) error) (uint64, time.Time, error)

// logSource folds the store's log from 1 to until.
func logSource(store *eventstore.Store, until uint64, progress func(done, total uint64)) source {
	return func(ctx context.Context, emit func([]Folded) error) (uint64, time.Time, error) {
		// Counted after until was read: a count may take in commits after until, which keeps
		// their meeting open to the end of the fold, never the other way round.
		counts, err := store.CommitCounts(ctx)
		if err != nil {
			return 0, time.Time{}, err
		}
		return fold(ctx, store, until, counts, foldBatch, progress, emit)
	}
}

// bulkTarget is an empty read-model file a bulk load writes, and its projector.
type bulkTarget struct {
	p  *Projector
	db *DB
}

// streamLoad writes what src folds into every target's empty file as it comes, each file by
// a goroutine of its own (SQLite works on one core per file) in one transaction with the
// checkpoint. It returns the last sequence written and when it was stored (0: nothing, the log
// was empty) and each target's error. When src fails (errUnusual among its errors), every
// target gets its error and nothing was written: the transactions are rolled back. A target
// that fails alone lets the others go on.
func streamLoad(ctx context.Context, targets []bulkTarget, src source) (uint64, time.Time, []error) {
	wctx, cancel := context.WithCancel(ctx) // ended when the source fails: no writer commits
	defer cancel()
	var end struct {
		seq uint64
		at  time.Time
	} // set before the batches are closed, read by the writers after
	errs := make([]error, len(targets))
	chans := make([]chan []Folded, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		ch := make(chan []Folded, 1)
		chans[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.p.bulkWrite(wctx, t.db, t.p.proj.(BulkLoader), ch, func() (uint64, time.Time) { return end.seq, end.at })
			for range ch { // a writer that stopped lets the others have the rest
			}
		}()
	}
	seq, at, err := src(ctx, func(ms []Folded) error {
		for _, ch := range chans {
			select {
			case ch <- ms:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	end.seq, end.at = seq, at
	if err != nil {
		cancel()
	}
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return 0, time.Time{}, errs
	}
	return seq, at, errs
}

// bulkLoad folds the log up to until and writes it into the empty db in one transaction with
// the checkpoint. It returns errUnusual, with nothing written, when the log needs the
// commit-by-commit path.
func (p *Projector) bulkLoad(ctx context.Context, db *DB, until uint64, progress func(done, total uint64)) (uint64, error) {
	seq, _, errs := streamLoad(ctx, []bulkTarget{{p, db}}, logSource(p.store, until, progress))
	return seq, errs[0]
}

// bulkWrite writes the batches into db and then, once they end, the checkpoint end gives, in
// one transaction; nothing when end gives 0.
func (p *Projector) bulkWrite(ctx context.Context, db *DB, bl BulkLoader, batches <-chan []Folded, end func() (uint64, time.Time)) error {
	// The rows come from meetings the domain built, each with its own rows: the foreign keys hold
	// by construction, and checking them costs a lookup in meetings for every other row.
	if _, err := db.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	if _, err := db.conn.ExecContext(ctx, bulkCacheSize); err != nil {
		return err
	}
	err := p.bulkTx(ctx, db, bl, batches, end)
	// Back to the follow path's cache, and its memory given back: a cache filled by the load
	// would otherwise stay as large for as long as the process runs.
	if _, ferr := db.conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON; `+followCacheSize+`; PRAGMA shrink_memory`); err == nil {
		err = ferr
	}
	return err
}

func (p *Projector) bulkTx(ctx context.Context, db *DB, bl BulkLoader, batches <-chan []Folded, end func() (uint64, time.Time)) error {
	// Not under ctx: database/sql discards the connection of a transaction whose context ends,
	// and this is the file's one writer connection. A stream cut short ends ctx; its statements
	// stop on it and the transaction is rolled back here.
	tx, err := db.Begin(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := bl.BulkLoad(ctx, tx, batches); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // the stream was cut short
		return err
	}
	last, lastAt := end()
	if last == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO checkpoint (projection, seq, at) VALUES (?, ?, ?)
		ON CONFLICT (projection) DO UPDATE SET seq = excluded.seq, at = excluded.at`, p.proj.Name(), last, ts(lastAt)); err != nil {
		return err
	}
	return tx.Commit()
}

// LoadEmpty fills every empty read model among ps from a long log with one read and one fold of
// the log shared by all, the bulk writes running side by side. Call it before Run; a read model
// it cannot load (or a log with anything unusual) is left to Run, which follows commit by commit.
func LoadEmpty(ctx context.Context, ps []*Projector) error {
	var todo []*Projector
	for _, p := range ps {
		if _, ok := p.proj.(BulkLoader); ok && p.Status().Seq == 0 {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	last, err := todo[0].store.LastSeq(ctx)
	if err != nil || last < BulkThreshold {
		return err
	}
	// What the read models keep must be in the log after a power failure too.
	if err := todo[0].store.WaitDurable(ctx, last); err != nil {
		return err
	}
	err = loadInto(ctx, todo, logSource(todo[0].store, last, nil))
	if errors.Is(err, errUnusual) {
		err = nil
	}
	// The load's memory is garbage now: give it back to the system at once rather than over the
	// following minutes, so the steady state does not keep the load's peak.
	debug.FreeOSMemory()
	releaseCMemory()
	return err
}

// loadInto writes what src folds into the current, empty files of ps, all at once, marks each
// loaded one as caught up to the load, and returns the first error.
func loadInto(ctx context.Context, ps []*Projector, src source) error {
	targets := make([]bulkTarget, len(ps))
	for i, p := range ps {
		targets[i] = bulkTarget{p, p.currentDB()}
	}
	seq, at, errs := streamLoad(ctx, targets, src)
	var first error
	for i, err := range errs {
		if err == nil && seq > 0 {
			ps[i].advance(seq, at, false, 0)
			ps[i].log.Info("read model loaded in bulk", "seq", seq)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
