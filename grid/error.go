package grid

import (
	"errors"
	"fmt"
)

// Error codes. Every error gridmap shows a user carries one of them; the HTTP layer maps each
// to one status (api.StatusOf).
const (
	EINVALID      = "EINVALID"  // the request or input is wrong: 400
	ENOTFOUND     = "ENOTFOUND" // the thing does not exist: 404
	ECONFLICT     = "ECONFLICT" // the write conflicts with the current state: 409 (or 412 for a stale version)
	EFORBIDDEN    = "EFORBIDDEN"
	EUNAUTHORIZED = "EUNAUTHORIZED"
	EINTERNAL     = "EINTERNAL" // a bug or an outage; details are logged, never shown
)

// Error is a coded error with a message meant for the user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("grid error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a coded error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: its own for an *Error, EINTERNAL for anything else, ""
// for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a generic one.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
