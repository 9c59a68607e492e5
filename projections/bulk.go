package projections

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// BulkLoader is a projection that can write a whole log's meetings at once into an empty file:
// one row per final state instead of one statement per event, with multi-row inserts. It must
// write exactly the rows its Apply would have. The meetings come sorted by id and are shared
// with other loaders running at the same time: read them, never change them.
type BulkLoader interface {
	BulkLoad(ctx context.Context, tx *Tx, ms []Folded) error
}

// Folded is one meeting as the log built it.
type Folded struct {
	Meeting *domain.Meeting
	LastSeq uint64
}

// errUnusual means the log holds something the bulk path leaves to the commit-by-commit path,
// which stops on it with the sequence and the reason.
var errUnusual = errors.New("unusual log")

// fold reads the log from 1 to until and builds every meeting's state through the domain,
// decoding on two goroutines while this one applies in order.
func fold(ctx context.Context, store *eventstore.Store, until uint64, progress func(done, total uint64)) ([]Folded, uint64, time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const chunk = 2000
	type job struct {
		raws []eventstore.RawRecorded
		out  chan []decoded
	}
	jobs := make(chan job, 4)
	ordered := make(chan chan []decoded, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		defer close(ordered)
		raws := make([]eventstore.RawRecorded, 0, chunk)
		send := func() bool {
			j := job{raws: raws, out: make(chan []decoded, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case ordered <- j.out:
			case <-ctx.Done():
				return false
			}
			raws = make([]eventstore.RawRecorded, 0, chunk)
			return true
		}
		readErr <- store.ReadRaw(ctx, eventstore.ReadOptions{UntilSeq: until}, func(r eventstore.RawRecorded) error {
			raws = append(raws, r)
			if len(raws) == chunk && !send() {
				return ctx.Err()
			}
			return nil
		})
		if len(raws) > 0 {
			send()
		}
	}()
	for range 2 {
		go func() {
			for j := range jobs {
				ds := make([]decoded, len(j.raws))
				for i, r := range j.raws {
					ds[i] = decode(r)
				}
				j.out <- ds
			}
		}()
	}
	index := map[uuid.UUID]int{}
	var out []Folded
	var last uint64
	var lastAt time.Time
	for ch := range ordered {
		for _, d := range <-ch {
			if d.err != nil {
				return nil, 0, time.Time{}, fmt.Errorf("%w: commit at sequence %d cannot be read", errUnusual, d.raw.Seq)
			}
			c := d.commit
			i, ok := index[c.MeetingID]
			if !ok {
				if _, convene := c.Events[0].Data.(domain.MeetingConvened); !convene {
					return nil, 0, time.Time{}, fmt.Errorf("%w: commit at sequence %d is for meeting %s, never convened", errUnusual, d.raw.Seq, c.MeetingID)
				}
				i = len(out)
				index[c.MeetingID] = i
				out = append(out, Folded{Meeting: &domain.Meeting{}})
			}
			out[i].Meeting.Apply(c)
			out[i].LastSeq = d.raw.Seq
			last, lastAt = d.raw.Seq, d.raw.Time
		}
		if progress != nil {
			progress(last, until)
		}
	}
	if err := <-readErr; err != nil {
		return nil, 0, time.Time{}, err
	}
	// In id order, so that rows go into the B-trees in key order. A uuid's text sorts as its
	// bytes do.
	slices.SortFunc(out, func(a, b Folded) int {
		x, y := a.Meeting.ID(), b.Meeting.ID()
		return bytes.Compare(x[:], y[:])
	})
	return out, last, lastAt, ctx.Err()
}

// table is one table of a read model, and the rows one meeting gives it.
type table struct {
	table string
	cols  []string
	rows  func(rows [][]any, f Folded) [][]any
}

// rowChunk is how many meetings' rows are built at a time while earlier ones are inserted.
const rowChunk = 4096

// insertTables writes every table's rows for ms, table by table, with statements of many rows
// each. The rows are built on another goroutine a chunk of meetings at a time while this one
// inserts: building them all first took a fifth of the load's CPU, all of it before SQLite's
// first insert (docs/benchmarks.md, "Profiles behind choices in the code").
//
// The statements run on the driver's connection, inside tx's transaction: database/sql checks
// and converts every argument on every call, a sixth of a bulk load's insert time. Values must
// be what the driver takes as they are: string, int64, bool or nil.
func insertTables(ctx context.Context, tx *Tx, ms []Folded, ts []table) error {
	type part struct {
		t    int
		rows [][]any
	}
	parts := make(chan part, 4)
	done := make(chan struct{})
	defer close(done) // stops the builder when an insert fails
	go func() {
		defer close(parts)
		for i, t := range ts {
			for start := 0; start < len(ms); start += rowChunk {
				var rows [][]any
				for _, f := range ms[start:min(start+rowChunk, len(ms))] {
					rows = t.rows(rows, f)
				}
				select {
				case parts <- part{i, rows}:
				case <-done:
					return
				}
			}
		}
	}()
	return tx.db.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		var in *inserter
		defer func() { in.close() }()
		for p := range parts {
			if in == nil || in.t != p.t {
				if err := in.finish(ctx); err != nil {
					return err
				}
				in.close()
				in = newInserter(conn, p.t, ts[p.t])
			}
			if err := in.add(ctx, p.rows); err != nil {
				return err
			}
		}
		return in.finish(ctx)
	})
}

