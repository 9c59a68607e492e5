package notify_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/internal/powercut"
)

// TestNoticesNeverAheadOfTheLogAfterAPowerCut: the log's node runs on a file system that
// forgets what was not fsynced, the notices' file on another disk. Writers append without
// waiting for the node's fsync, so commits reach the notices' subscriber before they are on
// disk. After a power cut the log starts again from what its disk kept, and the notices must not
// have taken in a commit the log lost (a notice sent for it could not be taken back): the
// subscriber waits for the node's fsync first. Without the wait they end up ahead of the log.
func TestNoticesNeverAheadOfTheLogAfterAPowerCut(t *testing.T) {
	powercut.Require(t)
	for _, tc := range []struct {
		name string
		wait bool
	}{{"the notices wait for the fsync", true}, {"the notices do not wait", false}} {
		t.Run(tc.name, func(t *testing.T) {
			taken, kept := noticesThroughAPowerCut(t, tc.wait)
			t.Logf("the notices took in the log up to %d; the log kept up to %d", taken, kept)
			if tc.wait && taken > kept {
				t.Fatalf("the notices took in commits up to %d, the log after the power cut only up to %d", taken, kept)
			}
			if !tc.wait && taken <= kept {
				t.Fatalf("without the wait the notices (%d) did not get ahead of the log (%d): the cut did not bite", taken, kept)
			}
		})
	}
}

func noticesThroughAPowerCut(t *testing.T, wait bool) (taken, kept uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
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
	people, err := auth.OpenPeople(ctx, store.JetStream(), 1, time.Now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitDurable(ctx); err != nil { // the streams themselves on disk
		t.Fatal(err)
	}
	mail := startMailServer(t)
	ch, err := notify.NewSMTP(notify.SMTPConfig{Addr: mail.addr, From: "aabendialog@kommune.example.dk", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	r, err := notify.Open(ctx, filepath.Join(t.TempDir(), "notices.db"), store, ch, people,
		notify.Config{PublicURL: publicURL, RemindBefore: notify.DefaultRemindBefore, Poll: 10 * time.Millisecond},
		time.Now, prometheus.NewRegistry(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopReactor := context.WithCancel(ctx)
	reacted := make(chan struct{})
	go func() { defer close(reacted); _ = r.Run(rctx) }()
	<-r.Running()

	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			citizen, meeting := uuid.New(), uuid.New()
			actor := domain.Actor{ID: citizen, Role: domain.RoleCitizen}
			c := domain.Commit{CommandID: uuid.New(), Command: domain.CmdConveneMeeting, MeetingID: meeting, CitizenID: citizen,
				Actor: actor, At: time.Now(),
				Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen, Title: "Mit møde"})}}
			expected := uint64(0)
			for wctx.Err() == nil {
				a, err := writer.Append(wctx, c, expected)
				if err != nil {
					return // the power is cut
				}
				c = domain.Commit{CommandID: uuid.New(), Command: domain.CmdCitizenSetsAgenda, MeetingID: meeting, CitizenID: citizen,
					Actor: actor, At: time.Now(), Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: []string{"Punkt " + uuid.NewString()[:8]}})}}
				expected = a.Seq
			}
		}()
	}
	for r.Checkpoint() < 300 {
		if ctx.Err() != nil {
			t.Fatal("the notices did not take in 300 commits")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := disk.Cut(); err != nil {
		t.Fatal(err)
	}
	stopWriters()
	wg.Wait()
	stopReactor()
	<-reacted
	taken = r.Checkpoint()
	_ = r.Close()
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
	return taken, kept
}
