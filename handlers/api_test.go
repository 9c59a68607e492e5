package handlers_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
)

// people in a meeting
type cast struct {
	citizen, support, job, psyk, child, sister, stranger, evaluator domain.Actor
}

func newCast() cast {
	c := uuid.New()
	return cast{
		citizen:   domain.Actor{ID: c, Role: domain.RoleCitizen},
		support:   domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: c},
		job:       domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"},
		psyk:      domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Handicap og Psykiatri"},
		child:     domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Børn og Familie"},
		sister:    domain.Actor{ID: uuid.New(), Role: domain.RoleNetwork},
		stranger:  domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Sundhed og Ældre"},
		evaluator: domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator},
	}
}

func TestMeetingFlowOverHTTP(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	cit, sup := e.token(p.citizen), e.token(p.support)
	e.grant(p.support)
	m := uuid.New()
	r := e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID, "title": "Mit møde"})
	if r.MeetingID != m || r.Sequence == 0 || len(r.Events) != 1 || r.Events[0].Type != domain.TypeMeetingConvened {
		t.Fatalf("convene reply %+v", r)
	}
	e.ok(sup, "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"Min bolig", "Arbejde"}})
	for _, pr := range []domain.Actor{p.job, p.psyk, p.child} {
		e.ok(cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": pr.ID, "name": "Sagsbehandler", "kind": "professional", "service": pr.Service})
	}
	e.ok(cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.sister.ID, "name": "Mette", "kind": "network"})
	at := e.clock.Now().Add(72 * time.Hour)
	e.ok(cit, "schedule-meeting", map[string]any{"meeting_id": m, "at": at.Format(time.RFC3339), "place": "home"})
	e.ok(e.token(p.job), "respond-to-invitation", map[string]any{"meeting_id": m, "accept": true})
	e.ok(e.token(p.psyk), "respond-to-invitation", map[string]any{"meeting_id": m, "accept": true})
	e.ok(e.token(p.child), "respond-to-invitation", map[string]any{"meeting_id": m, "accept": false, "reason": "Ferie"})
	e.ok(e.token(p.sister), "respond-to-invitation", map[string]any{"meeting_id": m, "accept": true})

	// The professional who accepted may not hold the meeting without the citizen.
	e.clock.Set(at)
	a := e.post(e.token(p.job), "record-attendance", uuid.New(), map[string]any{"meeting_id": m, "present": []uuid.UUID{p.job.ID, p.sister.ID}})
	if a.status != http.StatusBadRequest || a.err.Field != "present" || !strings.Contains(a.err.Message, "nothing about the citizen without the citizen") {
		t.Fatalf("held without the citizen: got %d %+v", a.status, a.err)
	}
	e.ok(e.token(p.job), "record-attendance", map[string]any{"meeting_id": m, "present": []uuid.UUID{p.citizen.ID, p.job.ID, p.psyk.ID, p.sister.ID}})
	f := uuid.New()
	e.ok(e.token(p.psyk), "record-follow-up", map[string]any{"meeting_id": m, "follow_up_id": f, "what": "Søge bostøtte", "responsible": p.psyk.ID, "due": "2026-12-01"})
	e.ok(e.token(p.psyk), "complete-follow-up", map[string]any{"meeting_id": m, "follow_up_id": f})
	last := e.ok(e.token(p.citizen), "close-meeting", map[string]any{"meeting_id": m, "next_agreed": true})

	l, err := e.store.Load(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if l.Seq != last.Sequence || l.Meeting.Status() != domain.StatusClosed || len(l.Meeting.Participants()) != 4 || !l.Meeting.FollowUps()[0].Completed {
		t.Fatalf("meeting after the flow: seq %d (reply %d) status %s participants %d", l.Seq, last.Sequence, l.Meeting.Status(), len(l.Meeting.Participants()))
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	cit := e.token(p.citizen)
	m := uuid.New()
	e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	e.ok(cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.job.ID, "name": "K", "kind": "professional", "service": "Jobcenter"})

	otherSupport := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: uuid.New()}
	e.grant(otherSupport)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forged, _ := auth.NewSigner(otherKey, e.clock.Now).Issue(p.citizen, time.Hour)
	expired, _ := e.signer.Issue(p.citizen, time.Second)
	agenda := map[string]any{"meeting_id": m, "items": []string{"x"}}
	before, _ := e.store.LastSeq(context.Background())
	for _, tc := range []struct {
		name, token, cmd string
		body             any
		status           int
		kind, field, msg string
		later            time.Duration
	}{
		{"no token", "", "citizen-sets-agenda", agenda, 401, "unauthenticated", "", "no token", 0},
		{"garbage token", "abc.def.ghi", "citizen-sets-agenda", agenda, 401, "unauthenticated", "", "malformed", 0},
		{"a stranger's key", forged, "citizen-sets-agenda", agenda, 401, "unauthenticated", "", "signature", 0},
		{"expired", expired, "citizen-sets-agenda", agenda, 401, "unauthenticated", "", "expired", time.Hour},
		{"professional sets the agenda", e.token(p.job), "citizen-sets-agenda", agenda, 403, "forbidden", "", "the agenda is the citizen's own words", 0},
		{"stranger's token on the meeting", e.token(p.stranger), "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.sister.ID, "name": "x", "kind": "network"}, 404, "not_found", "", "does not exist", 0},
		{"evaluator", e.token(p.evaluator), "cancel-meeting", map[string]any{"meeting_id": m}, 403, "forbidden", "", "give no meeting commands", 0},
		{"support person of another citizen", e.token(otherSupport), "cancel-meeting", map[string]any{"meeting_id": m}, 404, "not_found", "", "does not exist", 0},
		{"support person without a mandate", e.token(domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: p.citizen.ID}), "cancel-meeting", map[string]any{"meeting_id": m}, 403, "forbidden", "", "have not given you a mandate", 0},
		{"no such meeting", cit, "cancel-meeting", map[string]any{"meeting_id": uuid.New()}, 404, "not_found", "", "does not exist", 0},
		{"conflict", cit, "close-meeting", map[string]any{"meeting_id": m}, 409, "conflict", "", "only a held meeting", 0},
		{"malformed JSON", cit, "cancel-meeting", `{"meeting_id":`, 400, "invalid", "body", "", 0},
		{"unknown field", cit, "cancel-meeting", `{"meeting_id":"` + m.String() + `","cpr":"0101011234"}`, 400, "invalid", "cpr", "not a field", 0},
		{"unknown command", cit, "delete-meeting", `{}`, 400, "invalid", "command", "unknown command", 0},
		{"bad uuid", cit, "cancel-meeting", `{"meeting_id":"42"}`, 400, "invalid", "meeting_id", "UUID", 0},
		{"bad time", cit, "schedule-meeting", `{"meeting_id":"` + m.String() + `","at":"i morgen","place":"home"}`, 400, "invalid", "at", "RFC 3339", 0},
		{"over-long field", cit, "cancel-meeting", map[string]any{"meeting_id": m, "reason": strings.Repeat("ø", 1001)}, 400, "invalid", "reason", "at most 1000", 0},
		{"missing field", cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.sister.ID, "kind": "network"}, 400, "invalid", "name", "missing", 0},
		{"too large", cit, "cancel-meeting", `{"meeting_id":"` + m.String() + `","reason":"` + strings.Repeat("x", httpapi.MaxBody) + `"}`, 413, "too_large", "body", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.later > 0 {
				defer e.clock.Set(e.clock.Now())
				e.clock.Set(e.clock.Now().Add(tc.later))
			}
			a := e.post(tc.token, tc.cmd, uuid.New(), tc.body)
			if a.status != tc.status || a.err.Kind != tc.kind || a.err.Field != tc.field || !strings.Contains(a.err.Message, tc.msg) {
				t.Fatalf("got %d %+v, want %d %s field %q message containing %q", a.status, a.err, tc.status, tc.kind, tc.field, tc.msg)
			}
		})
	}
	if after, _ := e.store.LastSeq(context.Background()); after != before {
		t.Fatalf("refused commands wrote to the log: sequence %d → %d", before, after)
	}
	metrics := e.scrape()
	for _, want := range []string{
		`aabendialog_commands_total{command="citizen-sets-agenda",outcome="forbidden"} 1`,
		`aabendialog_commands_total{command="cancel-meeting",outcome="not_found"} 2`,
		`aabendialog_command_duration_seconds_count{command="convene-meeting"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// scrape reads the metrics from their own listener.
func (e *env) scrape() string {
	e.t.Helper()
	resp, err := http.Get(e.metricsHTTP.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func (e *env) get(path string) string {
	e.t.Helper()
	resp, err := http.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func TestSameCommandIDWritesOnce(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	cit := e.token(p.citizen)
	e.grant(p.support)
	m := uuid.New()
	e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	id := uuid.Must(uuid.NewV7())
	body := map[string]any{"meeting_id": m, "items": []string{"Bolig"}}
	first := e.post(cit, "citizen-sets-agenda", id, body)
	// Someone else changes the meeting in between; the retry still gets the first answer.
	e.ok(cit, "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"Noget andet"}})
	last, _ := e.store.LastSeq(context.Background())
	again := e.post(cit, "citizen-sets-agenda", id, body)
	if first.status != 200 || again.status != 200 || again.reply.Sequence != first.reply.Sequence || !again.reply.Duplicate || first.reply.Duplicate {
		t.Fatalf("first %d %+v, again %d %+v", first.status, first.reply, again.status, again.reply)
	}
	if string(again.reply.Events[0].Data) != string(first.reply.Events[0].Data) {
		t.Fatalf("events differ: %s vs %s", again.reply.Events[0].Data, first.reply.Events[0].Data)
	}
	if now, _ := e.store.LastSeq(context.Background()); now != last {
		t.Fatalf("the retry wrote: sequence %d → %d", last, now)
	}
	// The same id for another command, or from another person, is refused.
	if a := e.post(cit, "cancel-meeting", id, map[string]any{"meeting_id": m}); a.status != 409 {
		t.Fatalf("same id, other command: got %d %+v, want 409", a.status, a.err)
	}
	if a := e.post(e.token(p.support), "citizen-sets-agenda", id, body); a.status != 409 {
		t.Fatalf("same id, other person: got %d %+v, want 409", a.status, a.err)
	}
	// The same person's id on another meeting is refused too (within the duplicate window), and
	// nothing is written; another person's same id on their own meeting is their own command.
	m2 := uuid.New()
	e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m2, "citizen_id": p.citizen.ID})
	last, _ = e.store.LastSeq(context.Background())
	if a := e.post(cit, "citizen-sets-agenda", id, map[string]any{"meeting_id": m2, "items": []string{"Bolig"}}); a.status != 409 || a.err.Kind != "conflict" {
		t.Fatalf("same id, same person, another meeting: got %d %+v, want 409", a.status, a.err)
	}
	if now, _ := e.store.LastSeq(context.Background()); now != last {
		t.Fatalf("the same id on another meeting wrote a second command: sequence %d → %d", last, now)
	}
	other := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	m3 := uuid.New()
	e.ok(e.token(other), "convene-meeting", map[string]any{"meeting_id": m3, "citizen_id": other.ID})
	if a := e.post(e.token(other), "citizen-sets-agenda", id, map[string]any{"meeting_id": m3, "items": []string{"Bolig"}}); a.status != 200 || a.reply.Duplicate {
		t.Fatalf("another person's same id on their own meeting: got %d %+v, want a new command", a.status, a.err)
	}
	if a := e.post(cit, "citizen-sets-agenda", uuid.Nil, body); a.status != 200 || a.reply.Duplicate {
		t.Fatalf("no id: got %d %+v, want a new command", a.status, a.reply)
	}
	if a := e.post(cit, "citizen-sets-agenda", uuid.Nil, body); a.status != 200 {
		t.Fatal(a.err)
	}
}

func TestBadIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/commands/convene-meeting",
		strings.NewReader(fmt.Sprintf(`{"meeting_id":"%s","citizen_id":"%s"}`, uuid.New(), p.citizen.ID)))
	req.Header.Set("Authorization", "Bearer "+e.token(p.citizen))
	req.Header.Set(httpapi.HeaderIdempotencyKey, "twice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("got %d, want 400", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/commands/convene-meeting", strings.NewReader(`x`))
	req.Header.Set("Authorization", "Bearer "+e.token(p.citizen))
	req.Header.Set("Content-Type", "text/plain")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: got %d, want 415", resp.StatusCode)
	}
}

// TestConcurrentCommandsOnOneMeeting invites 12 people to one meeting at once: every invitation
// lands (conflicts are decided again, up to eight times), none twice.
func TestConcurrentCommandsOnOneMeeting(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	cit := e.token(p.citizen)
	m := uuid.New()
	e.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := e.post(cit, "invite-participant", uuid.New(), map[string]any{"meeting_id": m, "participant_id": uuid.New(), "name": fmt.Sprintf("Person %d", i), "kind": "network"})
			if a.status != 200 {
				errs <- fmt.Sprintf("%d %+v", a.status, a.err)
			} else if a.reply.Duplicate {
				errs <- fmt.Sprintf("person %d answered as a duplicate at %d", i, a.reply.Sequence)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	l, err := e.store.Load(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Meeting.Participants()); got != n || l.Meeting.Commits() != n+1 {
		t.Fatalf("got %d participants in %d commits, want %d in %d", got, l.Meeting.Commits(), n, n+1)
	}
	if !strings.Contains(e.scrape(), "aabendialog_append_conflicts_total") {
		t.Error("no conflicts metric")
	}
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	served := e.get("/api/v1/openapi.json")
	doc, err := openapi3.NewLoader().LoadFromData([]byte(served))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range e.api.Routes() {
		key := r.Method + " " + r.Path
		if !documented[key] {
			t.Errorf("%s is served but not documented", key)
		}
		delete(documented, key)
		// Every route answers (not the catch-all 404).
		req, _ := http.NewRequest(r.Method, e.http.URL+r.Path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s is documented but answers %d", key, resp.StatusCode)
		}
	}
	for key := range documented {
		t.Errorf("%s is documented but not served", key)
	}
	if len(e.api.Routes()) != 4+len(domain.CommandNames()) { // with sign-out; /metrics has a listener of its own
		t.Errorf("routes: %v", e.api.Routes())
	}
	if e.get("/healthz") == "" || !strings.Contains(e.get("/readyz"), "ready") {
		t.Error("health or readiness")
	}
}

// TestReadyzSaysLittleToStrangers: a server that is not ready says so to anyone, and why only to
// an administrator.
func TestReadyzSaysLittleToStrangers(t *testing.T) {
	e := newEnv(t)
	api := httptest.NewServer((&httpapi.API{Service: e.service, Verifier: e.verify, Log: e.api.Log, NewID: uuid.New,
		Ready: func(context.Context) error {
			return errors.New("read model meetings stopped: disk I/O error at /srv/data")
		}}).Handler())
	defer api.Close()
	ask := func(token string) (int, string) {
		req, _ := http.NewRequest("GET", api.URL+"/readyz", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	p := newCast()
	for name, tok := range map[string]string{"anonymous": "", "citizen": e.token(p.citizen), "forged": "not-a-token"} {
		status, body := ask(tok)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "not ready") || strings.Contains(body, "disk") || strings.Contains(body, "meetings") {
			t.Errorf("%s: %d %s, want 503 saying only not ready", name, status, body)
		}
	}
	status, body := ask(e.token(domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}))
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "disk I/O error") {
		t.Errorf("admin: %d %s, want 503 with the reason", status, body)
	}
}

func TestVerifiedTokenStillExpires(t *testing.T) {
	e := newEnv(t)
	p := newCast()
	tok, err := e.signer.Issue(p.citizen, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := e.verify.Actor(tok); err != nil || a.ID != p.citizen.ID {
		t.Fatalf("fresh token: %v %v", a, err)
	}
	e.clock.Set(e.clock.Now().Add(2 * time.Minute))
	if _, err := e.verify.Actor(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token after it was verified once: got %v, want expired", err)
	}
}