// inserter writes one table's rows with multi-row statements, the full statement prepared once
// and the shorter last one once.
type inserter struct {
	conn    driver.ConnPrepareContext
	t       int
	table   string
	cols    []string
	per     int
	full    driver.Stmt
	args    []driver.NamedValue
	pending [][]any
}

func newInserter(conn driver.ConnPrepareContext, t int, tb table) *inserter {
	per := max(1, 30000/len(tb.cols)) // under SQLite's limit of bound variables per statement
	per = min(per, 500)
	args := make([]driver.NamedValue, per*len(tb.cols))
	for i := range args {
		args[i].Ordinal = i + 1
	}
	return &inserter{conn: conn, t: t, table: tb.table, cols: tb.cols, per: per, args: args}
}

func (in *inserter) query(n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(in.cols)), ",") + ")"
	return "INSERT INTO " + in.table + " (" + strings.Join(in.cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", n), ",")
}

// add inserts rows in full statements and keeps the remainder for the next call.
func (in *inserter) add(ctx context.Context, rows [][]any) error {
	in.pending = append(in.pending, rows...)
	n := len(in.pending) / in.per * in.per
	if n == 0 {
		return nil
	}
	if in.full == nil {
		st, err := in.conn.PrepareContext(ctx, in.query(in.per))
		if err != nil {
			return fmt.Errorf("bulk insert into %s: %w", in.table, err)
		}
		in.full = st
	}
	for start := 0; start < n; start += in.per {
		if err := in.exec(ctx, in.full, in.pending[start:start+in.per]); err != nil {
			return err
		}
	}
	in.pending = append(in.pending[:0], in.pending[n:]...)
	return nil
}

// finish inserts what is left. A nil inserter has nothing to do.
func (in *inserter) finish(ctx context.Context) error {
	if in == nil || len(in.pending) == 0 {
		return nil
	}
	st, err := in.conn.PrepareContext(ctx, in.query(len(in.pending)))
	if err != nil {
		return fmt.Errorf("bulk insert into %s: %w", in.table, err)
	}
	defer st.Close()
	return in.exec(ctx, st, in.pending)
}

// close closes the full statement. A nil inserter has nothing to close.
func (in *inserter) close() {
	if in != nil && in.full != nil {
		in.full.Close()
		in.full = nil
	}
}

