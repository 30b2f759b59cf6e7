package postgis

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// The coverage report measured from scratch: every fact computed from the data on each
// request. The report is read from what the writing transactions keep (coverage.go); this
// path remains as the check of that (tests compare the two after every kind of edit, and
// `gridmap coverage --recompute`) and for the balance panel's per-grid measures.
//
// Every coverage query takes the scope's root grid as $1 (NULL: the whole city); those that
// measure areas take the smallest area worth reporting, in m², as $2. scopeGrids is the current grids in scope;
// inScope(b) says whether building b belongs to the scope: derived into a grid of the subtree,
// or with its point on surface inside the root (a building in a gap of the subtree).
const scopeGrids = `
scope AS (
    SELECT g.* FROM grids g
    WHERE g.valid_to IS NULL AND ($1::bigint IS NULL OR g.id IN (SELECT id FROM gridmap_subtree($1)))
)`

const buildingInScope = `($1::bigint IS NULL OR b.grid_id IN (SELECT id FROM scope)
    OR EXISTS (SELECT 1 FROM grids r WHERE r.id = $1 AND ST_Intersects(r.geom, b.anchor)))`

// coverageGridsSQL measures each grid: area and perimeter on the spheroid; Polsby–Popper
// 4πA/P² from those; Reock, the area over that of the minimum bounding circle, computed after
// shrinking longitudes by cos(latitude) so that a degree east is as long as a degree north
// (the ratio is scale-free, only that distortion matters); parts of the multipolygon
// (contiguity); and what was derived into the grid itself.
const coverageGridsSQL = `
WITH` + scopeGrids + `
SELECT g.id, g.level, g.code, g.name, g.parent_id,
       m.area, m.perimeter,
       CASE WHEN m.perimeter > 0 THEN 4 * pi() * m.area / (m.perimeter * m.perimeter) ELSE 0 END,
       CASE WHEN r.radius > 0 THEN ST_Area(r.flat) / (pi() * r.radius * r.radius) ELSE 0 END,
       ST_NumGeometries(g.geom),
       own.buildings, own.units, own.households, own.residents, own.estimated
FROM scope g
CROSS JOIN LATERAL (SELECT ST_Area(g.geom::geography) AS area, ST_Perimeter(g.geom::geography) AS perimeter) m
CROSS JOIN LATERAL (SELECT ST_Scale(g.geom, cos(radians(ST_Y(ST_Centroid(g.geom)))), 1) AS flat) f
CROSS JOIN LATERAL (SELECT f.flat, (ST_MinimumBoundingRadius(f.flat)).radius) r
CROSS JOIN LATERAL (
    SELECT count(*)::int AS buildings,
           coalesce(sum((SELECT count(*) FROM units u WHERE u.building_id = b.id)), 0)::int AS units,
           coalesce(sum(b.households), 0)::int AS households,
           coalesce(sum(b.residents), 0)::int AS residents,
           coalesce(bool_or(b.households_estimated), false) AS estimated
    FROM buildings b WHERE b.grid_id = g.id
) own`

const coverageStaffSQL = `
WITH` + scopeGrids + `
SELECT a.grid_id, a.worker_id
FROM assignments a JOIN workers w ON w.id = a.worker_id
WHERE a.valid_to IS NULL AND w.retired_at IS NULL AND a.grid_id IN (SELECT id FROM scope)`

// coverageGapsSQL: per parent in scope (and, for the whole city, the city boundary against the
// level-1 grids), the parts of it no child covers, with the children bordering each part.
const coverageGapsSQL = `
WITH` + scopeGrids + `,
holes AS (
    SELECT p.id AS parent_id, u.diff
    FROM scope p
    CROSS JOIN LATERAL (
        SELECT coalesce(ST_Difference(p.geom, ST_Union(c.geom)), p.geom) AS diff
        FROM grids c WHERE c.parent_id = p.id AND c.valid_to IS NULL
    ) u
    WHERE p.level < 3
    UNION ALL
    SELECT NULL, coalesce(ST_Difference(c.boundary, ST_Union(g.geom)), c.boundary)
    FROM city c, grids g
    WHERE $1::bigint IS NULL AND c.boundary IS NOT NULL AND g.level = 1 AND g.valid_to IS NULL
    GROUP BY c.boundary
)
SELECT h.parent_id, d.geom, gridmap_area_m2(d.geom),
       coalesce((SELECT array_agg(c.id ORDER BY c.code) FROM grids c
                 WHERE c.valid_to IS NULL AND c.geom && d.geom AND ST_Intersects(c.geom, d.geom)
                   AND (c.parent_id = h.parent_id OR (h.parent_id IS NULL AND c.level = 1))), '{}')
FROM holes h
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(h.diff, 3)) d
WHERE gridmap_area_m2(d.geom) >= $2
ORDER BY h.parent_id NULLS FIRST, ST_XMin(d.geom), ST_YMin(d.geom)`

