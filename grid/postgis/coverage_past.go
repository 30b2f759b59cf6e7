package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// The coverage facts of the whole city or a subtree at a past moment, at a cost that follows what changed
// since then rather than the size of the city. A grid whose version is the same then as now
// has the same shape then as now; a parent whose own version and whose children's versions
// are all the same then as now has the same gap pieces; a pair of such grids the same overlap
// pieces; a grid and its parent unchanged, the same pieces outside it; a building not moved
// since (gridmap_moved_since) in an unchanged grid, the same straddling flag. Those facts
// are read from what the writing transactions keep for now (0005_tiles_tables.sql,
// 0010_coverage.sql); only the grids, parents, pairs and buildings that differ are measured
// from scratch, against the grids as they stood then. Counts and staff are one grouped pass
// over the buildings (their grid then) and the assignments valid then.
//
// What differs is found once, in the read's snapshot, and passed to every statement as
// arrays (named parameters):
//
//	@at                 the moment; @since the start of the history (buildings older have no created_at)
//	@then               grids of the moment whose version is not current now (reshaped, renamed, retired since)
//	@now                current grids whose version did not hold then (created or changed since)
//	@moved, @moved_to   buildings whose grid then may differ from their grid now, and their grid then
//	@gap_parents        parents (of the moment) whose gaps are measured again; @city_gaps the city's
//	@min_area           the smallest piece reported, m²
//
// The per-grid and per-piece expressions are those of coverage_scratch.go and of the kept
// tables' refresh functions, so each fact is what a measurement from scratch gives (the kept
// gap and overlap pieces come back from Web Mercator, within nanometres, as in the report of
// now). Areas under 1 m² are not kept: a level-3 overlap smaller than that holding a
// building's point on surface is not found (as in the report of now).

// gridsThen: the grids as they stood at @at — the current ones unchanged since, and the
// versions of then of those that changed.
const gridsThen = `(
    SELECT g.id, g.level, g.parent_id, g.code, g.name, g.geom, false AS changed FROM grids g
    WHERE g.valid_to IS NULL AND NOT g.id = ANY(@now)
    UNION ALL
    SELECT h.id, h.level, h.parent_id, h.code, h.name, h.geom, true FROM grid_history h
    WHERE h.id = ANY(@then) AND ` + heldAt + `)`

// changedThen: the versions of then of the grids that changed since.
const changedThen = `(
    SELECT h.id, h.level, h.parent_id, h.code, h.name, h.geom FROM grid_history h
    WHERE h.id = ANY(@then) AND ` + heldAt + `)`

// buildingsThen: the buildings there at @at with the grid they were derived into then.
var buildingsThen = buildingsThenWhere("true")

// buildingsThenWhere is buildingsThen of the buildings b meeting cond (a condition on their
// row in buildings, which an index may answer).
func buildingsThenWhere(cond string) string {
	return `(
    SELECT b.id, b.code, b.name, b.footprint, b.anchor, b.households, b.residents, b.households_estimated,
           b.straddling, CASE WHEN m.id IS NULL THEN b.grid_id ELSE m.grid_id END AS grid_id, m.id IS NOT NULL AS moved
    FROM buildings b LEFT JOIN unnest(@moved::bigint[], @moved_to::bigint[]) m(id, grid_id) ON m.id = b.id
    WHERE coalesce(b.created_at, @since) <= @at AND ` + cond + `)`
}

// inScopeThen: grid id x is in the scope (@root NULL: the whole city; else @ids, the
// subtree of @root then).
func inScopeThen(x string) string {
	return `(@root::bigint IS NULL OR ` + x + ` = ANY(@ids))`
}

// buildingsOfScopeThen: the buildings of then derived into a grid of the scope then (the
// whole city: all of them).
var buildingsOfScopeThen = `(SELECT * FROM ` +
	buildingsThenWhere(`(@root::bigint IS NULL OR b.grid_id = ANY(@ids) OR b.id = ANY(@moved))`) + ` b
    WHERE ` + inScopeThen("b.grid_id") + `)`

// buildingsInScopeThen: the buildings of the scope then — derived into one of its grids, or
// with their point on surface inside its root (a building in a gap of the subtree).
var buildingsInScopeThen = `(
    SELECT * FROM ` + buildingsOfScopeThen + ` b
    UNION ALL
    SELECT x.* FROM (SELECT r.geom FROM ` + gridsThen + ` r WHERE r.id = @root) r
    CROSS JOIN LATERAL ` + buildingsThenWhere(`b.anchor && r.geom AND ST_Intersects(r.geom, b.anchor)`) + ` x
    WHERE NOT coalesce(x.grid_id = ANY(@ids), false))`

