package domain

import (
	"errors"
	"fmt"
)

// ErrorKind says what sort of failure a domain error is. Every transport maps the kinds the same
// way: Invalid → 400, Forbidden → 403, NotFound → 404, Conflict → 409.
type ErrorKind string

// The four kinds of domain error.
const (
	Invalid   ErrorKind = "invalid"
	Forbidden ErrorKind = "forbidden"
	NotFound  ErrorKind = "not_found"
	Conflict  ErrorKind = "conflict"
)

// Error is a rule the command broke, with a message a person understands. Field names the
// command field at fault when there is one.
type Error struct {
	Kind    ErrorKind `json:"kind"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns a domain error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an Invalid error naming the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of a domain error anywhere in err's chain, or "" when err is not one.
func KindOf(err error) ErrorKind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return ""
}

// IsKind reports whether err is a domain error of the given kind.
func IsKind(err error, kind ErrorKind) bool { return err != nil && KindOf(err) == kind }
