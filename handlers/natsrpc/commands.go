// Package natsrpc carries commands and queries over NATS request/reply: commands through a
// watermill Router (recoverer, correlation id, timeout, retry) to the command service, queries
// to the query service. It answers as the HTTP API does, with the status in a header.
package natsrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
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

// Commander carries out a command for an actor: the command service.
type Commander interface {
	Handle(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command) (command.Reply, error)
}

// Querier answers a read-model query by name: the query service.
type Querier interface {
	Do(ctx context.Context, a domain.Actor, name string, p url.Values) (any, error)
}

// Verifier says who a bearer token belongs to.
type Verifier interface {
	Actor(token string) (domain.Actor, error)
}

// CommandRouter carries commands from NATS request/reply through a watermill Router (recoverer,
// correlation id, timeout and retry middleware) to the command service, and answers each request.
type CommandRouter struct {
	router   *message.Router
	sub      *requestSubscriber
	service  Commander
	verifier Verifier
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
func NewCommandRouter(nc *nats.Conn, service Commander, verifier Verifier, newID func() uuid.UUID, log *slog.Logger, cfg RouterConfig) (*CommandRouter, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 256
	}
	wlog := quietLogger{LoggerAdapter: watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, // the router announces every start and stop at info
	}), log: log}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.Timeout + time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("command router: %w", err)
	}
	cr := &CommandRouter{router: r, service: service, verifier: verifier, newID: newID, log: log,
		sub: &requestSubscriber{nc: nc, queue: CommandQueue, slots: make(chan struct{}, cfg.MaxInFlight), log: log}}
	r.AddMiddleware(
		cr.sub.answer, // outermost, so that it sees the outcome after recovery and retries
		middleware.Recoverer,
		middleware.CorrelationID,
		middleware.Timeout(cfg.Timeout),
		middleware.Retry{
			MaxRetries: 3, InitialInterval: 20 * time.Millisecond, MaxInterval: 500 * time.Millisecond, Multiplier: 2,
			// Only failures of the log are worth trying again; a refusal is an answer. The command
			// id makes a retry safe even when the first attempt was written.
			ShouldRetry: func(p middleware.RetryParams) bool {
				return domain.KindOf(p.Err) == "" && !errors.Is(p.Err, auth.ErrUnauthenticated)
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
	actor, err := cr.verifier.Actor(auth.BearerToken(req.msg.Header.Get(HeaderAuthorization)))
	if err != nil {
		req.answerError(err)
		return nil
	}
	cmd, err := domain.DecodeCommand(name, msg.Payload)
	if err != nil {
		req.answerError(err)
		return nil
	}
	var id uuid.UUID
	if h := req.msg.Header.Get(HeaderCommandID); h == "" {
		id = cr.newID()
	} else if id, err = uuid.Parse(h); err != nil || id == uuid.Nil {
		req.answerError(domain.FieldErrorf("command_id", "the %s header is not a UUID", HeaderCommandID))
		return nil
	}
	r, err := cr.service.Handle(msg.Context(), actor, id, cmd)
	if err != nil {
		if domain.KindOf(err) != "" {
			req.answerError(err)
			return nil
		}
		return err
	}
	req.answer(r)
	return nil
}

// request is one NATS request in flight, carried in the watermill message's context so that the
// handler can leave its answer and the answer middleware can send it. All of it happens on the
// goroutine the router runs the message on (the middleware below the answer add no goroutines),
// so it needs no lock.
type request struct {
	msg      *nats.Msg
	answered bool
	status   int
	reply    command.Reply     // the answer when status is 200
	refusal  command.ErrorBody // the answer otherwise
	endTask  func()            // ends the command's trace task
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request { return ctx.Value(requestKey{}).(*request) }

func (r *request) answer(reply command.Reply) {
	r.answered, r.status, r.reply = true, http.StatusOK, reply
}

func (r *request) answerError(err error) {
	r.answered = true
	r.status, r.refusal = command.Status(err)
}
