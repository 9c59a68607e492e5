package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the one SQLite driver in this process (two can corrupt a file)

	"github.com/aabendialog/aabendialog/eventstore"
)

// DB is one read model's SQLite file: one writer connection (the projector's) and a pool of
// read-only connections for queries.
type DB struct {
	Path  string
	write *sql.DB
	conn  *sql.Conn // the writer's one connection: statements are prepared on it
	read  *sql.DB
}

// OpenDB opens (or creates) the file in WAL mode and applies the migrations under dir in fsys
// that it has not applied yet, each in its own transaction. The file and its -wal and -shm
// files are its owner's alone (mode 0600), whatever the umask, and an existing one with more is
// tightened: they hold names, agendas and follow-ups.
func OpenDB(ctx context.Context, file string, fsys fs.FS, dir string) (*DB, error) {
	if err := secureFiles(file); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	// The checkpoint is written in the same transaction as the rows, and everything here can be
	// rebuilt from the log: a transaction lost to a power failure is replayed, not lost.
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "on")
	w := url.Values{}
	for k, v := range q {
		w[k] = v
	}
	w.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite3", "file:"+file+"?"+w.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	conn, err := write.Conn(ctx)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	db := &DB{Path: file, write: write, conn: conn}
	if err := db.migrate(ctx, fsys, dir); err != nil {
		conn.Close()
		write.Close()
		return nil, err
	}
	// The writer's page cache while it follows the log; a bulk load gives it more while it runs.
	if _, err := conn.ExecContext(ctx, followCacheSize); err != nil {
		conn.Close()
		write.Close()
		return nil, err
	}
	q.Set("_query_only", "true")
	read, err := sql.Open("sqlite3", "file:"+file+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	read.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.read = read
	return db, nil
}

// secureFiles creates file empty with mode 0600 when it is missing (SQLite takes an empty file
// for a new database, and gives its -wal and -shm files the database file's mode), and sets an
// existing file, -wal and -shm to 0600.
func secureFiles(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := eventstore.SecureFile(file + suffix); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, fsys fs.FS, dir string) error {
	if _, err := db.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Path, err)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		base := path.Base(name)
		var n int
		if err := db.conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
			return fmt.Errorf("migrate %s: %w", db.Path, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		tx, err := db.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %s: %w", db.Path, base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, base); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %s: %w", db.Path, base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", db.Path, base, err)
		}
	}
	return nil
}

// SetDurable says whether commits wait for the disk at WAL checkpoints (synchronous NORMAL) or
// not at all (OFF). A file being rebuilt is thrown away if the process dies, so it needs none
// until it is swapped in.
func (db *DB) SetDurable(ctx context.Context, durable bool) error {
	// A file being rebuilt also folds its WAL in every ~40 MB instead of every 4 MB: fewer,
	// larger checkpoints. A file being followed keeps SQLite's default, because a large
	// checkpoint stalls the commits behind it and raises the read models' lag (docs/benchmarks.md,
	// "Read models").
	mode, pages := "OFF", 10000
	if durable {
		mode, pages = "NORMAL", 1000
	}
	_, err := db.conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA synchronous = %s; PRAGMA wal_autocheckpoint = %d`, mode, pages))
	return err
}

// Tx is a write transaction that prepares each statement once. (database/sql's Tx.Stmt on a
// statement prepared outside the transaction prepares it again on every call, a large share of
// a rebuild's CPU; docs/benchmarks.md, "Read models".)
type Tx struct {
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// Last holds per-batch values a projection writes once at the end of the batch instead of
	// once per commit (such as each meeting's last sequence).
	Last map[string]uint64
}

// Begin starts a write transaction.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	tx, err := db.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{db: db, tx: tx, stmts: map[string]*sql.Stmt{}, Last: map[string]uint64{}}, nil
}

// Exec runs a statement, prepared on first use in this transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *Tx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", firstLine(query), err)
		}
		t.stmts[query] = st
	}
	return st, nil
}

// Query reads rows within the transaction, with the statement prepared on first use.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRow reads one row within the transaction, with the statement prepared on first use.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.prepared(ctx, query)
	if err != nil {
		return t.tx.QueryRowContext(ctx, query, args...) // carries the same error to Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// Commit commits the transaction.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback abandons the transaction.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// Read is the pool of read-only connections for queries.
func (db *DB) Read() *sql.DB { return db.read }

// Close closes both pools and returns the first error.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.conn.Close(), db.write.Close())
	return errors.Join(errs...)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
