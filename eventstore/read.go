package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// Recorded is a commit as it stands in the log, with its position. An event's position is
// (Seq, its index in Commit.Events).
type Recorded struct {
	Seq     uint64
	Subject string
	// Time is when the log stored the commit.
	Time   time.Time
	Commit domain.Commit
}

// ReadOptions says what part of the log to read.
type ReadOptions struct {
	// Filter is AllFilter (the default), CitizenFilter(id) or a MeetingSubject.
	Filter string
	// From is the first sequence to read; 0 means 1.
	From uint64
	// UntilSeq, when set, stops after this sequence: the log as of a sequence.
	UntilSeq uint64
	// UntilTime, when set, stops before the first commit stored after it: the log as of a time.
	UntilTime time.Time
}

// RawRecorded carries an undecoded commit, for readers that decode themselves.
type RawRecorded struct {
	Seq     uint64
	Subject string
	Time    time.Time
	Data    []byte
}

// Read calls fn for every commit that matches, in log order, from opts.From up to what the log
// held when Read was called (or the until bounds). It returns fn's first error, or a
// *CorruptError for a message that cannot be decoded: nothing is skipped in silence.
//
// Where the node group commits by fsync (Config.Durable), Read first waits until the log is on
// disk up to the last commit it will give, so a reader is never shown a commit that a power
// failure could still take from the log (one written, its command not yet answered).
func (s *Store) Read(ctx context.Context, opts ReadOptions, fn func(Recorded) error) error {
	return s.ReadRaw(ctx, opts, func(r RawRecorded) error {
		c, err := domain.DecodeCommit(r.Data)
		if err != nil {
			return &CorruptError{Seq: r.Seq, Subject: r.Subject, Err: err}
		}
		return fn(Recorded{Seq: r.Seq, Subject: r.Subject, Time: r.Time, Commit: c})
	})
}

// ReadRaw is Read without decoding, for readers that batch or decode in their own way.
func (s *Store) ReadRaw(ctx context.Context, opts ReadOptions, fn func(RawRecorded) error) error {
	filter := opts.Filter
	if filter == "" {
		filter = AllFilter
	}
	from := max(opts.From, 1)
	end, err := s.lastMatching(ctx, filter)
	if err != nil {
		return err
	}
	if opts.UntilSeq > 0 {
		end = min(end, opts.UntilSeq)
	}
	if end < from {
		return nil
	}
	if err := s.WaitDurable(ctx, end); err != nil {
		return fmt.Errorf("read log up to %d: %w", end, err)
	}
	// Not under ctx: a request cancelled in flight can still create the consumer, and then
	// nothing would delete it before its inactive threshold.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	cons, err := s.readStream.OrderedConsumer(cctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
		// A backstop: the consumer is deleted when the read ends (below).
		InactiveThreshold: 30 * time.Second,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("read log from %d: %w", from, err)
	}
	// nats.go leaves an ordered consumer on the server for its inactive threshold after Stop, and
	// the server caps consumers per stream: without this, a burst of reads exhausts the cap.
	defer s.deleteConsumer(ctx, cons)
	if err := ctx.Err(); err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("read log from %d: %w", from, err)
	}
	defer it.Stop()
	// Stop reading when ctx ends: Next has no context of its own.
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	next := from // the first sequence not yet read, for errors
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read log at %d: %w", next, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read log at %d: %w", next, err)
		}
		seq := meta.Sequence.Stream
		if seq > end || (!opts.UntilTime.IsZero() && meta.Timestamp.After(opts.UntilTime)) {
			return nil
		}
		if err := fn(RawRecorded{Seq: seq, Subject: msg.Subject(), Time: meta.Timestamp, Data: msg.Data()}); err != nil {
			return err
		}
		// Stop reports no error to Next while it still holds messages: without this, a read
		// whose ctx ended could go on to the end and return nil.
		if err := ctx.Err(); err != nil {
			return err
		}
		// Not NumPending == 0: on a replicated stream the consumer may sit on a replica that is
		// still catching up, and would stop short. end comes from the leader.
		if seq >= end {
			return nil
		}
		next = seq + 1
	}
}

// lastMatching is the sequence of the last commit matching filter, 0 when there is none.
func (s *Store) lastMatching(ctx context.Context, filter string) (uint64, error) {
	if filter == AllFilter {
		return s.LastSeq(ctx)
	}
	msg, err := s.stream.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last commit on %s: %w", filter, err)
	}
	return msg.Sequence, nil
}

func (s *Store) deleteConsumer(ctx context.Context, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	// Best effort: a consumer that outlives this is removed by its inactive threshold.
	_ = s.js.DeleteConsumer(dctx, StreamName, info.Name)
}

// CommitAt returns the commit stored at seq.
func (s *Store) CommitAt(ctx context.Context, seq uint64) (Recorded, error) {
	msg, err := s.stream.GetMsg(ctx, seq)
	if err != nil {
		return Recorded{}, fmt.Errorf("read commit at %d: %w", seq, err)
	}
	c, err := domain.DecodeCommit(msg.Data)
	if err != nil {
		return Recorded{}, &CorruptError{Seq: msg.Sequence, Subject: msg.Subject, Err: err}
	}
	return Recorded{Seq: msg.Sequence, Subject: msg.Subject, Time: msg.Time, Commit: c}, nil
}

// CommitCounts is how many commits the log holds for each meeting, from the stream's count of
// messages per subject (the server keeps it in memory): the bulk load uses it to tell when a
// meeting has had its last commit. A subject that names no meeting is left out.
func (s *Store) CommitCounts(ctx context.Context) (map[uuid.UUID]uint32, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(AllFilter))
	if err != nil {
		return nil, fmt.Errorf("count commits per meeting: %w", err)
	}
	counts := make(map[uuid.UUID]uint32, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		if _, id, ok := parseMeetingSubject(subject); ok {
			counts[id] += uint32(n)
		}
	}
	return counts, nil
}
