package handlers_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/internal/testnode"
	"github.com/aabendialog/aabendialog/projections"
)

// clock is a settable clock, so tests can schedule a meeting and then hold it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// env is a real embedded node with the log, the command service, the HTTP API on a test server,
// the metrics on another (as serve has them on an address of their own) and the NATS command
// router.
type env struct {
	t           testing.TB
	node        *eventstore.Node
	nc          *nats.Conn
	store       *eventstore.Store
	service     *command.Service
	citizens    *eventstore.Citizens
	access      *accesslog.Log
	metrics     *metrics.Metrics
	signer      *auth.Signer
	verify      *auth.Verifier
	clock       *clock
	api         *httpapi.API
	http        *httptest.Server
	metricsHTTP *httptest.Server
	router      routers.Router // the OpenAPI document's routes, to check requests and replies
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv on a node started with opts besides, such as users and passwords.
func newEnvWith(t testing.TB, opts ...testnode.Option) *env {
	t.Helper()
	tn := testnode.Start(t, append([]testnode.Option{testnode.Fsync(eventstore.FsyncAlways), testnode.TCP()}, opts...)...)
	nd, nc, store := tn.Node, tn.Conn, tn.Store
	var err error
	_, key, _ := ed25519.GenerateKey(nil)
	e := &env{t: t, node: nd, nc: nc, store: store, clock: &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}, metrics: metrics.New()}
	e.signer = auth.NewSigner(key, e.clock.Now)
	e.service = command.New(store, e.clock.Now, e.metrics)
	if e.citizens, err = eventstore.OpenCitizens(context.Background(), nc, 1); err != nil {
		t.Fatal(err)
	}
	e.service.Citizens = e.citizens
	if e.access, err = accesslog.Open(context.Background(), nc, 1, accesslog.DefaultRetention, e.clock.Now); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.verify = auth.NewVerifier(key.Public(), auth.TokenIssuer, auth.TokenAudience, e.clock.Now)
	e.api = &httpapi.API{Service: e.service, Verifier: e.verify,
		Metrics: e.metrics, Log: log, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) },
		Ready: func(ctx context.Context) error { _, err := store.LastSeq(ctx); return err }}
	rctx, rcancel := context.WithCancel(context.Background())
	t.Cleanup(rcancel)
	if e.verify.Revocations, err = auth.OpenRevocations(rctx, store.JetStream(), 1, e.clock.Now, log); err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.http.Close)
	metricsMux := http.NewServeMux() // as serve has them: on a listener of their own
	metricsMux.Handle("GET /metrics", e.metrics.Handler())
	e.metricsHTTP = httptest.NewServer(metricsMux)
	t.Cleanup(e.metricsHTTP.Close)

	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument(e.api.Routes()))
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: e.http.URL}}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

// startRouter runs a command router on its own connection and service, as another server
// process would.
func (e *env) startRouter(metrics *metrics.Metrics) {
	e.t.Helper()
	nc, err := e.node.ConnectTCP() // with the service's user, when the node has one
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	svc := command.New(e.store, e.clock.Now, metrics)
	svc.Citizens = e.citizens
	r, err := natsrpc.NewCommandRouter(nc, svc, e.verify, func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, e.api.Log, natsrpc.RouterConfig{})
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(context.Background()) }()
	<-r.Running()
	e.t.Cleanup(func() { _ = r.Close(); <-done })
}

// reads is the read side as serve wires it: mandates checked by the command service, reads
// written to the access log.
func (e *env) reads(q *projections.Queries) *query.Reads {
	return &query.Reads{Queries: q, Mandates: e.service, Access: e.access, AccessEntries: e.access}
}

// grant records that the citizen gave the support actor a mandate, as the citizen does.
func (e *env) grant(support domain.Actor) {
	e.t.Helper()
	citizen := domain.Actor{ID: support.OnBehalfOf, Role: domain.RoleCitizen}
	if _, err := e.service.Handle(context.Background(), citizen, uuid.New(), &domain.GrantMandate{Person: support.ID, Kind: domain.MandateSupport}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) token(a domain.Actor) string {
	e.t.Helper()
	tok, err := e.signer.Issue(a, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// answer is an HTTP answer: its status, its reply when 200, its error otherwise.
type answer struct {
	status int
	reply  command.Reply
	err    command.ErrorDetail
	raw    []byte
}

// post sends a command over HTTP and checks both the request and the answer against the
// OpenAPI document.
func (e *env) post(token, name string, id uuid.UUID, body any) answer {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/commands/"+name, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if id != uuid.Nil {
		req.Header.Set(httpapi.HeaderIdempotencyKey, id.String())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a.reply); err != nil {
			e.t.Fatalf("reply %s: %v", raw, err)
		}
	} else {
		var eb command.ErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil {
			e.t.Fatalf("error body %s: %v", raw, err)
		}
		a.err = eb.Error
	}
	e.checkDoc(req, b, resp, raw)
	return a
}

// checkDoc validates a request the document says is well formed, and every answer, against the
// OpenAPI document. Requests the server refuses as malformed are not checked (the document
// refuses them too).
func (e *env) checkDoc(req *http.Request, body []byte, resp *http.Response, raw []byte) {
	e.t.Helper()
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusOK {
			e.t.Fatalf("%s %s answered 200 but is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if resp.StatusCode == http.StatusOK {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.t.Fatalf("the server accepted a request the document refuses: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(raw))}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Fatalf("answer %d does not match the OpenAPI document: %v\n%s", resp.StatusCode, err, raw)
	}
}

func (e *env) ok(token, name string, body any) command.Reply {
	e.t.Helper()
	a := e.post(token, name, uuid.Must(uuid.NewV7()), body)
	if a.status != http.StatusOK {
		e.t.Fatalf("%s: got %d %+v, want 200", name, a.status, a.err)
	}
	return a.reply
}
