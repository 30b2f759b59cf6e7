package grid

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Every error gridmap shows a user carries one of them; the HTTP layer maps each
// to one status (internal/httperr).
const (
	EINVALID      = "EINVALID"  // the request or input is wrong: 400
	ENOTFOUND     = "ENOTFOUND" // the thing does not exist: 404
	ECONFLICT     = "ECONFLICT" // the write conflicts with the current state: 409 (or 412 for a stale version)
	EFORBIDDEN    = "EFORBIDDEN"
	EUNAUTHORIZED = "EUNAUTHORIZED"
	// EUNAVAILABLE: the service cannot answer now — the database does not answer, or the
	// requests of this kind already running are all it takes at once: 503, try again later.
	EUNAVAILABLE = "EUNAVAILABLE"
	// ERATELIMIT: this client asked too often; it may ask again after a while: 429.
	ERATELIMIT = "ERATELIMIT"
	EINTERNAL  = "EINTERNAL" // a bug; details are logged, never shown
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

// FirstN lists at most n of xs, comma-separated, saying how many more there are: a message
// names a few of many without growing with them.
func FirstN(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}
