package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/internal/powercut"
)

// TestPowerCutKeepsAnsweredCommands runs the real program with its log on a file system that
// keeps only what was fsynced, has citizens convene meetings over HTTP, kills the program with
// SIGKILL and cuts the power, and starts the program again on what the disk kept: with the
// default (--fsync always) every meeting whose convening was answered is in the log, and the
// read models hold none that the log does not. With --fsync 1s answered meetings are lost.
// The read models' SQLite files stay off the simulated disk (it cannot map them), so the
// program's data directory reaches the log through a symbolic link.
func TestPowerCutKeepsAnsweredCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	powercut.Require(t)
	for _, tc := range []struct {
		fsync   string
		durable bool
	}{{"always", true}, {"1s", false}} {
		t.Run("fsync="+tc.fsync, func(t *testing.T) {
			answered, lost := powerCutWhileConvening(t, tc.fsync)
			t.Logf("--fsync %s: %d convenings answered before the cut, %d lost", tc.fsync, len(answered), lost)
			if tc.durable && lost > 0 {
				t.Fatalf("%d of %d answered commands lost in the power cut", lost, len(answered))
			}
			if !tc.durable && lost == 0 {
				t.Fatalf("none of %d commands answered with --fsync 1s was lost: the cut did not bite", len(answered))
			}
		})
	}
}

func powerCutWhileConvening(t *testing.T, fsync string) (answered []uuid.UUID, lost int) {
	backing := t.TempDir()
	disk := powercut.Mount(t, backing, t.TempDir())
	if err := os.Mkdir(filepath.Join(disk.Mountpoint(), "jetstream"), 0o700); err != nil {
		t.Fatal(err)
	}
	syncDir(t, disk.Mountpoint())
	data := t.TempDir()
	link := filepath.Join(data, "jetstream")
	if err := os.Symlink(filepath.Join(disk.Mountpoint(), "jetstream"), link); err != nil {
		t.Fatal(err)
	}
	srv := startServerOn(t, data, "--fsync", fsync)
	waitReady(t, srv)

	const citizens = 8
	tokens := make([]string, citizens)
	ids := make([]uuid.UUID, citizens)
	for i := range tokens {
		ids[i] = uuid.New()
		tokens[i] = token(t, data, domain.Actor{ID: ids[i], Role: domain.RoleCitizen})
	}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		killed = make(chan struct{})
	)
	enough := make(chan struct{})
	var once sync.Once
	for i := range citizens {
		wg.Go(func() {
			c := &httpapi.Client{Server: srv.http, Token: tokens[i]}
			for {
				meeting := uuid.New()
				_, err := c.Send(context.Background(), domain.CmdConveneMeeting, uuid.Must(uuid.NewV7()),
					map[string]any{"meeting_id": meeting, "citizen_id": ids[i]})
				if err != nil {
					select {
					case <-killed:
						return // the program is gone
					default:
						t.Errorf("convene before the kill: %v", err)
						return
					}
				}
				mu.Lock()
				answered = append(answered, meeting)
				if len(answered) >= 200 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatal("not enough commands answered")
	}
	// No chance to flush or shut down; what the program wrote reached the page cache, and the
	// power cut takes whatever of it was not fsynced.
	if err := srv.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	<-srv.p.done
	wg.Wait()
	if err := disk.Cut(); err != nil {
		t.Fatal(err)
	}
	projected := projectedMeetings(t, data) // on a disk that kept everything

	// The program again, on what the disk kept.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(backing, "jetstream"), link); err != nil {
		t.Fatal(err)
	}
	again := startServerOn(t, data, "--fsync", "always")
	waitReady(t, again)
	inLog := map[uuid.UUID]bool{}
	nc, err := nats.Connect(again.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	store, err := eventstore.Attach(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Read(ctx, eventstore.ReadOptions{}, func(r eventstore.Recorded) error {
		inLog[r.Commit.MeetingID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range answered {
		if !inLog[m] {
			lost++
		}
	}
	if fsync == "always" {
		// The projector waited for the fsync before each transaction: its read models, which
		// the cut did not touch, hold no meeting the log lost.
		ahead := 0
		for _, m := range projected {
			if !inLog[m] {
				ahead++
			}
		}
		t.Logf("the read models held %d meetings before the restart", len(projected))
		if ahead > 0 || len(projected) == 0 {
			t.Errorf("the read models held %d meetings before the restart, %d of them not in the log after the cut", len(projected), ahead)
		}
	}
	return answered, lost
}

// projectedMeetings is the meetings the meetings read model in data holds.
func projectedMeetings(t *testing.T, data string) []uuid.UUID {
	t.Helper()
	rows, err := openReadModel(t, data, "meetings").Query(`SELECT meeting_id FROM meetings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// syncDir fsyncs a directory, so that what was made in it is durable.
func syncDir(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
