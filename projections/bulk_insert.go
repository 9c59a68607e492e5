package projections

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"
)

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
				in = newInserter(conn, p.t, ts[p.t], "")
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
	suffix  string
	per     int
	full    driver.Stmt
	args    []driver.NamedValue
	pending [][]any
}

// newInserter writes tb's rows; suffix, when set, ends each statement (an upsert clause).
func newInserter(conn driver.ConnPrepareContext, t int, tb table, suffix string) *inserter {
	per := max(1, 30000/len(tb.cols)) // under SQLite's limit of bound variables per statement
	per = min(per, 500)
	args := make([]driver.NamedValue, per*len(tb.cols))
	for i := range args {
		args[i].Ordinal = i + 1
	}
	return &inserter{conn: conn, t: t, table: tb.table, cols: tb.cols, suffix: suffix, per: per, args: args}
}

func (in *inserter) query(n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(in.cols)), ",") + ")"
	return "INSERT INTO " + in.table + " (" + strings.Join(in.cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + in.suffix
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

// insertRows writes rows already built into one table (its rows function unused), with
// multi-row statements ending in suffix, as insertTables does.
func insertRows(ctx context.Context, tx *Tx, tb table, suffix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.db.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		in := newInserter(conn, 0, tb, suffix)
		defer in.close()
		if err := in.add(ctx, rows); err != nil {
			return err
		}
		return in.finish(ctx)
	})
}

// withIndexesAfter drops the secondary indexes, fills the tables and builds the indexes again
// from the rows: faster than inserting into them row by row in random order.
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
