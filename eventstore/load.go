package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// Loaded is a meeting as it stands in the log.
type Loaded struct {
	// Meeting is the caller's own copy of the state; it has not been convened when Seq is 0.
	Meeting *domain.Meeting
	// Seq is the sequence of the meeting's last commit, the expected sequence for the next append;
	// 0 when the meeting has no commits.
	Seq uint64
	// Subject is the meeting's subject in the log ("" for a meeting never convened).
	Subject  string
	commands *commandSeqs
}

// CommandSeq returns the sequence at which a command id was written to this meeting, if it was.
// It answers retries that come after JetStream's duplicate window has passed.
func (l Loaded) CommandSeq(id uuid.UUID) (uint64, bool) {
	return l.commands.at(id, l.Seq)
}

// commandSeqs records the sequence at which each command id was written to one meeting. The
// states of a meeting in the cache are all prefixes of one history (the log only grows), so they
// share one record, each seeing the entries up to its own sequence: an append adds one entry
// instead of copying every command the meeting has had.
type commandSeqs struct {
	mu  sync.RWMutex
	seq map[uuid.UUID]uint64
}

func newCommandSeqs() *commandSeqs { return &commandSeqs{seq: map[uuid.UUID]uint64{}} }

// add records that id was written at seq. The first write is the one a retry is answered with.
func (c *commandSeqs) add(id uuid.UUID, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.seq[id]; !ok || seq < old {
		c.seq[id] = seq
	}
}

// at returns the sequence id was written at, if it was written at or before upTo.
func (c *commandSeqs) at(id uuid.UUID, upTo uint64) (uint64, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	seq, ok := c.seq[id]
	return seq, ok && seq <= upTo
}

// Load returns a meeting by id. A meeting that was never convened loads as an empty meeting at
// sequence 0, so the domain decides what a command on it means (not found, or convene).
//
// A warm load costs one last-message-for-subject lookup: the cached state is fresh when its
// sequence is the subject's last. A stale state reads only the newer commits.
func (s *Store) Load(ctx context.Context, meetingID uuid.UUID) (Loaded, error) {
	subject, last, err := s.findSubject(ctx, meetingID)
	if err != nil || subject == "" {
		return Loaded{Meeting: &domain.Meeting{}}, err
	}
	return s.load(ctx, meetingID, subject, last)
}

// LoadOwned returns a meeting whose citizen is known (a meeting being convened), without the
// lookup by meeting id alone.
func (s *Store) LoadOwned(ctx context.Context, citizen, meetingID uuid.UUID) (Loaded, error) {
	subject := MeetingSubject(citizen, meetingID)
	last, err := s.lastSeq(ctx, subject)
	if err != nil {
		return Loaded{}, err
	}
	if last == 0 {
		return Loaded{Meeting: &domain.Meeting{}}, nil
	}
	return s.load(ctx, meetingID, subject, last)
}

// findSubject returns a meeting's subject and last sequence, or "" when it has no commits.
func (s *Store) findSubject(ctx context.Context, meetingID uuid.UUID) (string, uint64, error) {
	var subject string
	if e := s.cache.get(meetingID); e != nil {
		subject = e.subject // a meeting's citizen, and so its subject, never changes
	} else {
		citizen, err := s.owner(ctx, meetingID)
		if err != nil || citizen == uuid.Nil {
			return "", 0, err
		}
		subject = MeetingSubject(citizen, meetingID)
	}
	last, err := s.lastSeq(ctx, subject)
	if err != nil || last == 0 {
		return "", 0, err
	}
	return subject, last, nil
}

func (s *Store) lastSeq(ctx context.Context, subject string) (uint64, error) {
	msg, err := s.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last commit on %s: %w", subject, err)
	}
	return msg.Sequence, nil
}

