package eventstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/internal/powercut"
)

// acked is a commit the store answered as written.
type acked struct {
	seq     uint64
	subject string
	command uuid.UUID
}

// TestPowerCutKeepsAcknowledgedCommits runs the single node as serve does (the server writes
// without syncing, the node group commits by fsync) on a file system that forgets whatever was
// not fsynced, cuts the power while sixteen writers append, and starts the node again on what
// the disk kept: every commit that was answered as written is there, at its sequence. The same
// run with appends answered without waiting for the node's fsync loses answered commits, so the
// test would see the wait go.
func TestPowerCutKeepsAcknowledgedCommits(t *testing.T) {
	powercut.Require(t)
	for _, tc := range []struct {
		name       string
		wait       bool
		threadFrom int // the syncer's: 0 fsyncs every round on its thread, 1<<30 none
	}{
		{"answered after the fsync, on the fsync thread", true, 0},
		{"answered after the fsync, from the syncer's goroutine", true, 1 << 30},
		{"answered without waiting", false, threadFrom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answered, lost := powerCutWhileAppending(t, tc.wait, tc.threadFrom, 400)
			t.Logf("%d commits answered before the cut, %d of them lost", answered, lost)
			if tc.wait && lost > 0 {
				t.Fatalf("%d of %d answered commits lost in the power cut", lost, answered)
			}
			if !tc.wait && lost == 0 {
				t.Fatalf("none of %d commits answered without an fsync was lost: the cut did not bite", answered)
			}
		})
	}
}

