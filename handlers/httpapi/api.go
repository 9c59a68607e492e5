// Package httpapi is the JSON API under /api/v1: commands, queries, replay and evaluation, the
// read models' status and rebuild, health and readiness, the OpenAPI document that describes
// it, and the Go client the CLI uses.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// Commander carries out a command for an actor: the command service.
type Commander interface {
	Handle(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command) (command.Reply, error)
}

// Querier answers a read-model query by name: the query service.
type Querier interface {
	Do(ctx context.Context, a domain.Actor, name string, p url.Values) (any, error)
}

// Verifier says who a bearer token belongs to, and signs tokens out.
type Verifier interface {
	Actor(token string) (domain.Actor, error)
	Revoke(ctx context.Context, token string) error
	// CanRevoke reports whether tokens can be signed out (a revocation list is open).
	CanRevoke() bool
}

// Replayer replays histories for an actor.
type Replayer interface {
	Replay(ctx context.Context, a domain.Actor, q evaluation.ReplayQuery) (evaluation.Replay, error)
}

// Evaluator computes the Open Dialogue indicators for an actor.
type Evaluator interface {
	Evaluate(ctx context.Context, a domain.Actor, f projections.ServicesFilter, after uint64) (projections.Evaluation, error)
}

// ReadModel is a read model an administrator can look at and rebuild.
type ReadModel interface {
	Name() string
	Status() projections.Status
	Rebuild(ctx context.Context, progress func(done, total uint64)) (uint64, error)
}

// Counter counts HTTP requests by route and status code.
type Counter interface {
	Counted(route string, h http.Handler) http.Handler
}

// API is the HTTP interface: commands under /api/v1, the OpenAPI document, health and
// readiness.
type API struct {
	Service  Commander
	Verifier Verifier
	Metrics  Counter
	Log      *slog.Logger
	NewID    func() uuid.UUID
	// Ready reports whether the service can answer: the log is reachable and the read models
	// have caught up. nil means always ready.
	Ready func(ctx context.Context) error
	// Queries answers the read-model queries; nil leaves them out.
	Queries Querier
	// Evaluator computes the indicators; nil leaves them out.
	Evaluator Evaluator
	// ReadModels are the projectors, for their status and rebuild (administrators only).
	ReadModels []ReadModel
	// Replayer replays histories; nil leaves replay and evaluation out.
	Replayer Replayer
	// Directory is the staff directory (professionals who signed in through the staff
	// provider); nil leaves GET /api/v1/directory out.
	Directory Directory
	// Access checks a support actor's mandate and logs reads done outside the queries (replay)
	// before they are answered (query.Reads); nil logs nothing.
	Access AccessRecorder

	rebuilds sync.Map // projection name -> *rebuildProgress
}

// AccessRecorder logs a read of citizens' data by a before it is answered (query.Reads.Record),
// and gives a support actor's standing mandate, for a replay to keep to what it covers
// (query.Reads.Mandate).
type AccessRecorder interface {
	Record(ctx context.Context, a domain.Actor, what string, meeting uuid.UUID, criteria map[string]string, citizens ...uuid.UUID) error
	Mandate(ctx context.Context, a domain.Actor) (domain.Mandate, error)
}

// Route is one method and path the API serves.
type Route struct{ Method, Path string }

