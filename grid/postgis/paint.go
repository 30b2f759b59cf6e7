package postgis

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// paintSeg is the spacing, in degrees (≈20 m), of the footprint vertices that seed the
// Voronoi cells of a paint: the cells shape the space between buildings (footprints are
// kept whole separately). 10 m cost 60 % more time in the claim of a 200-building paint for
// boundaries that differ only between buildings.
const paintSeg = 0.0002

// Paint moves buildings into a level-3 grid and redraws the affected boundaries.
func (s *Store) Paint(ctx context.Context, u *grid.User, p grid.Paint) (grid.EditResult, error) {
	if p.Across == "" {
		p.Across = grid.AcrossRefuse
	}
	return s.edit(ctx, u, grid.PermEditGrids, "grid.paint", p.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		pt, err := lockPaint(ctx, tx, p)
		if err != nil {
			return err
		}
		changes, err := pt.redraw(ctx, tx)
		if err != nil {
			return err
		}
		res.Skipped, res.Moved = pt.skipped, pt.moved
		if len(pt.moved) == 0 {
			res.Grids = []grid.GridVersion{}
			res.DataVersion, err = dataVersion(ctx, tx)
			return err
		}
		if err := saveEdit(ctx, tx, u, res, &pt.target.ID, changes, grid.Restore{}); err != nil {
			return err
		}
		return pt.verify(ctx, tx)
	})
}

// redraw sorts the buildings the paint found and, when some of them move, locks the grids
// they affect and returns those grids' new areas, for the caller to write (then verify).
func (pt *painting) redraw(ctx context.Context, tx pgx.Tx) ([]gridChange, error) {
	var err error
	if pt.skipped, err = pt.sortBuildings(); err != nil || len(pt.moved) == 0 {
		return nil, err
	}
	if err := pt.lockAffected(ctx, tx); err != nil {
		return nil, err
	}
	if err := pt.refuseEmptied(ctx, tx); err != nil {
		return nil, err
	}
	if err := pt.noteStaying(ctx, tx); err != nil {
		return nil, err
	}
	claim, err := pt.claim(ctx, tx)
	if err != nil {
		return nil, err
	}
	return pt.newAreas(ctx, tx, claim)
}

// painting is a paint under way: what its steps found and locked so far.
type painting struct {
	grid.Paint
	target   grid.GridState
	found    []paintBuilding          // the buildings the paint names, read under the locks
	moved    []int64                  // those that change grid
	skipped  []int64                  // those of other communities left where they are (across=skip)
	donors   []int64                  // the grids they leave
	affected []int64                  // the target and the donors
	before   map[int64]grid.GridState // the affected grids, locked
	// the affected grids' other buildings and their grids, to verify none of them moved
	stayIDs, stayGrids []int64
}

// paintBuildingsSQL finds the buildings a paint names: by id ($1), code ($2) or point on
// surface in an area ($3), with their grid and its level and parent.
const paintBuildingsSQL = `
SELECT b.id, b.code, b.grid_id, g.level, g.parent_id, g.code
FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id
WHERE b.id = ANY($1) OR b.code = ANY($2)
   OR ($3::geometry IS NOT NULL AND b.anchor && $3 AND ST_Intersects($3, b.anchor))
ORDER BY b.id`

type paintBuilding struct {
	ID       int64
	Code     string
	GridID   *int64
	Level    *int
	ParentID *int64
	GridCode *string
}

// lockPaint finds the buildings p names and locks what the paint may change: the families of
// the target and of the buildings' grids (with across=move also their parents' families and
// the level-1 family: parents follow), then the target. It reads the buildings again under
// the locks: that look counts. ENOTFOUND names buildings that do not exist; EINVALID refuses
// a target that is not a level-3 grid.
func lockPaint(ctx context.Context, tx pgx.Tx, p grid.Paint) (*painting, error) {
	tid, err := resolveCurrent(ctx, tx, p.Target)
	if err != nil {
		return nil, err
	}
	if p.Area != nil {
		if err := checkGeometry(ctx, tx, "the paint area", p.Area); err != nil {
			return nil, err
		}
	}
	pt := &painting{Paint: p}
	if pt.found, err = pt.findBuildings(ctx, tx); err != nil {
		return nil, err
	}
	if err := missingBuildings(pt.found, p.BuildingIDs, p.Codes); err != nil {
		return nil, err
	}
	fam, err := paintFamilies(ctx, tx, tid, pt.found, p.Across == grid.AcrossMove)
	if err != nil {
		return nil, err
	}
	if err := lockFamilies(ctx, tx, fam); err != nil {
		return nil, err
	}
	m, err := lockGrids(ctx, tx, []int64{tid})
	if err != nil {
		return nil, err
	}
	if pt.found, err = pt.findBuildings(ctx, tx); err != nil {
		return nil, err
	}
	pt.target = m[tid]
	if err := staleOrGone(pt.target, p.IfVersion); err != nil {
		return nil, err
	}
	if pt.target.Level != grid.LevelGrid {
		return nil, grid.Errorf(grid.EINVALID, "paint: the target %s is a level-%d grid: paint into a level-3 grid", pt.target.Code, pt.target.Level)
	}
	return pt, nil
}

