package eventstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/internal/wire"
)

// StreamName is the JetStream stream that is the log.
const StreamName = "DIALOG"

// SubjectPrefix starts every event subject: dialog.events.<citizen-id>.<meeting-id>.
const SubjectPrefix = "dialog.events"

// MeetingSubject is the subject of one meeting's commits.
func MeetingSubject(citizen, meeting uuid.UUID) string {
	return SubjectPrefix + "." + citizen.String() + "." + meeting.String()
}

// CitizenFilter is the filter for every commit of one citizen's meetings.
func CitizenFilter(citizen uuid.UUID) string { return SubjectPrefix + "." + citizen.String() + ".>" }

// AllFilter is the filter for every commit in the log.
const AllFilter = SubjectPrefix + ".>"

// IndexStreamName is the stream that maps a meeting id to its citizen, so a command that names
// only the meeting finds the meeting's subject with one lookup instead of a wildcard search of the
// log, which is hundreds of times slower (docs/benchmarks.md, "Finding a meeting"). It holds
// nothing the log does not: each entry is written just before the meeting's first commit, and
// claims the meeting id for one citizen.
const IndexStreamName = "DIALOG_MEETINGS"

func indexSubject(meeting uuid.UUID) string { return "dialog.meetings." + meeting.String() }

// indexFilter is the filter for every claim of the index.
const indexFilter = "dialog.meetings.*"

// ErrConcurrentUpdate means the meeting changed between loading and appending. The caller
// reloads, decides again and retries. Errors wrapping it are also domain Conflict errors.
var ErrConcurrentUpdate = errors.New("concurrent update")

// CorruptError is a message in the log that cannot be read. It is never skipped in silence.
type CorruptError struct {
	Seq     uint64
	Subject string
	Err     error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("log message at sequence %d (%s) cannot be read: %v", e.Seq, e.Subject, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Config configures the stream.
type Config struct {
	// Replicas is the number of copies of the stream: 1 on a single node, 3 on a cluster.
	Replicas int
	// DuplicateWindow is how long JetStream remembers command ids. A retry after it is still
	// answered from the meeting's own record of the commands it has seen: Load's CommandSeq, and
	// Append's check of the cached state at the expected sequence.
	DuplicateWindow time.Duration
	// MaxMeetings bounds the meeting-state cache; 0 means 100,000.
	MaxMeetings int
	// Reader, when set, is the connection long reads (Read, ReadRaw: catch-up, rebuild,
	// replay) stream over; nil means the store's own. On an embedded node a TCP connection
	// streams a million commits with about a tenth less CPU than the in-process one, whose
	// unbuffered pipe hands every write from the server's goroutine to the client's (see
	// docs/benchmarks.md, "Read models").
	Reader *nats.Conn
	// AppendTimeout bounds one publish attempt; 0 means 5 s. A publish sent to a leader that has
	// just died gets no answer, so without a bound it would wait for the caller's whole deadline
	// instead of being retried (with the same command id) once a new leader is elected.
	AppendTimeout time.Duration
	// Durable, when set, waits until every write the node answered before the call is on disk
	// (Node.Durable: a single node that group commits by fsync). A commit is acknowledged only
	// after it returns, and so is a retry answered as a duplicate; nil where the server's answer
	// already means the commit is as durable as the node's setting says.
	Durable func(context.Context) error
	// Logger says what Open repaired; nil means slog.Default().
	Logger *slog.Logger
	// AfterDurable, with Durable, is the same wait without a goroutine parked on it
	// (Node.AfterDurable): the commits' answers are handed to it as they arrive, so a commit's
	// caller is woken once, after its fsync.
	AfterDurable func(func(error))
}

// withDefaults fills in what was left zero.
func (c Config) withDefaults() Config {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.MaxMeetings == 0 {
		c.MaxMeetings = 100_000
	}
	if c.AppendTimeout == 0 {
		c.AppendTimeout = 5 * time.Second
	}
	return c
}

// Store is the log: one JetStream stream of meeting commits.
type Store struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	index  jetstream.Stream
	cfg    Config
	cache  *meetingCache
	// readStream is the stream on Config.Reader's connection (or stream itself).
	readStream jetstream.Stream
	// durable is the log's sequence up to which every commit is known to be on disk, when
	// Config.Durable is set (WaitDurable).
	durable *atomic.Uint64
	// replies is the commits' answer path when Config.AfterDurable is set, else nil.
	replies *durableReplies
}

// Open ensures the stream exists with the configuration this code needs and returns the store.
// On a cluster that is still forming it retries until ctx ends.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	sc := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Åben Dialog meeting commits: the only source of truth",
		Subjects:    []string{AllFilter},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
		// Direct gets are answered by any replica, and a follower may be behind (nats.docs#815;
		// ADR-53's MinLastSeq is not in nats-server 2.15). Loads decide what may be written next,
		// so on a replicated stream they go to the leader.
		AllowDirect: cfg.Replicas == 1,
		// No atomic batch publish (AllowAtomicPublish): a log written by a version that group
		// committed by atomic batches has it on, and Open turns it off (nats-server allows it).
		DenyDelete: true,
		DenyPurge:  true,
	}
	stream, err := ensureStream(ctx, js, sc)
	if err != nil {
		return nil, err
	}
	index, err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:              IndexStreamName,
		Description:       "Which citizen each meeting id belongs to (derived from DIALOG)",
		Subjects:          []string{indexFilter},
		Storage:           jetstream.FileStorage,
		Replicas:          cfg.Replicas,
		MaxMsgsPerSubject: 1,
		AllowDirect:       cfg.Replicas == 1,
		DenyDelete:        true,
		DenyPurge:         true,
	})
	if err != nil {
		return nil, err
	}
	readStream := stream
	if cfg.Reader != nil {
		rjs, err := jetstream.New(cfg.Reader)
		if err != nil {
			return nil, fmt.Errorf("open log: %w", err)
		}
		if readStream, err = rjs.Stream(ctx, StreamName); err != nil {
			return nil, fmt.Errorf("open log for reading: %w", err)
		}
	}
	s := &Store{nc: nc, js: js, stream: stream, index: index, cfg: cfg, cache: newMeetingCache(cfg.MaxMeetings), readStream: readStream, durable: new(atomic.Uint64)}
	if err := s.repairIndex(ctx); err != nil {
		return nil, err
	}
	if cfg.Durable != nil && cfg.AfterDurable != nil {
		if s.replies, err = openDurableReplies(nc, cfg.AfterDurable, s.durable); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ensureStream creates or updates a stream, retrying while a cluster is still forming.
func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) (jetstream.Stream, error) {
	for attempt := 0; ; attempt++ {
		stream, err := js.CreateOrUpdateStream(ctx, sc)
		if err == nil {
			return stream, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open stream %s: %w (last error: %v)", sc.Name, ctx.Err(), err)
		case <-time.After(backoff(attempt)):
		}
	}
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 5)
	return min(d, time.Second)
}

