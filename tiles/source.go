package tiles

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/internal/changelog"
)

// source is one database the tiles are read from — the primary, or its streaming replica —
// with what follows that database's data version: the version reads and the density index.
// A request reads its version, the change log and its tile from one source, so a tile read
// from the replica is of the replica's data version. The cache is shared: the log is the same
// on both (the replica's is a prefix of the primary's), and a tile from an older snapshot goes
// into it only when no change applied since reaches it (cache.put).
type source struct {
	pool     *pgxpool.Pool
	versions *changelog.Versions
	density  *density
}

func (s *Server) newSource(pool *pgxpool.Pool) *source {
	d := newDensity(pool, s.rules)
	d.builds = func() { s.m.densityBuilds.Inc() }
	d.reuses = func() { s.m.densityReuses.Inc() }
	return &source{pool: pool, versions: changelog.NewVersions(pool, func() { s.m.versionReads.Inc() }), density: d}
}

type sourceKey struct{}

// pick chooses the source of a request — the replica unless the request names a WAL position
// (replica.WithMinLSN) the replica has not replayed within the router's wait — and returns
// ctx carrying it, for the render that may outlive the request (flights).
func (s *Server) pick(ctx context.Context) (context.Context, *source) {
	src := s.primary
	if s.replica != nil && s.o.Replica.UseReplica(ctx) {
		src = s.replica
	}
	return context.WithValue(ctx, sourceKey{}, src), src
}

// sourceOf is the source pick put in ctx; the primary when none.
func (s *Server) sourceOf(ctx context.Context) *source {
	if src, ok := ctx.Value(sourceKey{}).(*source); ok {
		return src
	}
	return s.primary
}

// reads is the source requests read from when they name no position.
func (s *Server) reads() *source {
	if s.replica != nil {
		return s.replica
	}
	return s.primary
}