func (in *inserter) exec(ctx context.Context, st driver.Stmt, rows [][]any) error {
	n := 0
	for _, r := range rows {
		for _, v := range r {
			in.args[n].Value = v
			n++
		}
	}
	exec, ok := st.(driver.StmtExecContext)
	if !ok {
		return fmt.Errorf("driver statement %T cannot execute with a context", st)
	}
	if _, err := exec.ExecContext(ctx, in.args[:n]); err != nil {
		return fmt.Errorf("bulk insert into %s: %w", in.table, err)
	}
	return nil
}

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// byKey sorts one meeting's rows by their column key, a uuid's text: inserting in primary-key
// order appends to the B-trees instead of writing all over them. (It compared the text of
// every key column through fmt.Sprint, a tenth of a bulk load's Go time.)
func byKey(rows [][]any, key int) {
	slices.SortFunc(rows, func(a, b []any) int {
		x, _ := a[key].(string)
		y, _ := b[key].(string)
		return strings.Compare(x, y)
	})
}

// BulkLoad implements BulkLoader with the rows Apply writes.
func (Meetings) BulkLoad(ctx context.Context, tx *Tx, ms []Folded) error {
	return withIndexesAfter(ctx, tx, meetingsIndexes, func() error {
		return insertTables(ctx, tx, ms, meetingsTables)
	})
}

// meetingsTables are the meetings read model's tables, in the order of their foreign keys.
var meetingsTables = []table{
	{"meetings", []string{"meeting_id", "citizen_id", "title", "status", "convened_at", "scheduled_at", "place", "address", "reschedules",
		"held_at", "citizen_present", "closed_at", "next_agreed", "cancelled_at", "cancel_reason", "last_seq"},
		func(rows [][]any, f Folded) [][]any {
			m := f.Meeting
			var scheduled, place, address any
			if s, ok := m.Schedule(); ok {
				scheduled, place, address = ts(s.At), string(s.Place), s.Address
			}
			cancelledAt, reason := m.Cancelled()
			var cancelReason any
			if m.Status() == domain.StatusCancelled {
				cancelReason = reason
			}
			return append(rows, []any{m.ID().String(), m.CitizenID().String(), m.Title(), string(m.Status()), ts(m.ConvenedAt()), scheduled, place, address,
				int64(m.Reschedules()), nullTS(m.HeldAt()), m.CitizenPresent(), nullTS(m.ClosedAt()), m.NextAgreed(), nullTS(cancelledAt), cancelReason, int64(f.LastSeq)})
		}},
	{"agenda_items", []string{"meeting_id", "position", "text"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String() // boxed once for all the meeting's rows
			for i, it := range f.Meeting.Agenda() {
				rows = append(rows, []any{id, int64(i), it})
			}
			return rows
		}},
	{"participants", []string{"meeting_id", "participant_id", "name", "kind", "service", "answer", "reason", "withdrawn", "present", "invited_at", "answered_at", "position", "consent_version", "consent_withdrawn"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for i, p := range f.Meeting.Participants() {
				rows = append(rows, []any{id, p.ID.String(), p.Name, string(p.Kind), p.Service, string(p.Answer), p.Reason,
					p.Withdrawn, p.Present, ts(p.InvitedAt), nullTS(p.AnsweredAt), int64(i), p.ConsentVersion, p.ConsentWithdrawn})
			}
			byKey(rows[first:], 1) // key (meeting_id, participant_id): same meeting, by id
			return rows
		}},
	{"suggestions", []string{"suggestion_id", "meeting_id", "participant_id", "name", "kind", "service", "reason", "suggested_by", "suggested_at"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, s := range f.Meeting.Suggestions() {
				var pid any
				if s.ParticipantID != uuid.Nil {
					pid = s.ParticipantID.String()
				}
				rows = append(rows, []any{s.ID.String(), id, pid, s.Name, string(s.Kind), s.Service, s.Reason, s.SuggestedBy.String(), ts(s.SuggestedAt)})
			}
			byKey(rows[first:], 0) // key (meeting_id, suggestion_id): same meeting, by id
			return rows
		}},
	{"follow_ups", []string{"follow_up_id", "meeting_id", "what", "responsible", "due", "recorded_at", "completed_at"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, u := range f.Meeting.FollowUps() {
				rows = append(rows, []any{u.ID.String(), id, u.What, u.Responsible.String(), u.Due, ts(u.RecordedAt), nullTS(u.CompletedAt)})
			}
			byKey(rows[first:], 0)
			return rows
		}},
}

