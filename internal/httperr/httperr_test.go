package httperr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/grid"
	"gridmap/internal/httperr"
)

// TestWrite: each kind of error gets its status, its code, its headers, and only a bug is
// logged.
func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
		logged     bool
	}{
		{"invalid", grid.Errorf(grid.EINVALID, "bad"), 400, grid.EINVALID, "", false},
		{"not found", grid.Errorf(grid.ENOTFOUND, "no"), 404, grid.ENOTFOUND, "", false},
		{"conflict", grid.Errorf(grid.ECONFLICT, "no"), 409, grid.ECONFLICT, "", false},
		{"forbidden", grid.Errorf(grid.EFORBIDDEN, "no"), 403, grid.EFORBIDDEN, "", false},
		{"unauthorized", grid.Errorf(grid.EUNAUTHORIZED, "no"), 401, grid.EUNAUTHORIZED, "", false},
		{"own status", httperr.WithStatus(grid.Errorf(grid.EINVALID, "verb"), 405), 405, grid.EINVALID, "", false},
		{"busy", httperr.Busy(1500*time.Millisecond, "full"), 503, grid.EUNAVAILABLE, "2", false},
		{"rate", httperr.RateLimited(30*time.Second, "slow down"), 429, grid.ERATELIMIT, "30", false},
		{"bug", errors.New("nil map"), 500, grid.EINTERNAL, "", true},
		{"wrapped bug", fmt.Errorf("tiles: %w", errors.New("boom")), 500, grid.EINTERNAL, "", true},
		{"cannot connect", &pgconn.ConnectError{}, 503, grid.EUNAVAILABLE, "2", false},
		{"shutdown", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), 503, grid.EUNAVAILABLE, "2", false},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, 503, grid.EUNAVAILABLE, "2", false},
		{"too many connections", &pgconn.PgError{Code: "53300"}, 503, grid.EUNAVAILABLE, "2", false},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), 503, grid.EUNAVAILABLE, "2", false},
		{"broken", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), 503, grid.EUNAVAILABLE, "2", false},
		{"refused", fmt.Errorf("x: %w", syscall.ECONNREFUSED), 503, grid.EUNAVAILABLE, "2", false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), 503, grid.EUNAVAILABLE, "2", false},
		{"constraint is a bug here", &pgconn.PgError{Code: "23505"}, 500, grid.EINTERNAL, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/x", nil)
			code := httperr.Write(w, r, slog.New(slog.NewTextHandler(&log, nil)), tt.err, nil)
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.status || body.Error.Code != tt.code || code != tt.code || body.Error.Message == "" {
				t.Errorf("%d %s (returned %s), want %d %s: %s", w.Code, body.Error.Code, code, tt.status, tt.code, w.Body)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("headers %v", w.Header())
			}
			if (log.Len() > 0) != tt.logged {
				t.Errorf("logged %q, want logged %v", log.String(), tt.logged)
			}
			if tt.code == grid.EINTERNAL && body.Error.Message != "internal error" {
				t.Errorf("an internal error shows its cause: %q", body.Error.Message)
			}
		})
	}
}

// TestWriteStale: a stale write is 412 with the current version, and the caller's extras.
func TestWriteStale(t *testing.T) {
	w := httptest.NewRecorder()
	err := fmt.Errorf("paint: %w", &grid.StaleError{Entity: grid.EntityGrid, ID: 7, Want: 2, Current: 3})
	httperr.Write(w, httptest.NewRequest("POST", "/x", nil), slog.New(slog.DiscardHandler), err, map[string]any{"changed_by": "bob"})
	var body struct {
		Error map[string]any
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusPreconditionFailed || w.Header().Get("ETag") != `"grid-7-v3"` ||
		body.Error["current_version"] != 3.0 || body.Error["etag"] != `"grid-7-v3"` || body.Error["changed_by"] != "bob" {
		t.Errorf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

// A client that went away is not a server error worth a log line.
func TestWriteClientGone(t *testing.T) {
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
	httperr.Write(httptest.NewRecorder(), r, slog.New(slog.NewTextHandler(&log, nil)), fmt.Errorf("q: %w", context.Canceled), nil)
	if log.Len() > 0 {
		t.Errorf("logged %s", log.String())
	}
}
