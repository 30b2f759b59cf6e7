package postgis

// The coverage report's lists read from what the writing transactions keep (migrations
// 0005_tiles_tables.sql, 0010_coverage.sql): each list is a count and a page, both filtered by
// the scope, the smallest area and a box. Their named parameters (pgx.NamedArgs):
//
//	@root, @ids              the scope's root grid and the current grids of its subtree
//	@min_area                the smallest piece reported, m² (at least the 1 m² kept)
//	@xmin @ymin @xmax @ymax  a box in WGS 84 (NULL: anywhere)
//	@limit @offset           the page (NULL limit: all)
//	@undivided               the empty level's findings (grid.EmptyLevel): true only those,
//	                         false none of them, NULL (unset) with the rest
//
// Each list comes in two forms, for the whole city and for a subtree: the subtree's grids
// are resolved first and passed as @ids, so that every plan, generic ones included, starts
// from those few grids, while the city's reads its tables whole.
//
// Gaps and overlaps are tile_coverage's pieces (kept in Web Mercator, brought back to WGS 84
// here: the round trip moves a vertex by nanometres, so the grids bordering a gap are those
// within 1e-9° of it rather than those exactly touching it).

// listSQL is one list: its length and a page of it in the list's order.
type listSQL struct {
	count, page string
}

// scopeSQL says in SQL what belongs to a scope.
type scopeSQL struct {
	grid     string // grid g
	building string // building b: derived into a grid of the scope, or with its point on surface in the root
	gap      string // gap piece c (tile_coverage)
	overlap  string // overlap piece c: one of its grids in scope
	outside  string // outside piece o (coverage_outside)
	// candidates selects, from buildings b meeting cond, those of the scope that may belong
	// to a list, looking only where the kept facts say there may be some: in the grids of the
	// scope whose coverage_grids row c (and grids row g) meets gridCond.
	candidates func(gridCond, cond string) string
	// multiGrid: level-3 overlap pieces c where a building of the scope may lie in two grids
	multiGrid string
}

var cityScope = scopeSQL{
	grid: `g.valid_to IS NULL`, building: `true`, gap: `true`, overlap: `true`, outside: `true`, multiGrid: `true`,
	candidates: func(gridCond, cond string) string {
		return `(
    SELECT b.* FROM buildings b
    WHERE b.grid_id IN (SELECT g.id FROM grids g JOIN coverage_grids c ON c.grid_id = g.id
                        WHERE g.valid_to IS NULL AND ` + gridCond + `) AND ` + cond + `
    UNION ALL
    SELECT b.* FROM buildings b WHERE b.grid_id IS NULL AND ` + cond + `
) b`
	},
}

var subtreeScope = scopeSQL{
	grid: `g.id = ANY(@ids)`,
	building: `(b.grid_id = ANY(@ids)
        OR EXISTS (SELECT 1 FROM grids r WHERE r.id = @root AND ST_Intersects(r.geom, b.anchor)))`,
	gap:     `c.parent_id = ANY(@ids)`,
	overlap: `c.grid_ids && @ids`,
	outside: `o.grid_id = ANY(@ids)`,
	// a building in two grids lies in a piece of an overlap of its own grid, or in the root
	multiGrid: `(c.grid_ids && @ids OR c.geom_3857 && (SELECT geom_3857 FROM tile_grids WHERE grid_id = @root))`,
	candidates: func(gridCond, cond string) string {
		return `(
    SELECT b.* FROM buildings b
    WHERE b.grid_id IN (SELECT g.id FROM grids g JOIN coverage_grids c ON c.grid_id = g.id
                        WHERE g.id = ANY(@ids) AND ` + gridCond + `) AND ` + cond + `
    UNION ALL
    SELECT b.* FROM grids r JOIN buildings b ON b.anchor && r.geom AND ST_Intersects(r.geom, b.anchor)
    WHERE r.id = @root AND NOT b.grid_id = ANY(@ids) AND ` + cond + `
) b`
	},
}

const boxEnv = `ST_MakeEnvelope(@xmin, @ymin, @xmax, @ymax, 4326)`

// inBox: geometry expression g (WGS 84) meets the box, or there is no box.
func inBox(g string) string {
	return `(@xmin::float8 IS NULL OR (` + g + ` && ` + boxEnv + ` AND ST_Intersects(` + g + `, ` + boxEnv + `)))`
}

// pieceGeom: a tile_coverage piece c in WGS 84, and its filter by the box.
const (
	pieceGeom  = `ST_Transform(c.geom_3857, 4326)`
	pieceInBox = `(@xmin::float8 IS NULL OR (c.geom_3857 && ST_Transform(` + boxEnv + `, 3857)
       AND ST_Intersects(` + pieceGeom + `, ` + boxEnv + `)))`
)

// A grid with no current child: its gap is its whole area, the buildings derived into it are
// outside every level-3 grid — the empty level (grid.EmptyLevel). childless names the grid's
// id column; the parent_id index answers.
func childless(id string) string {
	return `NOT EXISTS (SELECT 1 FROM grids x WHERE x.parent_id = ` + id + ` AND x.valid_to IS NULL)`
}

