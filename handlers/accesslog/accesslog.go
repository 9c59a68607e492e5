// Package accesslog records every read and search of a citizen's data by anyone but the citizen
// (who, role, service, when, what, why) in a JetStream stream of its own whose entries expire
// after the retention the municipality sets, and answers who has read a citizen's data.
package accesslog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// StreamName is the access log's stream.
const StreamName = "DIALOG_ACCESS"

// DefaultRetention is how long entries are kept unless told otherwise: about six months, the
// figure Datatilsynet names as common.
const DefaultRetention = 180 * 24 * time.Hour

// Purpose is why data was read. It is a closed set.
type Purpose string

// The purposes.
const (
	PurposeMeeting        Purpose = "meeting_participation" // a participant of the citizen's meeting
	PurposeSupport        Purpose = "support"               // a support person or representative, on the citizen's behalf
	PurposeEvaluation     Purpose = "evaluation"            // an evaluator (pseudonymised data)
	PurposeAdministration Purpose = "administration"        // an administrator, e.g. a misuse investigation
)

// PurposeOf is the purpose a read by a has.
func PurposeOf(a domain.Actor) Purpose {
	switch a.Role {
	case domain.RoleSupport:
		return PurposeSupport
	case domain.RoleEvaluator:
		return PurposeEvaluation
	case domain.RoleAdmin:
		return PurposeAdministration
	}
	return PurposeMeeting
}

// Entry is one read or search.
type Entry struct {
	At time.Time `json:"at"`
	// Reader is who read: person, role, service, and on whose behalf.
	Reader domain.Actor `json:"reader"`
	// Citizen is whose data was read; the nil UUID for a search that touched no one citizen.
	Citizen uuid.UUID `json:"citizen_id,omitzero"`
	Meeting uuid.UUID `json:"meeting_id,omitzero"`
	// What names what was read: meeting, history, inbox, follow-ups, replay, export, services,
	// access-log.
	What string `json:"what"`
	// Criteria are the search's parameters, as given.
	Criteria map[string]string `json:"criteria,omitempty"`
	Purpose  Purpose           `json:"purpose"`
	// Seq is the entry's position in the stream, set when it is read: the page position.
	Seq uint64 `json:"-"`
}

func subject(citizen, reader uuid.UUID) string {
	c := "none"
	if citizen != uuid.Nil {
		c = citizen.String()
	}
	return "dialog.access." + c + "." + reader.String()
}

// ErrUnavailable means the access log could not be written, so the read it was to record is not
// answered: reads fail closed rather than go unlogged.
var ErrUnavailable = errors.New("the access log could not be written, so nothing is shown; try again shortly")

// Log is the access log.
type Log struct {
	// Durable, when set, is waited for after the entries are stored (eventstore.Node.Durable:
	// the node group commits by fsync): before Record returns in ack mode, and in buffered mode
	// each time every entry sent is stored.
	Durable func(context.Context) error

	js      jetstream.JetStream
	stream  jetstream.Stream
	now     func() time.Time
	timeout time.Duration
	buf     *buffer // set in buffered mode
}

// Open ensures the stream exists with the given retention (MaxAge: older entries are deleted by
// JetStream itself) and returns the log.
func Open(ctx context.Context, nc *nats.Conn, replicas int, retention time.Duration, now func() time.Time) (*Log, error) {
	if retention <= 0 {
		return nil, fmt.Errorf("access log: the retention must be positive, not %s", retention)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	if replicas == 0 {
		replicas = 1
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Who read which citizen's data, when and why; entries expire after the retention",
		Subjects:    []string{"dialog.access.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      retention,
		Replicas:    replicas,
		AllowDirect: replicas == 1,
		// Nobody removes an entry before its time: the log is evidence of misuse.
		DenyDelete: true,
		DenyPurge:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	return &Log{js: js, stream: stream, now: now, timeout: 5 * time.Second}, nil
}

// Retention returns the stream's MaxAge.
func (l *Log) Retention() time.Duration { return l.stream.CachedInfo().Config.MaxAge }

// Record writes the entries and returns once JetStream has stored every one (all are sent
// before any answer is awaited), or in buffered mode once they are sent (see WaitBuffered). A
// read whose entries could not be written must not be answered: the error wraps
// ErrUnavailable.
func (l *Log) Record(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(entries))
	for _, e := range entries {
		if e.At.IsZero() {
			e.At = l.now().UTC()
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		msg := &nats.Msg{Subject: subject(e.Citizen, e.Reader.ID), Data: data, Header: nats.Header{jetstream.MsgIDHeader: {newMsgID()}}}
		if l.buf != nil {
			if err := l.buf.send(msg); err != nil {
				return err
			}
			continue
		}
		f, err := l.js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
	if l.Durable != nil {
		if err := l.Durable(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// Filter says whose entries to read.
type Filter struct {
	Citizen uuid.UUID // entries about this citizen
	Actor   uuid.UUID // entries by this reader (a misuse investigation)
	Limit   int       // at most this many, newest first; 0 means 1,000
	Before  uint64    // only entries stored before this stream sequence (the page after); 0: the newest
}

// Entries returns the matching entries, newest first.
//
// JetStream reads a stream forwards only, so a page is found by scanning windows of the stream
// backwards from Before: the newest window first, each earlier one four times as long, until
// the page is full or the stream's start is reached. A page of recent entries thus reads the
// recent part of the log, not the reader's or citizen's whole retention period, and the scan
// keeps only the entries it returns.
func (l *Log) Entries(ctx context.Context, f Filter) ([]Entry, error) {
	c, r := "*", "*"
	if f.Citizen != uuid.Nil {
		c = f.Citizen.String()
	}
	if f.Actor != uuid.Nil {
		r = f.Actor.String()
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	info, err := l.stream.Info(cctx)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	first, end := max(info.State.FirstSeq, 1), info.State.LastSeq+1
	if f.Before != 0 && f.Before < end {
		end = f.Before
	}
	var out []Entry
	for window := uint64(max(1024, 8*f.Limit)); end > first && len(out) < f.Limit; window *= 4 {
		start := first
		if end-first > window {
			start = end - window
		}
		part, err := l.scan(cctx, "dialog.access."+c+"."+r, start, end, f.Limit-len(out))
		if err != nil {
			return nil, err
		}
		slices.Reverse(part)
		out = append(out, part...)
		end = start
	}
	return out, nil
}

// scan returns the newest (at most keep) entries on subject stored at sequences in [start, end),
// oldest first.
func (l *Log) scan(ctx context.Context, subject string, start, end uint64, keep int) ([]Entry, error) {
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer func() { _ = l.stream.DeleteConsumer(context.WithoutCancel(ctx), cons.CachedInfo().Name) }()
	pending := cons.CachedInfo().NumPending
	var out []Entry
	for got := uint64(0); got < pending; {
		batch, err := cons.Fetch(int(min(pending-got, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read access log: %w", err)
		}
		n, past := 0, false
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read access log: %w", err)
			}
			if md.Sequence.Stream >= end {
				past = true // the rest of this batch is past the window too
				continue
			}
			var e Entry
			if err := json.Unmarshal(msg.Data(), &e); err != nil {
				return nil, fmt.Errorf("read access log: an entry cannot be read: %w", err)
			}
			e.Seq = md.Sequence.Stream
			// Only the newest keep are kept, so memory is bounded by the page, not the log.
			if out = append(out, e); len(out) >= 2*keep {
				out = append(out[:0], out[len(out)-keep:]...)
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("read access log: %w", err)
		}
		if n == 0 || past {
			break
		}
		got += uint64(n)
	}
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return out, nil
}
