package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// queryEnv is env with the read models, and the queries over HTTP (with the OpenAPI document
// that describes them) and NATS, as serve wires them, with k = minGroup.
type queryEnv struct {
	*env
	queries *projections.Queries
	models  []*projections.Projector
	api     *httptest.Server
	doc     *openapi3.T
}

func newQueryEnv(t *testing.T, minGroup int) *queryEnv {
	t.Helper()
	e := newEnv(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	models := e.readModels(log)
	q := &projections.Queries{MeetingsModel: models[0], ServicesModel: models[1], Now: e.clock.Now, MinGroup: minGroup}
	qs := &query.Service{Reads: e.reads(q)}
	api := &httpapi.API{Service: e.service, Verifier: e.verify, Metrics: e.metrics, Log: log, Queries: qs,
		NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	w := &queryEnv{env: e, queries: q, models: models, api: httptest.NewServer(api.Handler())}
	t.Cleanup(w.api.Close)
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument(api.Routes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document with the queries: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: w.api.URL}}
	w.doc = doc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = natsrpc.ServeQueries(ctx, e.nc, qs, e.verify, log) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// servicesOverHTTP asks for the services report over HTTP and checks the answer against the
// OpenAPI document.
func (w *queryEnv) servicesOverHTTP(a domain.Actor, params string) (int, []byte) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.api.URL+"/api/v1/services?"+params, nil)
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
		w.t.Fatalf("GET /api/v1/services is not in the OpenAPI document: %v", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw))}); err != nil {
		w.t.Fatalf("the services report does not match the OpenAPI document: %v\n%s", err, raw)
	}
	return resp.StatusCode, raw
}

// servicesOverNATS asks for the services report on dialog.query.services.
func (w *queryEnv) servicesOverNATS(a domain.Actor, params map[string]any) (int, []byte) {
	w.t.Helper()
	b, _ := json.Marshal(params)
	msg := &nats.Msg{Subject: natsrpc.QuerySubjectPrefix + "services", Data: b, Header: nats.Header{}}
	msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+w.token(a))
	resp, err := w.nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	status, _ := strconv.Atoi(resp.Header.Get(natsrpc.HeaderStatus))
	return status, resp.Data
}

