// Package tiles serves gridmap's vector tiles: one composite Mapbox Vector Tile per
// z/x/y with the layers grids, coverage, density, buildings and units, cut by PostGIS
// (ST_AsMVT, ST_AsMVTGeom, ST_TileEnvelope) in one statement per tile, plus TileJSON 3.0.0
// and Prometheus metrics. Zoom rules decide which layers a zoom draws (Rules); features are
// simplified to about half a pixel and those under a pixel are left out; a hard cap bounds
// the bytes of a tile.
//
// The tile cache is never stale: every request reads the data version afresh
// (changelog.Versions),
// and before the cache answers it applies the changes logged up to that version
// (internal/changelog), dropping the tiles they reach (see cache and reach). The derived
// tables the tiles read, and the change log, are kept by database triggers in the writing
// transaction (migrations/0002_tiles.sql, 0005_tiles_tables.sql, 0011_data_changes.sql), so
// no write path can bypass them.
//
// Routes (the server owns the URL space under /tiles):
//
//	GET /tiles/{z}/{x}/{y}.mvt[?layers=grids,buildings]  the tile; 204 when it has no feature
//	    [&at=2026-01-01T00:00:00Z]                       the division as it stood then (tile_at.sql)
//	GET /tiles.json                                      TileJSON 3.0.0
//	GET /tiles/metrics                                   Prometheus metrics (Options.Metrics)
package tiles

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"

	"gridmap/grid"
	"gridmap/internal/httperr"
	"gridmap/internal/replica"
)

// tileSQL cuts one composite tile; see the file for its parameters.
//
//go:embed tile.sql
var tileSQL string

// tileAtSQL cuts one composite tile of a past moment; see the file.
//
//go:embed tile_at.sql
var tileAtSQL string

// settled is how long before now a moment must lie for its tiles to be cached. History is
// stamped with each writing transaction's start, so a transaction that began before a moment
// and commits after it still changes that moment; no write of gridmap's runs an hour (bulk
// loads included), so a moment an hour old is final. A later one is cut for each request.
const settled = time.Hour

// ContentType is the media type of a tile.
const ContentType = "application/vnd.mapbox-vector-tile"

// DefaultMaxTileBytes is the default hard cap on a tile's uncompressed bytes.
const DefaultMaxTileBytes = 500_000

// VersionHeader is the response header naming the data version a tile is current at, read
// from the database the tile came from (a replica's is its own).
const VersionHeader = "Gridmap-Data-Version"

// DefaultMaxQueued is the default of Options.MaxQueued: a few screens' worth of tiles.
const DefaultMaxQueued = 64

// Options configure a Server.
type Options struct {
	// Rules are the zoom rules; the zero value means DefaultRules().
	Rules Rules
	// CacheBytes is the memory budget of the tile cache (tiles and their gzipped copies);
	// 0 turns the cache off and every request renders its tile.
	CacheBytes int64
	// MaxTileBytes is the hard cap on a tile's uncompressed size; 0 means DefaultMaxTileBytes.
	// A tile over it is rendered again coarser, then loses layers from the last (units)
	// until it fits; the response says so in the Gridmap-Tile-Reduced header.
	MaxTileBytes int
	// MaxAge is the max-age clients and proxies may keep a tile without asking again. The
	// default 0 has them revalidate every time (a 304 is cheap), so an edit shows at once.
	MaxAge time.Duration
	// Private marks tiles for the requesting user alone (Cache-Control: private): set it when
	// reads need signing in, so that no shared cache keeps and hands on what a user could see.
	Private bool
	// MaxQueued is how many tile renders may wait for one of the DBConns connections; a
	// request that would render beyond DBConns + MaxQueued is answered 503 with Retry-After
	// instead of queueing without end. 0 means DefaultMaxQueued.
	MaxQueued int
	// DBConns is the size of the tile server's own connection pool; 0 means max(4, CPUs).
	// Cutting a tile is CPU work in PostgreSQL: more tiles at once than cores give no more
	// tiles per second (4 and 8 connections gave the same on 2 CPUs), and the connections
	// are better left to the API.
	DBConns int
	// BaseURL is the URL prefix of the tiles in TileJSON (e.g. https://maps.example.org);
	// empty: taken from the request.
	BaseURL string
	// Forwarded takes the scheme and host of TileJSON's tile URL from X-Forwarded-Proto and
	// X-Forwarded-Host: set it only behind a proxy that sets them (and strips a client's),
	// or any client could have gridmap hand out tile URLs on a host of its choosing.
	Forwarded bool
	Logger    *slog.Logger
	// Replica, when its router has a replica, sends tile reads there: each request reads
	// its data version, the change log and its tile from the replica, or from the primary when
	// it names a WAL position (replica.WithMinLSN) the replica has not replayed within the
	// router's wait. The primary is the pool given to New. nil: every read goes to that pool.
	Replica *replica.Router
	// Metrics is the registry the server's metrics go to and /tiles/metrics serves (the same
	// as the process's /metrics); nil: a registry of the server's own.
	Metrics *prometheus.Registry
}