// coverageOverlapsSQL: pairs of current grids of one level whose interiors meet, one of them
// in scope, with the parts of their intersection worth reporting.
const coverageOverlapsSQL = `
WITH` + scopeGrids + `
SELECT a.id, a.level, a.code, a.name, b.id, b.level, b.code, b.name,
       ST_Multi(ST_Collect(d.geom)), sum(gridmap_area_m2(d.geom))
FROM grids a
JOIN grids b ON b.level = a.level AND a.id < b.id AND b.valid_to IS NULL AND a.geom && b.geom
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
WHERE a.valid_to IS NULL AND ST_Relate(a.geom, b.geom, 'T********')
  AND (a.id IN (SELECT id FROM scope) OR b.id IN (SELECT id FROM scope))
  AND gridmap_area_m2(d.geom) >= $2
GROUP BY a.id, a.level, a.code, a.name, b.id, b.level, b.code, b.name
ORDER BY a.code, b.code`

// coverageOutsideParentSQL: grids in scope reaching out of their parent (level 1: out of the
// city boundary, when there is one).
const coverageOutsideParentSQL = `
WITH` + scopeGrids + `,
out AS (
    SELECT c.id, c.parent_id, ST_Difference(c.geom, p.geom) AS diff
    FROM scope c JOIN grids p ON p.id = c.parent_id
    WHERE NOT ST_CoveredBy(c.geom, p.geom)
    UNION ALL
    SELECT c.id, NULL, ST_Difference(c.geom, city.boundary)
    FROM scope c, city
    WHERE c.level = 1 AND city.boundary IS NOT NULL AND NOT ST_CoveredBy(c.geom, city.boundary)
)
SELECT c.id, c.level, c.code, c.name, p.id, p.level, p.code, p.name,
       ST_Multi(ST_Collect(d.geom)), sum(gridmap_area_m2(d.geom))
FROM out o
JOIN grids c ON c.id = o.id
LEFT JOIN grids p ON p.id = o.parent_id
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(o.diff, 3)) d
WHERE gridmap_area_m2(d.geom) >= $2
GROUP BY c.id, c.level, c.code, c.name, p.id, p.level, p.code, p.name
ORDER BY c.code`

// coverageBuildingsOutsideSQL: buildings whose derived grid is not a level-3 grid. The
// derivation triggers keep grid_id the deepest current grid holding the point on surface,
// so no spatial test is needed here.
const coverageBuildingsOutsideSQL = `
WITH` + scopeGrids + `
SELECT b.id, b.code, b.name
FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id
WHERE (g.id IS NULL OR g.level < 3) AND ` + buildingInScope + `
ORDER BY b.code`

// coverageMultiGridSQL: buildings whose point on surface lies inside two or more level-3
// grids. Only overlapping grids can do that, so the search starts from overlapping pairs.
const coverageMultiGridSQL = `
WITH` + scopeGrids + `,
pairs AS (
    SELECT a.id AS a, b.id AS b, ST_Intersection(a.geom, b.geom) AS geom
    FROM grids a JOIN grids b ON b.level = 3 AND a.id < b.id AND b.valid_to IS NULL AND a.geom && b.geom
    WHERE a.level = 3 AND a.valid_to IS NULL AND ST_Relate(a.geom, b.geom, 'T********')
), hit AS (
    SELECT DISTINCT b.id
    FROM pairs p JOIN buildings b ON b.anchor && p.geom AND ST_Intersects(p.geom, b.anchor)
)
SELECT b.id, b.code, b.name,
       array_agg(g.id ORDER BY g.code), array_agg(g.level ORDER BY g.code),
       array_agg(g.code ORDER BY g.code), array_agg(g.name ORDER BY g.code)
FROM hit h
JOIN buildings b ON b.id = h.id
JOIN grids g ON g.level = 3 AND g.valid_to IS NULL AND g.geom && b.anchor AND ST_Contains(g.geom, b.anchor)
WHERE ` + buildingInScope + `
GROUP BY b.id, b.code, b.name
HAVING count(*) > 1
ORDER BY b.code`

