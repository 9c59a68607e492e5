package notify

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"net/url"
	"os"

	_ "github.com/mattn/go-sqlite3" // the one SQLite driver in this process

	"github.com/aabendialog/aabendialog/eventstore"
)

//go:embed schema.sql
var schema string

// openDB opens (or creates) the notices' SQLite file: the checkpoint, the reactions' own view of
// the meetings, the outbox and the schedule of reminders, all in one file so that reading a
// commit and writing what it causes is one transaction. WAL with synchronous=NORMAL: a
// committed transaction survives the process being killed (the SIGKILL test); a power failure
// may lose the last transactions, which lose the checkpoint with the outbox rows (the commits
// are read again: nothing is lost) or a "sent" mark (that notice is sent again, with the same
// Message-ID). FULL halved how fast the reactor catches up (docs/benchmarks.md).
func openDB(ctx context.Context, file string) (write, read *sql.DB, err error) {
	if err := createPrivate(file); err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", file, err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	w := url.Values{}
	for k, v := range q {
		w[k] = v
	}
	w.Set("_txlock", "immediate")
	write, err = sql.Open("sqlite3", "file:"+file+"?"+w.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", file, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	if _, err := write.ExecContext(ctx, schema); err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("open %s: create tables: %w", file, err)
	}
	q.Set("_query_only", "true")
	read, err = sql.Open("sqlite3", "file:"+file+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("open %s: %w", file, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := eventstore.SecureFile(file + suffix); err != nil {
			write.Close()
			read.Close()
			return nil, nil, fmt.Errorf("open %s: %w", file, err)
		}
	}
	return write, read, nil
}

// createPrivate creates the file 0600 before SQLite does (SQLite gives its -wal and -shm files
// the database file's mode), and tightens an existing one.
func createPrivate(file string) error {
	f, err := os.OpenFile(file, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	_, err = eventstore.SecureFile(file)
	return err
}
