package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// getAPI asks the API for path as a, checks the answer against the OpenAPI document, and
// returns the status and body.
func (w *queryEnv) getAPI(a domain.Actor, path string) (int, []byte) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.api.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.token(a))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	router, err := legacy.NewRouter(w.doc)
	if err != nil {
		w.t.Fatal(err)
	}
	route, pathParams, err := router.FindRoute(req)
	if err != nil {
		w.t.Fatalf("GET %s is not in the OpenAPI document: %v", path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw))}); err != nil {
		w.t.Fatalf("GET %s does not match the OpenAPI document: %v\n%s", path, err, raw)
	}
	return resp.StatusCode, raw
}

func (w *queryEnv) natsCommand(a domain.Actor, name string, body any) (int, []byte) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	msg := &nats.Msg{Subject: natsrpc.CommandSubjectPrefix + name, Data: b, Header: nats.Header{}}
	msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+w.token(a))
	resp, err := w.nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	status, _ := strconv.Atoi(resp.Header.Get(natsrpc.HeaderStatus))
	return status, resp.Data
}

// TestSupportTokenNeedsAStandingMandate: a support token is refused, on commands (HTTP and
// NATS) and on reads, without a mandate, after it is revoked and past its last day; honoured
// while it stands, and its actions are recorded as done on the citizen's behalf.
func TestSupportTokenNeedsAStandingMandate(t *testing.T) {
	w := newQueryEnv(t, 5)
	w.startRouter(metrics.New())
	p := newCast()
	cit := w.token(p.citizen)
	m := uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	agenda := map[string]any{"meeting_id": m, "items": []string{"Bolig"}}
	history := "/api/v1/history?citizen=" + p.citizen.ID.String()

	refused := func(stage, msg string) {
		t.Helper()
		if a := w.post(w.token(p.support), "citizen-sets-agenda", uuid.New(), agenda); a.status != 403 || !strings.Contains(a.err.Message, msg) {
			t.Fatalf("%s: command over HTTP got %d %+v, want 403 saying %q", stage, a.status, a.err, msg)
		}
		if st, body := w.natsCommand(p.support, "citizen-sets-agenda", agenda); st != 403 || !strings.Contains(string(body), msg) {
			t.Fatalf("%s: command over NATS got %d %s", stage, st, body)
		}
		if st, body := w.getAPI(p.support, history); st != 403 || !strings.Contains(string(body), msg) {
			t.Fatalf("%s: history got %d %s, want 403", stage, st, body)
		}
		if st, body := w.getAPI(p.support, "/api/v1/access-log"); st != 403 {
			t.Fatalf("%s: access log got %d %s, want 403", stage, st, body)
		}
	}
	refused("no mandate", "have not given you a mandate")

	r := w.ok(cit, "grant-mandate", map[string]any{"person_id": p.support.ID, "kind": "support", "name": "Bo", "until": "2026-11-30"})
	if r.CitizenID != p.citizen.ID || r.Events[0].Type != domain.TypeMandateGranted || !strings.Contains(string(r.Events[0].Data), `"evidence":"citizen_sign_in"`) {
		t.Fatalf("grant reply %+v %s", r, r.Events[0].Data)
	}
	last := w.ok(w.token(p.support), "citizen-sets-agenda", agenda)
	if st, body := w.natsCommand(p.support, "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"Arbejde"}}); st != 200 {
		t.Fatalf("with a mandate over NATS: %d %s", st, body)
	}
	l, err := w.store.Load(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Meeting.Agenda(); len(got) != 1 || got[0] != "Arbejde" {
		t.Fatalf("agenda %v", got)
	}
	rec, err := w.store.CommitAt(context.Background(), last.Sequence)
	if err != nil || rec.Commit.Actor.OnBehalfOf != p.citizen.ID || rec.Commit.Actor.ID != p.support.ID {
		t.Fatalf("the support person's commit records %+v, %v; want them acting on the citizen's behalf", rec.Commit.Actor, err)
	}
	if st, body := w.getAPI(p.support, history+"&after="+itoa(last.Sequence)); st != 200 || !strings.Contains(string(body), m.String()) {
		t.Fatalf("history with a mandate: %d %s", st, body)
	}

	// Past its last day (Danish midnight after 30 November).
	w.clock.Set(time.Date(2026, 11, 30, 23, 0, 1, 0, time.UTC))
	refused("past its last day", "ran out on 2026-11-30")
	w.clock.Set(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))

	w.ok(cit, "revoke-mandate", map[string]any{"person_id": p.support.ID})
	refused("after revocation", "have not given you a mandate")
}

