package postgis

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo/chinacrs"
	"gridmap/grid"
)

// transformSQL moves $1 from SRID $2 to SRID $3, in order.
const transformSQL = `
SELECT ST_Transform(ST_SetSRID(g, $2::int), $3::int)
FROM unnest($1::geometry[]) WITH ORDINALITY AS u(g, n)
ORDER BY n`

// Transform moves geoms between WGS 84 and CGCS2000 or one of its Gauss–Krüger zones with
// ST_Transform, in one round trip.
func (s *Store) Transform(ctx context.Context, geoms []orb.Geometry, from, to chinacrs.CRS) ([]orb.Geometry, error) {
	if !from.Valid() || !to.Valid() || from.EPSG() == 0 || to.EPSG() == 0 {
		return nil, grid.Errorf(grid.EINVALID, "PostGIS does not convert %s to %s", from, to)
	}
	rows, _ := s.pool.Query(ctx, transformSQL, geoms, from.EPSG(), to.EPSG())
	out, err := pgx.CollectRows(rows, pgx.RowTo[orb.Geometry])
	return out, mapError(err)
}