// Conn is the NATS connection the store uses.
func (s *Store) Conn() *nats.Conn { return s.nc }

// JetStream is the JetStream context the store uses.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Appended says where a commit was written.
type Appended struct {
	// Seq is the stream sequence of the commit. For a duplicate it is the first write's.
	Seq uint64
	// Duplicate is true when the command id had been written before and nothing new was written.
	Duplicate bool
}

// Append writes the commit as one message on its meeting's subject, if and only if the last
// commit on that subject is still at expected (0: the meeting has no commits yet, and the meeting
// id is claimed for the commit's citizen first). The command id is the message id, so a retried
// command is written once and answered with the first write's sequence, even when the meeting
// has moved on since. A stale expected sequence returns an error wrapping ErrConcurrentUpdate.
func (s *Store) Append(ctx context.Context, c domain.Commit, expected uint64) (Appended, error) {
	// The log keeps UTC without a monotonic reading; the cached state must be what a reader of the
	// log would build.
	c.At = c.At.UTC().Round(0)
	if e := s.cache.get(c.MeetingID); e != nil && e.seq == expected {
		if seq, ok := e.commands.at(c.CommandID, e.seq); ok {
			// The cached state may have been read from the log before the commit's fsync.
			if err := s.WaitDurable(ctx, seq); err != nil {
				return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, err)
			}
			return Appended{Seq: seq, Duplicate: true}, nil
		}
	}
	data, err := domain.EncodeCommit(c)
	if err != nil {
		return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, err)
	}
	if expected == 0 {
		region := trace.StartRegion(ctx, "claim meeting id")
		err := s.claim(ctx, c.MeetingID, c.CitizenID)
		region.End()
		if err != nil {
			return Appended{}, err
		}
	}
	subject := MeetingSubject(c.CitizenID, c.MeetingID)
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{
		jetstream.MsgIDHeader:               {MsgID(c.Actor.ID, c.CommandID)},
		jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(expected, 10)},
	}}
	region := trace.StartRegion(ctx, "publish")
	ack, err := s.publishCommit(ctx, msg)
	region.End()
	if err != nil {
		if isWrongLastSequence(err) {
			return s.refused(ctx, c, expected, err)
		}
		return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, err)
	}
	// A duplicate too: the first write may still wait for its fsync. The meeting id's claim is
	// not waited for: the index is derived from the log, and Open repairs it (repairIndex).
	if err := s.WaitDurable(ctx, ack.seq); err != nil {
		return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, err)
	}
	if !ack.duplicate {
		s.cache.advance(c, subject, expected, ack.seq)
	}
	return Appended{Seq: ack.seq, Duplicate: ack.duplicate}, nil
}

