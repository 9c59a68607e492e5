package projections_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/aabendialog/aabendialog/projections"
)

// TestBulkLoadInBatchesEqualsFollowing: the read models a bulk load writes in many small
// batches of meetings (streamed as the log is folded) hold the same rows, table by table and
// column by column, as a load in one piece and as following the log commit by commit from the
// start. Both ways a bulk load runs are checked: a rebuild, and serve's shared load of empty
// read models (LoadEmpty). The seed writes citizens four at a time, so meetings are open
// across many batch borders.
func TestBulkLoadInBatchesEqualsFollowing(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds over 10,000 commits")
	}
	e := newEnv(t)
	st := e.seed(420)
	last := e.caughtUp() // the log was empty when the projectors started: followed commit by commit
	if last < projections.BulkThreshold {
		t.Fatalf("seeded %d commits, want at least %d for LoadEmpty", last, projections.BulkThreshold)
	}
	const small = 3
	if st.Meetings < 100*small {
		t.Fatalf("seeded %d meetings: too few to cross many batches of %d", st.Meetings, small)
	}
	followed := [2]string{dumpTables(t, e.meetings), dumpTables(t, e.services)}
	check := func(how string, ps ...*projections.Projector) {
		t.Helper()
		for i, p := range ps {
			if got := dumpTables(t, p); got != followed[i] {
				t.Fatalf("%s: %s differs from following the log:\n%s", how, p.Name(), firstDifference(got, followed[i]))
			}
		}
	}
	ctx := context.Background()
	rebuild := func(batch int) {
		t.Helper()
		defer projections.SetFoldBatch(batch)()
		for _, p := range []*projections.Projector{e.meetings, e.services} {
			if seq, err := p.Rebuild(ctx, nil); err != nil || seq != last {
				t.Fatalf("rebuild %s in batches of %d: seq %d, %v; want %d", p.Name(), batch, seq, err, last)
			}
		}
	}
	rebuild(1 << 30)
	check("a rebuild in one piece", e.meetings, e.services)
	rebuild(small)
	check(fmt.Sprintf("a rebuild in batches of %d meetings", small), e.meetings, e.services)

	// As serve loads empty read models: both from one fold of the log.
	restore := projections.SetFoldBatch(small)
	ps := openBoth(t, t.TempDir(), e.store)
	err := projections.LoadEmpty(ctx, ps)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		defer p.Close()
		if st := p.Status(); st.Seq != last {
			t.Fatalf("%s loaded to %d, want %d", p.Name(), st.Seq, last)
		}
	}
	check(fmt.Sprintf("LoadEmpty in batches of %d meetings", small), ps...)
}

// dumpTables is every row of every table of a read model (but the migrations' own, whose
// times differ by file), each table sorted by all its columns.
func dumpTables(t *testing.T, p *projections.Projector) string {
	t.Helper()
	var b strings.Builder
	err := p.View(func(db *sql.DB) error {
		var tables []string
		rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			tables = append(tables, n)
		}
		rows.Close()
		for _, tb := range tables {
			rows, err := db.Query(`SELECT * FROM ` + tb)
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			rows.Close()
			order := make([]string, len(cols))
			for i := range cols {
				order[i] = fmt.Sprint(i + 1)
			}
			rows, err = db.Query(`SELECT * FROM ` + tb + ` ORDER BY ` + strings.Join(order, ", "))
			if err != nil {
				return err
			}
			n := 0
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				fmt.Fprintf(&b, "%s %q\n", tb, vals)
				n++
			}
			rows.Close()
			if n == 0 && tb != "suggestions" {
				return fmt.Errorf("table %s is empty: the seed should fill it", tb)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// firstDifference is the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(g), len(w))
}