// emptyLevel filters on @undivided by whether the finding is the empty level's.
func emptyLevel(is string) string {
	return `(@undivided::bool IS NULL OR @undivided = (` + is + `))`
}

// gapsSQL: pieces of parents in scope (the city's with the whole city), ordered by parent and
// position; each with the children of its parent bordering it.
func gapsSQL(sc scopeSQL) listSQL {
	from := `
FROM tile_coverage c
WHERE c.kind = 'gap' AND c.area_m2 >= @min_area AND ` + sc.gap + ` AND ` + pieceInBox + `
  AND ` + emptyLevel(`c.parent_id IS NOT NULL AND `+childless("c.parent_id"))
	return listSQL{
		count: `SELECT count(*)::int` + from,
		page: `
SELECT c.id, p.id, p.level, p.code, p.name, c.geom, c.area_m2, k.ids, k.levels, k.codes, k.names
FROM (SELECT c.id, c.parent_id, c.area_m2, c.geom
      FROM (SELECT c.id, c.parent_id, c.area_m2, ` + pieceGeom + ` AS geom` + from + `) c
      ORDER BY c.parent_id NULLS FIRST, ST_XMin(c.geom), ST_YMin(c.geom), c.id
      LIMIT @limit OFFSET @offset) c
LEFT JOIN grids p ON p.id = c.parent_id
CROSS JOIN LATERAL (
    SELECT array_agg(k.id ORDER BY k.code) AS ids, array_agg(k.level ORDER BY k.code) AS levels,
           array_agg(k.code ORDER BY k.code) AS codes, array_agg(k.name ORDER BY k.code) AS names
    FROM grids k
    WHERE k.valid_to IS NULL AND k.geom && ST_Expand(c.geom, 1e-9) AND ST_DWithin(k.geom, c.geom, 1e-9)
      AND (k.parent_id = c.parent_id OR (c.parent_id IS NULL AND k.level = 1))
) k
ORDER BY c.parent_id NULLS FIRST, ST_XMin(c.geom), ST_YMin(c.geom), c.id`,
	}
}

// overlapsSQL: pairs of grids of a level, one of them in scope, with their pieces; a pair
// meets the box when one of its pieces does.
func overlapsSQL(sc scopeSQL) listSQL {
	pairs := `(
    SELECT c.grid_ids, ST_Multi(ST_Collect(` + pieceGeom + ` ORDER BY c.id)) AS geom, sum(c.area_m2) AS area
    FROM tile_coverage c
    WHERE c.kind = 'overlap' AND c.area_m2 >= @min_area AND ` + sc.overlap + `
    GROUP BY c.grid_ids
    HAVING bool_or(` + pieceInBox + `)
) o`
	return listSQL{
		count: `SELECT count(*)::int FROM ` + pairs,
		page: `
SELECT a.id, a.level, a.code, a.name, b.id, b.level, b.code, b.name, o.geom, o.area
FROM ` + pairs + `
JOIN grids a ON a.id = o.grid_ids[1] JOIN grids b ON b.id = o.grid_ids[2]
ORDER BY a.code, b.code LIMIT @limit OFFSET @offset`,
	}
}

// outsideSQL: per grid in scope, its pieces outside its parent (or the city).
func outsideSQL(sc scopeSQL) listSQL {
	groups := `(
    SELECT o.grid_id, o.parent_id, ST_Multi(ST_Collect(o.geom ORDER BY o.id)) AS geom, sum(o.area_m2) AS area
    FROM coverage_outside o
    WHERE o.area_m2 >= @min_area AND ` + sc.outside + `
    GROUP BY o.grid_id, o.parent_id
    HAVING bool_or(` + inBox("o.geom") + `)
) x`
	return listSQL{
		count: `SELECT count(*)::int FROM ` + groups,
		page: `
SELECT c.id, c.level, c.code, c.name, p.id, p.level, p.code, p.name, x.geom, x.area
FROM ` + groups + `
JOIN grids c ON c.id = x.grid_id LEFT JOIN grids p ON p.id = x.parent_id
ORDER BY c.code LIMIT @limit OFFSET @offset`,
	}
}

// buildingsOutsideSQL: buildings in no grid, or derived into a level-1 or -2 grid.
func buildingsOutsideSQL(sc scopeSQL) listSQL {
	return buildingList(sc.candidates(`g.level < 3 AND c.own_buildings > 0`,
		`(b.grid_id IS NULL OR (SELECT level FROM grids WHERE id = b.grid_id) < 3) AND `+inBox("b.footprint")+`
    AND `+emptyLevel(`b.grid_id IS NOT NULL AND `+childless("b.grid_id"))))
}

// unstaffedBuildingsSQL: buildings without a current building leader.
func unstaffedBuildingsSQL(sc scopeSQL) listSQL {
	return buildingList(sc.candidates(`c.own_unstaffed_buildings > 0`, inBox("b.footprint")+`
    AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.building_id = b.id AND a.valid_to IS NULL
                    AND a.role = 'building_leader' AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL)`))
}

