package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/powercut"
	"github.com/aabendialog/aabendialog/projections"
)

// TestReadModelNeverAheadOfTheLogAfterAPowerCut: the log's node runs on a file system that
// forgets what was not fsynced, the read model on another disk (which keeps it). Writers append
// without waiting for the node's fsync, so commits reach the read model's consumer well before
// they are on disk. After a power cut the log starts again from what its disk kept, and the
// read model must not hold a commit the log lost: the projector waits for the node's fsync
// before each transaction. A projector that does not wait ends up ahead of the log.
func TestReadModelNeverAheadOfTheLogAfterAPowerCut(t *testing.T) {
	powercut.Require(t)
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
	backing := t.TempDir()
	disk := powercut.Mount(t, backing, t.TempDir())
	nd, err := eventstore.StartNode(eventstore.NodeConfig{DataDir: disk.Mountpoint()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nd.Connect()
	if err != nil {
		t.Fatal(err)
	}
	writer, err := eventstore.Open(ctx, nc, eventstore.Config{AppendTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := eventstore.Config{AppendTimeout: 2 * time.Second}
	if wait {
		cfg.Durable = nd.Durable()
	}
	store, err := eventstore.Open(ctx, nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitDurable(ctx); err != nil { // the streams themselves on disk
		t.Fatal(err)
	}
	p, err := projections.OpenProjector(ctx, t.TempDir(), projections.Meetings{}, store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProjector := context.WithCancel(ctx)
	projected := make(chan struct{})
	go func() { defer close(projected); _ = p.Run(pctx) }()

	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			citizen, meeting := uuid.New(), uuid.New()
			c := domain.Commit{CommandID: uuid.New(), Command: domain.CmdConveneMeeting, MeetingID: meeting, CitizenID: citizen,
				Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: time.Now(),
				Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen, Title: "Mit møde"})}}
			expected := uint64(0)
			for wctx.Err() == nil {
				a, err := writer.Append(wctx, c, expected)
				if err != nil {
					return // the power is cut
				}
				c = domain.Commit{CommandID: uuid.New(), Command: domain.CmdCitizenSetsAgenda, MeetingID: meeting, CitizenID: citizen,
					Actor: c.Actor, At: time.Now(), Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: []string{"Punkt " + uuid.NewString()[:8]}})}}
				expected = a.Seq
			}
		}()
	}
	for p.Status().Seq < 300 {
		if ctx.Err() != nil {
			t.Fatal("the read model did not apply 300 commits")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := disk.Cut(); err != nil {
		t.Fatal(err)
	}
	stopWriters()
	wg.Wait()
	stopProjector()
	<-projected
	applied = p.Status().Seq
	p.Close()
	nc.Close()
	nd.Shutdown()

	again, err := eventstore.StartNode(eventstore.NodeConfig{DataDir: backing, ServerFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown()
	nc2, err := again.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	log, err := eventstore.Open(ctx, nc2, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if kept, err = log.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	return applied, kept
}