// Server serves tiles; it is an http.Handler for /tiles/… and /tiles.json.
type Server struct {
	primary *source // the pool given to New (a pool of the tile server's own on its database)
	replica *source // nil: no replica (Options.Replica)
	rules   Rules
	o       Options
	log     *slog.Logger
	mux     *http.ServeMux
	cache   *cache // nil: off
	renders flights
	syncs   singleflight.Group // reads of the change log for the cache (sync)
	// densityGrow is how far a density change reaches at each zoom (reachOf)
	densityGrow [MaxZoom + 1]float64
	m           metrics
	gzipFast    sync.Pool // *gzip.Writer at BestSpeed
	gzipBest    sync.Pool // at DefaultCompression
}

var _ http.Handler = (*Server)(nil)

// New returns a tile server on the database of pool, whose connections must know the geometry
// type (pgxgeo.Register, as grid/postgis sets up). It opens its own pool with pool's
// configuration and generic plans forced (see tilePool); Close closes it. Invalid options give
// an EINVALID error.
func New(pool *pgxpool.Pool, o Options) (*Server, error) {
	if o.Rules == (Rules{}) {
		o.Rules = DefaultRules()
	}
	if err := o.Rules.Validate(); err != nil {
		return nil, err
	}
	if o.CacheBytes < 0 || o.MaxTileBytes < 0 || o.MaxAge < 0 {
		return nil, grid.Errorf(grid.EINVALID, "tiles: cache size, tile cap and max-age cannot be negative")
	}
	if o.MaxTileBytes == 0 {
		o.MaxTileBytes = DefaultMaxTileBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DBConns < 0 {
		return nil, grid.Errorf(grid.EINVALID, "tiles: DBConns cannot be negative")
	}
	if o.DBConns == 0 {
		o.DBConns = max(4, runtime.NumCPU())
	}
	if o.MaxQueued < 0 {
		return nil, grid.Errorf(grid.EINVALID, "tiles: MaxQueued cannot be negative")
	}
	if o.MaxQueued == 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	pool, err := tilePool(pool, o.DBConns)
	if err != nil {
		return nil, err
	}
	s := &Server{rules: o.Rules, o: o, log: o.Logger, densityGrow: densityGrowth(o.Rules)}
	s.renders = flights{m: map[flightKey]*flight{}, max: int64(o.DBConns + o.MaxQueued), render: s.render}
	s.primary = s.newSource(pool)
	if rp := o.Replica.Replica(); rp != nil {
		if rp, err = tilePool(rp, o.DBConns); err != nil {
			pool.Close()
			return nil, err
		}
		s.replica = s.newSource(rp)
	}
	if o.CacheBytes > 0 {
		s.cache = newCache(o.CacheBytes)
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if err := s.newMetrics(o.Metrics, s.cache); err != nil {
		s.Close()
		return nil, fmt.Errorf("tiles: metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tiles/{z}/{x}/{y}", s.handle(s.serveTile))
	mux.HandleFunc("GET /tiles.json", s.handle(s.serveTileJSON))
	mux.HandleFunc("GET /style.json", s.handle(s.serveStyle))
	for _, ratio := range []int{1, 2} {
		name := "/tiles/sprite" + map[int]string{1: "", 2: "@2x"}[ratio]
		mux.HandleFunc("GET "+name+".json", s.handle(serveSprite(ratio, false)))
		mux.HandleFunc("GET "+name+".png", s.handle(serveSprite(ratio, true)))
	}
	mux.Handle("GET /tiles/metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/tiles/", s.handle(unknown))
	s.mux = mux
	return s, nil
}

// tilePool opens a pool like base for the tile statement. PostgreSQL plans a prepared
// statement anew for each call while the plans for the parameters it has seen look cheaper
// than a generic one, and with the layer gates folded away a units-only plan looks very
// cheap: it then never settles on the generic plan, and planning cost more than cutting a z16
// tile (0.55 against 0.21 ms of database CPU). Forcing the generic plan, whose gates and
// envelopes are run-time parameters, needs a session setting, hence a pool of its own; it
// also keeps tile traffic from starving the API's connections.
func tilePool(base *pgxpool.Pool, conns int) (*pgxpool.Pool, error) {
	cfg := base.Config()
	cfg.MaxConns = int32(conns)
	cfg.MinConns = 0
	params := cfg.ConnConfig.RuntimeParams
	if params == nil {
		params = map[string]string{}
		cfg.ConnConfig.RuntimeParams = params
	}
	params["plan_cache_mode"] = "force_generic_plan"
	params["application_name"] = cmp.Or(params["application_name"], "gridmap") + "-tiles"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("tiles: %w", err)
	}
	return pool, nil
}

// Close closes the server's database pools.
func (s *Server) Close() {
	s.primary.pool.Close()
	if s.replica != nil {
		s.replica.pool.Close()
	}
}

// Warm readies the server for its first requests: it builds the density index and prepares
// the tile statement on up to conns pooled connections (held at once, so they are distinct),
// so that early tiles pay for neither — on the database requests read from (the replica, when
// there is one).
func (s *Server) Warm(ctx context.Context, conns int) error {
	src := s.reads()
	if _, err := src.density.index(ctx, 0); err != nil {
		return err
	}
	var held []*pgxpool.Conn
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range min(conns, int(src.pool.Config().MaxConns)) {
		c, err := src.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("tiles: warm: %w", err)
		}
		held = append(held, c)
		// z0 with every layer gated off: prepares the statement, reads nothing
		var v int64
		var l [len(layerOrder)][]byte
		if err := c.QueryRow(ctx, tileSQL, tileArgs(Tile{}, params{}, 0, 0, densityArgs{})...).Scan(layerDest(&v, &l)...); err != nil {
			return fmt.Errorf("tiles: warm: %w", err)
		}
	}
	return nil
}

// ServeHTTP serves a request under /tiles/ or /tiles.json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func unknown(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return httperr.WithStatus(grid.Errorf(grid.EINVALID, "tiles: method %s not allowed, only GET", r.Method), http.StatusMethodNotAllowed)
	}
	return grid.Errorf(grid.ENOTFOUND, "tiles: no such endpoint: %s (tiles are /tiles/{z}/{x}/{y}.mvt)", r.URL.Path)
}

