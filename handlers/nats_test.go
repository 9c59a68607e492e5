package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// natsRequest sends a command over NATS request/reply.
func natsRequest(t *testing.T, nc *nats.Conn, token, name string, id uuid.UUID, body any) (int, command.Reply, command.ErrorDetail) {
	t.Helper()
	b, _ := json.Marshal(body)
	msg := &nats.Msg{Subject: natsrpc.CommandSubjectPrefix + name, Data: b, Header: nats.Header{}}
	if token != "" {
		msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+token)
	}
	msg.Header.Set(natsrpc.HeaderCommandID, id.String())
	resp, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", name, err)
	}
	var status int
	fmt.Sscan(resp.Header.Get(natsrpc.HeaderStatus), &status)
	var r command.Reply
	var eb command.ErrorBody
	if status == 200 {
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			t.Fatal(err)
		}
		// The reply is encoded by hand; it must be what json.Marshal would have written.
		if want, _ := json.Marshal(r); !bytes.Equal(resp.Data, want) {
			t.Fatalf("reply over NATS:\ngot  %s\nwant %s", resp.Data, want)
		}
	} else if err := json.Unmarshal(resp.Data, &eb); err != nil {
		t.Fatalf("error reply %s: %v", resp.Data, err)
	}
	return status, r, eb.Error
}

func TestCommandsOverNATS(t *testing.T) {
	e := newEnv(t)
	mA, mB := metrics.New(), metrics.New()
	e.startRouter(mA)
	e.startRouter(mB) // a second server process in the same queue group
	p := newCast()
	cit := e.token(p.citizen)
	m := uuid.New()
	id := uuid.New()
	status, r, _ := natsRequest(t, e.nc, cit, "convene-meeting", id, map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	if status != 200 || r.MeetingID != m || r.Sequence == 0 {
		t.Fatalf("convene over NATS: %d %+v", status, r)
	}
	status, again, _ := natsRequest(t, e.nc, cit, "convene-meeting", id, map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	if status != 200 || !again.Duplicate || again.Sequence != r.Sequence {
		t.Fatalf("same command again: %d %+v", status, again)
	}
	for _, tc := range []struct {
		name, token, cmd string
		body             any
		status           int
		field            string
	}{
		{"no token", "", "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"x"}}, 401, ""},
		{"a professional on a meeting they are not part of", e.token(p.job), "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"x"}}, 404, ""},
		{"unknown command", cit, "drop-table", map[string]any{}, 400, "command"},
		{"unknown field", cit, "cancel-meeting", map[string]any{"meeting_id": m, "why": "x"}, 400, "why"},
		{"no such meeting", cit, "cancel-meeting", map[string]any{"meeting_id": uuid.New()}, 404, ""},
	} {
		status, _, ed := natsRequest(t, e.nc, tc.token, tc.cmd, uuid.New(), tc.body)
		if status != tc.status || ed.Field != tc.field || ed.Message == "" {
			t.Errorf("%s: got %d %+v, want %d field %q", tc.name, status, ed, tc.status, tc.field)
		}
	}
	// Text that JSON escapes comes back as json.Marshal writes it (natsRequest compares). An agenda
	// item is one line, so no line feed here.
	if status, _, ed := natsRequest(t, e.nc, cit, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{"<Min & bolig> \"økonomi\" \u2028"}}); status != 200 {
		t.Fatalf("agenda with escapes: %d %+v", status, ed)
	}
	// Both processes take a share of the commands.
	for i := range 40 {
		if status, _, ed := natsRequest(t, e.nc, cit, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{fmt.Sprint(i)}}); status != 200 {
			t.Fatalf("agenda %d: %d %+v", i, status, ed)
		}
	}
	for name, mm := range map[string]*metrics.Metrics{"A": mA, "B": mB} {
		n, err := mm.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, f := range n {
			if f.GetName() == "aabendialog_commands_total" {
				for _, m := range f.GetMetric() {
					total += m.GetCounter().GetValue()
				}
			}
		}
		if total == 0 {
			t.Errorf("process %s handled no commands: the queue group does not share", name)
		}
	}
}

// TestTwoProcessesShareAMeeting alternates commands on one meeting between two command services
// with their own stores (and so their own caches), as two server processes would: each decides
// on a state the other has moved past, and every command still lands once, in order.
func TestTwoProcessesShareAMeeting(t *testing.T) {
	e := newEnv(t)
	nc2, err := nats.Connect(e.node.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	store2, err := eventstore.Open(context.Background(), nc2, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	services := []*command.Service{e.service, command.New(store2, e.clock.Now, nil)}
	p := newCast()
	ctx := context.Background()
	m := uuid.New()
	if _, err := services[0].Handle(ctx, p.citizen, uuid.New(), &domain.ConveneMeeting{Meeting: m, Citizen: p.citizen.ID}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 20 {
		item := fmt.Sprintf("punkt %d", i)
		want = append(want, item)
		r, err := services[i%2].Handle(ctx, p.citizen, uuid.New(), &domain.InviteParticipant{Meeting: m, Participant: uuid.New(), Name: item, Kind: domain.KindNetwork})
		if err != nil {
			t.Fatalf("command %d on process %d: %v", i, i%2, err)
		}
		if r.Duplicate {
			t.Fatalf("command %d answered as a duplicate", i)
		}
	}
	// A convene of a meeting the other process created is refused, not written.
	if _, err := services[1].Handle(ctx, p.citizen, uuid.New(), &domain.ConveneMeeting{Meeting: m, Citizen: p.citizen.ID}); !domain.IsKind(err, domain.Conflict) {
		t.Fatalf("convene an existing meeting: got %v, want a conflict", err)
	}
	// A refusal decided on a cached state that the other process has moved past is not an
	// answer: process 0 has not seen the invitation process 1 writes now, and the invitee's
	// answer, sent to process 0, is accepted.
	want = append(want, "Sagsbehandler")
	if _, err := services[1].Handle(ctx, p.citizen, uuid.New(), &domain.InviteParticipant{Meeting: m, Participant: p.job.ID, Name: "Sagsbehandler", Kind: domain.KindProfessional, Service: p.job.Service}); err != nil {
		t.Fatal(err)
	}
	if _, err := services[0].Handle(ctx, p.job, uuid.New(), &domain.RespondToInvitation{Meeting: m, Accept: true}); err != nil {
		t.Fatalf("an invitee's answer to the process whose cache had not seen the invitation: %v", err)
	}
	// A refusal on the latest state stands.
	if _, err := services[0].Handle(ctx, p.psyk, uuid.New(), &domain.RespondToInvitation{Meeting: m, Accept: true}); !domain.IsKind(err, domain.NotFound) {
		t.Fatalf("an answer from someone never invited: got %v, want a refusal", err)
	}
	l, err := e.store.Load(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pt := range l.Meeting.Participants() {
		got = append(got, pt.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || l.Meeting.Commits() != 23 {
		t.Fatalf("got %v in %d commits, want %v in 23", got, l.Meeting.Commits(), want)
	}
}
