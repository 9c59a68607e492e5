package eventstore

// The tests of package eventstore_test start their nodes with internal/testnode, which imports
// this package, so they cannot live inside it; these are the unexported names they need.

import (
	"context"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

var (
	ConveneCommit = conveneCommit
	AgendaCommit  = agendaCommit
	// IndexSubject lets a benchmark claim meetings by publishing straight to the index, as fast
	// as it writes their commits.
	IndexSubject = indexSubject
)

// ForgetCachedStates empties the meeting-state cache, so the next load of every meeting is cold.
func (s *Store) ForgetCachedStates() { s.cache = newMeetingCache(s.cfg.MaxMeetings) }

// PublishSeq is the store's own publish, the one Append makes, returning where msg was stored.
func (s *Store) PublishSeq(ctx context.Context, msg *nats.Msg) (uint64, error) {
	ack, err := s.publish(ctx, msg)
	return ack.seq, err
}

// ReadPubAckSeq reads JetStream's answer to a publish as the store does.
func ReadPubAckSeq(b []byte) (uint64, error) {
	ack, err := readPubAck(b)
	return ack.seq, err
}

// Owner finds the citizen of a meeting by the index stream, as a load that names only the meeting
// does.
func (s *Store) Owner(ctx context.Context, meeting uuid.UUID) (uuid.UUID, error) {
	return s.owner(ctx, meeting)
}