// tileKey reads the tile and the layers a request for /tiles/{z}/{x}/{y}.mvt asks for:
// EINVALID for anything else.
func tileKey(r *http.Request) (cacheKey, error) {
	y, ok := strings.CutSuffix(r.PathValue("y"), ".mvt")
	if !ok {
		return cacheKey{}, grid.Errorf(grid.EINVALID, "tiles: %q: tiles are /tiles/{z}/{x}/{y}.mvt", r.URL.Path)
	}
	t, err := Parse(r.PathValue("z"), r.PathValue("x"), y)
	if err != nil {
		return cacheKey{}, err
	}
	layers, err := parseLayers(r.URL.Query().Get("layers"))
	if err != nil {
		return cacheKey{}, err
	}
	k := cacheKey{t: t, layers: layers}
	if q := r.URL.Query().Get("at"); q != "" {
		at, err := grid.ParseTime("at", q)
		if err != nil {
			return cacheKey{}, err
		}
		// a moment not in the past is now: the current tile, with its own invalidation
		if at.Before(time.Now()) {
			k.at = max(at.UnixMicro(), 1)
		}
	}
	return k, nil
}

// atTime is the moment k draws (k.at != 0).
func (k cacheKey) atTime() time.Time { return time.UnixMicro(k.at).UTC() }