// coverageStraddlersSQL: buildings in a level-3 grid whose footprint reaches out of it by at
// least the minimum area.
const coverageStraddlersSQL = `
WITH` + scopeGrids + `
SELECT b.id, b.code, b.name, g.id, g.level, g.code, g.name, x.area, x.outside
FROM buildings b
JOIN grids g ON g.id = b.grid_id AND g.level = 3
CROSS JOIN LATERAL (
    SELECT ST_Area(b.footprint::geography) AS area,
           ST_Area(ST_Difference(b.footprint, g.geom)::geography) AS outside
) x
WHERE NOT ST_CoveredBy(b.footprint, g.geom) AND ` + buildingInScope + ` AND x.outside >= $2
ORDER BY b.code`

// coverageUngriddedSQL: buildings in no grid, for the whole city.
const coverageUngriddedSQL = `SELECT CASE WHEN $1::bigint IS NULL THEN (SELECT count(*) FROM buildings WHERE grid_id IS NULL) ELSE 0 END::int`

const coverageUnstaffedBuildingsSQL = `
WITH` + scopeGrids + `
SELECT b.id, b.code, b.name
FROM buildings b
WHERE ` + buildingInScope + `
  AND NOT EXISTS (
    SELECT 1 FROM assignments a JOIN workers w ON w.id = a.worker_id
    WHERE a.building_id = b.id AND a.role = 'building_leader' AND a.valid_to IS NULL AND w.retired_at IS NULL)
ORDER BY b.code`

const coverageUnstaffedUnitsSQL = `
WITH` + scopeGrids + `
SELECT u.id, u.label, b.id, b.code
FROM units u JOIN buildings b ON b.id = u.building_id
WHERE ` + buildingInScope + `
  AND NOT EXISTS (
    SELECT 1 FROM assignments a JOIN workers w ON w.id = a.worker_id
    WHERE a.unit_id = u.id AND a.role = 'unit_leader' AND a.valid_to IS NULL AND w.retired_at IS NULL)
ORDER BY b.code, u.id`

// coverageFacts measures the scope in one read-only snapshot (see grid.BuildCoverage for the
// rules); with o.At (a past moment), the division as it stood then, from the kept facts of
// what did not change since and measurements of what did (coverage_past.go). Areas below
// o.MinAreaM2 are ignored.
func (s *Store) coverageFacts(ctx context.Context, o grid.CoverageOptions) (grid.CoverageFacts, error) {
	return s.measureFacts(ctx, o, false)
}

// measureFacts is coverageFacts; scratch measures a past moment from scratch, by the same
// queries as now read through the gridmap_asof views (history.go): what the tests hold the
// other way to.
func (s *Store) measureFacts(ctx context.Context, o grid.CoverageOptions, scratch bool) (grid.CoverageFacts, error) {
	var f grid.CoverageFacts
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT version FROM data_version").Scan(&f.DataVersion); err != nil {
			return err
		}
		if o.At != nil && !scratch {
			return measurePast(ctx, tx, o.Root, *o.At, o.MinAreaM2, &f)
		}
		if o.At != nil {
			if err := asOf(ctx, tx, *o.At); err != nil {
				return err
			}
		}
		var err error
		var root *int64
		if f.Root, root, err = scopeRoot(ctx, tx, o.Root); err != nil {
			return err
		}
		return measureCoverage(ctx, tx, root, o.MinAreaM2, &f)
	})
	return f, err
}

// measureCoverage measures the subtree of root (nil: the city) in one batch: every list of
// the report is one query, collected into f.
func measureCoverage(ctx context.Context, tx pgx.Tx, root *int64, minArea float64, f *grid.CoverageFacts) error {
	args, areaArgs := []any{root}, []any{root, minArea}
	var gaps []gapRow
	b := &pgx.Batch{}
	queueCollect(b, &f.Grids, scanGridFact, coverageGridsSQL, args...)
	queueCollect(b, &f.Staff, pgx.RowToStructByPos[grid.GridStaff], coverageStaffSQL, args...)
	queueCollect(b, &gaps, pgx.RowToStructByPos[gapRow], coverageGapsSQL, areaArgs...)
	queueCollect(b, &f.Overlaps, scanOverlap, coverageOverlapsSQL, areaArgs...)
	queueCollect(b, &f.OutsideParent, scanOutsideParent, coverageOutsideParentSQL, areaArgs...)
	queueCollect(b, &f.BuildingsOutside, pgx.RowToStructByPos[grid.BuildingRef], coverageBuildingsOutsideSQL, args...)
	queueCollect(b, &f.MultiGrid, scanMultiGrid, coverageMultiGridSQL, args...)
	queueCollect(b, &f.Straddlers, scanStraddler, coverageStraddlersSQL, areaArgs...)
	queueCollect(b, &f.UnstaffedBuildings, pgx.RowToStructByPos[grid.BuildingRef], coverageUnstaffedBuildingsSQL, args...)
	queueCollect(b, &f.UnstaffedUnits, pgx.RowToStructByPos[grid.UnitRef], coverageUnstaffedUnitsSQL, args...)
	b.Queue(coverageUngriddedSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&f.Ungridded) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	f.Gaps = namedGaps(gaps, f.Grids)
	return nil
}