// The secondary indexes of each read model, as its migrations create them. A bulk load drops
// them, inserts, and builds them again from the sorted rows: faster than inserting into them
// row by row in random order.
var (
	meetingsIndexes = map[string]string{
		"meetings_by_citizen":       `CREATE INDEX meetings_by_citizen ON meetings (citizen_id, convened_at)`,
		"participants_by_person":    `CREATE INDEX participants_by_person ON participants (participant_id)`,
		"follow_ups_by_responsible": `CREATE INDEX follow_ups_by_responsible ON follow_ups (responsible)`,
	}
	servicesIndexes = map[string]string{
		"service_participants_by_service":   `CREATE INDEX service_participants_by_service ON service_participants (service, meeting_id)`,
		"service_citizen_months_by_service": `CREATE INDEX service_citizen_months_by_service ON service_citizen_months (service, month, citizen_id)`,
	}
)

func withIndexesAfter(ctx context.Context, tx *Tx, indexes map[string]string, fill func() error) error {
	for name := range indexes {
		if _, err := tx.tx.ExecContext(ctx, `DROP INDEX IF EXISTS `+name); err != nil {
			return err
		}
	}
	if err := fill(); err != nil {
		return err
	}
	for _, create := range indexes {
		if _, err := tx.tx.ExecContext(ctx, create); err != nil {
			return err
		}
	}
	return nil
}

// BulkLoad implements BulkLoader with the rows Apply writes. The services per citizen and month
// are gathered across meetings while the per-meeting rows are inserted.
func (Services) BulkLoad(ctx context.Context, tx *Tx, ms []Folded) error {
	months := make(chan [][]any, 1)
	go func() { months <- citizenMonthRows(ms) }()
	return withIndexesAfter(ctx, tx, servicesIndexes, func() error {
		err := insertTables(ctx, tx, ms, servicesTables)
		rows := <-months
		if err != nil {
			return err
		}
		return insertRows(ctx, tx, "service_citizen_months", []string{"citizen_id", "service", "month", "meetings"}, rows)
	})
}

// insertRows writes rows already built into one table, with multi-row statements, as
// insertTables does.
func insertRows(ctx context.Context, tx *Tx, name string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.db.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		in := newInserter(conn, 0, table{table: name, cols: cols})
		defer in.close()
		if err := in.add(ctx, rows); err != nil {
			return err
		}
		return in.finish(ctx)
	})
}

var servicesTables = []table{
	{"service_meetings", []string{"meeting_id", "citizen_id", "convened_on", "status"},
		func(rows [][]any, f Folded) [][]any {
			m := f.Meeting
			status := "convened" // this read model does not follow scheduling
			switch m.Status() {
			case domain.StatusHeld, domain.StatusClosed, domain.StatusCancelled:
				status = string(m.Status())
			}
			return append(rows, []any{m.ID().String(), m.CitizenID().String(), m.ConvenedAt().UTC().Format("2006-01-02"), status})
		}},
	{"service_participants", []string{"meeting_id", "participant_id", "service", "invited", "accepted", "attended"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, p := range f.Meeting.Participants() {
				if p.Service == "" || (p.Kind != domain.KindProfessional && p.Kind != domain.KindRegion) {
					continue
				}
				rows = append(rows, []any{id, p.ID.String(), p.Service, !p.Withdrawn, p.Answer == domain.AnswerAccepted && !p.Withdrawn, p.Present})
			}
			byKey(rows[first:], 1)
			return rows
		}},
}

