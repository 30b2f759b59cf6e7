package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"golang.org/x/sync/semaphore"

	"gridmap/internal/httperr"
)

// What one client, or many, may take of the server at once. A command center's map must stay
// up while someone misbehaves: requests that make the database work hard (heavy reads,
// exports) each run in bounded numbers and answer 503 with Retry-After when full instead of
// queueing without end, anonymous clients may send only so many of them a minute, and a
// client that stops reading a streamed response is cut off so its database connection and
// snapshot come back.

// Limits bound the requests of one server. The zero value of a field means its default.
type Limits struct {
	// Heavy is how many heavy reads (POST /query/within, /balance, /coverage) run at once;
	// default max(2, CPUs). As many more wait up to QueueWait for a turn; beyond, 503.
	Heavy int
	// Exports is how many exports stream at once (default 2), each holding a database
	// connection and a snapshot for as long as its client reads.
	Exports int
	// QueueWait is how long a request waits for a turn when its kind is at its limit
	// (default 2 s).
	QueueWait time.Duration
	// AnonHeavyPerMinute is how many heavy reads and exports one anonymous client (by IP)
	// may start a minute (default 300; negative: no limit). Signed-in users are not counted.
	AnonHeavyPerMinute int
	// WriteStall is how long a client may take to accept each chunk (64 KiB) of a streamed
	// response before it is cut off (default 15 s): a reader slower than about 4 kB/s.
	WriteStall time.Duration
	// RequestTimeout bounds every request but exports (which stream for as long as their
	// client reads): its database work is cancelled when it runs out (default 60 s). The
	// statement timeout ends a long statement in the server; this ends the wait for a server
	// that does not answer at all.
	RequestTimeout time.Duration
}

// Default limits.
const (
	DefaultExports            = 2
	DefaultQueueWait          = 2 * time.Second
	DefaultAnonHeavyPerMinute = 300
	DefaultWriteStall         = 15 * time.Second
	DefaultRequestTimeout     = 60 * time.Second
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.Heavy <= 0 {
		l.Heavy = max(2, runtime.NumCPU())
	}
	if l.Exports <= 0 {
		l.Exports = DefaultExports
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultQueueWait
	}
	if l.AnonHeavyPerMinute == 0 {
		l.AnonHeavyPerMinute = DefaultAnonHeavyPerMinute
	}
	if l.WriteStall <= 0 {
		l.WriteStall = DefaultWriteStall
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	return l
}

// deadline gives every request but an export RequestTimeout to finish its work.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/export/") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// gate lets a bounded number of requests of one kind run at once, and as many more wait a
// bounded time for a turn; the rest are turned away with 503 and a Retry-After.
type gate struct {
	name    string
	run     *semaphore.Weighted
	waiting atomic.Int64
	limit   int64
	wait    time.Duration
	turned  atomic.Int64 // requests turned away, for the log and tests
}

func newGate(name string, limit int, wait time.Duration) *gate {
	return &gate{name: name, run: semaphore.NewWeighted(int64(limit)), limit: int64(limit), wait: wait}
}

// enter waits for a turn: release must be called when the request is done. The error is an
// EUNAVAILABLE (503) when the gate is full or the wait ran out.
func (g *gate) enter(ctx context.Context) (release func(), err error) {
	release = func() { g.run.Release(1) }
	if g.run.TryAcquire(1) {
		return release, nil
	}
	busy := func() error {
		g.turned.Add(1)
		return httperr.Busy(g.wait, "%d %s already running, the most this server takes at once: try again shortly", g.limit, g.name)
	}
	if g.waiting.Add(1) > g.limit {
		g.waiting.Add(-1)
		return nil, busy()
	}
	defer g.waiting.Add(-1)
	wctx, cancel := context.WithTimeout(ctx, g.wait)
	defer cancel()
	if err := g.run.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, busy()
	}
	return release, nil
}

// through runs next only when the gate lets it in.
func (s *Server) through(g *gate) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := g.enter(r.Context())
			if err != nil {
				s.Error(w, r, err)
				return
			}
			defer release()
			next.ServeHTTP(w, r)
		})
	}
}

// heavyRead is the middleware of a heavy read: the anonymous rate limit, then the gate.
func (s *Server) heavyRead() []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{s.anon, s.through(s.heavy)}
}

// exporting is the middleware of an export: the anonymous rate limit, then the gate.
func (s *Server) exporting() []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{s.anon, s.through(s.exports)}
}

// anonRate limits the heavy requests of anonymous clients, per client IP (see Proxies for
// which IP that is); signed-in users pass. Over the limit: 429 ERATELIMIT with Retry-After.
func (s *Server) anonRate(perMinute int) func(http.Handler) http.Handler {
	if perMinute < 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	limiter := httprate.NewRateLimiter(perMinute, time.Minute,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return httprate.CanonicalizeIP(clientIP(r)), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.Error(w, r, httperr.RateLimited(time.Minute,
				"more than %d heavy requests a minute from %s: wait a minute, or sign in", perMinute, clientIP(r)))
		}),
	)
	return func(next http.Handler) http.Handler {
		lim := limiter.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.user(r) != nil {
				next.ServeHTTP(w, r)
				return
			}
			lim.ServeHTTP(w, r)
		})
	}
}

// clientIP is the request's client as resolved by the ClientIPFrom* middleware.
func clientIP(r *http.Request) string { return middleware.GetClientIP(r.Context()) }

// Proxies are the addresses of reverse proxies trusted to say who the client is and how it
// called (X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host). Requests from anywhere else
// are taken at face value: a client cannot claim another IP to dodge its rate limit, nor make
// gridmap write another host into the links and tile URLs it hands out.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses or CIDR prefixes ("" for none).
func ParseProxies(list string) (Proxies, error) {
	var p Proxies
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		p = append(p, pre.Masked())
	}
	return p, nil
}

// Trusted reports whether r came through one of the proxies (its peer address is in one).
func (p Proxies) Trusted(r *http.Request) bool {
	if len(p) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHeaders are what a proxy says about the client and how it called.
var forwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"}

// strip drops the forwarded headers of a request that did not come through a trusted proxy,
// so nothing downstream (links, tile URLs, cookies, rate limits) acts on a client's claim.
func (p Proxies) strip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.Trusted(r) {
			for _, h := range forwardedHeaders {
				r.Header.Del(h)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// clientIPs resolves the client IP for rate limits and logs: X-Forwarded-For only through a
// trusted proxy, the peer address otherwise.
func (p Proxies) clientIPs() func(http.Handler) http.Handler {
	if len(p) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	prefixes := make([]string, len(p))
	for k, pre := range p {
		prefixes[k] = pre.String()
	}
	return middleware.ClientIPFromXFF(prefixes...)
}

// streamChunk is the unit a slow client must accept within Limits.WriteStall.
const streamChunk = 64 << 10

// deadlineWriter writes a streamed response so that a client that stops reading is cut off:
// each write (a chunk of up to streamChunk bytes, which the export's writers buffer) must be
// taken by the client within stall, else the write fails, the export's context is cancelled
// (its query ends in PostgreSQL) and its connection and snapshot go back to the pool.
type deadlineWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	stall  time.Duration
	cancel context.CancelFunc
	cut    bool // a write failed: the client stalled or went away
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.stall)) // unsupported (tests' recorders): no deadline
	n, err := d.w.Write(p)
	if err == nil {
		if err = d.rc.Flush(); err == http.ErrNotSupported {
			err = nil
		}
	}
	if err != nil {
		d.cut = true
		d.cancel()
	}
	return n, err
}
