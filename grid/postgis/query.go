package postgis

import (
	"context"
	"sort"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
	"gridmap/grid/locate"
)

// locateSQL finds every current grid holding the point $1/$2 (boundary included; inside tells
// whether the interior holds it) and the lowest-id building whose footprint holds it.
const locateSQL = `
WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g)
SELECT 'grid' AS kind, g.id, g.level, g.code, g.name, ST_Contains(g.geom, p.g) AS inside
FROM grids g, p
WHERE g.valid_to IS NULL AND g.geom && p.g AND ST_Intersects(g.geom, p.g)
UNION ALL
(SELECT 'building', b.id, 0, b.code, b.name, true
 FROM buildings b, p
 WHERE b.footprint && p.g AND ST_Intersects(b.footprint, p.g)
 ORDER BY b.id LIMIT 1)`

// inCitySQL tells whether the city boundary holds the point $1/$2.
const inCitySQL = `
SELECT EXISTS (SELECT 1 FROM city WHERE ST_Intersects(boundary, ST_SetSRID(ST_MakePoint($1, $2), 4326)))`

// Locate returns the grid chain and building at lon/lat (see locate.Resolve for the rules):
// from the in-memory index when it is current (locator), else by SQL — the same answer.
func (s *Store) Locate(ctx context.Context, lon, lat float64) (grid.Location, error) {
	if err := grid.CheckPoint(lon, lat); err != nil {
		return grid.Location{Lon: lon, Lat: lat, Overlapping: []grid.GridRef{}}, err
	}
	loc, ok, err := s.loc.locate(ctx, lon, lat)
	if err != nil {
		return loc, mapError(err)
	}
	if ok {
		s.counted("index")
		return loc, nil
	}
	s.counted("sql")
	return s.locateSQL(ctx, lon, lat)
}

// counted counts a locate answered by.
func (s *Store) counted(by string) {
	if s.writes != nil {
		s.writes.located.WithLabelValues(by).Inc()
	}
}

// locateSQL is Locate asking the database.
func (s *Store) locateSQL(ctx context.Context, lon, lat float64) (grid.Location, error) {
	rows, _ := s.pool.Query(ctx, locateSQL, lon, lat)
	var hits []locate.Hit
	var b *grid.BuildingRef
	var kind string
	var h locate.Hit
	_, err := pgx.ForEachRow(rows, []any{&kind, &h.Ref.ID, &h.Ref.Level, &h.Ref.Code, &h.Ref.Name, &h.Inside}, func() error {
		if kind == "building" {
			b = &grid.BuildingRef{ID: h.Ref.ID, Code: h.Ref.Code, Name: h.Ref.Name}
		} else {
			hits = append(hits, h)
		}
		return nil
	})
	if err != nil {
		return grid.Location{Lon: lon, Lat: lat, Overlapping: []grid.GridRef{}}, mapError(err)
	}
	loc, err := locate.Resolve(lon, lat, hits, b, func() (in bool, err error) {
		err = s.pool.QueryRow(ctx, inCitySQL, lon, lat).Scan(&in)
		return in, err
	})
	return loc, mapError(err)
}

const validitySQL = `SELECT ST_IsValid($1::geometry), ST_IsValidReason($1::geometry)`

// withinCountsSQL counts what lies in area $1: buildings whose point on surface is inside, their
// units, households and residents, and per level the grids whose interior meets the area.
const withinCountsSQL = `
WITH a AS (SELECT $1::geometry AS g),
inb AS (
    SELECT b.id, b.households, b.residents FROM buildings b, a
    WHERE b.anchor && a.g AND ST_Intersects(a.g, b.anchor)
), ing AS (
    SELECT g.level FROM grids g, a
    WHERE g.valid_to IS NULL AND g.geom && a.g AND ST_Relate(g.geom, a.g, 'T********')
)
SELECT (SELECT count(*) FROM ing WHERE level = 1)::int,
       (SELECT count(*) FROM ing WHERE level = 2)::int,
       (SELECT count(*) FROM ing WHERE level = 3)::int,
       (SELECT count(*) FROM inb)::int,
       (SELECT count(*) FROM units u WHERE u.building_id IN (SELECT id FROM inb))::int,
       (SELECT coalesce(sum(households), 0) FROM inb)::int,
       (SELECT coalesce(sum(residents), 0) FROM inb)::int`