// TestWhoMayGrantAMandate: a professional records a mandate only on a written power of attorney,
// which the event notes; another citizen, a network member and an evaluator cannot; nothing is
// written by a refusal. The mandates survive a rebuild of the read models: they are in the log.
func TestWhoMayGrantAMandate(t *testing.T) {
	w := newQueryEnv(t, 5)
	p := newCast()
	body := map[string]any{"citizen_id": p.citizen.ID, "person_id": p.support.ID, "kind": "representative"}
	for _, tc := range []struct {
		name   string
		actor  domain.Actor
		status int
		msg    string
	}{
		{"a professional without a power of attorney", p.job, 403, "written power of attorney"},
		{"another citizen", domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}, 403, "only for themself"},
		{"a network member", p.sister, 403, "only the citizen"},
		{"an evaluator", p.evaluator, 403, "evaluators give no commands"},
		{"the support person for themself", p.support, 403, "have not given you a mandate"},
	} {
		if a := w.post(w.token(tc.actor), "grant-mandate", uuid.New(), body); a.status != tc.status || !strings.Contains(a.err.Message, tc.msg) {
			t.Errorf("%s: got %d %+v, want %d saying %q", tc.name, a.status, a.err, tc.status, tc.msg)
		}
	}
	if l, err := w.citizens.Load(context.Background(), p.citizen.ID); err != nil || l.Seq != 0 {
		t.Fatalf("refusals wrote to the citizen's log: %+v %v", l, err)
	}
	body["document"] = "J.nr. 27.12.00-P20-1-26"
	r := w.ok(w.token(p.job), "grant-mandate", body)
	if !strings.Contains(string(r.Events[0].Data), `"evidence":"power_of_attorney","document":"J.nr. 27.12.00-P20-1-26"`) {
		t.Fatalf("the event does not note the power of attorney: %s", r.Events[0].Data)
	}
	sup := w.token(p.support)
	w.ok(sup, "convene-meeting", map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID})

	// The read models are rebuilt from the log; the mandate is not in them and still stands.
	for _, pr := range w.models {
		if _, err := pr.Rebuild(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := w.citizens.Load(context.Background(), p.citizen.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fresh.Citizen.Mandate(p.support.ID, w.clock.Now()); !ok {
		t.Fatal("the mandate is gone after a rebuild")
	}
	if st, raw := w.getAPI(p.support, "/api/v1/history"); st != 200 {
		t.Fatalf("after a rebuild the support person is refused: %d %s", st, raw)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestAccessLog: a professional's read of the citizen's history is in the citizen's access log
// with role, service and purpose and no name or id of the reader; another citizen, a
// professional and an evaluator cannot read it; an administrator can ask by reader, and that
// question is itself in the log.
func TestAccessLog(t *testing.T) {
	w := newQueryEnv(t, 5)
	p := newCast()
	cit := w.token(p.citizen)
	m := uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	last := w.ok(cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	if st, raw := w.getAPI(p.job, "/api/v1/history?citizen="+p.citizen.ID.String()+"&after="+itoa(last.Sequence)); st != 200 {
		t.Fatalf("history: %d %s", st, raw)
	}
	// The citizen's own reads are not logged.
	if st, raw := w.getAPI(p.citizen, "/api/v1/history"); st != 200 {
		t.Fatalf("history: %d %s", st, raw)
	}
	st, raw := w.getAPI(p.citizen, "/api/v1/access-log")
	var page projections.Paged[query.AccessView]
	if err := json.Unmarshal(raw, &page); st != 200 || err != nil || page.NextCursor != "" {
		t.Fatalf("access log: %d %s %v", st, raw, err)
	}
	got := page.Items
	if len(got) != 1 || got[0].Role != domain.RoleProfessional || got[0].Service != "Jobcenter" || got[0].What != "history" ||
		got[0].Purpose != accesslog.PurposeMeeting || got[0].At.IsZero() || got[0].Name != "" || got[0].ReaderID != uuid.Nil {
		t.Fatalf("the citizen's access log: %+v", got)
	}
	if strings.Contains(string(raw), p.job.ID.String()) {
		t.Fatalf("the reader's id is shown to the citizen: %s", raw)
	}
	for _, tc := range []struct {
		name   string
		actor  domain.Actor
		path   string
		status int
	}{
		{"another citizen", domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}, "/api/v1/access-log?citizen=" + p.citizen.ID.String(), 403},
		{"a professional", p.job, "/api/v1/access-log?citizen=" + p.citizen.ID.String(), 403},
		{"an evaluator", p.evaluator, "/api/v1/access-log?citizen=" + p.citizen.ID.String(), 403},
		{"an evaluator by reader", p.evaluator, "/api/v1/access-log?actor=" + p.job.ID.String(), 403},
		{"the citizen by reader", p.citizen, "/api/v1/access-log?actor=" + p.job.ID.String(), 400},
	} {
		if st, raw := w.getAPI(tc.actor, tc.path); st != tc.status || strings.Contains(string(raw), "Jobcenter") {
			t.Errorf("%s: got %d %s, want %d and nothing of the log", tc.name, st, raw, tc.status)
		}
	}
	admin := domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}
	st, raw = w.getAPI(admin, "/api/v1/access-log?actor="+p.job.ID.String())
	if st != 200 || !strings.Contains(string(raw), `"reader_id":"`+p.job.ID.String()) {
		t.Fatalf("an investigation by reader: %d %s", st, raw)
	}
	byAdmin, err := w.access.Entries(context.Background(), accesslog.Filter{Actor: admin.ID})
	if err != nil || len(byAdmin) != 1 || byAdmin[0].What != "access-log" || byAdmin[0].Criteria["actor"] != p.job.ID.String() || byAdmin[0].Purpose != accesslog.PurposeAdministration {
		t.Fatalf("the investigation is not itself logged: %+v %v", byAdmin, err)
	}
}

// TestStaffReadFailsClosed: when the access log cannot be written, a professional's read is
// refused (503) rather than answered unlogged; the citizen's own read is still answered.
func TestStaffReadFailsClosed(t *testing.T) {
	w := newQueryEnv(t, 5)
	p := newCast()
	cit := w.token(p.citizen)
	m := uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	last := w.ok(cit, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	js := w.store.JetStream()
	if err := js.DeleteStream(context.Background(), accesslog.StreamName); err != nil {
		t.Fatal(err)
	}
	if st, raw := w.getAPI(p.job, "/api/v1/history?citizen="+p.citizen.ID.String()+"&after="+itoa(last.Sequence)); st != 503 || strings.Contains(string(raw), m.String()) {
		t.Fatalf("a professional's read with no access log: %d %s, want 503 and nothing shown", st, raw)
	}
	if st, raw := w.getAPI(p.citizen, "/api/v1/history"); st != 200 || !strings.Contains(string(raw), m.String()) {
		t.Fatalf("the citizen's own read: %d %s", st, raw)
	}
}

// TestBufferedAccessLogFailsClosed: in buffered mode (serve's default) a read is answered once
// its entry is sent; when the log stops storing entries, logged reads are refused from the
// first failed ack on, the citizen's own reads still answered, and once the log is back the
// unstored entry is stored (once) and reads are answered again.
func TestBufferedAccessLogFailsClosed(t *testing.T) {
	w := newQueryEnv(t, 5)
	p := newCast()
	cit := w.token(p.citizen)
	m := uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buf, err := accesslog.Open(ctx, w.nc, 1, accesslog.DefaultRetention, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	buf.Buffered(ctx, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	reads := &query.Reads{Queries: w.queries, Mandates: w.service, Access: buf}
	read := func() error { _, err := reads.History(ctx, p.job, p.citizen.ID, projections.Page{}, 0); return err }
	if err := read(); err != nil {
		t.Fatal(err)
	}
	if err := w.store.JetStream().DeleteStream(ctx, accesslog.StreamName); err != nil {
		t.Fatal(err)
	}
	// Sent before the failure is seen; every read after it is refused.
	refused := 0
	for i := 0; refused == 0; i++ {
		if err := read(); err != nil {
			if !errors.Is(err, accesslog.ErrUnavailable) {
				t.Fatalf("refused with %v, want the access log unavailable", err)
			}
			refused++
		}
		if i > 0 {
			time.Sleep(10 * time.Millisecond) // the ack's failure arrives in the background
		}
	}
	for range 3 {
		if err := read(); !errors.Is(err, accesslog.ErrUnavailable) {
			t.Fatalf("a logged read after the failure: %v, want refused", err)
		}
	}
	if _, err := reads.History(ctx, p.citizen, p.citizen.ID, projections.Page{}, 0); err != nil {
		t.Fatalf("the citizen's own read: %v", err)
	}
	if _, err := accesslog.Open(ctx, w.nc, 1, accesslog.DefaultRetention, w.clock.Now); err != nil {
		t.Fatal(err)
	}
	for read() != nil {
		time.Sleep(10 * time.Millisecond) // the unstored entries are sent again
	}
	got, err := buf.Entries(ctx, accesslog.Filter{Citizen: p.citizen.ID})
	if err != nil || len(got) < 2 {
		t.Fatalf("after the log is back: %d entries, %v; want the unstored ones and the new read", len(got), err)
	}
}