// The SQLite page cache of a read model's writer: large while a bulk load inserts index rows of
// random ids, small while it follows the log (each commit touches a few pages, which the
// operating system's cache holds anyway). Both read models' caches filled by a load of a
// million commits were a quarter of a gigabyte of the process's steady memory
// (docs/benchmarks.md, "Memory").
const (
	bulkCacheSize   = `PRAGMA cache_size = -65536` // 64 MiB
	followCacheSize = `PRAGMA cache_size = -16384` // 16 MiB
)

// bulkGCPercent is the garbage collector's GOGC while a bulk load runs.
const bulkGCPercent = 40

// bulkLoad folds the log up to until and writes it into the empty db in one transaction with
// the checkpoint. It returns errUnusual when the log needs the commit-by-commit path.
func (p *Projector) bulkLoad(ctx context.Context, db *DB, bl BulkLoader, until uint64, progress func(done, total uint64)) (uint64, error) {
	ms, last, lastAt, err := fold(ctx, p.store, until, progress)
	if err != nil {
		return 0, err
	}
	return p.bulkWrite(ctx, db, bl, ms, last, lastAt)
}

// bulkWrite writes folded meetings and the checkpoint into db in one transaction.
func (p *Projector) bulkWrite(ctx context.Context, db *DB, bl BulkLoader, ms []Folded, last uint64, lastAt time.Time) (uint64, error) {
	if last == 0 {
		return 0, nil
	}
	// The rows come from meetings the domain built, each with its own rows: the foreign keys hold
	// by construction, and checking them costs a lookup in meetings for every other row.
	if _, err := db.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return 0, err
	}
	if _, err := db.conn.ExecContext(ctx, bulkCacheSize); err != nil {
		return 0, err
	}
	err := p.bulkTx(ctx, db, bl, ms, last, lastAt)
	// Back to the follow path's cache, and its memory given back: a cache filled by the load
	// would otherwise stay as large for as long as the process runs.
	if _, ferr := db.conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON; `+followCacheSize+`; PRAGMA shrink_memory`); err == nil {
		err = ferr
	}
	if err != nil {
		return 0, err
	}
	return last, nil
}

func (p *Projector) bulkTx(ctx context.Context, db *DB, bl BulkLoader, ms []Folded, last uint64, lastAt time.Time) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := bl.BulkLoad(ctx, tx, ms); err != nil {
		return err
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
	// The fold's garbage is collected sooner than the default pace allows: at GOGC=100 the heap
	// grew to twice the live meetings before each collection.
	defer debug.SetGCPercent(debug.SetGCPercent(bulkGCPercent))
	ms, seq, at, err := fold(ctx, todo[0].store, last, nil)
	if errors.Is(err, errUnusual) {
		return nil
	}
	if err != nil {
		return err
	}
	err = loadFolded(ctx, todo, ms, seq, at)
	// The folded log is garbage now: give its memory back to the system at once rather than
	// over the following minutes, so the steady state does not keep the load's peak.
	ms = nil
	debug.FreeOSMemory()
	releaseCMemory()
	return err
}

// loadFolded writes the folded log into the empty read models of ps, all at once (SQLite works
// on one core per file), and returns the first error.
func loadFolded(ctx context.Context, ps []*Projector, ms []Folded, seq uint64, at time.Time) error {
	errs := make(chan error, len(ps))
	for _, p := range ps {
		go func() {
			n, err := p.bulkWrite(ctx, p.currentDB(), p.proj.(BulkLoader), ms, seq, at)
			if err == nil && n > 0 {
				p.advance(n, at, false, 0)
				p.log.Info("read model loaded in bulk", "seq", n)
			}
			errs <- err
		}()
	}
	var first error
	for range ps {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
