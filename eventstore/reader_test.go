package eventstore_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestReadOverTheReader: with Config.Reader, long reads stream over that connection (over TCP to
// an embedded node, with its password), the store's own connection carries none of them, and
// they read the same commits.
func TestReadOverTheReader(t *testing.T) {
	e := testnode.Start(t, testnode.Password("u", "a-password-of-thirty-two-characters"), testnode.Reader())
	s, nc, reader := e.Store, e.Conn, e.Reader
	ctx := t.Context()
	for i := range 200 {
		if _, err := s.Append(ctx, eventstore.ConveneCommit(uuid.New(), uuid.New()), 0); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	own, theirs := nc.Stats().InMsgs, reader.Stats().InMsgs
	var got []uint64
	if err := s.ReadRaw(ctx, eventstore.ReadOptions{}, func(r eventstore.RawRecorded) error { got = append(got, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("read sequence %d in place %d", seq, i)
		}
	}
	if len(got) != 200 {
		t.Fatalf("read %d commits, want 200", len(got))
	}
	if d := reader.Stats().InMsgs - theirs; d < uint64(len(got)) {
		t.Errorf("the reader connection received %d messages for a read of %d commits", d, len(got))
	}
	if d := nc.Stats().InMsgs - own; d > 20 {
		t.Errorf("the store's own connection received %d messages during the read, want only a few answers", d)
	}
}