// Routes lists what the API serves, for the OpenAPI document and its test.
func (a *API) Routes() []Route {
	rs := []Route{{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/api/v1/openapi.json"}}
	for _, n := range domain.CommandNames() {
		rs = append(rs, Route{"POST", "/api/v1/commands/" + n})
	}
	if a.Queries != nil {
		for _, n := range query.Names() {
			rs = append(rs, Route{"GET", "/api/v1/" + n})
		}
	}
	if a.Replayer != nil {
		rs = append(rs, Route{"GET", "/api/v1/replay"}, Route{"GET", "/api/v1/evaluation/replay"})
	}
	if a.Evaluator != nil {
		rs = append(rs, Route{"GET", "/api/v1/evaluation/indicators"})
	}
	if a.Verifier != nil && a.Verifier.CanRevoke() {
		rs = append(rs, Route{"POST", "/api/v1/sign-out"})
	}
	if a.Directory != nil {
		rs = append(rs, Route{"GET", "/api/v1/directory"})
	}
	if len(a.ReadModels) > 0 {
		rs = append(rs, Route{"GET", "/api/v1/read-models"})
		for _, p := range a.ReadModels {
			rs = append(rs, Route{"POST", "/api/v1/read-models/" + p.Name() + "/rebuild"})
		}
	}
	return rs
}

// Handler returns the HTTP handler.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/commands/{name}", a.counted("command", http.HandlerFunc(a.command)))
	mux.Handle("GET /api/v1/openapi.json", a.counted("openapi", http.HandlerFunc(a.openAPI)))
	if a.Queries != nil {
		for _, n := range query.Names() {
			mux.Handle("GET /api/v1/"+n, a.counted(n, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.SetPathValue("query", n)
				a.query(w, r)
			})))
		}
	}
	if a.Replayer != nil {
		mux.Handle("GET /api/v1/replay", a.counted("replay", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.replay(w, r, false) })))
		mux.Handle("GET /api/v1/evaluation/replay", a.counted("evaluation-replay", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.replay(w, r, true) })))
	}
	if a.Evaluator != nil {
		mux.Handle("GET /api/v1/evaluation/indicators", a.counted("evaluation-indicators", http.HandlerFunc(a.indicators)))
	}
	if a.Verifier != nil && a.Verifier.CanRevoke() {
		mux.Handle("POST /api/v1/sign-out", a.counted("sign-out", http.HandlerFunc(a.signOut)))
	}
	if len(a.ReadModels) > 0 {
		mux.Handle("GET /api/v1/read-models", a.counted("read-models", http.HandlerFunc(a.readModels)))
		mux.Handle("POST /api/v1/read-models/{name}/rebuild", a.counted("rebuild", http.HandlerFunc(a.rebuild)))
	}
	if a.Directory != nil {
		mux.Handle("GET /api/v1/directory", a.counted("directory", http.HandlerFunc(a.directory)))
	}
	mux.Handle("GET /healthz", a.counted("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", a.counted("readyz", http.HandlerFunc(a.readyz)))
	unknown := a.counted("unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, command.ErrorBody{Error: command.ErrorDetail{Kind: "not_found", Message: "no such page: " + r.Method + " " + r.URL.Path + "; see /api/v1/openapi.json"}})
	}))
	mux.Handle("/", unknown)
	return mux
}

func (a *API) counted(route string, h http.Handler) http.Handler {
	if a.Metrics == nil {
		return h
	}
	return a.Metrics.Counted(route, h)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := command.Status(err)
	if status >= 500 && body.Error.Field == "" { // not a read model that is still catching up
		a.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, body)
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Ready(ctx); err != nil {
			// Whoever reaches the port learns only that it is not ready: the reason names read
			// models and errors, which is for administrators (and /api/v1/read-models).
			body := map[string]string{"status": "not ready"}
			if a.Verifier != nil {
				if actor, verr := a.Verifier.Actor(auth.BearerToken(r.Header.Get("Authorization"))); verr == nil && actor.Role == domain.RoleAdmin {
					body["reason"] = err.Error()
				}
			}
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPIDocument(a.Routes()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// signOut revokes the bearer token everywhere until it would have expired.
func (a *API) signOut(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.actor(w, r); !ok {
		return
	}
	if err := a.Verifier.Revoke(r.Context(), auth.BearerToken(r.Header.Get("Authorization"))); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// actor says who is asking, or answers 401 and returns false.
func (a *API) actor(w http.ResponseWriter, r *http.Request) (domain.Actor, bool) {
	actor, err := a.Verifier.Actor(auth.BearerToken(r.Header.Get("Authorization")))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="aabendialog"`)
		a.fail(w, r, err)
		return domain.Actor{}, false
	}
	return actor, true
}

// Directory lists the professionals who have signed in through the staff provider.
type Directory interface {
	Professionals(service string) []auth.Profile
}

// DirectoryEntry is a professional as the directory shows them: whom to invite, no e-mail.
type DirectoryEntry struct {
	PersonID uuid.UUID `json:"person_id"`
	Name     string    `json:"name"`
	Service  string    `json:"service"`
}

// directory answers GET /api/v1/directory?service=: for anyone signed in, since a citizen (or
// their support person) picks whom to invite from it.
func (a *API) directory(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.actor(w, r); !ok {
		return
	}
	for k := range r.URL.Query() {
		if k != "service" && k != "after" {
			a.fail(w, r, domain.FieldErrorf(k, "unknown parameter; the directory takes service"))
			return
		}
	}
	out := []DirectoryEntry{}
	for _, p := range a.Directory.Professionals(r.URL.Query().Get("service")) {
		out = append(out, DirectoryEntry{PersonID: p.Person, Name: p.Name, Service: p.Service})
	}
	writeJSON(w, http.StatusOK, out)
}