func (s *Store) load(ctx context.Context, meetingID uuid.UUID, subject string, last uint64) (Loaded, error) {
	e := s.cache.get(meetingID)
	if e == nil || e.seq > last || e.subject != subject {
		e = &cached{subject: subject, meeting: &domain.Meeting{}, commands: newCommandSeqs()}
	}
	if e.seq < last {
		next := &cached{subject: subject, seq: e.seq, meeting: e.meeting.Clone(), commands: e.commands}
		for next.seq < last {
			msg, err := s.stream.GetMsg(ctx, next.seq+1, jetstream.WithGetMsgSubject(subject))
			if err != nil {
				return Loaded{}, fmt.Errorf("load meeting %s after sequence %d: %w", meetingID, next.seq, err)
			}
			c, err := domain.DecodeCommit(msg.Data)
			if err != nil {
				return Loaded{}, &CorruptError{Seq: msg.Sequence, Subject: msg.Subject, Err: err}
			}
			next.meeting.Apply(c)
			next.commands.add(c.CommandID, msg.Sequence)
			next.seq = msg.Sequence
		}
		s.cache.put(meetingID, next)
		e = next
	}
	return Loaded{Meeting: e.meeting.Clone(), Seq: e.seq, Subject: subject, commands: e.commands}, nil
}

// cached is one meeting's state at a sequence. It is never changed once in the cache: an update
// builds a new one, so readers need no lock.
type cached struct {
	subject  string
	seq      uint64
	meeting  *domain.Meeting
	commands *commandSeqs // shared with the meeting's other states
}

// meetingCache holds recently used meeting states. When full it forgets arbitrary entries,
// which costs only a re-read of those meetings.
type meetingCache struct {
	mu  sync.Mutex
	max int
	m   map[uuid.UUID]*cached
}

func newMeetingCache(max int) *meetingCache {
	return &meetingCache{max: max, m: make(map[uuid.UUID]*cached)}
}

func (c *meetingCache) get(id uuid.UUID) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

// put stores e unless the cache already holds the same or a newer state of that meeting.
func (c *meetingCache) put(id uuid.UUID, e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[id]; old != nil && old.subject == e.subject && old.seq >= e.seq {
		return
	}
	if len(c.m) >= c.max {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= c.max/10+1 {
				break
			}
		}
	}
	c.m[id] = e
}

// advance applies a commit just appended at seq onto the cached state at expected, if the cache
// holds exactly that state; otherwise the next load reads it from the log.
func (c *meetingCache) advance(commit domain.Commit, subject string, expected, seq uint64) {
	c.mu.Lock()
	old := c.m[commit.MeetingID]
	c.mu.Unlock()
	var base *cached
	switch {
	case old != nil && old.seq == expected && old.subject == subject:
		base = old
	case expected == 0:
		base = &cached{subject: subject, meeting: &domain.Meeting{}, commands: newCommandSeqs()}
	default:
		return
	}
	next := &cached{subject: subject, seq: seq, meeting: base.meeting.Clone(), commands: base.commands}
	next.meeting.Apply(commit)
	next.commands.add(commit.CommandID, seq)
	c.put(commit.MeetingID, next)
}

// LoadAsOf returns a meeting as it stood at a sequence or a time (whichever bound is set; both
// may be), replayed from the log without the cache.
func (s *Store) LoadAsOf(ctx context.Context, meetingID uuid.UUID, untilSeq uint64, untilTime time.Time) (Loaded, error) {
	subject, _, err := s.findSubject(ctx, meetingID)
	if err != nil || subject == "" {
		return Loaded{Meeting: &domain.Meeting{}}, err
	}
	l := Loaded{Meeting: &domain.Meeting{}, Subject: subject, commands: newCommandSeqs()}
	err = s.Read(ctx, ReadOptions{Filter: subject, UntilSeq: untilSeq, UntilTime: untilTime}, func(r Recorded) error {
		l.Meeting.Apply(r.Commit)
		l.commands.add(r.Commit.CommandID, r.Seq)
		l.Seq = r.Seq
		return nil
	})
	if err != nil {
		return Loaded{}, fmt.Errorf("load meeting %s as of: %w", meetingID, err)
	}
	return l, nil
}

// Cached returns the meeting's cached state without asking the log whether it is still the
// latest, or false when the meeting is not cached. A decision made on it is safe: the append's
// expected-sequence check refuses it if the meeting has moved on, and the caller then loads.
func (s *Store) Cached(meetingID uuid.UUID) (Loaded, bool) {
	e := s.cache.get(meetingID)
	if e == nil {
		return Loaded{}, false
	}
	return Loaded{Meeting: e.meeting.Clone(), Seq: e.seq, Subject: e.subject, commands: e.commands}, true
}
