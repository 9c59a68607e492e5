package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// The node of these tests has serve's users: the service's own, and two client users, each
// with its own password and inbox prefix.
const (
	servicePassword = "the-service-password-of-32-characters"
	clientPassword  = "the-client-password-of-32-characters!"
	otherPassword   = "the-other-client-password-of-32-chars"
)

func clientUser(name, password string) eventstore.ClientUser {
	return eventstore.ClientUser{User: name, Password: password, InboxPrefix: natsrpc.ClientInboxPrefix(name), Publish: natsrpc.ClientSubjects()}
}

// newAuthEnv is the handlers' environment on a node with serve's users, and a command router.
func newAuthEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, testnode.Password(auth.NATSUser, servicePassword),
		testnode.Client(clientUser("client", clientPassword)), testnode.Client(clientUser("other", otherPassword)))
	e.startRouter(metrics.New())
	return e
}

// natsClient is a connection as a client user, with the errors the server sent it.
type natsClient struct {
	nc   *nats.Conn
	errs chan error
}

func (e *env) connectClient(user, password string) *natsClient {
	e.t.Helper()
	c := &natsClient{errs: make(chan error, 100)}
	var err error
	c.nc, err = nats.Connect(e.node.ClientURL(), nats.UserInfo(user, password), nats.CustomInboxPrefix(natsrpc.ClientInboxPrefix(user)),
		nats.NoReconnect(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default:
			}
		}))
	if err != nil {
		e.t.Fatalf("connect as %s: %v", user, err)
	}
	e.t.Cleanup(c.nc.Close)
	return c
}

// refused waits for the server's permissions violation naming what (a publish or a
// subscription), and fails the test if none comes.
func (c *natsClient) refused(t *testing.T, what string) {
	t.Helper()
	if err := c.nc.Flush(); err != nil && !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("flush: %v", err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-c.errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), what) {
				return
			}
		case <-timeout:
			t.Fatalf("no permissions violation for %s: the client user was allowed it", what)
		}
	}
}

// TestClientUserSendsCommandsAndGetsItsReplies: a client user sends a command over NATS and
// gets its answer on its own inbox prefix.
func TestClientUserSendsCommandsAndGetsItsReplies(t *testing.T) {
	e := newAuthEnv(t)
	c := e.connectClient("client", clientPassword)
	p := newCast()
	m := uuid.New()
	status, r, ed := natsRequest(t, c.nc, e.token(p.citizen), "convene-meeting", uuid.New(), map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	if status != 200 || r.MeetingID != m || r.Sequence == 0 {
		t.Fatalf("convene as the client user: %d %+v %+v", status, r, ed)
	}
	// A wrong password, or the service's user with the client's password, is turned away.
	for _, u := range []struct{ user, pw string }{{"client", otherPassword}, {auth.NATSUser, clientPassword}, {"client", ""}} {
		if nc, err := nats.Connect(e.node.ClientURL(), nats.UserInfo(u.user, u.pw), nats.NoReconnect()); err == nil {
			nc.Close()
			t.Errorf("connected as %s with the wrong password", u.user)
		}
	}
}

// TestClientUserCannotWriteTheLog: the client user can publish neither a commit on the log's
// subjects (a forged commit, or a malformed one that would stop the read models) nor to the
// JetStream API or the revocation bucket (un-revoking a token); the log and the bucket are as
// they were.
func TestClientUserCannotWriteTheLog(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	p := newCast()
	cit := e.token(p.citizen)
	m := uuid.New()
	e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	// A signed-out token, whose entry the client will try to delete.
	if err := e.verify.Revoke(ctx, cit); err != nil {
		t.Fatal(err)
	}
	before, err := e.store.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := e.connectClient("client", clientPassword)
	forged := fmt.Sprintf("%s.%s.%s", eventstore.SubjectPrefix, p.citizen.ID, m)
	for _, subject := range []string{forged, "dialog.meetings." + uuid.NewString()} {
		if err := c.nc.Publish(subject, []byte(`{"not":"a commit"}`)); err != nil {
			t.Fatal(err)
		}
		c.refused(t, subject)
	}
	// Through the JetStream API: a publish with an ack, a stream's info, a message's deletion.
	js, err := jetstream.New(c.nc)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := js.Publish(pctx, forged, []byte(`{}`)); err == nil {
		t.Error("a JetStream publish on the log's subject was acknowledged")
	}
	c.refused(t, forged)
	for _, subject := range []string{"$JS.API.STREAM.INFO." + eventstore.StreamName, "$JS.API.STREAM.MSG.DELETE." + eventstore.StreamName,
		"$JS.API.STREAM.DELETE." + eventstore.StreamName, "$JS.API.INFO"} {
		if msg, err := c.nc.Request(subject, []byte(`{"seq":1}`), 500*time.Millisecond); err == nil {
			t.Errorf("%s answered the client user: %s", subject, msg.Data)
		}
		c.refused(t, subject)
	}
	// Deleting the signed-out token's entry, as a KV client does.
	kv, err := e.store.JetStream().KeyValue(ctx, auth.RevocationBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("the revocation bucket holds %v (%v), want the one signed-out token", keys, err)
	}
	kvSubject := "$KV." + auth.RevocationBucket + "." + keys[0]
	if err := c.nc.PublishMsg(&nats.Msg{Subject: kvSubject, Header: nats.Header{"KV-Operation": {"DEL"}}}); err != nil {
		t.Fatal(err)
	}
	c.refused(t, kvSubject)

	if after, err := e.store.LastSeq(ctx); err != nil || after != before {
		t.Fatalf("the log moved from %d to %d (%v)", before, after, err)
	}
	if _, err := kv.Get(ctx, keys[0]); err != nil {
		t.Fatalf("the revocation entry: %v", err)
	}
	if st, _, _ := natsRequest(t, c.nc, cit, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{"x"}}); st != 401 {
		t.Fatalf("the signed-out token: %d, want 401", st)
	}
}