// queueCollect queues sql on b; when the batch runs, its rows are scanned into *dst.
func queueCollect[T any](b *pgx.Batch, dst *[]T, scan pgx.RowToFunc[T], sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		var err error
		*dst, err = pgx.CollectRows(rows, scan)
		return err
	})
}

// namedGaps turns gap rows into the report's gaps, naming the parent and the bordering grids
// by the grids measured (gap rows carry only their ids).
func namedGaps(gaps []gapRow, grids []grid.GridFact) []grid.Gap {
	refs := make(map[int64]grid.GridRef, len(grids))
	for _, g := range grids {
		refs[g.ID] = g.GridRef
	}
	var out []grid.Gap
	for _, g := range gaps {
		gap := grid.Gap{AreaM2: g.Area, Geometry: geo.GeoJSON{Geometry: g.Geom}, Bordering: []grid.GridRef{}}
		if g.ParentID != nil {
			p := refs[*g.ParentID]
			gap.Parent = &p
		}
		for _, id := range g.Bordering {
			gap.Bordering = append(gap.Bordering, refs[id])
		}
		out = append(out, gap)
	}
	return out
}

// scanOverlap reads a row of coverageOverlapsSQL.
func scanOverlap(row pgx.CollectableRow) (grid.Overlap, error) {
	var o grid.Overlap
	var g orb.Geometry
	err := row.Scan(&o.Grids[0].ID, &o.Grids[0].Level, &o.Grids[0].Code, &o.Grids[0].Name,
		&o.Grids[1].ID, &o.Grids[1].Level, &o.Grids[1].Code, &o.Grids[1].Name, &g, &o.AreaM2)
	o.Geometry = geo.GeoJSON{Geometry: g}
	return o, err
}

// scanOutsideParent reads a row of coverageOutsideParentSQL (the parent is NULL for a
// level-1 grid outside the city boundary).
func scanOutsideParent(row pgx.CollectableRow) (grid.OutsideParent, error) {
	var o grid.OutsideParent
	var pid *int64
	var plevel *int
	var pcode, pname *string
	var g orb.Geometry
	err := row.Scan(&o.Grid.ID, &o.Grid.Level, &o.Grid.Code, &o.Grid.Name, &pid, &plevel, &pcode, &pname, &g, &o.AreaM2)
	if err == nil && pid != nil {
		o.Parent = &grid.GridRef{ID: *pid, Level: *plevel, Code: *pcode, Name: *pname}
	}
	o.Geometry = geo.GeoJSON{Geometry: g}
	return o, err
}

// scanMultiGrid reads a row of coverageMultiGridSQL: the grids come as parallel arrays.
func scanMultiGrid(row pgx.CollectableRow) (grid.MultiGridBuilding, error) {
	var m grid.MultiGridBuilding
	var ids []int64
	var levels []int
	var codes, names []string
	err := row.Scan(&m.Building.ID, &m.Building.Code, &m.Building.Name, &ids, &levels, &codes, &names)
	for k := range ids {
		m.Grids = append(m.Grids, grid.GridRef{ID: ids[k], Level: levels[k], Code: codes[k], Name: names[k]})
	}
	return m, err
}

// scanStraddler reads a row of coverageStraddlersSQL.
func scanStraddler(row pgx.CollectableRow) (grid.Straddler, error) {
	var s grid.Straddler
	err := row.Scan(&s.Building.ID, &s.Building.Code, &s.Building.Name,
		&s.Grid.ID, &s.Grid.Level, &s.Grid.Code, &s.Grid.Name, &s.AreaM2, &s.OutsideM2)
	if s.AreaM2 > 0 {
		s.ShareOutside = s.OutsideM2 / s.AreaM2
	}
	return s, err
}

// scanGridFact reads a row of coverageGridsSQL.
func scanGridFact(row pgx.CollectableRow) (grid.GridFact, error) {
	var g grid.GridFact
	err := row.Scan(&g.ID, &g.Level, &g.Code, &g.Name, &g.ParentID, &g.AreaM2, &g.PerimeterM,
		&g.PolsbyPopper, &g.Reock, &g.Parts,
		&g.Own.Buildings, &g.Own.Units, &g.Own.Households, &g.Own.Residents, &g.OwnEstimated)
	return g, err
}

type gapRow struct {
	ParentID  *int64
	Geom      orb.Geometry
	Area      float64
	Bordering []int64
}
