package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
)

// server is a running "aabendialog serve" with its addresses.
type server struct {
	p          *process
	data       string
	http, nats string // nats with the service's user and password
	natsAddr   string // nats without them
	metrics    string // the /metrics URL on --metrics-listen
}

func startServer(t *testing.T) *server {
	t.Helper()
	return startServerOn(t, t.TempDir(), "--fsync", "always") // the default, as a user runs it
}

// cli runs the real program and returns its stdout, stderr and exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// token issues a token with the real program, signed by the key in data.
func token(t *testing.T, data string, a domain.Actor) string {
	t.Helper()
	args := []string{"token", "--data", data, "--role", string(a.Role), "--subject", a.ID.String()}
	if a.Service != "" {
		args = append(args, "--service", a.Service)
	}
	if a.OnBehalfOf != uuid.Nil {
		args = append(args, "--for", a.OnBehalfOf.String())
	}
	out, errs, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("token: %d %s", code, errs)
	}
	return strings.TrimSpace(out)
}

// step is one command of the flow, as a JSON body (HTTP, NATS) and as CLI flags.
type step struct {
	who    string
	name   string
	body   map[string]any
	flags  []string
	status int    // 200 unless a refusal
	field  string // the field a 400 names (over HTTP and NATS; the CLI names the flag)
	msg    string
}

// outcome is what a transport answered.
type outcome struct {
	status  int
	reply   command.Reply
	field   string
	message string
}

type transport func(t *testing.T, tok string, s step) outcome

func viaHTTP(srv *server) transport {
	return func(t *testing.T, tok string, s step) outcome {
		c := &httpapi.Client{Server: srv.http, Token: tok}
		r, err := c.Send(context.Background(), s.name, uuid.Must(uuid.NewV7()), s.body)
		if err != nil {
			ae, ok := err.(*httpapi.APIError)
			if !ok {
				t.Fatalf("%s over HTTP: %v", s.name, err)
			}
			return outcome{status: ae.Status, field: ae.Field, message: ae.Message}
		}
		return outcome{status: 200, reply: r}
	}
}

func viaNATS(srv *server) transport {
	nc, err := nats.Connect(srv.nats)
	if err != nil {
		panic(err)
	}
	return func(t *testing.T, tok string, s step) outcome {
		b, _ := json.Marshal(s.body)
		msg := &nats.Msg{Subject: natsrpc.CommandSubjectPrefix + s.name, Data: b, Header: nats.Header{}}
		msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+tok)
		msg.Header.Set(natsrpc.HeaderCommandID, uuid.Must(uuid.NewV7()).String())
		resp, err := nc.RequestMsg(msg, 15*time.Second)
		if err != nil {
			t.Fatalf("%s over NATS: %v", s.name, err)
		}
		status, _ := strconv.Atoi(resp.Header.Get(natsrpc.HeaderStatus))
		o := outcome{status: status}
		if status == 200 {
			if err := json.Unmarshal(resp.Data, &o.reply); err != nil {
				t.Fatal(err)
			}
			return o
		}
		var eb command.ErrorBody
		if err := json.Unmarshal(resp.Data, &eb); err != nil {
			t.Fatalf("%s over NATS: %s", s.name, resp.Data)
		}
		o.field, o.message = eb.Error.Field, eb.Error.Message
		return o
	}
}

func viaCLI(srv *server) transport {
	return func(t *testing.T, tok string, s step) outcome {
		args := append([]string{s.name, "--server", srv.http, "--token", tok, "--json"}, s.flags...)
		out, errs, code := cli(t, args...)
		o := outcome{}
		if code == 0 {
			o.status = 200
			if err := json.Unmarshal([]byte(out), &o.reply); err != nil {
				t.Fatalf("%s via CLI: %v\n%s", s.name, err, out)
			}
			return o
		}
		var eb command.ErrorBody
		if err := json.Unmarshal([]byte(out), &eb); err != nil {
			t.Fatalf("%s via CLI exited %d: %s %s", s.name, code, out, errs)
		}
		if !strings.Contains(errs, eb.Error.Message) {
			t.Errorf("%s via CLI: stderr %q does not say %q", s.name, errs, eb.Error.Message)
		}
		o.field, o.message = eb.Error.Field, eb.Error.Message
		o.status = map[string]int{"invalid": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404, "conflict": 409}[eb.Error.Kind]
		return o
	}
}

