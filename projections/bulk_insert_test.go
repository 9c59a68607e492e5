package projections

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestInsertTablesAcrossChunks: rows built a chunk of meetings at a time go in whole and in
// order across chunk and statement boundaries, for tables whose meetings give no rows, one row
// or several; and an insert that fails returns its error (naming the table) instead of waiting
// on the goroutine that builds the rows.
func TestInsertTablesAcrossChunks(t *testing.T) {
	ctx := context.Background()
	schema := fstest.MapFS{"m/001.sql": {Data: []byte(`
		CREATE TABLE parents (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
		CREATE TABLE children (parent INTEGER NOT NULL, k INTEGER NOT NULL, PRIMARY KEY (parent, k));`)}}
	db, err := OpenDB(ctx, filepath.Join(t.TempDir(), "t.db"), schema, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := make([]Folded, 2*rowChunk+777)
	for i := range ms {
		ms[i].LastSeq = uint64(i)
	}
	tables := []table{
		{"parents", []string{"id", "n"}, func(rows [][]any, f Folded) [][]any {
			return append(rows, []any{int64(f.LastSeq), int64(f.LastSeq % 5)})
		}},
		{"children", []string{"parent", "k"}, func(rows [][]any, f Folded) [][]any {
			for k := range f.LastSeq % 5 {
				rows = append(rows, []any{int64(f.LastSeq), int64(k)})
			}
			return rows
		}},
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := insertTables(ctx, tx, ms, tables); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var children, wantChildren int64
	for i := range ms {
		wantChildren += int64(i % 5)
	}
	var parents, sumN, badKeys int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*), sum(n), sum(id % 5 != n) FROM parents`).Scan(&parents, &sumN, &badKeys); err != nil {
		t.Fatal(err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM children c JOIN parents p ON p.id = c.parent AND c.k < p.n`).Scan(&children); err != nil {
		t.Fatal(err)
	}
	if parents != int64(len(ms)) || badKeys != 0 || children != wantChildren {
		t.Fatalf("got %d parents (%d wrong), %d children; want %d parents, %d children", parents, badKeys, children, len(ms), wantChildren)
	}

	// The same rows again: the first statement fails on the primary key.
	tx, err = db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = insertTables(ctx, tx, ms, tables)
	if err == nil || !strings.Contains(err.Error(), "parents") {
		t.Fatalf("got %v, want an error naming parents", err)
	}
}