const withinPageSQL = `
SELECT ` + buildingColumns + `
FROM buildings b
WHERE b.anchor && $1::geometry AND ST_Intersects($1::geometry, b.anchor)
ORDER BY b.id LIMIT $2 OFFSET $3`

// Within returns the counts of what lies inside q.Area and a page of its buildings. The area
// must be valid in the OGC sense (PostGIS ST_IsValid): a self-intersecting ring has no
// well-defined inside, so it is EINVALID with PostGIS's reason rather than a guess.
func (s *Store) Within(ctx context.Context, q grid.WithinQuery) (grid.WithinResult, error) {
	var out grid.WithinResult
	if err := q.Validate(); err != nil {
		return out, err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var valid bool
		var reason string
		if err := tx.QueryRow(ctx, validitySQL, q.Area).Scan(&valid, &reason); err != nil {
			return err
		}
		if !valid {
			return grid.Errorf(grid.EINVALID, "query area is not a valid polygon: %s", reason)
		}
		c := &out.Counts
		if err := tx.QueryRow(ctx, withinCountsSQL, q.Area).Scan(&c.Grids[0], &c.Grids[1], &c.Grids[2],
			&c.Buildings, &c.Units, &c.Households, &c.Residents); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, withinPageSQL, q.Area, q.Limit, q.Offset)
		var err error
		out.Buildings, err = pgx.CollectRows(rows, scanBuildingInfo)
		return err
	})
	return out, mapError(err)
}

// nearestBuildingsSQL walks the geography KNN index (metres on the sphere) from point $1/$2.
const nearestBuildingsSQL = `
SELECT b.id, b.code, b.name, b.id,
       ST_Distance(b.footprint::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography),
       b.anchor
FROM buildings b
ORDER BY b.footprint::geography <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography
LIMIT $3`

const nearestUnitsSQL = `
SELECT u.id, b.code, u.label, u.building_id,
       ST_Distance(u.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography),
       u.geom
FROM (SELECT * FROM units
      ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography
      LIMIT $3) u
JOIN buildings b ON b.id = u.building_id`

// Nearest returns the places closest to the point. The index orders on the sphere; the
// distances reported are on the WGS 84 spheroid (ST_Distance's default), and the few places
// returned are re-sorted by them, so the order and the numbers agree.
func (s *Store) Nearest(ctx context.Context, q grid.NearestQuery) ([]grid.Nearby, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sql := nearestBuildingsSQL
	if q.Kind == grid.KindUnit {
		sql = nearestUnitsSQL
	}
	rows, _ := s.pool.Query(ctx, sql, q.Lon, q.Lat, q.Limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.Nearby, error) {
		n := grid.Nearby{Kind: q.Kind}
		err := row.Scan(&n.ID, &n.Code, &n.Name, &n.BuildingID, &n.DistanceM, &n.Geom)
		return n, err
	})
	if err != nil {
		return nil, mapError(err)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].DistanceM < out[b].DistanceM })
	return out, nil
}

const (
	gridExtentSQL     = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE valid_to IS NULL AND level = $1) x`
	buildingExtentSQL = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(footprint) AS e FROM buildings) x`
	unitExtentSQL     = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM units) x`
)

// Extent returns the box around every current grid of a level, every building or every unit.
func (s *Store) Extent(ctx context.Context, kind string, level int) (*grid.BBox, error) {
	var row pgx.Row
	switch kind {
	case grid.KindGrid:
		row = s.pool.QueryRow(ctx, gridExtentSQL, level)
	case grid.KindBuilding:
		row = s.pool.QueryRow(ctx, buildingExtentSQL)
	case grid.KindUnit:
		row = s.pool.QueryRow(ctx, unitExtentSQL)
	default:
		return nil, grid.Errorf(grid.EINVALID, "extent of %q: want grid, building or unit", kind)
	}
	var x0, y0, x1, y1 *float64
	if err := row.Scan(&x0, &y0, &x1, &y1); err != nil {
		return nil, mapError(err)
	}
	if x0 == nil {
		return nil, nil
	}
	return &grid.BBox{MinLon: *x0, MinLat: *y0, MaxLon: *x1, MaxLat: *y1}, nil
}