// findBuildings reads the buildings the paint names, with their grids.
func (pt *painting) findBuildings(ctx context.Context, tx pgx.Tx) ([]paintBuilding, error) {
	ids, codes := pt.BuildingIDs, pt.Codes
	if ids == nil {
		ids = []int64{}
	}
	if codes == nil {
		codes = []string{}
	}
	var area orb.Geometry // a nil MultiPolygon would not be SQL NULL
	if pt.Area != nil {
		area = pt.Area
	}
	rows, _ := tx.Query(ctx, paintBuildingsSQL, ids, codes, area)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[paintBuilding])
}

// paintFamilies returns the families a paint into grid tid of the buildings found locks:
// the target's and those of the buildings' grids; when parents follow, also those of their
// parents and the level-1 family.
func paintFamilies(ctx context.Context, tx pgx.Tx, tid int64, found []paintBuilding, parentsFollow bool) ([]int64, error) {
	t, err := peekGrid(ctx, tx, tid)
	if err != nil {
		return nil, err
	}
	fam := map[int64]bool{familyOf(t): true}
	for _, b := range found {
		if b.ParentID != nil {
			fam[*b.ParentID] = true
		}
	}
	if !parentsFollow {
		return keys(fam), nil
	}
	fam[0] = true
	rows, _ := tx.Query(ctx, `SELECT DISTINCT coalesce(parent_id, 0) FROM grids WHERE id = ANY($1)`, keys(fam))
	more, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	for _, m := range more {
		fam[m] = true
	}
	return keys(fam), err
}

func missingBuildings(found []paintBuilding, ids []int64, codes []string) error {
	haveID, haveCode := map[int64]bool{}, map[string]bool{}
	for _, b := range found {
		haveID[b.ID], haveCode[b.Code] = true, true
	}
	var miss []string
	for _, id := range ids {
		if !haveID[id] {
			miss = append(miss, fmt.Sprint(id))
		}
	}
	for _, c := range codes {
		if !haveCode[c] {
			miss = append(miss, c)
		}
	}
	if len(miss) > 0 {
		return grid.Errorf(grid.ENOTFOUND, "paint: %d building(s) not found: %s", len(miss), grid.FirstN(miss, 10))
	}
	return nil
}

// sortBuildings sorts the buildings found: those in the target already stay; one in no
// level-3 grid (a gap) refuses the paint; one of another community is skipped (returned) or
// refuses the paint, unless its community follows (across=move); the rest move, and their
// grids are the donors.
func (pt *painting) sortBuildings() (skipped []int64, err error) {
	donor := map[int64]bool{}
	var outside []string
	for _, b := range pt.found {
		switch {
		case b.GridID != nil && *b.GridID == pt.target.ID:
			continue // already there
		case b.GridID == nil || *b.Level != grid.LevelGrid:
			return nil, grid.Errorf(grid.EINVALID, "paint: building %s lies in no level-3 grid (a gap): reshape a grid over it first", b.Code)
		case !eq(b.ParentID, pt.target.ParentID) && pt.Across != grid.AcrossMove:
			if pt.Across == grid.AcrossSkip {
				skipped = append(skipped, b.ID)
			} else {
				outside = append(outside, fmt.Sprintf("%s (in %s)", b.Code, *b.GridCode))
			}
			continue
		}
		pt.moved = append(pt.moved, b.ID)
		if !donor[*b.GridID] {
			donor[*b.GridID] = true
			pt.donors = append(pt.donors, *b.GridID)
		}
	}
	if len(outside) > 0 {
		return nil, grid.Errorf(grid.EINVALID, "paint: %d building(s) lie outside the target's parent grid: %s; paint within one community, or send across_parents=skip (leave them) or move (their communities follow)",
			len(outside), grid.FirstN(outside, 5))
	}
	pt.affected = append([]int64{pt.target.ID}, pt.donors...)
	return skipped, nil
}

// lockAffected locks the target and the donors.
func (pt *painting) lockAffected(ctx context.Context, tx pgx.Tx) error {
	var err error
	pt.before, err = lockGrids(ctx, tx, pt.affected)
	return err
}

