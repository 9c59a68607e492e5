package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
)

// mailbox is a real SMTP server in the test process that counts messages by Message-ID.
type mailbox struct {
	addr string
	mu   sync.Mutex
	ids  map[string]int // Message-ID -> times received
	n    int
	to   map[string]string // Message-ID -> recipient
	// personal counts messages holding an invitee's name.
	personal int
}

func startMailbox(t *testing.T, delay time.Duration) *mailbox {
	t.Helper()
	mb := &mailbox{ids: map[string]int{}, to: map[string]string{}}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{mb: mb, delay: delay}, nil }))
	s.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return mb
}

type mailboxSession struct {
	mb    *mailbox
	delay time.Duration
	to    string
}

func (s *mailboxSession) Reset()                                    {}
func (s *mailboxSession) Logout() error                             { return nil }
func (s *mailboxSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *mailboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	time.Sleep(s.delay) // widens the window between taking a message and the sender's record of it
	id := m.Header.Get("Message-ID")
	s.mb.mu.Lock()
	if bytes.Contains(b, []byte("Person ")) { // the invitees' names in the log
		s.mb.personal++
	}
	s.mb.ids[id]++
	s.mb.n++
	s.mb.to[id] = s.to
	s.mb.mu.Unlock()
	return nil
}

func (mb *mailbox) counts() (distinct, total int) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.ids), mb.n
}

// TestSIGKILLNoticesExactlyOnce kills "serve" with SIGKILL while it is sending invitations,
// restarts it on the same data, and finds that every invitation was delivered, and that at most
// the one notice in flight at the kill came twice, with the same Message-ID.
func TestSIGKILLNoticesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real program")
	}
	mb := startMailbox(t, 2*time.Millisecond)
	data := t.TempDir()
	port := freePort(t)
	args := []string{"serve", "--data", data, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", port), "--http", "127.0.0.1:0",
		"--metrics-listen", "127.0.0.1:0", "--log-level", "warn",
		"--smtp", mb.addr, "--mail-from", "aabendialog@kommune.example.dk", "--public-url", "https://aabendialog.example.dk"}
	p := startProcess(t, "aabendialog serving", args...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := withPassword(t, data, fmt.Sprintf("nats://127.0.0.1:%d", port))
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Invitees invited by address: the people log keeps where their notices go.
	pctx, pcancel := context.WithCancel(ctx)
	people, err := auth.OpenPeople(pctx, s.JetStream(), 1, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	const invitations = 300
	invitees := make([]uuid.UUID, invitations)
	for i := range invitees {
		if invitees[i], err = people.Reserve(ctx, fmt.Sprintf("person%d@example.dk", i)); err != nil {
			t.Fatal(err)
		}
	}
	pcancel()
	// The running process follows the people log; make sure it has every address before the
	// invitations go out, by restarting it (it reads the people log whole at start).
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p = startProcess(t, "aabendialog serving", args...)
	citizen := uuid.New()
	for i, person := range invitees {
		meeting := uuid.New()
		c := domain.Commit{CommandID: uuid.New(), Command: "invite-participant", MeetingID: meeting, CitizenID: citizen,
			Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: time.Now().UTC(),
			Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen}),
				domain.NewEvent(domain.ParticipantInvited{ParticipantID: person, Name: fmt.Sprintf("Person %d", i), Kind: domain.KindNetwork})}}
		if _, err := s.Append(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Kill while sending: some delivered, most not yet.
	for {
		if d, _ := mb.counts(); d >= invitations/4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	atKill, _ := mb.counts()
	p = startProcess(t, "aabendialog serving", args...)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, _ := mb.counts()
		if d >= invitations {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGKILL and restart: %d of %d invitations delivered", d, invitations)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Give a stray duplicate time to show (a bound, not a measure).
	time.Sleep(500 * time.Millisecond)
	distinct, total := mb.counts()
	if distinct != invitations {
		t.Fatalf("got %d distinct Message-IDs, want %d (one per invitation)", distinct, invitations)
	}
	if total-distinct > 1 {
		t.Fatalf("%d notices were sent twice; at most the one in flight at the kill may be", total-distinct)
	}
	if mb.personal > 0 {
		t.Fatalf("%d messages hold an invitee's name", mb.personal)
	}
	seen := map[string]bool{}
	for _, to := range mb.to {
		if seen[to] {
			t.Errorf("%s got two different invitations", to)
		}
		seen[to] = true
	}
	// The notices show in the metrics.
	metricsURL := strings.TrimSuffix(p.ready[strings.Index(p.ready, "metrics at ")+len("metrics at "):], ". Stop with Ctrl-C.")
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `aabendialog_notices_total{kind="invitation",outcome="sent"}`) || !strings.Contains(string(body), "aabendialog_notice_lag_seconds_bucket") {
		t.Fatalf("the metrics at %s do not count the notices:\n%s", metricsURL, body)
	}
	t.Logf("%d delivered before the kill, all %d after the restart, %d sent twice (same Message-ID)", atKill, invitations, total-distinct)
}

// TestNoticeFlagsAreValidated: serve refuses notice settings given by halves or malformed,
// from the flag or the environment, naming the flag, before it starts anything.
func TestNoticeFlagsAreValidated(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--smtp", "127.0.0.1:25"}, nil, "--mail-from"},
		{[]string{"--smtp", "127.0.0.1:25", "--mail-from", "a@b.dk"}, nil, "--public-url"},
		{[]string{"--mail-from", "a@b.dk"}, nil, "need --smtp"},
		{[]string{"--smtp", "127.0.0.1:25", "--mail-from", "a@b.dk", "--public-url", "https://x.dk", "--smtp-user", "u"}, nil, "--smtp-password-file"},
		{[]string{"--remind-before", "48h,to timer"}, nil, `--remind-before "48h,to timer"`},
		{nil, map[string]string{"AABENDIALOG_REMIND_BEFORE": "-2h"}, "--remind-before"},
		{[]string{"--remind-before", "2h,120m"}, nil, "named twice"},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		args := append([]string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, c.args...)
		var out, errb bytes.Buffer
		err := runServe(context.Background(), args, &out, &errb)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%v %v: got %v, want a usage error naming %s", c.args, c.env, err, c.want)
		}
		if out.Len() > 0 {
			t.Fatalf("serve started: %s", out.String())
		}
		for k := range c.env {
			t.Setenv(k, "")
		}
	}
}
