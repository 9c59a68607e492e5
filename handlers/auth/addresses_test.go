package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestNoticeAddressesAcrossProcesses: where a person's notices go is one entry in the people
// log that two processes agree on; a change decided on a stale view is decided again, never
// lost; the existing entries keep their shape.
func TestNoticeAddressesAcrossProcesses(t *testing.T) {
	node := testnode.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := auth.OpenPeople(ctx, node.Store.JetStream(), 1, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.OpenPeople(ctx, node.Store.JetStream(), 1, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	person, err := a.Reserve(ctx, "Mette@Example.dk")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := a.NoticeAddress(person); !ok || got != "mette@example.dk" {
		t.Fatalf("the invited address: got %q %v", got, ok)
	}
	waitFor(t, func() bool { _, ok := b.NoticeAddress(person); return ok })
	// Both change it at once, each on its own view: both writes land in turn, the last stands
	// in both processes.
	errs := make(chan error, 2)
	go func() { errs <- a.ChangeNotices(ctx, person, "mette.a@example.dk", false) }()
	go func() { errs <- b.ChangeNotices(ctx, person, "mette.b@example.dk", false) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return a.Notices(person) == b.Notices(person) })
	if got := a.Notices(person).Email; got != "mette.a@example.dk" && got != "mette.b@example.dk" {
		t.Fatalf("after two changes: %q", got)
	}
	// Reserving the same address again keeps the person's own choice.
	if err := b.ChangeNotices(ctx, person, "", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Notices(person).OptOut })
	if again, err := a.Reserve(ctx, "mette@example.dk"); err != nil || again != person {
		t.Fatalf("reserve again: %s %v, want %s", again, err, person)
	}
	if _, ok := a.NoticeAddress(person); ok {
		t.Fatalf("opted out, but reserving the address again gave it back")
	}
	if err := a.ChangeNotices(ctx, person, "ikke-en-adresse", false); err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("a bad address: got %v, want an error naming email", err)
	}
	// The reservation entry has the shape it had before notices (no opt_out).
	s, err := node.Store.JetStream().Stream(ctx, auth.PeopleStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(m.Data, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["type"] != "email-reserved" || fields["opt_out"] != nil || fields["email"] != nil {
		t.Fatalf("the reservation entry: %s", m.Data)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("the other process did not learn it")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
