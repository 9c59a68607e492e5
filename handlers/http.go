package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// MaxBody is the largest request body the API reads. The largest command (30 agenda items of
// 1,000 characters, up to 4 bytes each) fits well within it.
const MaxBody = 256 << 10

// HeaderIdempotencyKey carries the command id over HTTP (a UUID). Without it the server makes
// one, and a retry is then a new command.
const HeaderIdempotencyKey = "Idempotency-Key"

// API is the HTTP interface: commands under /api/v1, the OpenAPI document, health, readiness
// and metrics.
type API struct {
	Service  *CommandService
	Verifier *Verifier
	Metrics  *Metrics
	Log      *slog.Logger
	NewID    func() uuid.UUID
	// Ready reports whether the service can answer: the log is reachable and the read models
	// have caught up. nil means always ready.
	Ready func(ctx context.Context) error
	// Queries answers the read-model queries; nil leaves them out.
	Queries *QueryService
	// ReadModels are the projectors, for their status and rebuild (administrators only).
	ReadModels []*projections.Projector
	// Replayer replays histories; nil leaves replay and evaluation out.
	Replayer *Replayer
	// Pages serves the web pages at /; nil answers every other path with a JSON 404.
	Pages http.Handler

	rebuilds sync.Map // projection name -> *rebuildProgress
}

type rebuildProgress struct {
	mu          sync.Mutex
	Running     bool   `json:"running"`
	Done        uint64 `json:"done"`
	Total       uint64 `json:"total"`
	Error       string `json:"error,omitempty"`
	FinishedSeq uint64 `json:"finished_seq,omitempty"`
}

// Route is one method and path the API serves.
type Route struct{ Method, Path string }

// Routes lists what the API serves, for the OpenAPI document and its test.
func (a *API) Routes() []Route {
	rs := []Route{{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}, {"GET", "/api/v1/openapi.json"}}
	for _, n := range domain.CommandNames() {
		rs = append(rs, Route{"POST", "/api/v1/commands/" + n})
	}
	if a.Queries != nil {
		for _, n := range QueryNames() {
			rs = append(rs, Route{"GET", "/api/v1/" + n})
		}
	}
	if a.Replayer != nil {
		rs = append(rs, Route{"GET", "/api/v1/replay"}, Route{"GET", "/api/v1/evaluation/replay"}, Route{"GET", "/api/v1/evaluation/indicators"})
	}
	if a.Verifier != nil && a.Verifier.Revocations != nil {
		rs = append(rs, Route{"POST", "/api/v1/sign-out"})
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
		for _, n := range QueryNames() {
			mux.Handle("GET /api/v1/"+n, a.counted(n, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.SetPathValue("query", n)
				a.query(w, r)
			})))
		}
	}
	if a.Replayer != nil {
		mux.Handle("GET /api/v1/replay", a.counted("replay", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.replay(w, r, false) })))
		mux.Handle("GET /api/v1/evaluation/replay", a.counted("evaluation-replay", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.replay(w, r, true) })))
		mux.Handle("GET /api/v1/evaluation/indicators", a.counted("evaluation-indicators", http.HandlerFunc(a.indicators)))
	}
	if a.Verifier != nil && a.Verifier.Revocations != nil {
		mux.Handle("POST /api/v1/sign-out", a.counted("sign-out", http.HandlerFunc(a.signOut)))
	}
	if len(a.ReadModels) > 0 {
		mux.Handle("GET /api/v1/read-models", a.counted("read-models", http.HandlerFunc(a.readModels)))
		mux.Handle("POST /api/v1/read-models/{name}/rebuild", a.counted("rebuild", http.HandlerFunc(a.rebuild)))
	}
	mux.Handle("GET /healthz", a.counted("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", a.counted("readyz", http.HandlerFunc(a.readyz)))
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.Metrics.Handler())
	}
	unknown := a.counted("unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{ErrorDetail{Kind: "not_found", Message: "no such page: " + r.Method + " " + r.URL.Path + "; see /api/v1/openapi.json"}})
	}))
	if a.Pages != nil {
		mux.Handle("/api/", unknown)
		mux.Handle("/", a.counted("pages", a.Pages))
	} else {
		mux.Handle("/", unknown)
	}
	return mux
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func (a *API) counted(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if a.Metrics != nil {
			a.Metrics.http.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		}
	})
}

