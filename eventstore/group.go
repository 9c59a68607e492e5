package eventstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// maxBatch is JetStream's default bound on an atomic batch's messages.
const maxBatch = 1000

// groupInflight is how many group writes may be under way at once. With one, the server idles
// while an answer travels back and the next group is sent; two gave 13–35 % more commands/s at
// 64 clients over HTTP, three no more than two (docs/benchmarks.md, "Group commit").
const groupInflight = 2

// groupWriter is group commit: commits that arrive while a write to the log is under way wait,
// and the next write takes them all. A commit that finds no write under way goes alone, as
// without group commit. Fewer than minBatch waiting commits go as single writes side by side;
// minBatch or more go as one JetStream atomic batch, which the server stores with one fsync for
// all, each message still with its own expected subject sequence and message id. A batch is
// all-or-nothing, and the server refuses it whole for one stale sequence or one known message
// id (error 10201), so a refused batch falls back to single writes of its members: each is then
// answered alone (written, a duplicate, or stale), and no member fails for another's fault.
//
// At most inflight writes are under way at a time. A write's leader is the first commit of its
// group; when the write is done and more commits wait, the first of them leads the next write, so
// no caller writes other callers' commits for longer than one write.
type groupWriter struct {
	s        *Store
	minBatch int

	// inflight is how many writes may be under way at once: the server writes one after the
	// other, so a second write waiting at the server keeps it from idling between them.
	inflight int

	mu    sync.Mutex
	busy  int // writes under way
	queue []*pendingWrite

	// batches, batched and fallbacks count the atomic batches, the commits in them, and the
	// batches refused and written again one commit at a time.
	batches, batched, fallbacks atomic.Int64
}

// pendingWrite is one commit's message waiting for the group writer, and its answer.
type pendingWrite struct {
	ctx     context.Context
	msg     *nats.Msg
	ack     pubAck
	err     error
	batched bool          // it was written in an atomic batch
	wake    chan struct{} // closed when ack and err are set, or when it is to lead
	lead    bool          // set before wake is closed: the commit leads the next write
}

// EnableGroupCommit turns group commit on for the store's appends: commits that arrive while a
// write is under way go out together, as one atomic batch when at least minBatch of them wait (2
// is the least), else as single writes side by side. It pays where every write is fsynced (the
// embedded node's FsyncAlways); Node.StageBatchesInMemory says which minBatch to use. Call it
// before the first Append.
func (s *Store) EnableGroupCommit(minBatch int) {
	s.group = &groupWriter{s: s, minBatch: max(minBatch, 2), inflight: groupInflight}
}

// EnableGroupClaims turns group commit on for the claims of meeting ids (the index stream
// DIALOG_MEETINGS), as EnableGroupCommit does for the commits: each convened meeting writes its
// claim, and waits for its fsync, before its first commit, so meetings convened at once would
// otherwise queue one fsync each behind each other (docs/benchmarks.md, "Command latency at
// 1,000 commands/s"). A claim of an id already taken fails the batch, which is then written claim
// by claim, so that claim alone is refused. minBatch is that of the index stream's staging.
func (s *Store) EnableGroupClaims(minBatch int) {
	s.claims = &groupWriter{s: s, minBatch: max(minBatch, 2), inflight: groupInflight}
}

// write writes msg as publish would, grouped with whatever else is waiting.
func (w *groupWriter) write(ctx context.Context, msg *nats.Msg) (pubAck, error) {
	p := &pendingWrite{ctx: ctx, msg: msg, wake: make(chan struct{})}
	w.mu.Lock()
	if w.busy < w.inflight {
		w.busy++
		w.mu.Unlock()
	} else {
		w.queue = append(w.queue, p)
		w.mu.Unlock()
		// Not abandoned on ctx: a waiting commit may be asked to lead, and the write it waits for
		// is bounded by AppendTimeout.
		region := trace.StartRegion(ctx, "group commit: wait")
		<-p.wake
		region.End()
		if !p.lead {
			return p.ack, p.err
		}
	}
	w.lead(p)
	return p.ack, p.err
}

// lead writes p with the commits waiting, then hands the lead on.
func (w *groupWriter) lead(p *pendingWrite) {
	w.mu.Lock()
	group := w.take(p)
	w.mu.Unlock()
	region := trace.StartRegion(p.ctx, "group commit: write")
	if trace.IsEnabled() {
		trace.Log(p.ctx, "group", strconv.Itoa(len(group)))
	}
	w.send(group)
	region.End()
	w.handOff()
	for _, q := range group[1:] {
		close(q.wake)
	}
}