// staffThen: assignments valid at @at of workers not retired by then.
const staffThen = `(
    SELECT a.* FROM assignments a JOIN workers w ON w.id = a.worker_id
    WHERE a.valid_from <= @at AND (a.valid_to IS NULL OR a.valid_to > @at)
      AND (w.retired_at IS NULL OR w.retired_at > @at))`

// pastGridsSQL: every grid of then with its shape (kept for unchanged grids, measured for
// the others) and what was derived into it then.
func pastGridsSQL(units string) string {
	return `
WITH own AS (
    SELECT b.grid_id, count(*)::int AS buildings, coalesce(sum(u.n), 0)::int AS units,
           coalesce(sum(b.households), 0)::int AS households, coalesce(sum(b.residents), 0)::int AS residents,
           coalesce(bool_or(b.households_estimated), false) AS estimated
    FROM ` + buildingsOfScopeThen + ` b
    ` + units + `
    WHERE b.grid_id IS NOT NULL
    GROUP BY b.grid_id
), shapes AS (
    SELECT g.id, g.level, g.code, g.name, g.parent_id,
           c.area_m2, c.perimeter_m, c.polsby_popper, c.reock, c.parts
    FROM grids g JOIN coverage_grids c ON c.grid_id = g.id
    WHERE g.valid_to IS NULL AND NOT g.id = ANY(@now) AND ` + inScopeThen("g.id") + `
    UNION ALL
    SELECT g.id, g.level, g.code, g.name, g.parent_id,
           m.area, m.perimeter,
           CASE WHEN m.perimeter > 0 THEN 4 * pi() * m.area / (m.perimeter * m.perimeter) ELSE 0 END,
           CASE WHEN r.radius > 0 THEN ST_Area(r.flat) / (pi() * r.radius * r.radius) ELSE 0 END,
           ST_NumGeometries(g.geom)
    FROM ` + changedThen + ` g
    CROSS JOIN LATERAL (SELECT ST_Area(g.geom::geography) AS area, ST_Perimeter(g.geom::geography) AS perimeter) m
    CROSS JOIN LATERAL (SELECT ST_Scale(g.geom, cos(radians(ST_Y(ST_Centroid(g.geom)))), 1) AS flat) f
    CROSS JOIN LATERAL (SELECT f.flat, (ST_MinimumBoundingRadius(f.flat)).radius) r
    WHERE ` + inScopeThen("g.id") + `
)
SELECT s.id, s.level, s.code, s.name, s.parent_id, s.area_m2, s.perimeter_m, s.polsby_popper, s.reock, s.parts,
       coalesce(o.buildings, 0), coalesce(o.units, 0), coalesce(o.households, 0), coalesce(o.residents, 0),
       coalesce(o.estimated, false)
FROM shapes s LEFT JOIN own o ON o.grid_id = s.id`
}

// pastGridsForms: pastGridsSQL for the whole city (units counted in one grouped pass) and
// for a subtree (units counted per building, through their index).
var pastGridsForms = [2]string{
	pastGridsSQL(`LEFT JOIN (SELECT building_id, count(*) AS n FROM units GROUP BY building_id) u ON u.building_id = b.id`),
	pastGridsSQL(`LEFT JOIN LATERAL (SELECT count(*) AS n FROM units u WHERE u.building_id = b.id) u ON true`),
}

// pastStaffSQL: the grid staff of then on the grids of then.
var pastStaffSQL = `
SELECT a.grid_id, a.worker_id FROM ` + staffThen + ` a
WHERE ` + inScopeThen("a.grid_id") + ` AND a.grid_id IN (
    SELECT g.id FROM grids g WHERE g.valid_to IS NULL AND NOT g.id = ANY(@now) UNION ALL SELECT unnest(@then::bigint[]))`

