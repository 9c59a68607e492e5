package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/google/uuid"
)

// MaxBody is the largest request body the API reads. The largest command (30 agenda items of
// 1,000 characters, up to 4 bytes each) fits well within it.
const MaxBody = 256 << 10

// HeaderIdempotencyKey carries the command id over HTTP (a UUID). Without it the server makes
// one, and a retry is then a new command.
const HeaderIdempotencyKey = "Idempotency-Key"

func (a *API) command(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, command.ErrorBody{Error: command.ErrorDetail{Kind: "invalid", Field: "Content-Type", Message: "send the command as application/json"}})
			return
		}
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, command.ErrorBody{Error: command.ErrorDetail{Kind: "too_large", Field: "body", Message: "is larger than " + strconv.Itoa(MaxBody) + " bytes"}})
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
	var id uuid.UUID
	if h := r.Header.Get(HeaderIdempotencyKey); h == "" {
		id = a.NewID()
	} else if id, err = uuid.Parse(h); err != nil || id == uuid.Nil {
		a.fail(w, r, domain.FieldErrorf(HeaderIdempotencyKey, "is not a UUID"))
		return
	}
	// The command is finished even if the client goes away: it is appended whole or not at all,
	// and a retry with the same id gets this answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
	defer cancel()
	ctx, end := command.TraceCommand(ctx, id)
	defer end()
	reply, err := a.Service.Handle(ctx, actor, id, cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeReply(w, reply)
}

// readBody reads the request's body, at most MaxBody bytes. A body of a stated length is read
// into a buffer of that size, not grown into one as io.ReadAll does.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	if n := r.ContentLength; n <= 0 || n > MaxBody {
		return io.ReadAll(body)
	}
	b := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// writeReply answers a command that was carried out: what writeJSON writes for the reply, byte
// for byte, written without reflection (command.AppendReply), as over NATS.
func writeReply(w http.ResponseWriter, r command.Reply) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Content-Type-Options"] = noSniff
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
	buf := replyBuffers.Get().(*[]byte)
	*buf = append(command.AppendReply((*buf)[:0], r), '\n')
	_, _ = w.Write(*buf) // copied into the connection's buffer
	replyBuffers.Put(buf)
}

// replyBuffers hold replies being written.
var replyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// The header values of every JSON answer, shared: net/http only reads them.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noSniff         = []string{"nosniff"}
	noStore         = []string{"no-store"}
)