// TestClientUserSeesNoOneElsesMessages: the client user can subscribe neither to the commands
// (which carry other people's bearer tokens), nor take the service's place in its queue group,
// nor read the log, nor the replies of the service or of another client user.
func TestClientUserSeesNoOneElsesMessages(t *testing.T) {
	e := newAuthEnv(t)
	c := e.connectClient("client", clientPassword)
	var subs []*nats.Subscription
	for _, subject := range []string{natsrpc.CommandSubjectPrefix + ">", natsrpc.QuerySubjectPrefix + ">", "_INBOX.>",
		natsrpc.ClientInboxPrefix("other") + ".>", eventstore.SubjectPrefix + ".>", "$KV.>", ">"} {
		sub, err := c.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		c.refused(t, subject)
		subs = append(subs, sub)
	}
	queue, err := c.nc.QueueSubscribeSync(natsrpc.CommandSubjectPrefix+"*", natsrpc.CommandQueue)
	if err != nil {
		t.Fatal(err)
	}
	c.refused(t, natsrpc.CommandSubjectPrefix+"*")
	subs = append(subs, queue)
	// Nor can it consume the log as a JetStream consumer.
	js, _ := jetstream.New(c.nc)
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := js.OrderedConsumer(cctx, eventstore.StreamName, jetstream.OrderedConsumerConfig{}); err == nil {
		t.Error("the client user made a consumer of the log")
	}

	// Another client user, and the service's own, send commands with their tokens, and get
	// their replies; the service writes to the log.
	other := e.connectClient("other", otherPassword)
	p := newCast()
	tok := e.token(p.citizen)
	if st, _, ed := natsRequest(t, other.nc, tok, "convene-meeting", uuid.New(), map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID}); st != 200 {
		t.Fatalf("the other client's command: %d %+v", st, ed)
	}
	if st, _, ed := natsRequest(t, e.nc, tok, "convene-meeting", uuid.New(), map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID}); st != 200 {
		t.Fatalf("the service user's command: %d %+v", st, ed)
	}
	for _, sub := range subs {
		if msg, err := sub.NextMsg(200 * time.Millisecond); err == nil {
			t.Errorf("the client user saw %s on %s: %s %v", msg.Subject, sub.Subject, msg.Data, msg.Header)
		}
	}
	// And it still works: its own requests are answered.
	if st, _, ed := natsRequest(t, c.nc, tok, "convene-meeting", uuid.New(), map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID}); st != 200 {
		t.Fatalf("the client's own command: %d %+v", st, ed)
	}
}

// anyQuery answers every query with an empty object: these tests are about where the answer goes.
type anyQuery struct{}

func (anyQuery) Do(context.Context, domain.Actor, string, url.Values) (any, error) {
	return map[string]any{}, nil
}

// TestRepliesGoOnlyToInboxes: a client user may publish a command, but NATS does not check the
// reply subject it names, and the service answers with its own rights. A reply subject that is
// not an inbox is not answered at all: the stream is not deleted, no reply lands in the log or
// the revocation bucket.
func TestRepliesGoOnlyToInboxes(t *testing.T) {
	e := newAuthEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go func() { _ = natsrpc.ServeQueries(rctx, e.nc, anyQuery{}, e.verify, e.api.Log) }()
	c := e.connectClient("client", clientPassword)
	p := newCast()
	tok := e.token(p.citizen)
	before, err := e.store.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	watch, err := e.nc.SubscribeSync(">") // the service's user sees everything that is published
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	targets := []string{
		"$JS.API.STREAM.DELETE." + eventstore.StreamName,
		"$JS.API.STREAM.DELETE." + eventstore.IndexStreamName,
		"$JS.API.STREAM.DELETE.KV_" + auth.RevocationBucket,
		fmt.Sprintf("%s.%s.%s", eventstore.SubjectPrefix, p.citizen.ID, uuid.New()),
		"$KV." + auth.RevocationBucket + ".x",
		"_INBOX",
		"_INBOX_.x",
	}
	for _, reply := range targets {
		body, _ := json.Marshal(map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID})
		for _, subject := range []string{natsrpc.CommandSubjectPrefix + "convene-meeting", natsrpc.QuerySubjectPrefix + "history"} {
			msg := &nats.Msg{Subject: subject, Reply: reply, Data: body, Header: nats.Header{}}
			msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+tok)
			if err := c.nc.PublishMsg(msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// A request the service answers, after those it refused, so that they have been handled.
	if st, _, ed := natsRequest(t, c.nc, tok, "convene-meeting", uuid.New(), map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID}); st != 200 {
		t.Fatalf("a request with the client's inbox: %d %+v", st, ed)
	}
	for {
		msg, err := watch.NextMsg(300 * time.Millisecond)
		if err != nil {
			break
		}
		for _, target := range targets {
			if msg.Subject == target {
				t.Errorf("the service answered on %s: %s", target, msg.Data)
			}
		}
	}
	for _, name := range []string{eventstore.StreamName, eventstore.IndexStreamName, "KV_" + auth.RevocationBucket} {
		if _, err := e.store.JetStream().Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	// One commit: the last convene's (its index entry is in the other stream).
	if after, err := e.store.LastSeq(ctx); err != nil || after != before+1 {
		t.Errorf("the log moved from %d to %d, want one commit (%v)", before, after, err)
	}
}