// pastGapsSQL: the kept pieces of the parents unchanged since (bordered by their children,
// the same then as now), and the pieces of the others measured against the grids of then.
var pastGapsSQL = `
SELECT x.parent_id, x.geom, x.area, x.bordering FROM (
    SELECT c.parent_id, ` + pieceGeom + ` AS geom, c.area_m2 AS area,
           coalesce((SELECT array_agg(k.id ORDER BY k.code) FROM grids k
                     WHERE k.valid_to IS NULL AND k.geom && ST_Expand(` + pieceGeom + `, 1e-9)
                       AND ST_DWithin(k.geom, ` + pieceGeom + `, 1e-9)
                       AND (k.parent_id = c.parent_id OR (c.parent_id IS NULL AND k.level = 1))), '{}') AS bordering
    FROM tile_coverage c
    WHERE c.kind = 'gap' AND c.area_m2 >= @min_area
      AND CASE WHEN c.parent_id IS NULL THEN @root::bigint IS NULL AND NOT @city_gaps
               ELSE NOT c.parent_id = ANY(@gap_parents) AND NOT c.parent_id = ANY(@now) AND ` + inScopeThen("c.parent_id") + ` END
    UNION ALL
    SELECT h.parent_id, d.geom, gridmap_area_m2(d.geom),
           coalesce((SELECT array_agg(c.id ORDER BY c.code) FROM ` + gridsThen + ` c
                     WHERE c.geom && d.geom AND ST_Intersects(c.geom, d.geom)
                       AND (c.parent_id = h.parent_id OR (h.parent_id IS NULL AND c.level = 1))), '{}')
    FROM (
        SELECT p.id AS parent_id, coalesce(ST_Difference(p.geom, u.kids), p.geom) AS diff
        FROM ` + gridsThen + ` p
        CROSS JOIN LATERAL (SELECT ST_Union(c.geom) AS kids FROM ` + gridsThen + ` c WHERE c.parent_id = p.id) u
        WHERE p.id = ANY(@gap_parents) AND p.level < 3 AND ` + inScopeThen("p.id") + `
        UNION ALL
        SELECT NULL, coalesce(ST_Difference(c.boundary, (SELECT ST_Union(g.geom) FROM ` + gridsThen + ` g WHERE g.level = 1)), c.boundary)
        FROM city c WHERE @root::bigint IS NULL AND @city_gaps AND c.boundary IS NOT NULL
    ) h
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(h.diff, 3)) d
    WHERE gridmap_area_m2(d.geom) >= @min_area
) x
ORDER BY x.parent_id NULLS FIRST, ST_XMin(x.geom), ST_YMin(x.geom)`

// pastOverlapsSQL: the kept pieces of pairs of grids both unchanged since, and the pairs with
// a grid that changed measured against the grids of then.
var pastOverlapsSQL = `
SELECT a.id, a.level, a.code, a.name, b.id, b.level, b.code, b.name, x.geom, x.area
FROM (
    SELECT c.grid_ids[1] AS a, c.grid_ids[2] AS b, ST_Multi(ST_Collect(` + pieceGeom + ` ORDER BY c.id)) AS geom,
           sum(c.area_m2) AS area
    FROM tile_coverage c
    WHERE c.kind = 'overlap' AND c.area_m2 >= @min_area AND NOT c.grid_ids && @now
      AND (@root::bigint IS NULL OR c.grid_ids && @ids)
    GROUP BY c.grid_ids
    UNION ALL
    SELECT least(a.id, b.id), greatest(a.id, b.id), ST_Multi(ST_Collect(d.geom)), sum(gridmap_area_m2(d.geom))
    FROM ` + changedThen + ` a
    JOIN ` + gridsThen + ` b ON b.level = a.level AND b.id <> a.id AND a.geom && b.geom
         AND (NOT b.changed OR a.id < b.id)
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
    WHERE ST_Relate(a.geom, b.geom, 'T********') AND gridmap_area_m2(d.geom) >= @min_area
      AND (` + inScopeThen("a.id") + ` OR ` + inScopeThen("b.id") + `)
    GROUP BY least(a.id, b.id), greatest(a.id, b.id)
) x
JOIN ` + gridsThen + ` a ON a.id = x.a JOIN ` + gridsThen + ` b ON b.id = x.b
ORDER BY a.code, b.code`

