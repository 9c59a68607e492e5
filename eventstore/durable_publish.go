package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// durableReplies is publish's answer path where the node group commits by fsync
// (Config.AfterDurable): every commit is sent with a reply subject under one subscription of
// the store's, and nats.go's delivery of the answer hands it to the node's next fsync round, so
// the command that waits is woken once, after its fsync. With a request and then a wait it was
// woken twice, and on two busy cores each wake-up waits its turn behind the other goroutines
// (docs/benchmarks.md, "Group commit").
type durableReplies struct {
	prefix string // the reply subjects' prefix: an inbox of the store's connection, and "."
	after  func(func(error))
	mark   *atomic.Uint64 // Store.durable

	next    atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]*durableReply
}

type durableReply struct {
	ack  pubAck
	err  error
	done chan struct{}
}

// errNoResponders answers a commit that found no stream to answer it; publish tries again.
var errNoResponders = errors.New("no responders")

func openDurableReplies(nc *nats.Conn, after func(func(error)), mark *atomic.Uint64) (*durableReplies, error) {
	d := &durableReplies{prefix: nc.NewInbox() + ".", after: after, mark: mark, pending: map[uint64]*durableReply{}}
	if _, err := nc.Subscribe(d.prefix+"*", d.answer); err != nil {
		return nil, fmt.Errorf("open log: subscribe to the answers: %w", err)
	}
	return d, nil
}

// answer reads JetStream's answer to one commit and, when it was written, hands it to the next
// fsync round, which wakes the commit's caller.
func (d *durableReplies) answer(m *nats.Msg) {
	id, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, d.prefix), 10, 64)
	if err != nil {
		return
	}
	d.mu.Lock()
	p := d.pending[id]
	delete(d.pending, id) // answered once, whatever else arrives on its subject
	d.mu.Unlock()
	if p == nil {
		return // its caller gave up
	}
	if m.Header.Get("Status") == "503" {
		p.err = errNoResponders
		close(p.done)
		return
	}
	p.ack, p.err = readPubAck(m.Data)
	if p.err != nil {
		close(p.done)
		return
	}
	d.after(func(err error) {
		if err == nil {
			raise(d.mark, p.ack.seq)
		}
		p.err = err
		close(p.done)
	})
}

// publish sends msg and waits for its answer and its fsync, as long as timeout and ctx allow.
func (d *durableReplies) publish(ctx context.Context, nc *nats.Conn, msg *nats.Msg, timeout time.Duration) (pubAck, error) {
	id := d.next.Add(1)
	p := &durableReply{done: make(chan struct{})}
	d.mu.Lock()
	d.pending[id] = p
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.pending, id)
		d.mu.Unlock()
	}()
	out := *msg
	out.Reply = d.prefix + strconv.FormatUint(id, 10)
	if err := nc.PublishMsg(&out); err != nil {
		return pubAck{}, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.ack, p.err
	case <-timer.C:
		return pubAck{}, fmt.Errorf("no answer from the log in %s: %w", timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		return pubAck{}, ctx.Err()
	}
}

// raise sets mark to seq unless it is already past it.
func raise(mark *atomic.Uint64, seq uint64) {
	for {
		old := mark.Load()
		if seq <= old || mark.CompareAndSwap(old, seq) {
			return
		}
	}
}