// powerCutWhileAppending appends from sixteen writers until at least n commits are answered,
// cuts the power, and returns how many were answered and how many of those the restarted node
// does not have.
func powerCutWhileAppending(t *testing.T, wait bool, threadFrom, n int) (answered, lost int) {
	disk, backing, nd, nc := nodeOnDisk(t)
	nd.syncer.mu.Lock()
	nd.syncer.threadFrom = threadFrom // read by the loop under mu
	nd.syncer.mu.Unlock()
	cfg := Config{AppendTimeout: 2 * time.Second}
	if wait {
		cfg.Durable, cfg.AfterDurable = nd.Durable(), nd.AfterDurable()
	}
	s, err := Open(ctxT(t), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The streams themselves on disk, so that what is lost without the wait is answered commits.
	if err := nd.WaitDurable(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
	)
	enough := make(chan struct{})
	var once sync.Once
	ctx, stop := context.WithCancel(context.Background())
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			citizen, meeting := uuid.New(), uuid.New()
			c, expected := conveneCommit(citizen, meeting), uint64(0)
			for ctx.Err() == nil {
				a, err := s.Append(ctx, c, expected)
				if err != nil {
					return // the power is cut
				}
				mu.Lock()
				acks = append(acks, acked{a.Seq, MeetingSubject(citizen, meeting), c.CommandID})
				if len(acks) >= n {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
				c, expected = agendaCommit(citizen, meeting, "Punkt "+uuid.NewString()[:8]), a.Seq
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("the writers did not get enough commits answered")
	}
	cutPower(t, disk, nd, nc, func() { stop(); wg.Wait() })

	nc2, err := restartOn(t, backing)
	if err != nil {
		if !wait {
			return len(acks), len(acks) // not even the stream survived
		}
		t.Fatal(err)
	}
	s2, err := Open(ctxT(t), nc2, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acks {
		m, err := s2.stream.GetMsg(ctxT(t), a.seq)
		if err != nil {
			if !wait {
				lost++
				continue
			}
			t.Errorf("answered commit at %d: %v", a.seq, err)
			lost++
			continue
		}
		c, derr := domain.DecodeCommit(m.Data)
		if m.Subject != a.subject || derr != nil || c.CommandID != a.command {
			t.Errorf("at %d: %s command %s (%v), want %s command %s", a.seq, m.Subject, c.CommandID, derr, a.subject, a.command)
			lost++
		}
	}
	return len(acks), lost
}

// TestPowerCutAcrossNewAndRemovedBlocks writes a stream whose blocks are small (its byte limit
// makes them so) far past its limit, so the server makes new blocks and removes old ones while
// sixteen writers wait for the node's fsyncs, cuts the power, and finds every answered message
// the stream still keeps after the restart, and none of them changed.
func TestPowerCutAcrossNewAndRemovedBlocks(t *testing.T) {
	powercut.Require(t)
	disk, backing, nd, nc := nodeOnDisk(t)
	js := jetStreamOn(t, nc)
	ctx := ctxT(t)
	const limit = 1 << 20 // blocks of about a quarter of this
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SMALL_BLOCKS", Subjects: []string{"small.>"},
		Storage: jetstream.FileStorage, MaxBytes: limit, Discard: jetstream.DiscardOld}); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		acks = map[uint64]string{}
		wg   sync.WaitGroup
	)
	payload := strings.Repeat("x", 2000)
	start := time.Now()
	wctx, stop := context.WithCancel(ctx)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				data := fmt.Sprintf("%d/%d/%s", w, i, payload)
				ack, err := js.Publish(wctx, fmt.Sprintf("small.%d", w), []byte(data))
				if err == nil {
					err = nd.WaitDurable(wctx)
				}
				if err != nil {
					return // the power is cut
				}
				mu.Lock()
				acks[ack.Sequence] = data
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n*len(payload) > 3*limit { // three times the limit: blocks made and removed
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("cut after %s", time.Since(start))
	cutPower(t, disk, nd, nc, func() { stop(); wg.Wait() })

	stream := streamAfterCut(t, backing, "SMALL_BLOCKS")
	ctx = ctxT(t)
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept, last := 0, uint64(0)
	for seq, data := range acks {
		last = max(last, seq)
		if seq < info.State.FirstSeq {
			continue // removed by the byte limit before the cut
		}
		m, err := stream.GetMsg(ctx, seq)
		if err != nil || string(m.Data) != data {
			t.Errorf("answered message %d: %v", seq, err)
			continue
		}
		kept++
	}
	t.Logf("%d messages answered, up to %d; the stream keeps %d..%d, %d answered ones checked",
		len(acks), last, info.State.FirstSeq, info.State.LastSeq, kept)
	if info.State.LastSeq < last || kept == 0 || info.State.FirstSeq == 1 {
		t.Fatalf("after the cut the stream holds %d..%d, %d answered ones among them; answered up to %d",
			info.State.FirstSeq, info.State.LastSeq, kept, last)
	}
}

// TestPowerCutReadsGiveOnlyWhatIsOnDisk has one store append without waiting for the node's
// fsync (so its commits stand in the log before they are on disk) while a second store reads
// the log over and over, as a replay does, then cuts the power: every commit a read gave is
// in the log after the restart. A reader that does not wait for the fsync is given commits the
// cut takes back.
func TestPowerCutReadsGiveOnlyWhatIsOnDisk(t *testing.T) {
	powercut.Require(t)
	for _, tc := range []struct {
		name string
		wait bool
	}{{"reads wait for the fsync", true}, {"reads without waiting", false}} {
		t.Run(tc.name, func(t *testing.T) {
			read, lost := powerCutWhileReading(t, tc.wait)
			t.Logf("%d commits given by reads before the cut, %d of them lost", read, lost)
			if tc.wait && lost > 0 {
				t.Fatalf("%d of %d commits a read gave were lost in the power cut", lost, read)
			}
			if !tc.wait && lost == 0 {
				t.Fatalf("none of %d commits read without an fsync was lost: the cut did not bite", read)
			}
		})
	}
}

// powerCutWhileReading appends from four writers that do not wait for the fsync while one
// reader follows the log with Read, cuts the power once the reader has been given 200
// commits, and returns how many it was given and how many of those the restarted node lacks.
func powerCutWhileReading(t *testing.T, wait bool) (read, lost int) {
	disk, backing, nd, nc := nodeOnDisk(t)
	writer, err := Open(ctxT(t), nc, Config{AppendTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	if wait {
		cfg.Durable = nd.Durable()
	}
	reader, err := Open(ctxT(t), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The stream itself on disk, so that what is lost is commits.
	if err := nd.WaitDurable(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			citizen, meeting := uuid.New(), uuid.New()
			c, expected := conveneCommit(citizen, meeting), uint64(0)
			for ctx.Err() == nil {
				a, err := writer.Append(ctx, c, expected)
				if err != nil {
					return // the power is cut
				}
				c, expected = agendaCommit(citizen, meeting, "Punkt "+uuid.NewString()[:8]), a.Seq
			}
		})
	}
	given := map[uint64]uuid.UUID{}
	deadline := time.Now().Add(60 * time.Second)
	for next := uint64(1); len(given) < 200; {
		if time.Now().After(deadline) {
			t.Fatal("the reader was not given enough commits")
		}
		err := reader.Read(ctxT(t), ReadOptions{From: next}, func(r Recorded) error {
			given[r.Seq] = r.Commit.CommandID
			next = r.Seq + 1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cutPower(t, disk, nd, nc, func() { stop(); wg.Wait() })

	nc2, err := restartOn(t, backing)
	if err != nil {
		if !wait {
			return len(given), len(given) // not even the stream survived
		}
		t.Fatal(err)
	}
	s2, err := Open(ctxT(t), nc2, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for seq, command := range given {
		r, err := s2.CommitAt(ctxT(t), seq)
		if err != nil || r.Commit.CommandID != command {
			if wait {
				t.Errorf("commit %d, given by a read before the cut: %v", seq, err)
			}
			lost++
		}
	}
	return len(given), lost
}

// TestPowerCutAfterACompaction deletes most messages of an older block of a stream, so that
// the server compacts that block (it writes the block anew beside it, unsynced, and renames it
// over the old one), makes the server start a new block (the node then fsyncs the directory),
// waits for the node's fsync and cuts the power: every message not deleted is there after the
// restart. A node that fsynced the directory without the rewritten block left the block's name
// on an empty file, and lost every message kept in it.
func TestPowerCutAfterACompaction(t *testing.T) {
	powercut.Require(t)
	disk, backing, nd, nc := nodeOnDisk(t)
	js := jetStreamOn(t, nc)
	ctx := ctxT(t)
	// Blocks of 8 MB: the server compacts an older block at once only over 2 MB.
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "COMPACTED", Subjects: []string{"compacted.>"},
		Storage: jetstream.FileStorage, MaxBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("y", 4000)
	kept := map[uint64]string{}
	var last uint64
	publish := func(n int) {
		t.Helper()
		for range n {
			data := fmt.Sprintf("%d/%s", last+1, payload)
			ack, err := js.Publish(ctx, "compacted.a", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			kept[ack.Sequence], last = data, ack.Sequence
		}
		if err := nd.WaitDurable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs := filepath.Join(disk.Mountpoint(), "jetstream", "$G", "streams", "COMPACTED", "msgs")
	blocks := func() int {
		t.Helper()
		names, err := filepath.Glob(filepath.Join(msgs, "*.blk"))
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	for blocks() < 2 {
		publish(100)
	}
	// All but every tenth message of the first block: more than half its bytes, so the server
	// rewrites it, more than once, while the deletes go on.
	for seq := uint64(1); seq <= last-200; seq++ {
		if seq%10 == 0 {
			continue
		}
		if err := stream.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
		delete(kept, seq)
	}
	for before := blocks(); blocks() == before; {
		publish(100)
	}
	cutPower(t, disk, nd, nc, nil)

	stream2 := streamAfterCut(t, backing, "COMPACTED")
	lost := 0
	for seq, data := range kept {
		if m, err := stream2.GetMsg(ctxT(t), seq); err != nil || string(m.Data) != data {
			lost++
		}
	}
	t.Logf("%d messages answered and not deleted before the cut, %d lost", len(kept), lost)
	if lost > 0 {
		t.Fatalf("%d of %d answered messages not deleted were lost in the cut", lost, len(kept))
	}
}

// TestPowerCutAfterAnIdleRound writes messages no writer waits for (as the server's own
// removals and rewrites are), waits for the syncer's round of its own, and cuts the power:
// the messages are there after the restart.
func TestPowerCutAfterAnIdleRound(t *testing.T) {
	powercut.Require(t)
	disk, backing, nd, nc := nodeOnDisk(t)
	js := jetStreamOn(t, nc)
	ctx := ctxT(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IDLE", Subjects: []string{"idle.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitDurable(ctx); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 50 {
		ack, err := js.Publish(ctx, "idle.a", fmt.Appendf(nil, "message %d", i))
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	before := nd.FsyncStats()
	for nd.FsyncStats().Rounds == before.Rounds {
		if ctx.Err() != nil {
			t.Fatal("no round of the syncer's own")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := nd.FsyncStats(); st.Waits != before.Waits {
		t.Fatalf("%d waits: the round was not the syncer's own", st.Waits-before.Waits)
	}
	cutPower(t, disk, nd, nc, nil)

	info, err := streamAfterCut(t, backing, "IDLE").Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != last || info.State.Msgs != 50 {
		t.Fatalf("after the cut the stream holds %d messages up to %d, want 50 up to %d", info.State.Msgs, info.State.LastSeq, last)
	}
}

// nodeOnDisk starts a node as serve does (group commit by fsync) on a simulated disk whose
// durable state is backing, and connects to it.
func nodeOnDisk(t *testing.T) (disk *powercut.FS, backing string, nd *Node, nc *nats.Conn) {
	t.Helper()
	backing = t.TempDir()
	disk = powercut.Mount(t, backing, t.TempDir())
	nd, err := StartNode(NodeConfig{DataDir: disk.Mountpoint(), Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if nc, err = nd.Connect(); err != nil {
		t.Fatal(err)
	}
	return disk, backing, nd, nc
}

// cutPower cuts the power under the node, then stops what was writing to it (stop, which may be
// nil) and shuts the node down: after the cut its shutdown's syncs reach nothing.
func cutPower(t *testing.T, disk *powercut.FS, nd *Node, nc *nats.Conn, stop func()) {
	t.Helper()
	if err := disk.Cut(); err != nil {
		t.Fatal(err)
	}
	if stop != nil {
		stop()
	}
	nc.Close()
	nd.Shutdown()
}

// restartOn starts a node on what the disk kept after the cut and connects to it; the error is
// the node's, when it cannot start.
func restartOn(t *testing.T, backing string) (*nats.Conn, error) {
	t.Helper()
	_, nc, err := restartNodeOn(t, NodeConfig{DataDir: backing, ServerFsync: true})
	return nc, err
}

// jetStreamOn is the JetStream API over nc.
func jetStreamOn(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamOn is the stream name on the node nc reaches; the test fails when the node lacks it.
func streamOn(t *testing.T, nc *nats.Conn, name string) jetstream.Stream {
	t.Helper()
	stream, err := jetStreamOn(t, nc).Stream(ctxT(t), name)
	if err != nil {
		t.Fatalf("stream %s did not survive the cut: %v", name, err)
	}
	return stream
}

// streamAfterCut starts a node on what the disk kept (restartOn) and returns the stream name
// on it; the test fails when the node cannot start or the stream is gone.
func streamAfterCut(t *testing.T, backing, name string) jetstream.Stream {
	t.Helper()
	nc, err := restartOn(t, backing)
	if err != nil {
		t.Fatal(err)
	}
	return streamOn(t, nc, name)
}

// restartNodeOn starts a node as cfg says (on a free port) and connects to it.
func restartNodeOn(t *testing.T, cfg NodeConfig) (*Node, *nats.Conn, error) {
	t.Helper()
	cfg.Port = freePort(t)
	again, err := StartNode(cfg)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(again.Shutdown)
	nc, err := again.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return again, nc, nil
}

// TestPowerCutLeavesEveryAnsweredMeetingFindable: a convene's round fsyncs the log, not its
// meeting-id claim in the index (derived). Sixteen writers convene meeting after
// meeting and the power is cut: the index the disk kept lacks claims of answered meetings (the
// cut took them), and a store opened on it finds every answered meeting by its id alone, with
// its claim for its citizen, since Open gives the index back what the cut took (repairIndex).
func TestPowerCutLeavesEveryAnsweredMeetingFindable(t *testing.T) {
	powercut.Require(t)
	disk, backing, nd, nc := nodeOnDisk(t)
	s, err := Open(ctxT(t), nc, Config{AppendTimeout: 2 * time.Second, Durable: nd.Durable(), AfterDurable: nd.AfterDurable()})
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitDurable(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	type meeting struct{ citizen, id uuid.UUID }
	var (
		mu       sync.Mutex
		answered []meeting
		wg       sync.WaitGroup
	)
	ctx, stop := context.WithCancel(context.Background())
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				m := meeting{uuid.New(), uuid.New()}
				if _, err := s.Append(ctx, conveneCommit(m.citizen, m.id), 0); err != nil {
					return // the power is cut
				}
				mu.Lock()
				answered = append(answered, m)
				mu.Unlock()
			}
		})
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writers did not get enough meetings answered")
		}
	}
	cutPower(t, disk, nd, nc, func() { stop(); wg.Wait() })

	again, nc2, err := restartNodeOn(t, NodeConfig{DataDir: backing}) // as serve: group commit
	if err != nil {
		t.Fatal(err)
	}
	index := streamOn(t, nc2, IndexStreamName) // what the cut left, before any store opens
	unclaimed := 0
	for _, m := range answered {
		if _, err := index.GetLastMsgForSubject(ctxT(t), indexSubject(m.id)); errors.Is(err, jetstream.ErrMsgNotFound) {
			unclaimed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(ctxT(t), nc2, Config{Durable: again.Durable()})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, m := range answered {
		l, err := s2.Load(ctxT(t), m.id)
		if err != nil {
			t.Fatal(err)
		}
		if !l.Meeting.Exists() || l.Meeting.CitizenID() != m.citizen {
			missing++
		}
	}
	t.Logf("%d meetings answered before the cut; the cut took the claims of %d; %d not found by id after Open", len(answered), unclaimed, missing)
	if unclaimed == 0 {
		t.Fatalf("the cut took none of %d answered meetings' claims: it did not bite", len(answered))
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered meetings not found by their id after the cut", missing, len(answered))
	}
	// A repaired claim still keeps the id its citizen's: another's convene is refused.
	m := answered[len(answered)-1]
	if _, err := s2.Append(ctxT(t), conveneCommit(uuid.New(), m.id), 0); !domain.IsKind(err, domain.Conflict) {
		t.Fatalf("another citizen's convene of meeting %s after the repair: %v, want a conflict", m.id, err)
	}
}
