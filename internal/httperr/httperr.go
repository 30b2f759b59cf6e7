// Package httperr writes gridmap's coded errors (grid.Error) as HTTP responses: one map from
// code to status and one writer, {"error":{"code","message"}}, shared by the JSON API (package
// api) and the tile server (package tiles), which may not import each other.
//
// The writer also decides what a failure that carries no code means to a client: a database
// that does not answer in time, refuses connections or went away mid-query is the service's
// outage, not a bug — 503 EUNAVAILABLE with Retry-After, so clients and load balancers back
// off and retry — while anything else is a 500 EINTERNAL, logged with its cause and shown as a
// generic message.
package httperr

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/grid"
)

// statuses maps each error code to its HTTP status.
var statuses = map[string]int{
	grid.EINVALID:      http.StatusBadRequest,
	grid.ENOTFOUND:     http.StatusNotFound,
	grid.ECONFLICT:     http.StatusConflict,
	grid.EFORBIDDEN:    http.StatusForbidden,
	grid.EUNAUTHORIZED: http.StatusUnauthorized,
	grid.EUNAVAILABLE:  http.StatusServiceUnavailable,
	grid.ERATELIMIT:    http.StatusTooManyRequests,
	grid.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code (500 for an unknown one).
func Status(code string) int {
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// statusError gives a coded error a status other than its code's.
type statusError struct {
	err    error
	status int
}

func (e statusError) Error() string   { return e.err.Error() }
func (e statusError) Unwrap() error   { return e.err }
func (e statusError) HTTPStatus() int { return e.status }

// WithStatus gives err (a coded error) the HTTP status status instead of its code's: 405 for
// a wrong method, 428 for a missing If-Match.
func WithStatus(err error, status int) error { return statusError{err, status} }

// retryError is a coded error that tells the client when to try again.
type retryError struct {
	err   *grid.Error
	after time.Duration
}

func (e retryError) Error() string             { return e.err.Error() }
func (e retryError) Unwrap() error             { return e.err }
func (e retryError) RetryAfter() time.Duration { return e.after }

// Busy returns an EUNAVAILABLE error (503) asking the client to come back after the given
// time (Retry-After): a limit on requests of one kind is reached.
func Busy(after time.Duration, format string, args ...any) error {
	return retryError{grid.Errorf(grid.EUNAVAILABLE, format, args...), after}
}

// RateLimited returns an ERATELIMIT error (429) asking the client to wait the given time.
func RateLimited(after time.Duration, format string, args ...any) error {
	return retryError{grid.Errorf(grid.ERATELIMIT, format, args...), after}
}

// outageRetry is the Retry-After of a database outage: a restart takes a few seconds.
const outageRetry = 2 * time.Second

// Classify returns err with a code for the client: err itself when it carries one; a
// database outage (see Outage) as EUNAVAILABLE with a Retry-After; anything else unchanged
// (EINTERNAL).
func Classify(err error) error {
	if err == nil || grid.ErrorCode(err) != grid.EINTERNAL {
		return err
	}
	if Outage(err) {
		return retryError{grid.Errorf(grid.EUNAVAILABLE, "the database does not answer: try again shortly"), outageRetry}
	}
	return err
}

// Outage reports whether err says the database could not be reached or did not answer in
// time — cannot connect, the connection broke, the server is shutting down or starting,
// the statement ran out of time — rather than that gridmap has a bug.
func Outage(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &ce), pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &pe):
		switch c := pe.Code; {
		case strings.HasPrefix(c, "08"), // connection exception
			c == "57P01", c == "57P02", c == "57P03", // admin or crash shutdown, cannot connect now
			c == "57014",               // query_canceled: the statement timeout
			strings.HasPrefix(c, "53"): // insufficient resources: too many connections, out of memory or disk
			return true
		}
		return false
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return true
	}
	return false
}

// Write writes err as {"error":{"code","message",…}} with the status of its code and returns
// the code written. extra adds members to the error object. A stale write (*grid.StaleError)
// is 412 with the current version in ETag and in the body; an error with a retry time sets
// Retry-After; internal errors are logged with their cause and shown as a generic message; a
// request whose client has gone away is written (nobody reads it) but not logged.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, extra map[string]any) string {
	err = Classify(err)
	code := grid.ErrorCode(err)
	gone := errors.Is(err, context.Canceled) && r.Context().Err() != nil
	if code == grid.EINTERNAL && !gone {
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := Status(code)
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) {
		status = se.HTTPStatus()
	}
	h := w.Header()
	var re interface{ RetryAfter() time.Duration }
	if errors.As(err, &re) {
		h.Set("Retry-After", strconv.Itoa(max(1, int((re.RetryAfter()+time.Second-1)/time.Second))))
	}
	body := map[string]any{"code": code, "message": grid.ErrorMessage(err)}
	var stale *grid.StaleError
	if errors.As(err, &stale) {
		status = http.StatusPreconditionFailed
		body["current_version"] = stale.Current
		if tag := stale.ETag(); tag != "" {
			h.Set("ETag", tag)
			body["etag"] = tag
		}
	}
	for k, v := range extra {
		body[k] = v
	}
	// an error is about this request, now: no cache may keep it
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json; charset=utf-8")
	// a half-written body (an export that failed after its headers) is the caller's to abort
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"error": body})
	return code
}
