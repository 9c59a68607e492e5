package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// Subjects and headers of commands over NATS.
const (
	// CommandSubjectPrefix starts every command subject: dialog.cmd.<command-name>.
	CommandSubjectPrefix = "dialog.cmd."
	// CommandQueue is the queue group the command handlers of every server process share.
	CommandQueue = "aabendialog-commands"
	// HeaderCommandID carries the command id (a UUID); without it the server makes one, and a
	// retry is then a new command.
	HeaderCommandID = "Aabendialog-Command-Id"
	// HeaderStatus on a reply is the HTTP status the answer would have had: 200, 400, 401 …
	HeaderStatus = "Aabendialog-Status"
	// HeaderAuthorization carries "Bearer <token>", as over HTTP.
	HeaderAuthorization = "Authorization"
)

// ErrorBody is the JSON of every refusal, over NATS and HTTP.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what was wrong: the kind (invalid, forbidden, not_found, conflict,
// unauthenticated, too_large, unavailable, internal), the field at fault if any, and a message a
// person understands.
type ErrorDetail struct {
	Kind    string `json:"kind"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// errorAnswer maps an error to a status and a body. Only internal errors are logged by callers.
func errorAnswer(err error) (int, ErrorBody) {
	var de *domain.Error
	if errors.As(err, &de) {
		status := map[domain.ErrorKind]int{domain.Invalid: 400, domain.Forbidden: 403, domain.NotFound: 404, domain.Conflict: 409}[de.Kind]
		return status, ErrorBody{ErrorDetail{Kind: string(de.Kind), Field: de.Field, Message: de.Message}}
	}
	var nc *projections.NotCaughtUpError
	if errors.As(err, &nc) {
		return http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable", Field: "after", Message: nc.Error() + "; ask again in a moment"}}
	}
	if errors.Is(err, ErrUnauthenticated) {
		return http.StatusUnauthorized, ErrorBody{ErrorDetail{Kind: "unauthenticated", Message: err.Error()}}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable", Message: "the log did not answer in time; send the same command (same id) again"}}
	}
	return http.StatusInternalServerError, ErrorBody{ErrorDetail{Kind: "internal", Message: "something went wrong on the server; send the same command (same id) again, and tell the operators if it persists"}}
}

// CommandRouter carries commands from NATS request/reply through a watermill Router (recoverer,
// correlation id, timeout and retry middleware) to the command service, and answers each request.
type CommandRouter struct {
	router   *message.Router
	sub      *requestSubscriber
	service  *CommandService
	verifier *Verifier
	newID    func() uuid.UUID
	log      *slog.Logger
}

// RouterConfig configures the command router.
type RouterConfig struct {
	// Timeout bounds one command's handling; 0 means 10 s.
	Timeout time.Duration
	// MaxInFlight bounds the commands one process handles at once; 0 means 256.
	MaxInFlight int
}

// NewCommandRouter subscribes to dialog.cmd.* in the shared queue group. Run it with Run.
func NewCommandRouter(nc *nats.Conn, service *CommandService, verifier *Verifier, newID func() uuid.UUID, log *slog.Logger, cfg RouterConfig) (*CommandRouter, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 256
	}
	wlog := watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, // the router announces every start and stop at info
	})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.Timeout + time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("command router: %w", err)
	}
	cr := &CommandRouter{router: r, service: service, verifier: verifier, newID: newID, log: log,
		sub: &requestSubscriber{nc: nc, queue: CommandQueue, slots: make(chan struct{}, cfg.MaxInFlight), log: log}}
	r.AddMiddleware(
		middleware.Recoverer,
		middleware.CorrelationID,
		middleware.Timeout(cfg.Timeout),
		middleware.Retry{
			MaxRetries: 3, InitialInterval: 20 * time.Millisecond, MaxInterval: 500 * time.Millisecond, Multiplier: 2,
			// Only failures of the log are worth trying again; a refusal is an answer. The command
			// id makes a retry safe even when the first attempt was written.
			ShouldRetry: func(p middleware.RetryParams) bool {
				return domain.KindOf(p.Err) == "" && !errors.Is(p.Err, ErrUnauthenticated)
			},
			Logger: wlog,
		}.Middleware,
	)
	r.AddConsumerHandler("commands", CommandSubjectPrefix+"*", cr.sub, cr.handle)
	return cr, nil
}

// Run runs the router until ctx ends or Close is called.
func (cr *CommandRouter) Run(ctx context.Context) error { return cr.router.Run(ctx) }

// Running is closed when the router has subscribed and handles commands.
func (cr *CommandRouter) Running() chan struct{} { return cr.router.Running() }

// Close stops taking commands and waits for those in flight.
func (cr *CommandRouter) Close() error { return cr.router.Close() }

// handle answers one command request. A refusal is an answer (the handler succeeds); only a
// failure of the log is an error, which the Retry middleware tries again.
func (cr *CommandRouter) handle(msg *message.Message) error {
	req := requestFrom(msg.Context())
	name := strings.TrimPrefix(req.msg.Subject, CommandSubjectPrefix)
	actor, err := cr.verifier.Actor(BearerToken(req.msg.Header.Get(HeaderAuthorization)))
	if err != nil {
		req.answerError(err)
		return nil
	}
	cmd, err := domain.DecodeCommand(name, msg.Payload)
	if err != nil {
		req.answerError(err)
		return nil
	}
	id := cr.newID()
	if h := req.msg.Header.Get(HeaderCommandID); h != "" {
		if id, err = uuid.Parse(h); err != nil || id == uuid.Nil {
			req.answerError(domain.FieldErrorf("command_id", "the %s header is not a UUID", HeaderCommandID))
			return nil
		}
	}
	r, err := cr.service.Handle(msg.Context(), actor, id, cmd)
	if err != nil {
		if domain.KindOf(err) != "" {
			req.answerError(err)
			return nil
		}
		return err
	}
	req.answer(http.StatusOK, r)
	return nil
}

// request is one NATS request in flight, carried in the watermill message's context so that the
// handler can leave its answer and the subscriber can send it when the message is acked.
type request struct {
	msg    *nats.Msg
	mu     sync.Mutex
	status int
	body   any
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request { return ctx.Value(requestKey{}).(*request) }

func (r *request) answer(status int, body any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body = status, body
}

func (r *request) answerError(err error) {
	status, body := errorAnswer(err)
	r.answer(status, body)
}

// requestSubscriber is a watermill Subscriber for core NATS request/reply in a queue group.
// watermill-nats's core subscriber acknowledges a message by replying "+ACK" to it (JetStream's
// ack protocol), which would be the requester's answer; here the answer is the command's reply,
// sent when the router acks (success or refusal) or nacks (a failure after retries).
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
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return
		}
		s.slots <- struct{}{} // back-pressure: at most cap(slots) commands in flight
		req := &request{msg: m}
		wm := message.NewMessage(watermill.NewUUID(), m.Data)
		if c := m.Header.Get("Correlation-Id"); c != "" {
			middleware.SetCorrelationID(c, wm)
		}
		wm.SetContext(context.WithValue(context.Background(), requestKey{}, req))
		s.wg.Add(1)
		out <- wm // the router reads until Close closes out, which waits for this lock
		go s.reply(req, wm)
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

func (s *requestSubscriber) reply(req *request, wm *message.Message) {
	defer func() { <-s.slots; s.wg.Done() }()
	select {
	case <-wm.Acked():
	case <-wm.Nacked():
		req.mu.Lock()
		if req.body == nil || req.status == http.StatusOK {
			req.status, req.body = http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable",
				Message: "the command could not be written now; send the same command (same id) again"}}
		}
		req.mu.Unlock()
	}
	req.mu.Lock()
	status, body := req.status, req.body
	req.mu.Unlock()
	if body == nil {
		status, body = errorAnswer(errors.New("no answer"))
	}
	data, err := json.Marshal(body)
	if err != nil {
		s.log.Error("encode reply", "err", err)
		return
	}
	out := &nats.Msg{Subject: req.msg.Reply, Data: data, Header: nats.Header{}}
	out.Header.Set(HeaderStatus, strconv.Itoa(status))
	if err := s.nc.PublishMsg(out); err != nil {
		// The requester is gone or the connection closed; the command's effect (if any) stands,
		// and a retry with the same id gets the same answer.
		s.log.Warn("send reply", "subject", req.msg.Subject, "err", err)
	}
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