// pastOutsideSQL: the kept pieces of grids that, with their parent, are unchanged since, and
// the others measured against their parent (or the city) of then.
var pastOutsideSQL = `
SELECT c.id, c.level, c.code, c.name, p.id, p.level, p.code, p.name, x.geom, x.area
FROM (
    SELECT o.grid_id AS id, o.parent_id, ST_Multi(ST_Collect(o.geom ORDER BY o.id)) AS geom, sum(o.area_m2) AS area
    FROM coverage_outside o
    WHERE o.area_m2 >= @min_area AND NOT o.grid_id = ANY(@now) AND NOT coalesce(o.parent_id = ANY(@now), false)
      AND ` + inScopeThen("o.grid_id") + `
    GROUP BY o.grid_id, o.parent_id
    UNION ALL
    SELECT o.id, o.parent_id, ST_Multi(ST_Collect(d.geom)), sum(gridmap_area_m2(d.geom))
    FROM (
        SELECT c.id, c.parent_id, ST_Difference(c.geom, p.geom) AS diff
        FROM ` + gridsThen + ` c JOIN ` + gridsThen + ` p ON p.id = c.parent_id
        WHERE (c.changed OR p.changed) AND ` + inScopeThen("c.id") + ` AND NOT ST_CoveredBy(c.geom, p.geom)
        UNION ALL
        SELECT c.id, NULL, ST_Difference(c.geom, city.boundary)
        FROM ` + changedThen + ` c, city
        WHERE c.level = 1 AND ` + inScopeThen("c.id") + ` AND city.boundary IS NOT NULL
          AND NOT ST_CoveredBy(c.geom, city.boundary)
    ) o
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(o.diff, 3)) d
    WHERE gridmap_area_m2(d.geom) >= @min_area
    GROUP BY o.id, o.parent_id
) x
JOIN ` + gridsThen + ` c ON c.id = x.id
LEFT JOIN ` + gridsThen + ` p ON p.id = x.parent_id
ORDER BY c.code`

// pastBuildingsOutsideSQL: buildings of then in no grid, or in a grid of level 1 or 2 (a
// grid's level never changes).
var pastBuildingsOutsideSQL = `
SELECT b.id, b.code, b.name
FROM ` + buildingsInScopeThen + ` b LEFT JOIN grids g ON g.id = b.grid_id
WHERE g.id IS NULL OR g.level < 3
ORDER BY b.code`

// pastMultiGridSQL: buildings of then whose point on surface lay inside two or more level-3
// grids of then. Such a point lies in an overlap piece of two unchanged grids (kept) or
// inside a level-3 grid that changed; those candidates are tested against the grids of then.
var pastMultiGridSQL = `
WITH cand AS (
    SELECT b.id FROM tile_coverage c
    JOIN buildings b ON b.anchor && ST_Expand(` + pieceGeom + `, 1e-9) AND ST_DWithin(` + pieceGeom + `, b.anchor, 1e-9)
    WHERE c.kind = 'overlap' AND c.level = 3
    UNION
    SELECT b.id FROM ` + changedThen + ` g JOIN buildings b ON b.anchor && g.geom AND ST_Intersects(g.geom, b.anchor)
    WHERE g.level = 3
)
SELECT b.id, b.code, b.name, m.ids, m.levels, m.codes, m.names
FROM cand JOIN ` + buildingsInScopeThen + ` b ON b.id = cand.id
CROSS JOIN LATERAL (
    SELECT count(*) AS n, array_agg(g.id ORDER BY g.code) AS ids, array_agg(g.level ORDER BY g.code) AS levels,
           array_agg(g.code ORDER BY g.code) AS codes, array_agg(g.name ORDER BY g.code) AS names
    FROM ` + gridsThen + ` g
    WHERE g.level = 3 AND g.geom && b.anchor AND ST_Contains(g.geom, b.anchor)
) m
WHERE m.n > 1
ORDER BY b.code`

// pastStraddlersSQL: buildings of then in a level-3 grid of then reaching out of it by at
// least @min_area. Not moved and in an unchanged grid: the kept flag (out by 1 m²) finds
// them; moved, or in a grid that changed: measured against the grid of then.
var pastStraddlersSQL = `
SELECT b.id, b.code, b.name, g.id, g.level, g.code, g.name, x.area, x.outside
FROM ` + buildingsInScopeThen + ` b
JOIN ` + gridsThen + ` g ON g.id = b.grid_id AND g.level = 3
CROSS JOIN LATERAL (
    SELECT ST_Area(b.footprint::geography) AS area,
           ST_Area(ST_Difference(b.footprint, g.geom)::geography) AS outside
) x
WHERE (b.moved OR g.changed OR b.straddling)
  AND NOT ST_CoveredBy(b.footprint, g.geom) AND x.outside >= @min_area
ORDER BY b.code`