// WaitDurable returns when the log is on disk up to seq, a sequence the server has answered
// or a reader was given: at once when Config.Durable is nil or seq is known to be, else after
// the node's next fsync. The server writes the log in sequence order, so that fsync covers
// every commit before seq too. Whatever acts on what it read from the log where it cannot be
// undone (a read model's transaction, a notice sent) calls it first: otherwise a power failure
// could take a commit from the log that the read model or a citizen's inbox already holds.
func (s *Store) WaitDurable(ctx context.Context, seq uint64) error {
	if s.cfg.Durable == nil || seq <= s.durable.Load() {
		return nil
	}
	region := trace.StartRegion(ctx, "group commit: fsync")
	err := s.cfg.Durable(ctx)
	region.End()
	if err != nil {
		return err
	}
	raise(s.durable, seq)
	return nil
}

// publishCommit is publish for a commit: where the node group commits by fsync, through the
// answer path that waits for the commit's fsync too (Config.AfterDurable). Without a stream to
// answer (one being elected leader, or not yet made) it takes publish's way, which tries again.
func (s *Store) publishCommit(ctx context.Context, msg *nats.Msg) (pubAck, error) {
	if s.replies == nil {
		return s.publish(ctx, msg)
	}
	timeout := s.cfg.AppendTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	ack, err := s.replies.publish(ctx, s.nc, msg, timeout)
	if errors.Is(err, errNoResponders) {
		return s.publish(ctx, msg)
	}
	return ack, err
}

// pubAck is what JetStream answers a publish: where the message was stored, or that it was a
// duplicate of the one stored there.
type pubAck struct {
	seq       uint64
	duplicate bool
}

// publish sends msg to the log and waits for JetStream's answer, at most AppendTimeout (and no
// longer than ctx allows). It is jetstream.PublishMsg without the per-publish context timer and
// the reflection over the ack, which were a tenth of the CPU of writing a commit: the answer is a
// fixed shape, read directly, and anything else is read as JSON. Like PublishMsg it tries again
// when no server answers (a stream leader being elected), and a refusal is a
// *jetstream.APIError. A caller's cancellation without a deadline is noticed between attempts.
func (s *Store) publish(ctx context.Context, msg *nats.Msg) (pubAck, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return pubAck{}, err
		}
		timeout := s.cfg.AppendTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(d))
		}
		resp, err := s.nc.RequestMsg(msg, timeout)
		switch {
		case errors.Is(err, nats.ErrNoResponders) && attempt < jetstream.DefaultPubRetryAttempts:
			select {
			case <-ctx.Done():
			case <-time.After(jetstream.DefaultPubRetryWait):
			}
			continue
		case errors.Is(err, nats.ErrNoResponders):
			return pubAck{}, jetstream.ErrNoStreamResponse
		case errors.Is(err, nats.ErrTimeout):
			// What the caller decides on: the log did not answer in time, try again later.
			return pubAck{}, fmt.Errorf("no answer from the log in %s: %w", timeout, context.DeadlineExceeded)
		case err != nil:
			return pubAck{}, err
		}
		return readPubAck(resp.Data)
	}
}