// refuseEmptied refuses a paint that would leave a donor without buildings: an empty grid
// is no grid, and merging says what is meant.
func (pt *painting) refuseEmptied(ctx context.Context, tx pgx.Tx) error {
	rows, _ := tx.Query(ctx, `SELECT g.code FROM grids g WHERE g.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id AND NOT b.id = ANY($2)) ORDER BY g.code`,
		pt.donors, pt.moved)
	emptied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(emptied) > 0 {
		return grid.Errorf(grid.EINVALID, "paint would leave grid(s) %s without buildings: merge them into %s instead",
			strings.Join(emptied, ", "), pt.target.Code)
	}
	return nil
}

// noteStaying notes which grid each other building of the affected grids is in now, so
// verify can tell that only the moved buildings moved.
func (pt *painting) noteStaying(ctx context.Context, tx pgx.Tx) error {
	rows, _ := tx.Query(ctx, `SELECT id, grid_id FROM buildings WHERE grid_id = ANY($1) AND NOT id = ANY($2)`, pt.affected, pt.moved)
	var bid, gid int64
	_, err := pgx.ForEachRow(rows, []any{&bid, &gid}, func() error {
		pt.stayIDs, pt.stayGrids = append(pt.stayIDs, bid), append(pt.stayGrids, gid)
		return nil
	})
	return err
}

// What moved buildings take with them: every point of the grids losing buildings (the
// donors) goes to the donors' building nearest to it — the Voronoi cells of the buildings'
// sites, their footprints' vertices (simplified by siteSimplify, every paintSeg degrees along
// the edges) and points on surface — and the cells of the moved buildings, with their
// footprints, change hands; the footprints of the buildings that stay never do. The claim is clipped to the affected grids
// (the donors and the target), so nothing outside them changes.
//
// The target's own buildings are no sites: the target only gains, so they can only stop a
// moved building's cell short of the target's boundary, and the donor then kept the strip
// between (1.2 m wide in the demo city), cutting the target in two. Clipping to the affected
// grids as a whole, not to each donor, keeps the old boundaries between them out of the
// overlay (a cell clipped at the target's boundary meets it again off by a rounding error,
// and the union leaves a hairline gap).
//
// The sites go to a temporary table with a GiST index (cellSites, shared with the cell graph
// of divide): each Voronoi cell is labelled by the site inside it with an index probe
// (against a multipoint of all moved sites, labelling 8,000 cells took seconds).

// paintClaimSQL: $1 the affected grids, $2 the moved buildings.
const paintClaimSQL = `
WITH r AS MATERIALIZED (SELECT ST_Union(geom) AS geom FROM grids WHERE id = ANY($1)),
cells AS MATERIALIZED (SELECT d.geom AS cell FROM ` + siteCells + ` d),
won AS (
    SELECT ST_Union(c.cell) AS geom FROM cells c
    WHERE EXISTS (SELECT 1 FROM cell_sites s WHERE s.building_id = ANY($2) AND s.pt && c.cell AND ST_Intersects(c.cell, s.pt))
)
SELECT gridmap_poly(ST_Intersection(
    ST_Difference(
        ST_Union(coalesce((SELECT geom FROM won), 'SRID=4326;POLYGON EMPTY'::geometry),
                 coalesce((SELECT ST_Union(footprint) FROM buildings WHERE id = ANY($2)), 'SRID=4326;POLYGON EMPTY'::geometry)),
        coalesce((SELECT ST_Union(footprint) FROM buildings WHERE grid_id = ANY($1) AND NOT id = ANY($2)),
                 'SRID=4326;POLYGON EMPTY'::geometry)),
    (SELECT geom FROM r)))`

// claim returns the area the moved buildings take with them from the donors.
func (pt *painting) claim(ctx context.Context, tx pgx.Tx) (orb.MultiPolygon, error) {
	sites := append([]int64(nil), pt.moved...)
	donor := map[int64]bool{}
	for _, d := range pt.donors {
		donor[d] = true
	}
	for k, id := range pt.stayIDs {
		if donor[pt.stayGrids[k]] {
			sites = append(sites, id)
		}
	}
	if err := cellSites(ctx, tx, sites, true); err != nil {
		return nil, err
	}
	var claim orb.MultiPolygon
	err := tx.QueryRow(ctx, paintClaimSQL, pt.affected, pt.moved).Scan(&claim)
	return claim, err
}

// paintNewSQL: the affected grids' new areas: the target ($2) gains the claim $3, the others
// lose it and come with the size of what they keep. (Materialized: the overlay runs once per
// grid, not once per reference.)
const paintNewSQL = `
WITH n AS MATERIALIZED (
    SELECT g.id, CASE WHEN g.id = $2 THEN gridmap_poly(ST_Union(g.geom, $3))
                      ELSE gridmap_poly(ST_Difference(g.geom, $3)) END AS geom
    FROM grids g WHERE g.id = ANY($1)
)
SELECT id, geom, CASE WHEN id = $2 THEN 0 ELSE coalesce(ST_Area(geom::geography), 0) END FROM n ORDER BY id`

