package projections_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// convene appends a meeting's first commit and returns its sequence.
func convene(t *testing.T, store *eventstore.Store) uint64 {
	t.Helper()
	c, m := uuid.New(), uuid.New()
	a, err := store.Append(context.Background(), domain.Commit{CommandID: uuid.New(), Command: domain.CmdConveneMeeting, MeetingID: m, CitizenID: c,
		Actor: domain.Actor{ID: c, Role: domain.RoleCitizen}, At: time.Now(),
		Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: m, CitizenID: c, Title: "møde"})}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a.Seq
}

// runProjector runs a projector until the test ends.
func runProjector(t *testing.T, p *projections.Projector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; p.Close() })
}

// TestReadModelFilesAreTheOwnersAlone: under the usual umask (which lets SQLite make 0644
// files), a new read model's file and its -wal and -shm files are 0600 and its directory 0700;
// a directory made 0755 and a file left 0644 (by an earlier version) are tightened when opened.
func TestReadModelFilesAreTheOwnersAlone(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	nd := testnode.Start(t, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	seq := convene(t, nd.Store)
	ctx := context.Background()

	check := func(t *testing.T, dir string) {
		t.Helper()
		p, err := projections.OpenProjector(ctx, dir, projections.Meetings{}, nd.Store, quiet)
		if err != nil {
			t.Fatal(err)
		}
		runProjector(t, p)
		if err := p.WaitFor(ctx, seq); err != nil { // a write: the WAL and its index exist now
			t.Fatal(err)
		}
		if m := perm(t, dir); m != 0o700 {
			t.Errorf("%s: %04o, want 0700", dir, m)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		var seen []string
		for _, f := range files {
			seen = append(seen, filepath.Base(f))
			if m := perm(t, f); m != 0o600 {
				t.Errorf("%s: %04o, want 0600", filepath.Base(f), m)
			}
		}
		for _, want := range []string{"meetings.1.db", "meetings.1.db-wal", "meetings.1.db-shm", "meetings.current"} {
			if !strings.Contains(strings.Join(seen, " "), want) {
				t.Errorf("no %s among %v", want, seen)
			}
		}
	}
	t.Run("new", func(t *testing.T) { check(t, filepath.Join(t.TempDir(), "readmodels")) })
	t.Run("existing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "readmodels")
		// As an earlier version left them: the directory 0755, the file and its WAL 0644.
		p, err := projections.OpenProjector(ctx, dir, projections.Meetings{}, nd.Store, quiet)
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		for path, m := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "meetings.1.db"): 0o644, filepath.Join(dir, "meetings.current"): 0o644} {
			if err := os.Chmod(path, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.WriteFile(filepath.Join(dir, "meetings.1.db"+suffix), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check(t, dir)
	})
}

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUnreadableCommitIsReportedAndCanBePassedOver: a message in the log that is not a commit
// stops both read models; each reports the sequence (in its status and in the log line), and,
// told to pass over that sequence, goes on past it, counting it; a listed sequence whose commit
// can be read is applied as any other.
func TestUnreadableCommitIsReportedAndCanBePassedOver(t *testing.T) {
	nd := testnode.Start(t, testnode.Fsync(eventstore.Fsync{Interval: time.Second}))
	ctx := context.Background()
	first := convene(t, nd.Store)
	ack, err := nd.Store.JetStream().Publish(ctx, fmt.Sprintf("%s.%s.%s", eventstore.SubjectPrefix, uuid.New(), uuid.New()), []byte(`{"not":"a commit"`))
	if err != nil {
		t.Fatal(err)
	}
	bad := ack.Sequence
	last := convene(t, nd.Store)

	dir := t.TempDir()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var ps []*projections.Projector
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, dir, proj, nd.Store, log)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx) }()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = p.WaitFor(wctx, last)
		cancel()
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("sequence %d", bad)) {
			t.Fatalf("%s: got %v, want it stopped naming sequence %d", p.Name(), err, bad)
		}
		<-done // it stopped for good
		st := p.Status()
		// Its checkpoint is before the bad commit (the batch that held it was not written).
		if st.StoppedAt != bad || st.Seq >= bad || st.Error == "" {
			t.Fatalf("%s: status %+v, want stopped at %d", p.Name(), st, bad)
		}
		if want := fmt.Sprintf("projection=%s seq=%d", p.Name(), bad); !strings.Contains(logs.String(), want) {
			t.Fatalf("the log does not say %q:\n%s", want, logs.String())
		}
		p.Close()
	}

	// Restarted, told to pass over it.
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, dir, proj, nd.Store, log)
		if err != nil {
			t.Fatal(err)
		}
		p.SkipUnreadable(bad)
		runProjector(t, p)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := p.WaitFor(wctx, last); err != nil {
			t.Fatalf("%s told to pass over %d: %v", p.Name(), bad, err)
		}
		cancel()
		if st := p.Status(); st.Error != "" || st.StoppedAt != 0 || st.Skipped != 1 || st.Seq != last {
			t.Fatalf("%s: status %+v", p.Name(), st)
		}
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("unreadable commit passed over, as serve --skip-unreadable says\" projection=meetings seq=%d", bad)) {
		t.Fatalf("passing over is not logged:\n%s", logs.String())
	}

	// A listed sequence that can be read is not passed over: a mistyped number drops nothing.
	p, err := projections.OpenProjector(ctx, t.TempDir(), projections.Meetings{}, nd.Store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	p.SkipUnreadable(first, bad)
	runProjector(t, p)
	if err := p.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p, `SELECT count(*) FROM meetings`); n != 2 {
		t.Fatalf("%d meetings, want both readable ones", n)
	}
	if st := p.Status(); st.Skipped != 1 {
		t.Fatalf("skipped %d, want 1", st.Skipped)
	}
}