// handOff ends a write: the first commit still waiting leads the next, or one fewer write is
// under way.
func (w *groupWriter) handOff() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		w.busy--
		return
	}
	next := w.queue[0]
	w.queue = w.queue[1:]
	next.lead = true
	close(next.wake)
}

// take makes the group p leads: p, then up to maxBatch-1 waiting commits taken from the queue,
// at most one per subject (a second commit of one meeting would be stale behind the first, and
// fail the batch), the rest left waiting in their order. The mutex must be held.
func (w *groupWriter) take(p *pendingWrite) []*pendingWrite {
	group := []*pendingWrite{p}
	if len(w.queue) == 0 {
		return group
	}
	var rest []*pendingWrite
	subjects := map[string]bool{p.msg.Subject: true}
	for _, q := range w.queue {
		if len(group) == maxBatch || subjects[q.msg.Subject] {
			rest = append(rest, q)
			continue
		}
		subjects[q.msg.Subject] = true
		group = append(group, q)
	}
	w.queue = rest
	return group
}

// send writes a group: alone, as single writes side by side, or as one atomic batch with single
// writes as its fallback.
func (w *groupWriter) send(group []*pendingWrite) {
	switch {
	case len(group) == 1:
		p := group[0]
		p.ack, p.err = w.s.publish(p.ctx, p.msg)
	case len(group) < w.minBatch:
		w.singles(group)
	default:
		if err := w.batch(group); err != nil {
			w.fallbacks.Add(1)
			w.singles(group)
		}
	}
}

// singles writes each commit of the group as a message of its own, all at once.
func (w *groupWriter) singles(group []*pendingWrite) {
	var wg sync.WaitGroup
	for _, p := range group[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.ack, p.err = w.s.publish(p.ctx, p.msg)
		}()
	}
	p := group[0]
	p.ack, p.err = w.s.publish(p.ctx, p.msg)
	wg.Wait()
}

// batch writes the group as one atomic batch: every message but the last is staged without an
// answer, and the last commits the batch; the server answers it, after the batch's one fsync,
// with the last message's sequence, so the others are at the sequences before it. Nothing is
// acknowledged to a caller before that answer. An error means nothing of the batch is known to
// be written: the caller writes each member again alone, with its own message id.
func (w *groupWriter) batch(group []*pendingWrite) error {
	id := uuid.NewString()
	n := len(group)
	for i, p := range group {
		msg := &nats.Msg{Subject: p.msg.Subject, Data: p.msg.Data, Header: make(nats.Header, len(p.msg.Header)+3)}
		for k, v := range p.msg.Header {
			msg.Header[k] = v
		}
		msg.Header[batchIDHeader] = []string{id}
		msg.Header[batchSeqHeader] = []string{strconv.Itoa(i + 1)}
		if i < n-1 {
			if err := w.s.nc.PublishMsg(msg); err != nil {
				return fmt.Errorf("stage batch message %d of %d: %w", i+1, n, err)
			}
			continue
		}
		msg.Header[batchCommitHeader] = []string{"1"}
		ctx, cancel := context.WithTimeout(context.Background(), w.s.cfg.AppendTimeout)
		ack, err := w.s.publish(ctx, msg)
		cancel()
		if err != nil {
			return err
		}
		if ack.count != n || ack.duplicate || ack.seq < uint64(n) {
			return errors.New("batch answer does not match the batch")
		}
		for j, q := range group {
			q.ack = pubAck{seq: ack.seq - uint64(n-1-j)}
			q.err = nil
			q.batched = true
		}
	}
	w.batches.Add(1)
	w.batched.Add(int64(n))
	return nil
}

// The headers of JetStream's atomic batch publish.
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// GroupCommitStats says how group commit has gone since the store was opened: the atomic
// batches written, the commits in them, and the batches refused and written again as single
// writes.
type GroupCommitStats struct {
	Batches, Batched, Fallbacks int64
}

// GroupCommitStats returns the store's group commit figures.
func (s *Store) GroupCommitStats() GroupCommitStats { return s.group.stats() }

// GroupClaimStats returns the same figures for the claims of meeting ids (EnableGroupClaims).
func (s *Store) GroupClaimStats() GroupCommitStats { return s.claims.stats() }

func (w *groupWriter) stats() GroupCommitStats {
	if w == nil {
		return GroupCommitStats{}
	}
	return GroupCommitStats{Batches: w.batches.Load(), Batched: w.batched.Load(), Fallbacks: w.fallbacks.Load()}
}