// buildingList lists the buildings of from by code, with their grid and footprint.
func buildingList(from string) listSQL {
	return listSQL{
		count: `SELECT count(*)::int FROM ` + from,
		page: `
SELECT b.id, b.code, b.name, g.id, g.level, g.code, g.name, b.footprint
FROM (SELECT b.* FROM ` + from + ` ORDER BY b.code LIMIT @limit OFFSET @offset) b
LEFT JOIN grids g ON g.id = b.grid_id
ORDER BY b.code`,
	}
}

// straddlersSQL: buildings reaching out of their level-3 grid by at least the smallest area.
// The kept flag (buildings.straddling) marks those reaching out of their level-3 grid by 1 m²:
// at that smallest area, the default, only the page's rows are measured.
func straddlersSQL(sc scopeSQL) listSQL {
	from := `
FROM ` + sc.candidates(`g.level = 3`, `b.straddling AND `+inBox("b.footprint")) + `
WHERE (@min_area::float8 <= 1 OR (SELECT NOT ST_CoveredBy(b.footprint, g.geom)
           AND ST_Area(ST_Difference(b.footprint, g.geom)::geography) >= @min_area FROM grids g WHERE g.id = b.grid_id))`
	return listSQL{
		count: `SELECT count(*)::int` + from,
		page: `
SELECT b.id, b.code, b.name, g.id, g.level, g.code, g.name,
       ST_Area(b.footprint::geography), ST_Area(ST_Difference(b.footprint, g.geom)::geography), b.footprint
FROM (SELECT b.*` + from + ` ORDER BY b.code LIMIT @limit OFFSET @offset) b
JOIN grids g ON g.id = b.grid_id
ORDER BY b.code`,
	}
}

// multiGridSQL: buildings whose point on surface lies in a level-3 overlap piece (found
// through the pieces) and inside two or more level-3 grids.
func multiGridSQL(sc scopeSQL) listSQL {
	from := `
FROM (SELECT DISTINCT b.id FROM tile_coverage c
      JOIN buildings b ON b.anchor && ST_Expand(` + pieceGeom + `, 1e-9) AND ST_DWithin(` + pieceGeom + `, b.anchor, 1e-9)
      WHERE c.kind = 'overlap' AND c.level = 3 AND ` + sc.multiGrid + `) h
JOIN buildings b ON b.id = h.id
CROSS JOIN LATERAL (
    SELECT count(*) AS n, array_agg(g.id ORDER BY g.code) AS ids, array_agg(g.level ORDER BY g.code) AS levels,
           array_agg(g.code ORDER BY g.code) AS codes, array_agg(g.name ORDER BY g.code) AS names
    FROM grids g
    WHERE g.level = 3 AND g.valid_to IS NULL AND g.geom && b.anchor AND ST_Contains(g.geom, b.anchor)
) m
WHERE m.n > 1 AND ` + sc.building + ` AND ` + inBox("b.footprint")
	return listSQL{
		count: `SELECT count(*)::int` + from,
		page: `
SELECT b.id, b.code, b.name, m.ids, m.levels, m.codes, m.names, b.footprint` + from + `
ORDER BY b.code LIMIT @limit OFFSET @offset`,
	}
}

// unstaffedUnitsSQL: units without a current unit leader, in the buildings of the scope.
func unstaffedUnitsSQL(sc scopeSQL) listSQL {
	from := `
FROM ` + sc.candidates(`c.own_unstaffed_units > 0`, "true") + `
JOIN units u ON u.building_id = b.id
WHERE ` + inBox("u.geom") + `
  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.unit_id = u.id AND a.valid_to IS NULL
                  AND a.role = 'unit_leader' AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL)`
	return listSQL{
		count: `SELECT count(*)::int` + from,
		page: `
SELECT x.id, x.label, x.building_id, x.code, g.id, g.level, g.code, g.name, x.geom
FROM (SELECT u.id, u.label, u.geom, b.id AS building_id, b.code, b.grid_id` + from + `
      ORDER BY b.code, u.id LIMIT @limit OFFSET @offset) x
LEFT JOIN grids g ON g.id = x.grid_id
ORDER BY x.code, x.id`,
	}
}

// gridListSQL: grids of the scope whose kept facts (coverage_grids c, tile_grids t) meet
// cond, by code.
func gridListSQL(cond string) func(sc scopeSQL) listSQL {
	return func(sc scopeSQL) listSQL {
		from := `
FROM grids g JOIN coverage_grids c ON c.grid_id = g.id JOIN tile_grids t ON t.grid_id = g.id
WHERE ` + sc.grid + ` AND g.valid_to IS NULL AND ` + cond + ` AND ` + inBox("g.geom")
		return listSQL{
			count: `SELECT count(*)::int` + from,
			page:  `SELECT g.id, g.level, g.code, g.name, g.geom` + from + ` ORDER BY g.code LIMIT @limit OFFSET @offset`,
		}
	}
}