// readPubAck reads JetStream's answer to a publish. The success answer is written by the server
// from a template, {"stream":"DIALOG","seq":N} with a "domain" or ,"duplicate": true when they
// apply, and is read as such; any other shape (an error, fields this code does not know) is
// decoded as JSON.
func readPubAck(b []byte) (pubAck, error) {
	if ack, ok := scanPubAck(b); ok {
		return ack, nil
	}
	var r struct {
		Error     *jetstream.APIError `json:"error"`
		Stream    string              `json:"stream"`
		Seq       uint64              `json:"seq"`
		Duplicate bool                `json:"duplicate"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return pubAck{}, jetstream.ErrInvalidJSAck
	}
	if r.Error != nil {
		return pubAck{}, fmt.Errorf("nats: %w", r.Error)
	}
	if r.Stream == "" || r.Seq == 0 { // nothing is stored at sequence 0
		return pubAck{}, jetstream.ErrInvalidJSAck
	}
	return pubAck{seq: r.Seq, duplicate: r.Duplicate}, nil
}

// ackKeys are the keys of the success answer.
var ackKeys = []string{"stream", "domain", "seq", "duplicate"}

// scanPubAck reads the success answer with internal/wire: an object whose keys are stream, domain
// (plain strings), seq (a number above 0) and duplicate (a boolean), each at most once, stream
// and seq required. It reports false for anything else.
func scanPubAck(b []byte) (ack pubAck, ok bool) {
	r := wire.NewReader(b)
	var stream, seq bool
	r.Object(ackKeys, func(k int) {
		switch k {
		case 0:
			stream = len(r.Span()) > 0
		case 1:
			r.Span()
		case 2:
			ack.seq, seq = r.Uint(), true
		case 3:
			ack.duplicate = r.Bool()
		}
	})
	if !r.End() || !stream || !seq || ack.seq == 0 {
		return pubAck{}, false
	}
	return ack, true
}

// refused tells a retry of a command that was written (JetStream checks the expected sequence
// before the message id, so it refuses such a retry as stale) from a real conflict, by the
// meeting's own record of its commands. Only a read that has seen the meeting move past
// expected can say "conflict": a failed read is returned as a failure, and a read that is behind
// (during a leader change) is tried again.
func (s *Store) refused(ctx context.Context, c domain.Commit, expected uint64, refusal error) (Appended, error) {
	actual := lastSeqOf(refusal) // 0 when the server did not say (10164 on replicated streams)
	for attempt := 0; ; attempt++ {
		l, err := s.LoadOwned(ctx, c.CitizenID, c.MeetingID)
		if err == nil {
			if seq, ok := l.CommandSeq(c.CommandID); ok {
				if err := s.WaitDurable(ctx, seq); err != nil {
					return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, err)
				}
				return Appended{Seq: seq, Duplicate: true}, nil
			}
			if l.Seq != expected && l.Seq >= actual {
				return Appended{}, fmt.Errorf("append meeting %s: %w: %w", c.MeetingID, ErrConcurrentUpdate,
					domain.Errorf(domain.Conflict, "the meeting was changed by someone else at the same time; try again"))
			}
		}
		if attempt == 8 {
			if err == nil {
				err = fmt.Errorf("the meeting still reads at sequence %d", l.Seq)
			}
			return Appended{}, fmt.Errorf("append meeting %s: refused as stale, and reading it back to tell a retry from a conflict failed: %w", c.MeetingID, err)
		}
		select {
		case <-ctx.Done():
			return Appended{}, fmt.Errorf("append meeting %s: %w", c.MeetingID, ctx.Err())
		case <-time.After(backoff(attempt) / 5):
		}
	}
}

// lastSeqOf reads the sequence from "wrong last sequence: N", or 0.
func lastSeqOf(err error) uint64 {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		if _, tail, ok := strings.Cut(apiErr.Description, "wrong last sequence: "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(tail), 10, 64)
			return n
		}
	}
	return 0
}

// MsgID is the Nats-Msg-Id of a commit: the command id, scoped to the person who gave it.
// JetStream deduplicates message ids across the whole stream for its duplicate window, so within
// it a person's command id reused on another meeting is answered as a duplicate of the first
// commit (which the command service, seeing another meeting, refuses with 409) instead of being
// written as a second command. Scoping by person keeps one person's ids from colliding with
// another's. After the window a reused id is known only on its own meeting (Loaded.CommandSeq).
func MsgID(actor, command uuid.UUID) string {
	var b [36 + 1 + 36]byte
	encodeUUID(b[:36], actor)
	b[36] = ':'
	encodeUUID(b[37:], command)
	return string(b[:])
}

// encodeUUID writes u's 36-character text form into dst, as u.String() would return it.
func encodeUUID(dst []byte, u uuid.UUID) {
	hex.Encode(dst[0:8], u[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], u[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], u[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], u[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:], u[10:])
}

// claim records that a meeting id belongs to a citizen. Claiming it again for the same citizen is
// harmless; for another citizen it is a conflict, so two meetings never share an id.
func (s *Store) claim(ctx context.Context, meeting, citizen uuid.UUID) error {
	msg := &nats.Msg{Subject: indexSubject(meeting), Data: []byte(citizen.String()), Header: nats.Header{}}
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	_, err := s.publish(ctx, msg)
	if err == nil {
		return nil
	}
	if !isWrongLastSequence(err) {
		return fmt.Errorf("claim meeting id %s: %w", meeting, err)
	}
	owner, err := s.owner(ctx, meeting)
	if err != nil {
		return err
	}
	if owner != citizen {
		return fmt.Errorf("claim meeting id %s: %w", meeting,
			domain.Errorf(domain.Conflict, "a meeting with id %s already exists; use a new id", meeting))
	}
	return nil
}

// repairIndex claims every meeting of the log that the index lacks. The claim is written before
// the meeting's first commit, but the two are in different files: with group commit by fsync a
// convene's round fsyncs the log, not the index (derived), and with an fsync interval
// the server flushes each file on its own, so a power failure can keep the commit and lose the
// claim. The log says whose each meeting is (its subject), so Open writes the claim again
// before the store is used. Claims are idempotent, so stores opening side by side (two serve
// processes on a cluster) may both do it.
func (s *Store) repairIndex(ctx context.Context) error {
	start := time.Now()
	meetings, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(AllFilter))
	if err != nil {
		return fmt.Errorf("repair the meeting index: %w", err)
	}
	claimed, err := s.index.Info(ctx, jetstream.WithSubjectFilter(indexFilter))
	if err != nil {
		return fmt.Errorf("repair the meeting index: %w", err)
	}
	log := s.cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// Every meeting is looked up: a count would not do, as a claim whose commit was never
	// written (a convene that failed after its claim) can stand beside a lost one.
	repaired := 0
	for subject := range meetings.State.Subjects {
		citizen, meeting, ok := parseMeetingSubject(subject)
		if !ok {
			// Not a meeting's: the readers of the log refuse its commits (CorruptError) and
			// say where; the index has nothing to hold for it.
			log.Warn("the log has a subject that names no meeting", "subject", subject)
			continue
		}
		if _, ok := claimed.State.Subjects[indexSubject(meeting)]; ok {
			continue
		}
		if err := s.claim(ctx, meeting, citizen); err != nil {
			if domain.IsKind(err, domain.Conflict) {
				// Another citizen holds the id: no run of this code leaves that, as a claim is
				// refused while the id's claim stands and the repair runs before any. Said, not
				// fixed: the log does not say which of the two is right.
				log.Error("a meeting of the log has its id claimed for another citizen", "meeting", meeting)
				continue
			}
			return fmt.Errorf("repair the meeting index: %w", err)
		}
		repaired++
	}
	if repaired > 0 {
		log.Warn("meeting index repaired from the log (claims a power failure took)", "claims", repaired)
	}
	log.Debug("meeting index checked against the log", "meetings", len(meetings.State.Subjects), "took", time.Since(start))
	return nil
}

// parseMeetingSubject reads MeetingSubject; false for a subject it did not make.
func parseMeetingSubject(subject string) (citizen, meeting uuid.UUID, ok bool) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix+".")
	if !ok {
		return uuid.Nil, uuid.Nil, false
	}
	c, m, ok := strings.Cut(rest, ".")
	if !ok {
		return uuid.Nil, uuid.Nil, false
	}
	var err error
	if citizen, err = uuid.Parse(c); err != nil {
		return uuid.Nil, uuid.Nil, false
	}
	if meeting, err = uuid.Parse(m); err != nil {
		return uuid.Nil, uuid.Nil, false
	}
	return citizen, meeting, true
}

// owner returns the citizen a meeting id was claimed for, or uuid.Nil.
func (s *Store) owner(ctx context.Context, meeting uuid.UUID) (uuid.UUID, error) {
	msg, err := s.index.GetLastMsgForSubject(ctx, indexSubject(meeting))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find meeting %s: %w", meeting, err)
	}
	citizen, err := uuid.ParseBytes(msg.Data)
	if err != nil {
		return uuid.Nil, &CorruptError{Seq: msg.Sequence, Subject: msg.Subject, Err: err}
	}
	return citizen, nil
}

// isWrongLastSequence reports a failed expected-sequence check: error 10071, or 10164 on
// replicated streams.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return strings.Contains(err.Error(), "wrong last sequence")
}

// LastSeq is the stream's last sequence: how far the log has been written.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("log info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Attach opens the store on streams that already exist, without creating or changing them: for
// tools (seed, tests) that write into a running service's log.
func Attach(ctx context.Context, nc *nats.Conn) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("attach to the log: %w", err)
	}
	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		return nil, fmt.Errorf("attach to the log: stream %s: %w (is serve running at this address?)", StreamName, err)
	}
	index, err := js.Stream(ctx, IndexStreamName)
	if err != nil {
		return nil, fmt.Errorf("attach to the log: stream %s: %w", IndexStreamName, err)
	}
	info := stream.CachedInfo().Config
	cfg := Config{Replicas: info.Replicas, DuplicateWindow: info.Duplicates}.withDefaults()
	return &Store{nc: nc, js: js, stream: stream, index: index, cfg: cfg, cache: newMeetingCache(cfg.MaxMeetings), readStream: stream, durable: new(atomic.Uint64)}, nil
}