// unledThen: no assignment of the role on col = id held at @at, of a worker not retired by
// then. Current assignments are found through their indexes on the building or unit, ended
// ones among those ended since @at (by valid_to): probes, for the few buildings of a subtree.
func unledThen(col, id, role string) string {
	one := func(valid string) string {
		return `NOT EXISTS (SELECT 1 FROM assignments a WHERE a.` + col + ` = ` + id + ` AND a.role = '` + role + `'
        AND ` + valid + ` AND a.valid_from <= @at
        AND coalesce((SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) > @at, true))`
	}
	return one("a.valid_to IS NULL") + `
    AND ` + one("a.valid_to > @at")
}

// pastUnstaffedBuildingsSQL: buildings of then without a building leader then.
func pastUnstaffedBuildingsSQL(unled func(col, id, role string) string) string {
	return `
SELECT b.id, b.code, b.name
FROM ` + buildingsInScopeThen + ` b
WHERE ` + unled("building_id", "b.id", "building_leader") + `
ORDER BY b.code`
}

// pastUnstaffedUnitsSQL: units of the buildings of then without a unit leader then.
func pastUnstaffedUnitsSQL(unled func(col, id, role string) string) string {
	return `
SELECT u.id, u.label, b.id, b.code
FROM units u JOIN ` + buildingsInScopeThen + ` b ON b.id = u.building_id
WHERE ` + unled("unit_id", "u.id", "unit_leader") + `
ORDER BY b.code, u.id`
}

// unledCity: as unledThen, for the whole city: against every assignment of then at once
// (a hash join; probes per building cost the city seconds).
func unledCity(col, id, role string) string {
	return `NOT EXISTS (SELECT 1 FROM ` + staffThen + ` a WHERE a.` + col + ` = ` + id + ` AND a.role = '` + role + `')`
}

// pastUnledSQL: the statements of the buildings and units without their leader then, for
// the whole city and for a subtree (pastForm).
var pastUnledSQL = [2][2]string{
	{pastUnstaffedBuildingsSQL(unledCity), pastUnstaffedUnitsSQL(unledCity)},
	{pastUnstaffedBuildingsSQL(unledThen), pastUnstaffedUnitsSQL(unledThen)},
}

// pastForm is the index of the form of a statement for the scope in args: 0 the whole
// city's, 1 a subtree's.
func pastForm(args pgx.NamedArgs) int {
	if args["root"] == nil {
		return 0
	}
	return 1
}

var pastUngriddedSQL = `SELECT count(*)::int FROM ` + buildingsThen + ` b WHERE @root::bigint IS NULL AND b.grid_id IS NULL`

// pastDiffSQL: what differs between @at and now — the grids of then not current in the same
// version, and the current grids not there in the same version then, each with its level and
// parent (of then, of now) — and the buildings whose grid then may differ from their grid now.
const pastDiffSQL = `
WITH a AS MATERIALIZED (
    SELECT h.id, h.version, h.level, h.parent_id FROM grid_history h WHERE ` + heldAt + `
), n AS MATERIALIZED (
    SELECT g.id, g.version, g.level, g.parent_id FROM grids g WHERE g.valid_to IS NULL
), moved AS MATERIALIZED (
    SELECT m.id, m.grid_id FROM gridmap_moved_since(@at) m
)
SELECT coalesce((SELECT array_agg(a.id) FROM a WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.id = a.id AND n.version = a.version)), '{}'),
       coalesce((SELECT array_agg(a.level) FROM a WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.id = a.id AND n.version = a.version)), '{}'),
       coalesce((SELECT array_agg(a.parent_id) FROM a WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.id = a.id AND n.version = a.version)), '{}'),
       coalesce((SELECT array_agg(n.id) FROM n WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = n.id AND a.version = n.version)), '{}'),
       coalesce((SELECT array_agg(n.level) FROM n WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = n.id AND a.version = n.version)), '{}'),
       coalesce((SELECT array_agg(n.parent_id) FROM n WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = n.id AND a.version = n.version)), '{}'),
       coalesce((SELECT array_agg(id) FROM moved), '{}'), coalesce((SELECT array_agg(grid_id) FROM moved), '{}'),
       gridmap_history_start()`