// serveTile answers GET /tiles/{z}/{x}/{y}.mvt.
func (s *Server) serveTile(w http.ResponseWriter, r *http.Request) error {
	k, err := tileKey(r)
	if err != nil {
		return err
	}
	ctx, src := s.pick(r.Context())
	// The fresh version keys the cache and bounds the density index's age; a tile cut for a
	// request without either reads its snapshot's data directly and needs no version.
	var v int64
	if s.cache != nil || s.params(k).res >= 0 {
		if v, err = src.versions.Current(ctx); err != nil {
			return fmt.Errorf("tiles: data version: %w", err)
		}
	}
	var b *tileBody
	if s.cache != nil {
		if err := s.sync(ctx, src, v); err != nil {
			return err
		}
		b = s.cache.get(k)
	}
	if b != nil {
		s.m.hits.Inc()
	} else {
		s.m.misses.Inc()
		t0 := time.Now()
		if b, err = s.renderShared(ctx, k, v); err != nil {
			return err
		}
		w.Header().Set("Server-Timing", fmt.Sprintf("render;dur=%.2f", float64(time.Since(t0).Microseconds())/1000))
	}
	// the data version the answer is current at: the one this request read (the cache was
	// brought up to it), else the tile's own snapshot
	w.Header().Set(VersionHeader, strconv.FormatInt(max(v, b.version), 10))
	s.respond(w, r, b)
	return nil
}

// renderShared renders k at version v or newer; with the cache on, concurrent requests for the
// same tile share one render (see flights), and the tile is cached (a past moment once it has
// settled).
func (s *Server) renderShared(ctx context.Context, k cacheKey, v int64) (*tileBody, error) {
	if s.cache == nil || (k.at != 0 && time.Since(k.atTime()) < settled) {
		return s.renders.alone(ctx, k, v)
	}
	return s.renders.shared(ctx, k, v, func(b *tileBody) {
		if len(b.raw) > 0 {
			// the cache keeps the exact bytes (a clone: the gzip buffer grew past them)
			b.gz = append([]byte(nil), s.compress(b.raw, gzip.DefaultCompression)...)
		}
		if b.version > 0 {
			s.cache.put(k, b)
		}
	})
}

// respond writes b with its validators, 304 when the client has it, 204 when it is empty.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, b *tileBody) {
	h := w.Header()
	h.Set("ETag", b.etag)
	h.Set("Cache-Control", s.cacheControl())
	h.Set("Vary", "Accept-Encoding")
	if b.reduced != "" {
		h.Set("Gridmap-Tile-Reduced", b.reduced)
	}
	if etagMatch(r.Header.Get("If-None-Match"), b.etag) {
		s.m.notModified.Inc()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if len(b.raw) == 0 {
		s.m.empty.Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body := b.raw
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		if body = b.gz; body == nil {
			body = s.compress(b.raw, gzip.BestSpeed)
		}
	}
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		n, _ := w.Write(body)
		s.m.bytesOut.Add(float64(n))
	}
}

func (s *Server) cacheControl() string {
	scope := "public"
	if s.o.Private {
		scope = "private"
	}
	if s.o.MaxAge <= 0 {
		return scope + ", max-age=0, must-revalidate"
	}
	return fmt.Sprintf("%s, max-age=%d", scope, int(s.o.MaxAge.Seconds()))
}

// etagMatch implements If-None-Match's weak comparison against our (weak) ETag.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, c := range strings.Split(header, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.TrimPrefix(c, "W/") == want {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip (q > 0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// finish turns the rendered bytes into a servable tile. The ETag is a hash of the content:
// equal tiles of different versions keep their ETag, so clients get 304 after unrelated edits.
func (s *Server) finish(version int64, raw []byte, reduced string) *tileBody {
	sum := sha256.Sum256(raw)
	return &tileBody{version: version, raw: raw, reduced: reduced, etag: `W/"` + hex.EncodeToString(sum[:12]) + `"`}
}

// compress gzips raw. A tile that goes into the cache is compressed once, at the default
// level; one served without the cache is compressed per request, at the fastest level: 4x
// faster than the default (0.4 against 1.7 ms for 60 kB) for 15% more bytes.
func (s *Server) compress(raw []byte, level int) []byte {
	pool := &s.gzipFast
	if level != gzip.BestSpeed {
		pool = &s.gzipBest
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) / 2)
	zw, _ := pool.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, level)
	} else {
		zw.Reset(&buf)
	}
	_, _ = zw.Write(raw)
	_ = zw.Close()
	pool.Put(zw)
	return buf.Bytes()
}

// handle adapts a handler that returns an error; errors are written as gridmap's coded JSON.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError writes err in the shape of the whole API (internal/httperr).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if httperr.Write(w, r, s.log, err, nil) == grid.EINTERNAL && r.Context().Err() == nil {
		s.m.errors.Inc()
	}
}
