package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/eventstore"
)

// Metadata keys of a log message handed to the router.
const (
	metaSeq     = "seq"
	metaSubject = "subject"
	metaTime    = "stored"
)

// logSubscriber is a watermill Subscriber of the log: it reads the stream DIALOG with an ordered
// consumer from a checkpoint + 1 and hands one commit at a time to the router, waiting for the
// handler to acknowledge it before the next, so reactions see the log in order. A commit the
// handler refuses (nack) is handed over again after a pause. Where to start is asked of the
// store on every (re)subscription, so the checkpoint in SQLite is the only position there is:
// no durable consumer is kept on the server. (watermill-nats's JetStream subscriber keeps no
// order on redelivery, which reactions need.)
type logSubscriber struct {
	js   jetstream.JetStream
	from func() (uint64, error) // the first sequence not yet handled
	// durable waits until the log is on disk up to a sequence (eventstore.Store.WaitDurable):
	// no notice goes out for a commit a power failure could still take from the log.
	durable func(ctx context.Context, seq uint64) error
	log     *slog.Logger

	mu     sync.Mutex
	closed bool
	stop   []context.CancelFunc
	wg     sync.WaitGroup
}

func (s *logSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("subscribe to the log: closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stop = append(s.stop, cancel)
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		for ctx.Err() == nil {
			err := s.follow(ctx, out)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("notices: following the log failed; trying again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return out, nil
}

// follow reads from the checkpoint + 1 until ctx ends or the consumer fails.
func (s *logSubscriber) follow(ctx context.Context, out chan<- *message.Message) error {
	from, err := s.from()
	if err != nil {
		return err
	}
	cons, err := s.js.OrderedConsumer(ctx, eventstore.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventstore.AllFilter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := s.durable(ctx, meta.Sequence.Stream); err != nil {
			return err
		}
		seq := strconv.FormatUint(meta.Sequence.Stream, 10)
		msg := message.NewMessage(seq, m.Data())
		msg.Metadata.Set(metaSeq, seq)
		msg.Metadata.Set(metaSubject, m.Subject())
		msg.Metadata.Set(metaTime, meta.Timestamp.UTC().Format(time.RFC3339Nano))
		if err := s.handOver(ctx, out, msg); err != nil {
			return err
		}
	}
}

// handOver gives msg to the router until it is acknowledged, pausing longer after each refusal.
func (s *logSubscriber) handOver(ctx context.Context, out chan<- *message.Message, msg *message.Message) error {
	pause := 100 * time.Millisecond
	for {
		m := msg.Copy()
		m.SetContext(ctx)
		select {
		case out <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-m.Acked():
			return nil
		case <-m.Nacked():
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(2*pause, 30*time.Second)
	}
}

func (s *logSubscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.stop {
		c()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
