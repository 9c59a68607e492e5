package accesslog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Wait says when Record returns.
type Wait string

// The ways to wait.
const (
	// WaitAck returns once JetStream has stored every entry (with fsync always, on disk): no read
	// is answered whose entry is not durable. It adds a publish round trip, and an fsync, to
	// every logged read.
	WaitAck Wait = "ack"
	// WaitBuffered returns once the entries are sent; their acks are watched in the background.
	// A failed or overdue ack trips the log closed: from then on every logged read is refused
	// until the entries are stored again, and unstored entries are sent again (same message id,
	// so once) for as long as the process runs. Only entries sent within MaxPending before the
	// process dies can be lost.
	WaitBuffered Wait = "buffered"
)

// MaxPending is how long an entry's ack may be outstanding in buffered mode before logged reads
// are refused.
const MaxPending = time.Second

// pendingEntry is an entry sent and not yet acknowledged.
type pendingEntry struct {
	msg  *nats.Msg
	sent time.Time
	ack  jetstream.PubAckFuture
}

// buffer watches the acks of entries sent in buffered mode.
type buffer struct {
	js      jetstream.JetStream
	durable func(context.Context) error // Log.Durable
	log     *slog.Logger

	mu      sync.Mutex
	pending []pendingEntry
	broken  error // the last failure, until every entry is stored again
	wake    chan struct{}
}

// Buffered switches the log to buffered mode (WaitBuffered) until ctx ends; log reports failures.
func (l *Log) Buffered(ctx context.Context, log *slog.Logger) {
	b := &buffer{js: l.js, durable: l.Durable, log: log, wake: make(chan struct{}, 1)}
	l.buf = b
	go b.run(ctx)
}

// send publishes msg and keeps it until it is acknowledged; it refuses while the log is tripped.
func (b *buffer) send(msg *nats.Msg) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, b.broken)
	}
	if len(b.pending) > 0 && time.Since(b.pending[0].sent) > MaxPending {
		b.broken = fmt.Errorf("an entry has waited %s for the log", time.Since(b.pending[0].sent).Round(time.Millisecond))
		return fmt.Errorf("%w: %w", ErrUnavailable, b.broken)
	}
	f, err := b.js.PublishMsgAsync(msg)
	if err != nil {
		b.broken = err
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	b.pending = append(b.pending, pendingEntry{msg: msg, sent: time.Now(), ack: f})
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}

// run takes acknowledged entries off the list, in order, and sends a failed one again.
func (b *buffer) run(ctx context.Context) {
	for {
		b.mu.Lock()
		var head *pendingEntry
		if len(b.pending) > 0 {
			h := b.pending[0] // a copy: resend replaces the future under the lock
			head = &h
		}
		b.mu.Unlock()
		if head == nil {
			select {
			case <-ctx.Done():
				return
			case <-b.wake:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-head.ack.Ok():
			b.mu.Lock()
			b.pending = b.pending[1:]
			drained := len(b.pending) == 0
			if drained && b.broken != nil {
				b.log.Info("access log stored every entry again; logged reads are answered again")
				b.broken = nil
			}
			b.mu.Unlock()
			// Stored: now on disk too, one fsync for every entry stored so far.
			if drained && b.durable != nil {
				if err := b.durable(ctx); err != nil && ctx.Err() == nil {
					b.trip(err)
				}
			}
		case err := <-head.ack.Err():
			b.trip(err)
			if !b.resend(ctx, head.msg) {
				return
			}
		case <-time.After(MaxPending):
			// No answer at all (a publish to a stream that is gone may never be answered):
			// refused from now on, and sent again.
			b.trip(fmt.Errorf("an entry has waited %s for the log", MaxPending))
			if !b.resend(ctx, head.msg) {
				return
			}
		}
	}
}

// trip refuses logged reads until every entry is stored.
func (b *buffer) trip(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		b.log.Error("access log entry not stored; logged reads are refused until it is", "err", err)
	}
	b.broken = err
}

// resend sends the oldest unstored entry again, with its message id (so it is stored once),
// until the log takes it or ctx ends (false).
func (b *buffer) resend(ctx context.Context, msg *nats.Msg) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
		// A fresh message: nats.go gives each async publish a reply subject of its own.
		f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: msg.Subject, Data: msg.Data, Header: msg.Header})
		if err != nil {
			b.log.Warn("access log entry not sent again yet", "err", err)
			continue
		}
		b.mu.Lock()
		b.pending[0].ack = f
		b.mu.Unlock()
		return true
	}
}

func newMsgID() string { return uuid.Must(uuid.NewV7()).String() }
