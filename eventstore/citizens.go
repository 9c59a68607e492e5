package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// CitizensStreamName is the stream of the citizens' own aggregates (their mandates): part of
// the log, beside DIALOG, with the same durability and the same refusal of deletes. It is a
// stream of its own rather than more subjects in DIALOG because DIALOG's sequence is what the
// read models' checkpoints and a query's after=SEQ count: a mandate written there would be a
// position no read model ever reaches, and existing logs would need their stream's subjects
// changed. The mandates are read straight from here (with a cache), never from a read model, so
// rebuilding the read models cannot lose them.
const CitizensStreamName = "DIALOG_CITIZENS"

// CitizenSubject is the subject of one citizen's commits: dialog.citizens.<citizen-id>.
func CitizenSubject(citizen uuid.UUID) string { return "dialog.citizens." + citizen.String() }

// LoadedCitizen is a citizen's aggregate as it stands in the log.
type LoadedCitizen struct {
	// Citizen is shared with the cache: read it, never Apply to it.
	Citizen *domain.Citizen
	// Seq is the stream sequence of the citizen's last commit (0: none), the expected sequence
	// of the next append.
	Seq      uint64
	commands map[uuid.UUID]uint64
}

// CommandSeq returns the sequence a command id was written at to this citizen, if it was.
func (l LoadedCitizen) CommandSeq(id uuid.UUID) (uint64, bool) {
	seq, ok := l.commands[id]
	return seq, ok
}

// Citizens is the log of the citizens' aggregates, with a cache of their states whose freshness
// is one last-message-for-subject lookup.
type Citizens struct {
	// Durable, when set, is waited for after every write, before it is acknowledged
	// (Node.Durable: the node group commits by fsync).
	Durable func(context.Context) error

	js      jetstream.JetStream
	stream  jetstream.Stream
	timeout time.Duration

	mu    sync.Mutex
	cache map[uuid.UUID]LoadedCitizen
	max   int
}

// OpenCitizens ensures the citizens' stream exists and returns it. replicas is the log's.
func OpenCitizens(ctx context.Context, nc *nats.Conn, replicas int) (*Citizens, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open citizens' log: %w", err)
	}
	if replicas == 0 {
		replicas = 1
	}
	stream, err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        CitizensStreamName,
		Description: "Åben Dialog citizens' mandates: part of the source of truth",
		Subjects:    []string{"dialog.citizens.*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Replicas:    replicas,
		Duplicates:  10 * time.Minute,
		AllowDirect: replicas == 1,
		DenyDelete:  true,
		DenyPurge:   true,
	})
	if err != nil {
		return nil, err
	}
	return &Citizens{js: js, stream: stream, timeout: 5 * time.Second, cache: map[uuid.UUID]LoadedCitizen{}, max: 100_000}, nil
}

// Load returns the citizen's aggregate; a citizen with no commits loads empty at sequence 0.
func (c *Citizens) Load(ctx context.Context, citizen uuid.UUID) (LoadedCitizen, error) {
	subject := CitizenSubject(citizen)
	last, err := c.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return LoadedCitizen{Citizen: &domain.Citizen{}}, nil
	}
	if err != nil {
		return LoadedCitizen{}, fmt.Errorf("load citizen %s: %w", citizen, err)
	}
	c.mu.Lock()
	cached, ok := c.cache[citizen]
	c.mu.Unlock()
	if ok && cached.Seq == last.Sequence {
		return cached, nil
	}
	l := LoadedCitizen{Citizen: &domain.Citizen{}, commands: map[uuid.UUID]uint64{}}
	for seq := uint64(1); seq <= last.Sequence; {
		msg, err := c.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if err != nil {
			return LoadedCitizen{}, fmt.Errorf("load citizen %s at %d: %w", citizen, seq, err)
		}
		cc, err := domain.DecodeCitizenCommit(msg.Data)
		if err != nil {
			return LoadedCitizen{}, &CorruptError{Seq: msg.Sequence, Subject: msg.Subject, Err: err}
		}
		l.Citizen.Apply(cc)
		if _, seen := l.commands[cc.CommandID]; !seen {
			l.commands[cc.CommandID] = msg.Sequence
		}
		l.Seq = msg.Sequence
		seq = msg.Sequence + 1
	}
	c.mu.Lock()
	if len(c.cache) >= c.max {
		for k := range c.cache { // forget an arbitrary one
			delete(c.cache, k)
			break
		}
	}
	c.cache[citizen] = l
	c.mu.Unlock()
	return l, nil
}

// Append writes the commit on its citizen's subject if the subject's last commit is still at
// expected. The command id (scoped to the actor) is the message id; a retry of a commit that
// was written is answered with its first sequence. A stale expected sequence returns an error
// wrapping ErrConcurrentUpdate.
func (c *Citizens) Append(ctx context.Context, cc domain.CitizenCommit, expected uint64) (Appended, error) {
	cc.At = cc.At.UTC().Round(0)
	data, err := domain.EncodeCitizenCommit(cc)
	if err != nil {
		return Appended{}, fmt.Errorf("append citizen %s: %w", cc.CitizenID, err)
	}
	msg := &nats.Msg{Subject: CitizenSubject(cc.CitizenID), Data: data, Header: nats.Header{
		jetstream.MsgIDHeader:               {MsgID(cc.Actor.ID, cc.CommandID)},
		jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(expected, 10)},
	}}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ack, err := c.js.PublishMsg(actx, msg)
	if err != nil {
		if isWrongLastSequence(err) {
			l, lerr := c.Load(ctx, cc.CitizenID)
			if lerr != nil {
				return Appended{}, fmt.Errorf("append citizen %s: refused as stale, and reading it back failed: %w", cc.CitizenID, lerr)
			}
			if seq, ok := l.CommandSeq(cc.CommandID); ok {
				if err := c.durable(ctx); err != nil {
					return Appended{}, fmt.Errorf("append citizen %s: %w", cc.CitizenID, err)
				}
				return Appended{Seq: seq, Duplicate: true}, nil
			}
			return Appended{}, fmt.Errorf("append citizen %s: %w: %w", cc.CitizenID, ErrConcurrentUpdate,
				domain.Errorf(domain.Conflict, "the citizen's mandates were changed by someone else at the same time; try again"))
		}
		return Appended{}, fmt.Errorf("append citizen %s: %w", cc.CitizenID, err)
	}
	if err := c.durable(ctx); err != nil {
		return Appended{}, fmt.Errorf("append citizen %s: %w", cc.CitizenID, err)
	}
	return Appended{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

func (c *Citizens) durable(ctx context.Context) error {
	if c.Durable == nil {
		return nil
	}
	return c.Durable(ctx)
}

// CommitAt returns the citizen commit stored at seq.
func (c *Citizens) CommitAt(ctx context.Context, seq uint64) (domain.CitizenCommit, error) {
	msg, err := c.stream.GetMsg(ctx, seq)
	if err != nil {
		return domain.CitizenCommit{}, fmt.Errorf("citizen commit at %d: %w", seq, err)
	}
	cc, err := domain.DecodeCitizenCommit(msg.Data)
	if err != nil {
		return domain.CitizenCommit{}, &CorruptError{Seq: msg.Sequence, Subject: msg.Subject, Err: err}
	}
	return cc, nil
}
