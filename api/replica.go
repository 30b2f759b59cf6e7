package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"gridmap/grid"
	"gridmap/internal/replica"
)

// Read-your-writes with a read replica (README "Scaling out"). A write's answer names the
// primary's WAL position after its commit and the data version; a read that names a position
// is answered from a replica that has replayed it — waiting for that briefly — or else from
// the primary.
const (
	// LSNHeader, on the answer to every write (a 2xx answer to POST, PUT, PATCH or DELETE),
	// is the primary's WAL position once the write had committed.
	LSNHeader = "Gridmap-LSN"
	// VersionHeader, beside it, is the data version then: the write's own, or a later one.
	VersionHeader = "Gridmap-Data-Version"
	// MinLSNHeader on a request asks that what it reads includes the primary's WAL up to
	// the position given (a Gridmap-LSN a write answered).
	MinLSNHeader = "Gridmap-Min-LSN"
	// LSNCookie carries the last write's position for browsers, so that every request the
	// map UI makes after its own write — its API reads, and MapLibre's tile requests, which no
	// fetch wrapper sees — names it without the UI doing anything. Set only with a replica.
	LSNCookie = "gridmap_lsn"
)

// lsnCookieAge is how long a browser sends the position of its last write: past the wait, a
// replica that has replayed it costs a read nothing more than a comparison.
const lsnCookieAge = 5 * time.Minute

// readYourWrites puts the position a request names (MinLSNHeader, or the LSNCookie) in its
// context for the store and the tile server, and stamps the answers of writes with the
// primary's position. A malformed header is EINVALID; a malformed cookie is ignored.
func (s *Server) readYourWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var min replica.LSN
		if h := r.Header.Get(MinLSNHeader); h != "" {
			l, err := replica.ParseLSN(h)
			if err != nil {
				s.Error(w, r, grid.Errorf(grid.EINVALID, "%s: %q is not a WAL position: send the %s a write answered (like 0/16B3748)", MinLSNHeader, h, LSNHeader))
				return
			}
			min = l
		}
		if c, err := r.Cookie(LSNCookie); err == nil {
			if l, err := replica.ParseLSN(c.Value); err == nil {
				min = max(min, l)
			}
		}
		if min > 0 {
			r = r.WithContext(replica.WithMinLSN(r.Context(), min))
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			w = &positionWriter{ResponseWriter: w, r: r, s: s}
		}
		next.ServeHTTP(w, r)
	})
}

// positionWriter stamps a write's successful answer with the primary's position, read when
// the handler starts its answer — after the write's transaction committed.
type positionWriter struct {
	http.ResponseWriter
	r       *http.Request
	s       *Server
	stamped bool
}

func (p *positionWriter) WriteHeader(code int) {
	if !p.stamped && code >= 200 {
		p.stamped = true
		if code < 300 {
			p.s.stampPosition(p.ResponseWriter, p.r)
		}
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *positionWriter) Write(b []byte) (int, error) {
	if !p.stamped {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (p *positionWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// stampPosition sets LSNHeader and VersionHeader (and with a replica the LSNCookie). A
// position that cannot be read leaves the answer without them: the write has happened.
func (s *Server) stampPosition(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
	defer cancel()
	lsn, v, err := s.replica.Position(ctx)
	if err != nil {
		s.log.Warn("reading the WAL position after a write", "err", err)
		return
	}
	h := w.Header()
	h.Set(LSNHeader, lsn.String())
	h.Set(VersionHeader, strconv.FormatInt(v, 10))
	if s.replica.Replica() != nil {
		http.SetCookie(w, &http.Cookie{Name: LSNCookie, Value: lsn.String(), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: secureCookie(r), MaxAge: int(lsnCookieAge.Seconds())})
	}
}
