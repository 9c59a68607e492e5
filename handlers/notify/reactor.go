// Package notify tells people what concerns them: invitations, times set or moved, withdrawals,
// cancellations, suggestions, follow-ups, and reminders before meetings and follow-up due dates.
// It is a reaction to the log, carried by a watermill router: the router's handler turns each
// commit into rows of an outbox, in one SQLite transaction that also moves the checkpoint, and a
// sender drains the outbox through a Channel (e-mail over SMTP). Reminders are rows of the same
// file, queried by due time. Exactly once in effect: a commit's notices are written once, and a
// crash between sending and recording re-sends at most the one notice in flight, with the same
// Message-ID.
package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// Config says how notices are made and sent.
type Config struct {
	// PublicURL is the service's address, for the links in notices.
	PublicURL string
	// RemindBefore are how long before a meeting its reminders go (serve --remind-before).
	RemindBefore []time.Duration
	// Attempts is how often a notice is tried before it is given up (0: 8); the pause between
	// tries doubles from FirstRetry (0: 5 s) up to MaxRetry (0: 1 h).
	Attempts             int
	FirstRetry, MaxRetry time.Duration
	// FailingAfter is how many failed tries in a row mark an address as failing (0: 3).
	FailingAfter int
	// Poll is how often the sender and the schedule look for due rows when nothing wakes them
	// (0: 1 s).
	Poll time.Duration
	// SkipUnreadable are log sequences of unreadable commits to pass over (serve --skip-unreadable).
	SkipUnreadable []uint64
}

// DefaultRemindBefore is --remind-before's default.
var DefaultRemindBefore = []time.Duration{48 * time.Hour, 2 * time.Hour}

// Reactor is the notices' reaction to the log and its sender.
type Reactor struct {
	cfg     Config
	ch      Channel
	addrs   Addresses
	now     func() time.Time
	log     *slog.Logger
	write   *sql.DB
	read    *sql.DB
	metrics *reactorMetrics
	wake    chan struct{}
	router  *message.Router
	sub     *logSubscriber

	mu      sync.Mutex
	seq     uint64 // the checkpoint
	horizon uint64 // commits up to here send nothing: they were in the log before this file
}

// openCheckpoint reads the checkpoint, or for a new file sets the horizon at the log's end.
func (r *Reactor) openCheckpoint(ctx context.Context, store *eventstore.Store) error {
	err := r.write.QueryRowContext(ctx, `SELECT seq, horizon FROM checkpoint WHERE id = 1`).Scan(&r.seq, &r.horizon)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the notices' checkpoint: %w", err)
	}
	if r.horizon, err = store.LastSeq(ctx); err != nil {
		return fmt.Errorf("notices: %w", err)
	}
	if _, err := r.write.ExecContext(ctx, `INSERT INTO checkpoint (id, seq, horizon) VALUES (1, 0, ?)`, r.horizon); err != nil {
		return fmt.Errorf("write the notices' checkpoint: %w", err)
	}
	if r.horizon > 0 {
		r.log.Info("notices start on a log with history: what is in it up to the horizon is read but not sent again", "horizon", r.horizon)
	}
	return nil
}

// Open opens the notices' file (creating it) and sets up the router on the log. Run starts it.
func Open(ctx context.Context, file string, store *eventstore.Store, ch Channel, addrs Addresses, cfg Config,
	now func() time.Time, reg prometheus.Registerer, log *slog.Logger) (*Reactor, error) {
	if cfg.Attempts == 0 {
		cfg.Attempts = 8
	}
	if cfg.FirstRetry == 0 {
		cfg.FirstRetry = 5 * time.Second
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = time.Hour
	}
	if cfg.FailingAfter == 0 {
		cfg.FailingAfter = 3
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	w, rd, err := openDB(ctx, file)
	if err != nil {
		return nil, err
	}
	r := &Reactor{cfg: cfg, ch: ch, addrs: addrs, now: now, log: log.With("component", "notices"), write: w, read: rd,
		wake: make(chan struct{}, 1)}
	if err := r.openCheckpoint(ctx, store); err != nil {
		r.Close()
		return nil, err
	}
	r.metrics = newReactorMetrics(r)
	if reg != nil {
		if err := r.metrics.register(reg); err != nil {
			r.Close()
			return nil, err
		}
	}
	wlog := watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug})
	r.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlog)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.router.AddMiddleware(middleware.Recoverer)
	r.sub = &logSubscriber{js: store.JetStream(), from: func() (uint64, error) { return r.Checkpoint() + 1, nil },
		durable: store.WaitDurable, log: r.log}
	r.router.AddConsumerHandler("notices", eventstore.AllFilter, r.sub, r.handle)
	return r, nil
}

// Checkpoint is the last log sequence turned into notices.
func (r *Reactor) Checkpoint() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// handle is the router's handler: one commit, one transaction (its notices, its reminders, the
// reactions' view of the meeting and the checkpoint). A commit at or below the checkpoint was
// handled already and is passed over.
func (r *Reactor) handle(msg *message.Message) error {
	seq, err := strconv.ParseUint(msg.Metadata.Get(metaSeq), 10, 64)
	if err != nil {
		return fmt.Errorf("notices: message without a log sequence: %w", err)
	}
	if seq <= r.Checkpoint() {
		return nil
	}
	stored, _ := time.Parse(time.RFC3339Nano, msg.Metadata.Get(metaTime))
	ctx := msg.Context()
	c, err := domain.DecodeCommit(msg.Payload)
	if err != nil && !r.skips(seq) {
		r.metrics.stuck.Set(float64(seq))
		r.log.Error("notices stopped on a commit they cannot read; pass it over with serve --skip-unreadable", "seq", seq,
			"subject", msg.Metadata.Get(metaSubject), "err", err)
		return err
	}
	tx, txErr := r.write.BeginTx(ctx, nil)
	if txErr != nil {
		return txErr
	}
	defer tx.Rollback()
	if err == nil {
		if err := r.react(ctx, tx, seq, stored, c); err != nil {
			r.log.Error("notices: a commit could not be turned into notices", "seq", seq, "err", err)
			return err
		}
	} else {
		r.log.Warn("notices pass over an unreadable commit, as serve --skip-unreadable says", "seq", seq)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE checkpoint SET seq = ? WHERE id = 1`, seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("notices: commit %d: %w", seq, err)
	}
	r.mu.Lock()
	r.seq = seq
	r.mu.Unlock()
	r.metrics.stuck.Set(0)
	r.poke()
	return nil
}

func (r *Reactor) skips(seq uint64) bool {
	for _, s := range r.cfg.SkipUnreadable {
		if s == seq {
			return true
		}
	}
	return false
}

// poke wakes the sender.
func (r *Reactor) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run follows the log, raises due reminders and sends, until ctx ends.
func (r *Reactor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.sendLoop(ctx)
	}()
	err := r.router.Run(ctx)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Running is closed once the router is running.
func (r *Reactor) Running() chan struct{} { return r.router.Running() }

// Close stops the router and closes the file; it returns the first error.
func (r *Reactor) Close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if r.router != nil {
		keep(r.router.Close())
	}
	if r.sub != nil {
		keep(r.sub.Close())
	}
	if r.read != nil {
		keep(r.read.Close())
	}
	if r.write != nil {
		keep(r.write.Close())
	}
	return first
}
