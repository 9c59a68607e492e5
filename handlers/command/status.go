package command

import (
	"context"
	"errors"
	"net/http"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/projections"
)

// ErrorBody is the JSON of every refusal, over NATS and HTTP.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what was wrong: the kind (invalid, forbidden, not_found, conflict,
// unauthenticated, too_large, unavailable, internal), the field at fault if any, and a message a
// person understands.
type ErrorDetail struct {
	Kind    string `json:"kind"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// kindStatus is the status of each kind of domain error, in every transport.
var kindStatus = map[domain.ErrorKind]int{
	domain.Invalid:   http.StatusBadRequest,
	domain.Forbidden: http.StatusForbidden,
	domain.NotFound:  http.StatusNotFound,
	domain.Conflict:  http.StatusConflict,
}

// Status maps an error to an HTTP status and a body: the one table every transport answers
// with (NATS carries the status in a header). Only internal errors are logged by callers.
func Status(err error) (int, ErrorBody) {
	var de *domain.Error
	if errors.As(err, &de) {
		return kindStatus[de.Kind], ErrorBody{ErrorDetail{Kind: string(de.Kind), Field: de.Field, Message: de.Message}}
	}
	var nc *projections.NotCaughtUpError
	if errors.As(err, &nc) {
		return http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable", Field: "after", Message: nc.Error() + "; ask again in a moment"}}
	}
	if errors.Is(err, accesslog.ErrUnavailable) {
		return http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable", Message: accesslog.ErrUnavailable.Error()}}
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		return http.StatusUnauthorized, ErrorBody{ErrorDetail{Kind: "unauthenticated", Message: err.Error()}}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Kind: "unavailable", Message: "the log did not answer in time; send the same command (same id) again"}}
	}
	return http.StatusInternalServerError, ErrorBody{ErrorDetail{Kind: "internal", Message: "something went wrong on the server; send the same command (same id) again, and tell the operators if it persists"}}
}
