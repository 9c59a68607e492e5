package natsrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/nats-io/nats.go"
)

// requestSubscriber is a watermill Subscriber for core NATS request/reply in a queue group.
// watermill-nats's core subscriber acknowledges a message by replying "+ACK" to it (JetStream's
// ack protocol), which would be the requester's answer; here the answer is the command's reply,
// sent by the answer middleware once the handler (with its retries) is done with the message.
type requestSubscriber struct {
	nc    *nats.Conn
	queue string
	slots chan struct{} // bounds the requests in flight
	log   *slog.Logger

	// mu is held for reading by a callback handing a request to the router, and for writing by
	// Close when it closes the output channels, so nothing is sent on a closed channel.
	mu     sync.RWMutex
	closed bool
	subs   []*nats.Subscription
	outs   []chan *message.Message
	wg     sync.WaitGroup // replies in flight
	once   sync.Once
}

func (s *requestSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	sub, err := s.nc.QueueSubscribe(topic, s.queue, func(m *nats.Msg) {
		if m.Reply == "" {
			return // not a request: nobody to answer
		}
		if !ReplyAllowed(m.Reply) {
			s.log.Warn("command refused unread: its reply subject is not an inbox", "subject", m.Subject, "reply", m.Reply)
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return
		}
		s.slots <- struct{}{} // back-pressure: at most cap(slots) commands in flight
		// The message's UUID only names it in watermill's logs: the command id does that
		// without drawing a random one per command.
		id := m.Header.Get(HeaderCommandID)
		if id == "" {
			id = watermill.NewUUID()
		}
		wm := message.NewMessage(id, m.Data)
		if c := m.Header.Get("Correlation-Id"); c != "" {
			middleware.SetCorrelationID(c, wm)
		}
		// A command's trace task (while a trace is taken) runs from here to its answer, so the
		// hand-offs to the router are in it.
		ctx, end := command.TraceTask(context.Background(), id)
		wm.SetContext(context.WithValue(ctx, requestKey{}, &request{msg: m, endTask: end}))
		s.wg.Add(1)
		out <- wm // the router reads until Close closes out, which waits for this lock
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.outs = append(s.outs, out)
	s.mu.Unlock()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return out, nil
}

// answer is the outermost middleware: when the handler is done with a message, after recovery
// and retries, it sends the request's answer on the same goroutine (a goroutine per request
// waiting for the ack cost more than the rest of the reply). A handler that still failed is
// answered 503, so the requester sends the same command again.
func (s *requestSubscriber) answer(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) (produced []*message.Message, err error) {
		req := requestFrom(msg.Context())
		defer func() { s.send(req, err) }() // deferred, so even a panic here is answered
		growStack(0)
		return h(msg)
	}
}

// handlerStack is a frame large enough that the runtime gives the goroutine a 16 KB stack, which
// holds a command's handling (decoding, the domain, the append) with room to spare.
const handlerStack = 8 << 10

// growStack grows the goroutine's stack in one step, while it holds only a few frames. The
// router starts a new goroutine per message, with a small stack that the handling then doubled
// three times, copying it each time (the profile is in docs/benchmarks.md, "Profiles behind
// choices in the code").
//
//go:noinline
func growStack(i int) byte {
	var pad [handlerStack]byte
	return pad[i]
}

// send replies to the request, and frees its slot.
func (s *requestSubscriber) send(req *request, failure error) {
	defer func() { req.endTask(); <-s.slots; s.wg.Done() }()
	if failure != nil && (!req.answered || req.status == http.StatusOK) {
		req.answered, req.status, req.refusal = true, http.StatusServiceUnavailable, command.ErrorBody{Error: command.ErrorDetail{Kind: "unavailable",
			Message: "the command could not be written now; send the same command (same id) again"}}
	}
	if !req.answered {
		req.status, req.refusal = command.Status(errors.New("no answer"))
	}
	out := &nats.Msg{Subject: req.msg.Reply}
	if req.status == http.StatusOK {
		out.Data, out.Header = command.AppendReply(make([]byte, 0, 512), req.reply), okHeader
	} else {
		data, err := json.Marshal(req.refusal)
		if err != nil {
			s.log.Error("encode reply", "err", err)
			return
		}
		out.Data, out.Header = data, nats.Header{HeaderStatus: {strconv.Itoa(req.status)}}
	}
	if err := s.nc.PublishMsg(out); err != nil {
		// The requester is gone or the connection closed; the command's effect (if any) stands,
		// and a retry with the same id gets the same answer.
		s.log.Warn("send reply", "subject", req.msg.Subject, "err", err)
	}
}

// okHeader is the header of every successful reply. It is shared: nats.go only reads the
// header of a message it publishes.
var okHeader = nats.Header{HeaderStatus: {strconv.Itoa(http.StatusOK)}}

// quietLogger drops watermill's per-message trace lines before they are built unless the log
// takes them: building them cost more than a percent of a command's CPU.
type quietLogger struct {
	watermill.LoggerAdapter
	log *slog.Logger
}

func (l quietLogger) Trace(msg string, fields watermill.LogFields) {
	if l.log.Enabled(context.Background(), watermill.LevelTrace) {
		l.LoggerAdapter.Trace(msg, fields)
	}
}

func (l quietLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietLogger{LoggerAdapter: l.LoggerAdapter.With(fields), log: l.log}
}

// Close stops taking requests: it drains the subscriptions (requests already received are still
// handed to the router and answered), closes the channels the router reads, and waits for the
// replies in flight.
func (s *requestSubscriber) Close() error {
	var first error
	s.once.Do(func() {
		s.mu.RLock()
		subs := slices.Clone(s.subs)
		s.mu.RUnlock()
		for _, sub := range subs {
			if err := sub.Drain(); err != nil && first == nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
				first = err
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, sub := range subs {
			for sub.IsValid() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		s.mu.Lock()
		s.closed = true
		for _, out := range s.outs {
			close(out)
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return first
}
