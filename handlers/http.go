package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
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
	// Ready reports whether the service can answer: the log is reachable (and, later, the read
	// models have caught up). nil means always ready.
	Ready func(ctx context.Context) error
}

// Route is one method and path the API serves.
type Route struct{ Method, Path string }

// Routes lists what the API serves, for the OpenAPI document and its test.
func (a *API) Routes() []Route {
	rs := []Route{{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}, {"GET", "/api/v1/openapi.json"}}
	for _, n := range domain.CommandNames() {
		rs = append(rs, Route{"POST", "/api/v1/commands/" + n})
	}
	return rs
}

// Handler returns the HTTP handler.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/commands/{name}", a.counted("command", http.HandlerFunc(a.command)))
	mux.Handle("GET /api/v1/openapi.json", a.counted("openapi", http.HandlerFunc(a.openAPI)))
	mux.Handle("GET /healthz", a.counted("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("GET /readyz", a.counted("readyz", http.HandlerFunc(a.readyz)))
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.Metrics.Handler())
	}
	mux.Handle("/", a.counted("unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{ErrorDetail{Kind: "not_found", Message: "no such page: " + r.Method + " " + r.URL.Path + "; see /api/v1/openapi.json"}})
	})))
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
	actor, err := a.Verifier.Actor(BearerToken(r.Header.Get("Authorization")))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="aabendialog"`)
		a.fail(w, r, err)
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
	if status >= 500 {
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