// pastDiff is what differs between a past moment and now (pastDiffSQL), as the named
// parameters of the past statements.
//
// The statements are planned for the values at hand each time (custom plans): their
// shortcuts (@root NULL for the whole city) and array sizes decide the plan, and a generic
// plan, which PostgreSQL turns to after a few runs on a connection, took a whole-city read
// from 1 s to 3.6 s on demo --scale 100.
func pastDiff(ctx context.Context, tx pgx.Tx, at time.Time, minArea float64) (pgx.NamedArgs, error) {
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return nil, err
	}
	var then, now []int64
	var thenLevel, nowLevel []int
	var thenParent, nowParent, movedTo []*int64
	var moved []int64
	var since time.Time
	if err := tx.QueryRow(ctx, pastDiffSQL, pgx.NamedArgs{"at": at}).Scan(&then, &thenLevel, &thenParent,
		&now, &nowLevel, &nowParent, &moved, &movedTo, &since); err != nil {
		return nil, err
	}
	// a parent's gaps differ when it or one of its children (then or now) changed; the city's
	// when a level-1 grid did
	parents, city := map[int64]bool{}, false
	note := func(ids []int64, levels []int, par []*int64, own bool) {
		for k, id := range ids {
			if own {
				parents[id] = true
			}
			if par[k] != nil {
				parents[*par[k]] = true
			}
			if levels[k] == grid.LevelSubdistrict {
				city = true
			}
		}
	}
	note(then, thenLevel, thenParent, true)
	note(now, nowLevel, nowParent, false)
	gapParents := make([]int64, 0, len(parents))
	for id := range parents {
		gapParents = append(gapParents, id)
	}
	return pgx.NamedArgs{"at": at, "since": since, "then": then, "now": now, "moved": moved, "moved_to": movedTo,
		"gap_parents": gapParents, "city_gaps": city, "min_area": minArea}, nil
}

// measurePast measures the scope of root (nil: the whole city) as it stood at a past moment
// (see the top of this file) into f, in tx's snapshot. ENOTFOUND when root did not exist then.
func measurePast(ctx context.Context, tx pgx.Tx, root *grid.GridKey, at time.Time, minArea float64, f *grid.CoverageFacts) error {
	args, err := pastDiff(ctx, tx, at, minArea)
	if err != nil {
		return err
	}
	if f.Root, err = pastScope(ctx, tx, root, at, args); err != nil {
		return err
	}
	var gaps []gapRow
	b := &pgx.Batch{}
	form := pastForm(args)
	queueCollect(b, &f.Grids, scanGridFact, pastGridsForms[form], args)
	queueCollect(b, &f.Staff, pgx.RowToStructByPos[grid.GridStaff], pastStaffSQL, args)
	queueCollect(b, &gaps, pgx.RowToStructByPos[gapRow], pastGapsSQL, args)
	queueCollect(b, &f.Overlaps, scanOverlap, pastOverlapsSQL, args)
	queueCollect(b, &f.OutsideParent, scanOutsideParent, pastOutsideSQL, args)
	queueCollect(b, &f.BuildingsOutside, pgx.RowToStructByPos[grid.BuildingRef], pastBuildingsOutsideSQL, args)
	queueCollect(b, &f.MultiGrid, scanMultiGrid, pastMultiGridSQL, args)
	queueCollect(b, &f.Straddlers, scanStraddler, pastStraddlersSQL, args)
	queueCollect(b, &f.UnstaffedBuildings, pgx.RowToStructByPos[grid.BuildingRef], pastUnledSQL[form][0], args)
	queueCollect(b, &f.UnstaffedUnits, pgx.RowToStructByPos[grid.UnitRef], pastUnledSQL[form][1], args)
	b.Queue(pastUngriddedSQL, args).QueryRow(func(row pgx.Row) error { return row.Scan(&f.Ungridded) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	f.Gaps = namedGaps(gaps, f.Grids)
	return nil
}

// pastScope adds the scope of root at moment at to args — @root and @ids, its subtree then
// (NULL both: the whole city) — and returns the root as it stood then.
func pastScope(ctx context.Context, tx pgx.Tx, root *grid.GridKey, at time.Time, args pgx.NamedArgs) (*grid.GridRef, error) {
	args["root"], args["ids"] = nil, nil
	if root == nil {
		return nil, nil
	}
	ref, err := resolveGridAt(ctx, tx, *root, at)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.QueryRow(ctx, `SELECT array_agg(id) FROM gridmap_subtree_at($1, $2)`, ref.ID, at).Scan(&ids); err != nil {
		return nil, err
	}
	args["root"], args["ids"] = ref.ID, ids
	return &ref, nil
}
