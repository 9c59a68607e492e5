package notify_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestNoticesNeverAheadOfTheLogAfterAPowerCut: the log's node runs on a file system that
// forgets what was not fsynced, the notices' file on another disk. Writers append without
// waiting for the node's fsync, so commits reach the notices' subscriber before they are on
// disk. After a power cut the log starts again from what its disk kept, and the notices must not
// have taken in a commit the log lost (a notice sent for it could not be taken back): the
// subscriber waits for the node's fsync first. Without the wait they end up ahead of the log.
func TestNoticesNeverAheadOfTheLogAfterAPowerCut(t *testing.T) {
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
	pc := testnode.StartPowerCut(t)
	store := pc.Store(t, ctx, wait)
	people, err := auth.OpenPeople(ctx, store.JetStream(), 1, time.Now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Node.WaitDurable(ctx); err != nil { // the people's stream on disk too
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
	pc.Write(ctx)
	for r.Checkpoint() < 300 {
		if ctx.Err() != nil {
			t.Fatal("the notices did not take in 300 commits")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pc.Cut(t)
	stopReactor()
	<-reacted
	taken = r.Checkpoint()
	_ = r.Close()
	return taken, pc.Restart(t, ctx)
}
