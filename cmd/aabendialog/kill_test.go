package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// TestSIGKILLKeepsAcknowledgedCommits kills a running "serve" with SIGKILL while clients are
// appending, restarts it on the same data, and finds every commit that had been acknowledged.
func TestSIGKILLKeepsAcknowledgedCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real program")
	}
	data := t.TempDir()
	port := freePort(t)
	args := []string{"serve", "--data", data, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", port), "--http", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "warn"}
	p := startProcess(t, "aabendialog serving", args...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := withPassword(t, data, fmt.Sprintf("nats://127.0.0.1:%d", port))
	nc, err := nats.Connect(url, nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}

	const writers = 8
	var (
		mu     sync.Mutex
		acked  = map[uuid.UUID]uint64{}
		n      atomic.Int64
		wg     sync.WaitGroup
		killed = make(chan struct{})
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			citizen := uuid.New()
			for {
				meeting := uuid.New()
				c := domain.Commit{
					CommandID: uuid.New(), Command: "convene-meeting", MeetingID: meeting, CitizenID: citizen,
					Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: time.Now().UTC(),
					Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen})},
				}
				a, err := s.Append(ctx, c, 0)
				if err != nil {
					select {
					case <-killed:
						return // expected: the server is gone
					default:
						t.Errorf("append before the kill: %v", err)
						return
					}
				}
				mu.Lock()
				acked[c.CommandID] = a.Seq
				mu.Unlock()
				n.Add(1)
			}
		}()
	}
	for n.Load() < 500 {
		time.Sleep(time.Millisecond)
	}
	// Kill with appends in flight: no chance to flush or shut down.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	<-p.done
	wg.Wait()
	nc.Close()
	mu.Lock()
	want := len(acked)
	mu.Unlock()

	startProcess(t, "aabendialog serving", args...)
	nc2, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	s2, err := eventstore.Open(ctx, nc2, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	err = s2.Read(ctx, eventstore.ReadOptions{}, func(r eventstore.Recorded) error {
		if seq, ok := acked[r.Commit.CommandID]; ok {
			if seq != r.Seq {
				return fmt.Errorf("command %s acknowledged at %d, found at %d", r.Commit.CommandID, seq, r.Seq)
			}
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != want {
		t.Fatalf("after SIGKILL and restart: found %d of %d acknowledged commits", found, want)
	}
	t.Logf("all %d acknowledged commits survived SIGKILL", want)
}