func (a *API) command(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, ErrorBody{ErrorDetail{Kind: "invalid", Field: "Content-Type", Message: "send the command as application/json"}})
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{ErrorDetail{Kind: "too_large", Field: "body", Message: "is larger than " + strconv.Itoa(MaxBody) + " bytes"}})
			return
		}
		a.fail(w, r, domain.FieldErrorf("body", "could not be read: %v", err))
		return
	}
	cmd, err := domain.DecodeCommand(r.PathValue("name"), body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := a.NewID()
	if h := r.Header.Get(HeaderIdempotencyKey); h != "" {
		if id, err = uuid.Parse(h); err != nil || id == uuid.Nil {
			a.fail(w, r, domain.FieldErrorf(HeaderIdempotencyKey, "is not a UUID"))
			return
		}
	}
	// The command is finished even if the client goes away: it is appended whole or not at all,
	// and a retry with the same id gets this answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
	defer cancel()
	reply, err := a.Service.Handle(ctx, actor, id, cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorAnswer(err)
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
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
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

// ReadModelStatus is a read model's state for administrators.
type ReadModelStatus struct {
	projections.Status
	Rebuild *rebuildProgress `json:"rebuild,omitempty"`
}

func (a *API) admin(w http.ResponseWriter, r *http.Request) bool {
	actor, ok := a.actor(w, r)
	if !ok {
		return false
	}
	if actor.Role != domain.RoleAdmin {
		a.fail(w, r, domain.Errorf(domain.Forbidden, "only administrators look after the read models"))
		return false
	}
	return true
}

func (a *API) readModels(w http.ResponseWriter, r *http.Request) {
	if !a.admin(w, r) {
		return
	}
	out := []ReadModelStatus{}
	for _, p := range a.ReadModels {
		st := ReadModelStatus{Status: p.Status()}
		if v, ok := a.rebuilds.Load(p.Name()); ok {
			rp := v.(*rebuildProgress)
			rp.mu.Lock()
			cp := rebuildProgress{Running: rp.Running, Done: rp.Done, Total: rp.Total, Error: rp.Error, FinishedSeq: rp.FinishedSeq}
			rp.mu.Unlock()
			st.Rebuild = &cp
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, out)
}

// rebuild builds a read model again from the start of the log and swaps it in. It answers when
// the rebuild is done; GET /api/v1/read-models shows its progress meanwhile.
func (a *API) rebuild(w http.ResponseWriter, r *http.Request) {
	if !a.admin(w, r) {
		return
	}
	var p *projections.Projector
	for _, q := range a.ReadModels {
		if q.Name() == r.PathValue("name") {
			p = q
		}
	}
	if p == nil {
		a.fail(w, r, domain.Errorf(domain.NotFound, "no read model %q", r.PathValue("name")))
		return
	}
	rp := &rebuildProgress{Running: true}
	if old, loaded := a.rebuilds.LoadOrStore(p.Name(), rp); loaded {
		o := old.(*rebuildProgress)
		o.mu.Lock()
		running := o.Running
		if !running {
			o.Running, o.Done, o.Total, o.Error, o.FinishedSeq = true, 0, 0, "", 0
		}
		o.mu.Unlock()
		if running {
			a.fail(w, r, domain.Errorf(domain.Conflict, "read model %s is being rebuilt already", p.Name()))
			return
		}
		rp = o
	}
	// The rebuild goes on if the client goes away.
	seq, err := p.Rebuild(context.WithoutCancel(r.Context()), func(done, total uint64) {
		rp.mu.Lock()
		rp.Done, rp.Total = done, total
		rp.mu.Unlock()
	})
	rp.mu.Lock()
	rp.Running, rp.FinishedSeq = false, seq
	if err != nil {
		rp.Error = err.Error()
	}
	rp.mu.Unlock()
	if err != nil {
		a.Log.Error("rebuild failed", "projection", p.Name(), "err", err)
		writeJSON(w, http.StatusInternalServerError, ErrorBody{ErrorDetail{Kind: "internal", Message: err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projection": p.Name(), "seq": seq})
}

// signOut revokes the bearer token everywhere until it would have expired.
func (a *API) signOut(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.actor(w, r); !ok {
		return
	}
	if err := a.Verifier.Revoke(r.Context(), BearerToken(r.Header.Get("Authorization"))); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// actor says who is asking, or answers 401 and returns false.
func (a *API) actor(w http.ResponseWriter, r *http.Request) (domain.Actor, bool) {
	actor, err := a.Verifier.Actor(BearerToken(r.Header.Get("Authorization")))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="aabendialog"`)
		a.fail(w, r, err)
		return domain.Actor{}, false
	}
	return actor, true
}

// ParseReplayQuery reads citizen, meeting, as_of (RFC 3339) and at_seq.
func ParseReplayQuery(v url.Values) (ReplayQuery, error) {
	for k := range v {
		if k != "citizen" && k != "meeting" && k != "as_of" && k != "at_seq" {
			return ReplayQuery{}, domain.FieldErrorf(k, "is not a parameter of replay; it takes citizen, meeting, as_of and at_seq")
		}
	}
	q := ReplayQuery{Citizen: v.Get("citizen")}
	var err error
	if s := v.Get("meeting"); s != "" {
		if q.Meeting, err = uuid.Parse(s); err != nil {
			return q, domain.FieldErrorf("meeting", "%q is not a UUID", s)
		}
	}
	if s := v.Get("as_of"); s != "" {
		if q.AsOf, err = time.Parse(time.RFC3339, s); err != nil {
			return q, domain.FieldErrorf("as_of", "%q is not an RFC 3339 time like 2026-12-01T10:00:00+01:00", s)
		}
	}
	if s := v.Get("at_seq"); s != "" {
		if q.AtSeq, err = strconv.ParseUint(s, 10, 64); err != nil || q.AtSeq == 0 {
			return q, domain.FieldErrorf("at_seq", "%q is not a sequence number", s)
		}
	}
	return q, nil
}

func (a *API) replay(w http.ResponseWriter, r *http.Request, evaluation bool) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	if evaluation && actor.Role != domain.RoleEvaluator {
		a.fail(w, r, domain.Errorf(domain.Forbidden, "the evaluation is for evaluators"))
		return
	}
	q, err := ParseReplayQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.Replayer.Replay(r.Context(), actor, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) indicators(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "from", "to", "service", "format", "after":
		default:
			a.fail(w, r, domain.FieldErrorf(k, "is not a parameter of indicators; it takes from, to, service, format and after"))
			return
		}
	}
	format := v.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" && format != "html" {
		a.fail(w, r, domain.FieldErrorf("format", "%q: use json, csv or html", format))
		return
	}
	after, err := seqParam(v, "after")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ev, err := a.Queries.Queries.Evaluate(r.Context(), actor, projections.ServicesFilter{From: v.Get("from"), To: v.Get("to"), Service: v.Get("service")}, after)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="aabendialog-indicators.csv"`)
		_ = WriteCSV(w, ev)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		_ = WriteHTML(w, ev)
	default:
		writeJSON(w, http.StatusOK, jsonSafe(ev))
	}
}

// jsonSafe replaces the NaN of an indicator with nothing to measure by null: JSON has no NaN.
func jsonSafe(ev projections.Evaluation) any {
	type ind struct {
		domain.Indicator
		Value *float64 `json:"value"`
	}
	out := struct {
		projections.Evaluation
		Indicators []ind `json:"indicators"`
	}{Evaluation: ev}
	for _, i := range ev.Indicators {
		x := ind{Indicator: i}
		if !math.IsNaN(i.Value) {
			v := i.Value
			x.Value = &v
		}
		out.Indicators = append(out.Indicators, x)
	}
	return out
}