// TestServicesReportKeepsOtherMeetingsFromAProfessional: a professional invited to meeting A of
// a citizen does not learn over HTTP or NATS of the citizen's meeting B with the addiction
// service: not its id, not its day, not a pair of their services; an evaluator gets no meeting
// id and no figure of a group of fewer than k citizens, and is told which cells are suppressed.
func TestServicesReportKeepsOtherMeetingsFromAProfessional(t *testing.T) {
	w := newQueryEnv(t, 2)
	p := newCast()
	addiction := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Misbrugscenter"}
	a, b := uuid.New(), uuid.New()
	invite := func(c domain.Actor, m uuid.UUID, pro domain.Actor) {
		w.ok(w.token(c), "invite-participant", map[string]any{"meeting_id": m, "participant_id": pro.ID, "name": "N", "kind": "professional", "service": pro.Service})
	}
	convene := func(c domain.Actor, m uuid.UUID) {
		w.ok(w.token(c), "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": c.ID})
	}
	convene(p.citizen, a)
	invite(p.citizen, a, p.job)
	w.clock.Set(w.clock.Now().AddDate(0, 2, 0)) // meeting B in another month
	convene(p.citizen, b)
	invite(p.citizen, b, addiction)
	// Two more citizens: Jobcenter and Børn og Familie meet two citizens each (shown with
	// k = 2), and one citizen both (a pair of one: suppressed).
	c2, c3 := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}, domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	m2, m3 := uuid.New(), uuid.New()
	convene(c2, m2)
	invite(c2, m2, p.job)
	invite(c2, m2, p.child)
	convene(c3, m3)
	invite(c3, m3, p.child)
	last, err := w.store.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := fmt.Sprint(last)

	for name, ask := range map[string]func(a domain.Actor) (int, []byte){
		"HTTP": func(a domain.Actor) (int, []byte) { return w.servicesOverHTTP(a, "after="+after) },
		"NATS": func(a domain.Actor) (int, []byte) { return w.servicesOverNATS(a, map[string]any{"after": last}) },
	} {
		status, raw := ask(p.job)
		var r projections.ServicesReport
		if status != 200 || json.Unmarshal(raw, &r) != nil {
			t.Fatalf("%s: %d %s", name, status, raw)
		}
		if strings.Contains(string(raw), b.String()) || strings.Contains(string(raw), p.citizen.ID.String()) {
			t.Fatalf("%s: the professional of meeting A learns of meeting B: %s", name, raw)
		}
		mine := map[uuid.UUID]bool{}
		for _, m := range r.PerMeeting {
			mine[m.MeetingID] = true
		}
		if len(mine) != 2 || !mine[a] || !mine[m2] {
			t.Fatalf("%s: the professional sees the rows of %v, want those of A and of the second citizen's meeting: %s", name, mine, raw)
		}
		for _, pair := range r.Together {
			if pair.A == "Misbrugscenter" || pair.B == "Misbrugscenter" {
				t.Fatalf("%s: a pair with the addiction service met by one citizen is listed: %s", name, raw)
			}
		}
		for _, s := range r.PerService {
			if s.Service == "Misbrugscenter" && (!s.Suppressed || s.Citizens != nil) {
				t.Fatalf("%s: a service of one citizen shows figures: %s", name, raw)
			}
		}

		// A professional of no meeting gets no rows.
		status, raw = ask(p.stranger)
		if status != 200 || strings.Contains(string(raw), "per_meeting") {
			t.Fatalf("%s: a professional of no meeting: %d %s", name, status, raw)
		}

		// The evaluator: aggregates only, small groups suppressed and saying so.
		status, raw = ask(p.evaluator)
		if status != 200 || json.Unmarshal(raw, &r) != nil {
			t.Fatalf("%s: evaluator: %d %s", name, status, raw)
		}
		for _, id := range []uuid.UUID{a, b, m2, m3, p.citizen.ID, c2.ID, c3.ID, p.job.ID} {
			if strings.Contains(string(raw), id.String()) {
				t.Fatalf("%s: the evaluator's report holds the id %s: %s", name, id, raw)
			}
		}
		if strings.Contains(string(raw), "meeting_id") || strings.Contains(string(raw), "convened_on") || r.MinGroup != 2 {
			t.Fatalf("%s: the evaluator's report has per-meeting rows or the wrong k: %s", name, raw)
		}
		want := `{"min_group":2,"per_service":[` +
			`{"service":"Center for Børn og Familie","suppressed":false,"meetings":2,"citizens":2,"invited":2,"accepted":0,"attended":0},` +
			`{"service":"Jobcenter","suppressed":false,"meetings":2,"citizens":2,"invited":2,"accepted":0,"attended":0},` +
			`{"service":"Misbrugscenter","suppressed":true}],` +
			`"together":[{"a":"Center for Børn og Familie","b":"Jobcenter","suppressed":true}]}`
		if got := strings.TrimSpace(string(raw)); got != want {
			t.Fatalf("%s: the evaluator's report\n%s\nwant\n%s", name, got, want)
		}
	}
	// A day is not a period.
	if status, raw := w.servicesOverHTTP(p.evaluator, "period=2026-11-02"); status != 400 || !strings.Contains(string(raw), `"field":"period"`) {
		t.Fatalf("a day as the period: %d %s", status, raw)
	}
	if status, raw := w.servicesOverNATS(p.evaluator, map[string]any{"from": "2026-11-01"}); status != 400 || !strings.Contains(string(raw), `"field":"from"`) {
		t.Fatalf("from over NATS: %d %s", status, raw)
	}
	// The period of meeting B alone: the professional of A gets no rows of it.
	status, raw := w.servicesOverHTTP(p.job, "period="+w.clock.Now().Format("2006-01"))
	if status != 200 || strings.Contains(string(raw), b.String()) || strings.Contains(string(raw), a.String()) {
		t.Fatalf("the professional of A, for the month of B: %d %s", status, raw)
	}
}