// newAreas returns the changes of the affected grids taking their new areas (and, with
// across=move, of their parents following them). A donor left without area refuses the paint.
func (pt *painting) newAreas(ctx context.Context, tx pgx.Tx, claim orb.MultiPolygon) ([]gridChange, error) {
	rows, _ := tx.Query(ctx, paintNewSQL, pt.affected, pt.target.ID, claim)
	var changes []gridChange
	var gid int64
	var mp orb.MultiPolygon
	var area float64
	if _, err := pgx.ForEachRow(rows, []any{&gid, &mp, &area}, func() error {
		if gid != pt.target.ID && area < minAreaM2 {
			return grid.Errorf(grid.EINVALID, "paint would leave grid %s without area", pt.before[gid].Code)
		}
		changes = append(changes, reshaped(pt.before[gid], mp))
		return nil
	}); err != nil {
		return nil, err
	}
	if pt.Across != grid.AcrossMove {
		return changes, nil
	}
	return parentsFollow(ctx, tx, changes)
}

// parentsFollowSQL: parents $1 of grids that changed inside region $2 (the changed grids'
// old union) take the new areas of their changed children ($3 ids, $4 geometries, $5 parents)
// there and keep the rest.
const parentsFollowSQL = `
SELECT p.id, gridmap_poly(ST_Union(ST_Difference(p.geom, $2),
       coalesce((SELECT ST_Union(ST_Intersection(x.geom, $2)) FROM unnest($3::bigint[], $4::geometry[], $5::bigint[]) x(id, geom, parent)
                 WHERE x.parent = p.id), 'SRID=4326;POLYGON EMPTY'::geometry)))
FROM grids p WHERE p.id = ANY($1) ORDER BY p.id`

// parentsFollow makes the parents of changed grids follow them: when the changed grids of a
// level have more than one parent, area moved between parents, and each parent takes its
// children's new areas within the changed region. Repeats a level up.
func parentsFollow(ctx context.Context, tx pgx.Tx, changes []gridChange) ([]gridChange, error) {
	for level := grid.LevelGrid; level > grid.LevelSubdistrict; level-- {
		var ids, parents []int64
		var geoms, olds []orb.Geometry
		pset := map[int64]bool{}
		for _, c := range changes {
			if c.After.Level != level || c.Before == nil || c.After.ParentID == nil {
				continue
			}
			ids = append(ids, c.After.ID)
			geoms = append(geoms, c.After.Geom)
			olds = append(olds, c.Before.Geom)
			parents = append(parents, *c.After.ParentID)
			pset[*c.After.ParentID] = true
		}
		if len(pset) < 2 {
			return changes, nil
		}
		region, err := unionOf(ctx, tx, olds)
		if err != nil {
			return nil, err
		}
		locked, err := lockGrids(ctx, tx, keys(pset))
		if err != nil {
			return nil, err
		}
		rows, _ := tx.Query(ctx, parentsFollowSQL, keys(pset), region, ids, geoms, parents)
		var id int64
		var mp orb.MultiPolygon
		if _, err := pgx.ForEachRow(rows, []any{&id, &mp}, func() error {
			changes = append(changes, reshaped(locked[id], mp))
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// paintVerifySQL: buildings whose derived grid is not what the paint wants: the moved ones
// ($1) in the target ($2), the others of the affected grids ($3 ids) where they were ($4).
const paintVerifySQL = `
SELECT b.id, b.code, coalesce(g.code, '') FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id
WHERE b.id = ANY($1) AND b.grid_id IS DISTINCT FROM $2
UNION ALL
SELECT b.id, b.code, coalesce(g.code, '')
FROM unnest($3::bigint[], $4::bigint[]) x(id, grid_id) JOIN buildings b ON b.id = x.id
LEFT JOIN grids g ON g.id = b.grid_id
WHERE b.grid_id IS DISTINCT FROM x.grid_id
ORDER BY 1 LIMIT 10`

// verify refuses the paint when the redrawn boundaries put a building in the wrong grid: a
// moved one outside the target, or another one out of its grid (overlapping footprints can).
func (pt *painting) verify(ctx context.Context, tx pgx.Tx) error {
	rows, _ := tx.Query(ctx, paintVerifySQL, pt.moved, pt.target.ID, pt.stayIDs, pt.stayGrids)
	var bid int64
	var code, in string
	var wrong []string
	if _, err := pgx.ForEachRow(rows, []any{&bid, &code, &in}, func() error {
		wrong = append(wrong, fmt.Sprintf("%s (now in %q)", code, in))
		return nil
	}); err != nil {
		return err
	}
	if len(wrong) > 0 {
		return grid.Errorf(grid.EINVALID, "paint: the redrawn boundaries would put building(s) %s in the wrong grid (footprints overlapping?); nothing changed",
			strings.Join(wrong, ", "))
	}
	return nil
}
