// Package api is gridmap's HTTP interface: the JSON API under /api/v1, OGC API – Features
// under /ogc, vector tiles (mounted from package tiles), the health check, Prometheus metrics
// at /metrics and the embedded map UI. Handlers return errors; one adapter (Handle) writes them as
// {"error":{"code","message"}} with the status of the code.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gridmap/grid"
	"gridmap/internal/httperr"
	"gridmap/internal/replica"
	"gridmap/tiles/archive"
	"gridmap/web"
)

// Options wire the server.
type Options struct {
	Store grid.Store
	Tiles http.Handler // serves /tiles/*, /tiles.json and /style.json; nil: not mounted
	// Offline renders the tiles of offline packages (/export/offline.pmtiles): the tile
	// server. nil: that export answers EUNAVAILABLE.
	Offline archive.Source
	Web     fs.FS // the built map UI; nil: a placeholder page
	Logger  *slog.Logger
	// Private requires signing in for reads too (API, OGC, tiles). By default anonymous
	// requests read aggregates and maps, as the demo's dashboard does; writes always need a
	// signed-in user.
	Private bool
	// Limits bound heavy reads, exports and slow readers (see limits.go).
	Limits Limits
	// Proxies may say who the client is (X-Forwarded-For) and how it called; nil: none.
	Proxies Proxies
	// BasemapHosts are the hosts the UI may load a basemap from (ParseBasemapHosts).
	BasemapHosts []string
	// Basemap is the UI's default basemap (ParseBasemap), whose host is allowed too; nil: none.
	Basemap *Basemap
	// Metrics is the registry of the process's Prometheus metrics: the server adds its
	// request metrics and serves the whole registry at GET /metrics (signing in is needed
	// there as for other reads under Private). Middleware of this package that counts
	// something registers on it too. nil: no metrics, no /metrics.
	Metrics *prometheus.Registry
	// Replica routes reads between the primary and a streaming replica (the store's
	// Replica()): requests may name the WAL position they must see (Gridmap-Min-LSN, or the
	// gridmap_lsn cookie), and writes answer with the primary's position (Gridmap-LSN,
	// Gridmap-Data-Version). nil: no such headers.
	Replica *replica.Router
}

// Server is the HTTP handler of gridmap.
type Server struct {
	store   grid.Store
	log     *slog.Logger
	router  chi.Router
	private bool
	limits  Limits
	proxies Proxies
	heavy   *gate                           // heavy reads running at once
	exports *gate                           // exports streaming at once
	offline archive.Source                  // nil: no offline packages
	anon    func(http.Handler) http.Handler // the anonymous clients' rate limit, shared by every heavy route
	metrics *httpMetrics                    // nil: none
	replica *replica.Router                 // nil: none
	basemap *Basemap                        // the UI's default basemap; nil: none
}

// New returns the server with every route mounted.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := o.Limits.WithDefaults()
	s := &Server{store: o.Store, log: log, private: o.Private, limits: lim, proxies: o.Proxies, replica: o.Replica, offline: o.Offline,
		heavy: newGate("heavy reads", lim.Heavy, lim.QueueWait), exports: newGate("exports", lim.Exports, lim.QueueWait),
		basemap: o.Basemap}
	s.anon = s.anonRate(lim.AnonHeavyPerMinute)
	r := chi.NewRouter()
	r.Use(o.Proxies.strip, o.Proxies.clientIPs(), securityHeaders(contentSecurityPolicy(basemapHosts(o))), s.logRequests,
		middleware.Recoverer, s.deadline)
	if o.Replica != nil {
		r.Use(s.readYourWrites)
	}
	r.Get("/healthz", s.Handle(s.health))
	if o.Metrics != nil {
		s.metrics = newHTTPMetrics(o.Metrics)
		var h http.Handler = promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{Registry: o.Metrics})
		if s.private {
			h = s.authenticate(h)
		}
		r.Method(http.MethodGet, "/metrics", h)
	}
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(middleware.GetHead, viewerCache, s.authenticate)
		r.NotFound(s.Handle(notFound))
		r.MethodNotAllowed(s.Handle(methodNotAllowed))
		s.routesV1(r)
	})
	r.Route("/ogc", func(r chi.Router) {
		r.Use(middleware.GetHead, anyOrigin, s.authenticate)
		if s.private {
			r.Use(viewerCache)
		}
		r.NotFound(s.Handle(notFound))
		r.MethodNotAllowed(s.Handle(methodNotAllowed))
		s.routesOGC(r)
	})
	if o.Tiles != nil {
		t := o.Tiles
		if s.private {
			t = s.authenticate(t)
		}
		// a map on another site draws the city from /style.json, as the OGC collections
		// are read from anywhere (anyOrigin: no credentials honoured)
		t = anyOrigin(t)
		r.Mount("/tiles", t)
		r.Get("/tiles.json", t.ServeHTTP)
		r.Get("/style.json", t.ServeHTTP)
	}
	if o.Web != nil {
		r.With(uiFiles, middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript")).
			Handle("/*", http.FileServerFS(o.Web))
	} else {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(web.Placeholder))
		})
	}
	s.router = r
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// HandlerFunc is an HTTP handler that returns its error for Handle to write.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h: a returned error is written as the coded JSON error.
func (s *Server) Handle(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.Error(w, r, err)
		}
	}
}

// StatusOf returns the HTTP status for an error code (500 for an unknown one).
func StatusOf(code string) int { return httperr.Status(code) }

// Error writes err as {"error":{"code","message"}} (internal/httperr). A stale write is 412
// and also says who changed the entity since, from the audit log, so a person can be told
// ("changed by X at 10:41").
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	var extra map[string]any
	var stale *grid.StaleError
	if errors.As(err, &stale) && stale.ETag() != "" {
		if c, err := s.store.LastChange(r.Context(), stale.Entity, stale.ID); err == nil {
			extra = map[string]any{"changed_by": c.Actor, "changed_at": c.At}
		}
	}
	httperr.Write(w, r, s.log, err, extra)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	writeBody(w, status, v)
}

// writeBody writes v as JSON with the Content-Type already set.
func writeBody(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return grid.Errorf(grid.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path)
}

// healthBudget is how long /healthz waits for the database: a monitor gets its answer within
// 2 s whatever the load, 503 when the database did not answer in time.
const healthBudget = 1500 * time.Millisecond

// health reports whether the database answers: 200 or 503. A private server says nothing
// more than up or down to whoever asks (it answers without sign-in, for load balancers): the
// data version would tell an outsider when, and how often, the data changes.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthBudget)
	defer cancel()
	r = r.WithContext(ctx)
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn("health: database unreachable", "err", err)
		body := map[string]any{"status": "unavailable"}
		if !s.private {
			body["database"] = "unreachable"
		}
		WriteJSON(w, http.StatusServiceUnavailable, body)
		return nil
	}
	if s.private {
		WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
		return nil
	}
	body := map[string]any{"status": "ok", "database": "ok"}
	if v, at, err := s.store.DataVersion(r.Context()); err == nil {
		body["data_version"] = v
		body["data_changed_at"] = at.UTC().Format(time.RFC3339)
	}
	WriteJSON(w, http.StatusOK, body)
	return nil
}

// logRequests logs one line per request and counts it in the metrics.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		t0 := time.Now()
		next.ServeHTTP(ww, r)
		d := time.Since(t0)
		s.metrics.observe(r, ww.Status(), d)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
			"bytes", ww.BytesWritten(), "ms", float64(d.Microseconds())/1000)
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	return httperr.WithStatus(grid.Errorf(grid.EINVALID, "method %s not allowed on %s", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
}
