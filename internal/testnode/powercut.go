package testnode

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/powercut"
)

// PowerCut is a node, as serve runs it (group commit by fsync), on a simulated disk that keeps
// only what was fsynced (internal/powercut), with writers that append without waiting for the
// fsync: their commits reach whatever follows the log before they are on disk. It is for
// tests that a follower of the log is never ahead of it after a power cut.
type PowerCut struct {
	Node *eventstore.Node
	Conn *nats.Conn

	disk    *powercut.FS
	backing string
	writer  *eventstore.Store
	stop    context.CancelFunc
	writers sync.WaitGroup
}

// StartPowerCut mounts the simulated disk and starts the node on it; it skips the test where
// the disk cannot be mounted (powercut.Require).
func StartPowerCut(t *testing.T) *PowerCut {
	t.Helper()
	powercut.Require(t)
	p := &PowerCut{backing: t.TempDir()}
	p.disk = powercut.Mount(t, p.backing, t.TempDir())
	var err error
	if p.Node, err = eventstore.StartNode(eventstore.NodeConfig{DataDir: p.disk.Mountpoint()}); err != nil {
		t.Fatal(err)
	}
	if p.Conn, err = p.Node.Connect(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p.writer, err = eventstore.Open(ctx, p.Conn, eventstore.Config{AppendTimeout: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Store opens the log for a follower: one that waits for the node's fsync (as serve's do) when
// wait is set, else one that does not. The streams themselves are on disk when it returns.
func (p *PowerCut) Store(t *testing.T, ctx context.Context, wait bool) *eventstore.Store {
	t.Helper()
	cfg := eventstore.Config{AppendTimeout: 2 * time.Second}
	if wait {
		cfg.Durable = p.Node.Durable()
	}
	s, err := eventstore.Open(ctx, p.Conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Node.WaitDurable(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// Write starts sixteen writers, each convening a meeting and then setting its agenda over and
// over, none waiting for the fsync, until Cut.
func (p *PowerCut) Write(ctx context.Context) {
	ctx, p.stop = context.WithCancel(ctx)
	for range 16 {
		p.writers.Go(func() {
			citizen, meeting := uuid.New(), uuid.New()
			actor := domain.Actor{ID: citizen, Role: domain.RoleCitizen}
			c := domain.Commit{CommandID: uuid.New(), Command: domain.CmdConveneMeeting, MeetingID: meeting, CitizenID: citizen,
				Actor: actor, At: time.Now(),
				Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen, Title: "Mit møde"})}}
			expected := uint64(0)
			for ctx.Err() == nil {
				a, err := p.writer.Append(ctx, c, expected)
				if err != nil {
					return // the power is cut
				}
				c = domain.Commit{CommandID: uuid.New(), Command: domain.CmdCitizenSetsAgenda, MeetingID: meeting, CitizenID: citizen,
					Actor: actor, At: time.Now(), Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: []string{"Punkt " + uuid.NewString()[:8]}})}}
				expected = a.Seq
			}
		})
	}
}

// Cut cuts the power and stops the writers. The node is still up, so that a follower can be
// stopped and read before Restart.
func (p *PowerCut) Cut(t *testing.T) {
	t.Helper()
	if err := p.disk.Cut(); err != nil {
		t.Fatal(err)
	}
	if p.stop != nil {
		p.stop()
	}
	p.writers.Wait()
}

// Restart shuts the node down (after the cut its syncs reach nothing), starts one on what the
// disk kept and returns the last sequence of the log there.
func (p *PowerCut) Restart(t *testing.T, ctx context.Context) (kept uint64) {
	t.Helper()
	p.Conn.Close()
	p.Node.Shutdown()
	again, err := eventstore.StartNode(eventstore.NodeConfig{DataDir: p.backing, ServerFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown()
	nc, err := again.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	log, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if kept, err = log.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	return kept
}