// TestMeetingFlowEndToEnd runs a whole meeting against the real program three times: over
// HTTP, over NATS and through the CLI. A citizen convenes, sets the agenda, invites three
// services and a family member, schedules it at home; the invitees answer; attendance is
// recorded with the citizen present; a follow-up is recorded and completed; the meeting is
// closed. Refused on the way: a professional setting the agenda, the meeting held without the
// citizen, and a token signed by a stranger.
func TestMeetingFlowEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	srv := startServer(t)
	strangerKeys := t.TempDir()
	for _, tr := range []struct {
		name string
		send transport
	}{{"HTTP", viaHTTP(srv)}, {"NATS", viaNATS(srv)}, {"CLI", viaCLI(srv)}} {
		t.Run(tr.name, func(t *testing.T) {
			citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
			people := map[string]domain.Actor{
				"citizen": citizen,
				"job":     {ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"},
				"psyk":    {ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Handicap og Psykiatri"},
				"child":   {ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Børn og Familie"},
				"sister":  {ID: uuid.New(), Role: domain.RoleNetwork},
			}
			tokens := map[string]string{}
			for who, a := range people {
				tokens[who] = token(t, srv.data, a)
			}
			tokens["stranger"] = token(t, strangerKeys, citizen) // the right person, the wrong signer
			id := func(who string) string { return people[who].ID.String() }
			m := uuid.New().String()
			at := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
			invite := func(who, name, kind, service string) step {
				b := map[string]any{"meeting_id": m, "participant_id": id(who), "name": name, "kind": kind}
				f := []string{"--meeting", m, "--participant", id(who), "--name", name, "--kind", kind}
				if service != "" {
					b["service"] = service
					f = append(f, "--service", service)
				}
				return step{who: "citizen", name: "invite-participant", body: b, flags: f}
			}
			answer := func(who string, accept bool) step {
				f := []string{"--meeting", m, "--decline"}
				if accept {
					f = []string{"--meeting", m, "--accept"}
				}
				return step{who: who, name: "respond-to-invitation", body: map[string]any{"meeting_id": m, "accept": accept}, flags: f}
			}
			steps := []step{
				{who: "citizen", name: "convene-meeting", body: map[string]any{"meeting_id": m, "citizen_id": id("citizen"), "title": "Mit netværksmøde"},
					flags: []string{"--meeting", m, "--citizen", id("citizen"), "--title", "Mit netværksmøde"}},
				{who: "stranger", name: "citizen-sets-agenda", body: map[string]any{"meeting_id": m, "items": []string{"x"}},
					flags: []string{"--meeting", m, "--item", "x"}, status: 401, msg: "signature"},
				{who: "citizen", name: "citizen-sets-agenda", body: map[string]any{"meeting_id": m, "items": []string{"Min bolig", "Hvordan jeg har det"}},
					flags: []string{"--meeting", m, "--item", "Min bolig", "--item", "Hvordan jeg har det"}},
				invite("job", "Karin Holm", "professional", "Jobcenter"),
				invite("psyk", "Ole Berg", "professional", "Center for Handicap og Psykiatri"),
				invite("child", "Sara Lund", "professional", "Center for Børn og Familie"),
				invite("sister", "Mette", "network", ""),
				{who: "citizen", name: "schedule-meeting", body: map[string]any{"meeting_id": m, "at": at, "place": "home"},
					flags: []string{"--meeting", m, "--at", at, "--place", "home"}},
				answer("job", true), answer("psyk", true), answer("child", false), answer("sister", true),
				{who: "job", name: "citizen-sets-agenda", body: map[string]any{"meeting_id": m, "items": []string{"Mit punkt"}},
					flags: []string{"--meeting", m, "--item", "Mit punkt"}, status: 403, msg: "the agenda is the citizen's own words"},
				{who: "job", name: "record-attendance", body: map[string]any{"meeting_id": m, "present": []string{id("job"), id("sister")}},
					flags: []string{"--meeting", m, "--present", id("job"), "--present", id("sister")}, status: 400, field: "present", msg: "nothing about the citizen without the citizen"},
				{who: "job", name: "record-attendance", body: map[string]any{"meeting_id": m, "present": []string{id("citizen"), id("job"), id("psyk"), id("sister")}},
					flags: []string{"--meeting", m, "--present", id("citizen"), "--present", id("job"), "--present", id("psyk"), "--present", id("sister")}},
			}
			run := func(s step) outcome {
				t.Helper()
				o := tr.send(t, tokens[s.who], s)
				want := s.status
				if want == 0 {
					want = 200
				}
				field := s.field
				if tr.name == "CLI" && field != "" {
					field = fieldFlags[field]
				}
				if o.status != want || o.field != field || !strings.Contains(o.message, s.msg) {
					t.Fatalf("%s by %s: got %d field %q %q, want %d field %q %q", s.name, s.who, o.status, o.field, o.message, want, field, s.msg)
				}
				return o
			}
			for _, s := range steps {
				run(s)
			}
			// The follow-up: over HTTP and NATS the sender names its id; the CLI makes one and
			// the reply's event carries it.
			f := uuid.New().String()
			o := run(step{who: "psyk", name: "record-follow-up",
				body:  map[string]any{"meeting_id": m, "follow_up_id": f, "what": "Søge om bostøtte", "responsible": id("psyk"), "due": "2026-12-24"},
				flags: []string{"--meeting", m, "--what", "Søge om bostøtte", "--responsible", id("psyk"), "--due", "2026-12-24"}})
			var rec domain.FollowUpRecorded
			if err := json.Unmarshal(o.reply.Events[0].Data, &rec); err != nil {
				t.Fatal(err)
			}
			f = rec.FollowUpID.String()
			run(step{who: "psyk", name: "complete-follow-up", body: map[string]any{"meeting_id": m, "follow_up_id": f},
				flags: []string{"--meeting", m, "--follow-up", f}})
			last := run(step{who: "citizen", name: "close-meeting", body: map[string]any{"meeting_id": m, "next_agreed": true},
				flags: []string{"--meeting", m, "--next-agreed"}})

			// The log, read with plain NATS, holds the whole meeting.
			nc, err := nats.Connect(srv.nats)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			store, err := eventstore.Open(ctx, nc, eventstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			l, err := store.Load(ctx, uuid.MustParse(m))
			if err != nil {
				t.Fatal(err)
			}
			mt := l.Meeting
			if l.Seq != last.reply.Sequence || mt.Status() != domain.StatusClosed || !mt.NextAgreed() || len(mt.Participants()) != 4 ||
				len(mt.Agenda()) != 2 || len(mt.FollowUps()) != 1 || !mt.FollowUps()[0].Completed || mt.Commits() != 15 {
				t.Fatalf("meeting in the log: seq %d (reply %d), status %s, %d participants, %d agenda items, %d commits",
					l.Seq, last.reply.Sequence, mt.Status(), len(mt.Participants()), len(mt.Agenda()), mt.Commits())
			}
		})
	}
}

// TestCLIHumanOutput checks what a person sees: the new meeting's id on stdout, a short
// sentence on stderr, usage errors with exit status 2, the help listing every command, and
// sign-out revoking the token on the server.
func TestCLIHumanOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	srv := startServer(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	tok := token(t, srv.data, citizen)
	out, errs, code := cli(t, "convene-meeting", "--server", srv.http, "--token", tok, "--citizen", citizen.ID.String())
	if code != 0 {
		t.Fatalf("convene: %d %s", code, errs)
	}
	if _, err := uuid.Parse(strings.TrimSpace(out)); err != nil || !strings.Contains(errs, "Meeting convened.") {
		t.Fatalf("convene printed %q / %q", out, errs)
	}
	if _, errs, code := cli(t, "respond-to-invitation", "--server", srv.http, "--token", tok, "--meeting", strings.TrimSpace(out)); code != 2 || !strings.Contains(errs, "--accept") {
		t.Fatalf("neither --accept nor --decline: exit %d %q", code, errs)
	}
	if _, errs, code := cli(t, "cancel-meeting", "--server", srv.http, "--meeting", strings.TrimSpace(out)); code != 2 || !strings.Contains(errs, "no token") {
		t.Fatalf("no token: exit %d %q", code, errs)
	}
	if _, errs, code := cli(t, "cancel-meeting", "--server", srv.http, "--token", tok, "--meeting", "nope"); code != 1 || !strings.Contains(errs, "--meeting") {
		t.Fatalf("bad meeting id: exit %d %q", code, errs)
	}
	help, _, code := cli(t, "help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, n := range append(domain.CommandNames(), "serve", "token", "sign-out") {
		if !strings.Contains(help, "\n  "+n+" ") {
			t.Errorf("help does not list %s", n)
		}
	}
	resp, err := http.Get(srv.http + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	// Signing out from the CLI revokes the token on the server: the next command with it is
	// refused as unauthenticated, and so is a second sign-out.
	out, errs, code = cli(t, "sign-out", "--server", srv.http, "--token", tok)
	if code != 0 || !strings.Contains(out, "Signed out") {
		t.Fatalf("sign-out: %d %q %q", code, out, errs)
	}
	if _, errs, code := cli(t, "convene-meeting", "--server", srv.http, "--token", tok, "--citizen", citizen.ID.String()); code == 0 || !strings.Contains(errs, "signed out") {
		t.Errorf("a command with the signed-out token: exit %d, %q; want refused, saying it was signed out", code, errs)
	}
	if _, _, code := cli(t, "sign-out", "--server", srv.http, "--token", tok); code == 0 {
		t.Error("signing out a signed-out token succeeded")
	}
}

// TestNATSPortNeedsThePassword: the embedded node's port holds the whole log, so a client
// without serve's password, or with a wrong one, is turned away before it can read or write; with
// it, the stream is there. The password file is the owner's alone.
func TestNATSPortNeedsThePassword(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	srv := startServerOn(t, t.TempDir(), "--log-level", "info")
	u, err := url.Parse(srv.nats)
	if err != nil {
		t.Fatal(err)
	}
	u.User = nil
	if nc, err := nats.Connect(u.String(), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("connect without a password: got %v, want an authorization violation", err)
	}
	u.User = url.UserPassword(auth.NATSUser, "not-the-password-not-the-password")
	if nc, err := nats.Connect(u.String(), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("connect with a wrong password: got %v, want an authorization violation", err)
	}
	nc, err := nats.Connect(srv.nats, nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect with the password: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(context.Background(), eventstore.StreamName); err != nil {
		t.Fatalf("the log with the password: %v", err)
	}
	fi, err := os.Stat(auth.NATSPasswordFile(srv.data))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", fi.Name(), fi.Mode().Perm())
	}
	// The log names the file, never the password.
	pw, _ := os.ReadFile(auth.NATSPasswordFile(srv.data))
	out := srv.p.ready + srv.p.stderr.String()
	if !strings.Contains(out, "nats.password") || strings.Contains(out, string(pw)) {
		t.Fatalf("serve's log should name the password file and not hold the password:\n%s", out)
	}
}
