package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

// TestReadModelNeverAheadOfTheLogAfterAPowerCut: the log's node runs on a file system that
// forgets what was not fsynced, the read model on another disk (which keeps it). Writers append
// without waiting for the node's fsync, so commits reach the read model's consumer well before
// they are on disk. After a power cut the log starts again from what its disk kept, and the
// read model must not hold a commit the log lost: the projector waits for the node's fsync
// before each transaction. A projector that does not wait ends up ahead of the log.
func TestReadModelNeverAheadOfTheLogAfterAPowerCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait bool
	}{{"the projector waits for the fsync", true}, {"the projector does not wait", false}} {
		t.Run(tc.name, func(t *testing.T) {
			applied, kept := readModelThroughAPowerCut(t, tc.wait)
			t.Logf("the read model applied up to %d; the log kept up to %d", applied, kept)
			if tc.wait && applied > kept {
				t.Fatalf("the read model holds commits up to %d, the log after the power cut only up to %d", applied, kept)
			}
			if !tc.wait && applied <= kept {
				t.Fatalf("without the wait the read model (%d) did not get ahead of the log (%d): the cut did not bite", applied, kept)
			}
		})
	}
}

// readModelThroughAPowerCut appends until the read model has applied 300 commits, cuts the power
// and returns the read model's checkpoint and the last sequence of the log started again.
func readModelThroughAPowerCut(t *testing.T, wait bool) (applied, kept uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc := testnode.StartPowerCut(t)
	store := pc.Store(t, ctx, wait)
	p, err := projections.OpenProjector(ctx, t.TempDir(), projections.Meetings{}, store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProjector := context.WithCancel(ctx)
	projected := make(chan struct{})
	go func() { defer close(projected); _ = p.Run(pctx) }()
	pc.Write(ctx)
	for p.Status().Seq < 300 {
		if ctx.Err() != nil {
			t.Fatal("the read model did not apply 300 commits")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pc.Cut(t)
	stopProjector()
	<-projected
	applied = p.Status().Seq
	p.Close()
	return applied, pc.Restart(t, ctx)
}
