package postgis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// minAreaM2 is the smallest piece an edit treats as area: below it a piece is the numerical
// noise of an overlay (the coverage report's threshold too).
const minAreaM2 = grid.DefaultMinAreaM2

// paintSeg is the spacing, in degrees (≈20 m), of the footprint vertices that seed the
// Voronoi cells of a paint: the cells shape the space between buildings (footprints are
// kept whole separately). 10 m cost 60 % more time in the claim of a 200-building paint for
// boundaries that differ only between buildings.
const paintSeg = 0.0002

// write runs one write of user u. Before the database is asked anything, u must hold perm
// (EUNAUTHORIZED, EFORBIDDEN) and the request must pass check (nil: nothing to check). fn then
// runs in one transaction that first takes the actor's lock, so one user's writes run one after
// the other and their undo journal stays a stack; its error comes back coded (mapError).
func (s *Store) write(ctx context.Context, u *grid.User, perm grid.Permission, check func() error, fn func(tx pgx.Tx) error) error {
	if err := u.Require(perm); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return mapError(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := actorLock(ctx, tx, u.Actor()); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// edit is write for an edit that answers with an EditResult: the result starts with the
// action's name, fn fills it in the transaction, and it comes back timed.
func (s *Store) edit(ctx context.Context, u *grid.User, perm grid.Permission, action string, check func() error,
	fn func(tx pgx.Tx, res *grid.EditResult) error) (grid.EditResult, error) {
	start := time.Now()
	res := grid.EditResult{Action: action}
	err := s.write(ctx, u, perm, check, func(tx pgx.Tx) error { return fn(tx, &res) })
	res.Elapsed = time.Since(start)
	return res, err
}

// checkGeometrySQL: validity and area of a geometry given by the user.
const checkGeometrySQL = `SELECT ST_IsValid($1), ST_IsValidReason($1), ST_Area($1::geography)`

// checkGeometry returns EINVALID (naming what) for an invalid or area-less geometry.
func checkGeometry(ctx context.Context, tx pgx.Tx, what string, g orb.Geometry) error {
	var ok bool
	var reason string
	var area float64
	if err := tx.QueryRow(ctx, checkGeometrySQL, g).Scan(&ok, &reason, &area); err != nil {
		return err
	}
	if !ok {
		return grid.Errorf(grid.EINVALID, "%s is not a valid polygon: %s", what, reason)
	}
	if area < minAreaM2 {
		return grid.Errorf(grid.EINVALID, "%s has no area (%.3g m²)", what, area)
	}
	return nil
}

// PatchGrid renames and/or reshapes a grid; siblings and children follow a reshape.
func (s *Store) PatchGrid(ctx context.Context, u *grid.User, p grid.GridPatch) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.patch", p.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		id, err := resolveCurrent(ctx, tx, p.Key)
		if err != nil {
			return err
		}
		g, err := lockedGrid(ctx, tx, id, p.Geometry != nil)
		if err != nil {
			return err
		}
		if err := staleOrGone(g, p.IfVersion); err != nil {
			return err
		}
		after := g
		if p.Name != nil {
			after.Name = *p.Name
		}
		changes := []gridChange{{Before: &g, After: after}}
		if p.Geometry != nil {
			if changes, err = reshape(ctx, tx, g, p.Geometry, after); err != nil {
				return err
			}
		}
		return saveEdit(ctx, tx, u, res, &g.ID, changes, grid.Restore{})
	})
}

// lockedGrid locks the family of grid id (and, when its area changes, its children's) and
// returns it locked.
func lockedGrid(ctx context.Context, tx pgx.Tx, id int64, withChildren bool) (grid.GridState, error) {
	var parent *int64
	if err := tx.QueryRow(ctx, `SELECT parent_id FROM grids WHERE id = $1`, id).Scan(&parent); err != nil {
		return grid.GridState{}, err
	}
	fam := []int64{0}
	if parent != nil {
		fam[0] = *parent
	}
	if withChildren {
		fam = append(fam, id)
	}
	if err := lockFamilies(ctx, tx, fam); err != nil {
		return grid.GridState{}, err
	}
	m, err := lockGrids(ctx, tx, []int64{id})
	return m[id], err
}

// saveEdit writes the changes of a grid edit and records it (recordEdit).
func saveEdit(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.EditResult, id *int64,
	changes []gridChange, extra grid.Restore) error {
	written, err := writeGrids(ctx, tx, changes)
	if err != nil {
		return err
	}
	return recordEdit(ctx, tx, u, res, id, written, extra)
}

// recordEdit records written grid changes (and extra undo steps) as one operation about grid
// id: the audit entry, the journal entry (whose undo is the before states plus extra), and the
// result's grids, journal id and data version. Nothing written, nothing recorded.
func recordEdit(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.EditResult, id *int64,
	written []gridChange, extra grid.Restore) error {
	var err error
	before, after, undo, versions := diffs(written)
	res.Grids = versions
	if res.Grids == nil {
		res.Grids = []grid.GridVersion{}
	}
	if len(written) == 0 && extra.Empty() {
		return nil // nothing changed: no write, no audit entry
	}
	extra.Grids = append(undo, extra.Grids...)
	type auditDoc struct {
		gridDiff
		Moved   []int64 `json:"moved,omitempty"`
		Skipped []int64 `json:"skipped,omitempty"`
		Extra   any     `json:"assignments,omitempty"`
	}
	a := auditDoc{gridDiff: after, Moved: res.Moved, Skipped: res.Skipped}
	if len(extra.End) > 0 || len(extra.Start) > 0 {
		a.Extra = map[string]any{"ended_on_undo": extra.End, "started_on_undo": extra.Start}
	}
	if res.Op, err = record(ctx, tx, u, res.Action, grid.EntityGrid, id, before, a, extra); err != nil {
		return err
	}
	res.DataVersion, err = dataVersion(ctx, tx)
	return err
}

// reshapeSQL: grid $1 takes $2 clipped to its parent (or the city boundary) and its siblings
// give it up; returns the new area and each sibling's new geometry and area.
const reshapeClipSQL = `
SELECT gridmap_poly(CASE
    WHEN g.parent_id IS NOT NULL THEN ST_Intersection($2, p.geom)
    WHEN c.boundary IS NOT NULL THEN ST_Intersection($2, c.boundary)
    ELSE $2 END)
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id LEFT JOIN city c ON true
WHERE g.id = $1`

// (A sibling the new area does not overlap keeps its geometry exactly: an overlay would
// re-node it for nothing.)
const siblingsMinusSQL = `
SELECT s.id, x.geom, ST_Area(x.geom::geography), ST_Area(s.geom::geography)
FROM grids s
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.geom && $2 AND ST_Relate(s.geom, $2, '2********')
                     AND ST_Area(ST_Intersection(s.geom, $2)::geography) >= 0.01
                THEN gridmap_poly(ST_Difference(s.geom, $2)) ELSE s.geom END AS geom) x
WHERE s.id = ANY($1) ORDER BY s.id`

// reshape computes the changes of giving g the geometry geom (after holds its other new
// fields): g takes geom clipped to its parent, siblings give up what it covers, the area g
// gives up goes to the neighbours bordering it most (g keeps what borders none), and the
// children of every grid whose area changed follow.
func reshape(ctx context.Context, tx pgx.Tx, g grid.GridState, geom orb.MultiPolygon, after grid.GridState) ([]gridChange, error) {
	if err := checkGeometry(ctx, tx, "the new geometry", geom); err != nil {
		return nil, err
	}
	var clipped orb.MultiPolygon
	if err := tx.QueryRow(ctx, reshapeClipSQL, g.ID, geom).Scan(&clipped); err != nil {
		return nil, err
	}
	if err := areaAtLeast(ctx, tx, clipped, "the new geometry lies outside the grid's parent"); err != nil {
		return nil, err
	}
	sibs, err := childrenOf(ctx, tx, []int64{familyOf(g)})
	if err != nil {
		return nil, err
	}
	byID := map[int64]grid.GridState{}
	var ids []int64
	for _, s := range sibs {
		if s.ID != g.ID {
			byID[s.ID] = s
			ids = append(ids, s.ID)
		}
	}
	newGeom := map[int64]orb.MultiPolygon{}
	rows, _ := tx.Query(ctx, siblingsMinusSQL, ids, clipped)
	var id int64
	var mp orb.MultiPolygon
	var area, was float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &mp, &area, &was}, func() error {
		if area < minAreaM2 && was >= minAreaM2 {
			return grid.Errorf(grid.EINVALID, "the new boundary covers all of grid %s: merge the grids instead", byID[id].Code)
		}
		newGeom[id] = mp
		return nil
	}); err != nil {
		return nil, err
	}
	// the area g gives up goes to the neighbours
	var oids []int64
	var ogeoms []orb.Geometry
	for _, id := range ids {
		oids = append(oids, id)
		ogeoms = append(ogeoms, newGeom[id])
	}
	rows, _ = tx.Query(ctx, `SELECT a.id, gridmap_poly(a.geom) FROM gridmap_assign_pieces($1, $2, ST_Difference($3, $4)) a`,
		oids, ogeoms, g.Geom, clipped)
	var owner *int64
	var piece orb.MultiPolygon
	var keep []orb.MultiPolygon
	gained := map[int64]orb.MultiPolygon{}
	if _, err := pgx.ForEachRow(rows, []any{&owner, &piece}, func() error {
		if owner == nil {
			keep = append(keep, piece)
		} else {
			gained[*owner] = piece
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for id, piece := range gained {
		if newGeom[id], err = union(ctx, tx, newGeom[id], piece); err != nil {
			return nil, err
		}
	}
	for _, k := range keep {
		if clipped, err = union(ctx, tx, clipped, k); err != nil {
			return nil, err
		}
	}
	after.Geom = clipped
	gc := g
	changes := []gridChange{{Before: &gc, After: after}}
	areaChanged := []int64{}
	if !g.Geom.Equal(clipped) {
		areaChanged = append(areaChanged, g.ID)
	}
	for _, id := range ids {
		b := byID[id]
		if b.Geom.Equal(newGeom[id]) {
			continue
		}
		a := b
		a.Geom = newGeom[id]
		changes = append(changes, gridChange{Before: &b, After: a})
		areaChanged = append(areaChanged, id)
	}
	return fitChildren(ctx, tx, changes)
}

// union returns the polygonal union of a and b.
func union(ctx context.Context, tx pgx.Tx, a, b orb.MultiPolygon) (orb.MultiPolygon, error) {
	var out orb.MultiPolygon
	err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union($1::geometry, $2::geometry))`, a, b).Scan(&out)
	return out, err
}

func areaAtLeast(ctx context.Context, tx pgx.Tx, g orb.MultiPolygon, msg string) error {
	var area float64
	if err := tx.QueryRow(ctx, `SELECT coalesce(ST_Area($1::geometry::geography), 0)`, g).Scan(&area); err != nil {
		return err
	}
	if area < minAreaM2 {
		return grid.Errorf(grid.EINVALID, "%s", msg)
	}
	return nil
}

// fitChildSQL: the children of a parent clipped to its new area $2 ($1: their ids).
// (A child inside the new area keeps its geometry exactly.)
const fitChildSQL = `
SELECT c.id, CASE WHEN ST_CoveredBy(c.geom, $2) THEN c.geom ELSE gridmap_poly(ST_Intersection(c.geom, $2)) END,
       ST_Area(c.geom::geography)
FROM grids c WHERE c.id = ANY($1) ORDER BY c.id`

// fitChildren makes the children of every grid whose area the changes alter follow it, level
// by level: each child is clipped to its parent's new area, and area the parent gained goes to
// the child bordering it most. A child left without area refuses the edit.
func fitChildren(ctx context.Context, tx pgx.Tx, changes []gridChange) ([]gridChange, error) {
	index := map[int64]int{}
	for k, c := range changes {
		index[c.After.ID] = k
	}
	for level := grid.LevelSubdistrict; level < grid.LevelGrid; level++ {
		var parents []int64
		for _, c := range changes {
			if c.After.Level == level && c.Before != nil && !c.Before.Geom.Equal(c.After.Geom) && c.After.Current {
				parents = append(parents, c.After.ID)
			}
		}
		if len(parents) == 0 {
			continue
		}
		if err := lockFamilies(ctx, tx, parents); err != nil {
			return nil, err
		}
		kids, err := childrenOf(ctx, tx, parents)
		if err != nil {
			return nil, err
		}
		byParent := map[int64][]grid.GridState{}
		for _, k := range kids {
			byParent[*k.ParentID] = append(byParent[*k.ParentID], k)
		}
		for _, pid := range parents {
			p := changes[index[pid]].After
			list := byParent[pid]
			if len(list) == 0 {
				continue
			}
			var ids []int64
			byID := map[int64]grid.GridState{}
			for _, k := range list {
				if k2, ok := index[k.ID]; ok {
					k = changes[k2].After // already changed by this edit: follow from there
				}
				ids = append(ids, k.ID)
				byID[k.ID] = k
			}
			newGeom := map[int64]orb.MultiPolygon{}
			rows, _ := tx.Query(ctx, fitChildSQL, ids, p.Geom)
			var id int64
			var mp orb.MultiPolygon
			var was float64
			var ogeoms []orb.Geometry
			if _, err := pgx.ForEachRow(rows, []any{&id, &mp, &was}, func() error {
				newGeom[id] = mp
				ogeoms = append(ogeoms, mp)
				return nil
			}); err != nil {
				return nil, err
			}
			for _, id := range ids {
				if err := areaAtLeast(ctx, tx, newGeom[id], fmt.Sprintf("grid %s would lie entirely outside its parent %s's new boundary", byID[id].Code, p.Code)); err != nil {
					return nil, err
				}
			}
			rows, _ = tx.Query(ctx, `
				SELECT a.id, gridmap_poly(a.geom) FROM gridmap_assign_pieces($1, $2,
				    ST_Difference($3, (SELECT ST_Union(x) FROM unnest($2::geometry[]) x))) a WHERE a.id IS NOT NULL`,
				ids, ogeoms, p.Geom)
			var piece orb.MultiPolygon
			gained := map[int64]orb.MultiPolygon{}
			if _, err := pgx.ForEachRow(rows, []any{&id, &piece}, func() error {
				gained[id] = piece
				return nil
			}); err != nil {
				return nil, err
			}
			for id, piece := range gained {
				if newGeom[id], err = union(ctx, tx, newGeom[id], piece); err != nil {
					return nil, err
				}
			}
			for _, id := range ids {
				if k2, ok := index[id]; ok {
					changes[k2].After.Geom = newGeom[id]
					continue
				}
				b := byID[id]
				if b.Geom.Equal(newGeom[id]) {
					continue
				}
				a := b
				a.Geom = newGeom[id]
				changes = append(changes, gridChange{Before: &b, After: a})
				index[id] = len(changes) - 1
			}
		}
	}
	return changes, nil
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

// What moved buildings take with them: every point of the grids losing buildings (the
// donors) goes to the donors' building nearest to it — the Voronoi cells of the buildings'
// sites, their footprints' vertices (every paintSeg degrees along the edges) and points on
// surface — and the cells of the moved buildings, with their footprints, change hands; the
// footprints of the buildings that stay never do. The claim is clipped to the affected grids
// (the donors and the target), so nothing outside them changes.
//
// The target's own buildings are no sites: the target only gains, so they can only stop a
// moved building's cell short of the target's boundary, and the donor then kept the strip
// between (1.2 m wide in the demo city), cutting the target in two. Clipping to the affected
// grids as a whole, not to each donor, keeps the old boundaries between them out of the
// overlay (a cell clipped at the target's boundary meets it again off by a rounding error,
// and the union leaves a hairline gap).
//
// The sites go to a temporary table with a GiST index: each Voronoi cell is labelled by the
// site inside it with an index probe (against a multipoint of all moved sites, labelling 8,000
// cells took seconds).
const paintSitesSQL = `
CREATE TEMP TABLE paint_sites ON COMMIT DROP AS
WITH bs AS (
    SELECT b.id, b.footprint, b.anchor, b.id = ANY($2) AS moved
    FROM buildings b WHERE b.grid_id = ANY($1)
)
SELECT bs.moved, d.geom AS pt
FROM bs CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(bs.footprint, $3)) d
UNION ALL
SELECT bs.moved, bs.anchor FROM bs`

// paintClaimSQL: $1 the affected grids, $2 the moved buildings.
const paintClaimSQL = `
WITH r AS MATERIALIZED (SELECT ST_Union(geom) AS geom FROM grids WHERE id = ANY($1)),
cells AS MATERIALIZED (
    SELECT d.geom AS cell
    FROM ST_Dump(ST_VoronoiPolygons((SELECT ST_Collect(pt) FROM paint_sites), 0,
                                    (SELECT ST_Expand(geom, 0.01) FROM r))) d
),
won AS (
    SELECT ST_Union(c.cell) AS geom FROM cells c
    WHERE EXISTS (SELECT 1 FROM paint_sites s WHERE s.moved AND s.pt && c.cell AND ST_Intersects(c.cell, s.pt))
)
SELECT gridmap_poly(ST_Intersection(
    ST_Difference(
        ST_Union(coalesce((SELECT geom FROM won), 'SRID=4326;POLYGON EMPTY'::geometry),
                 coalesce((SELECT ST_Union(footprint) FROM buildings WHERE id = ANY($2)), 'SRID=4326;POLYGON EMPTY'::geometry)),
        coalesce((SELECT ST_Union(footprint) FROM buildings WHERE grid_id = ANY($1) AND NOT id = ANY($2)),
                 'SRID=4326;POLYGON EMPTY'::geometry)),
    (SELECT geom FROM r)))`

// paintClaim returns the area the moved buildings take with them from the donors.
func paintClaim(ctx context.Context, tx pgx.Tx, affected, donors, moved []int64) (orb.MultiPolygon, error) {
	if _, err := tx.Exec(ctx, paintSitesSQL, donors, moved, paintSeg); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON paint_sites USING gist (pt)`); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `ANALYZE paint_sites`); err != nil {
		return nil, err
	}
	var claim orb.MultiPolygon
	err := tx.QueryRow(ctx, paintClaimSQL, affected, moved).Scan(&claim)
	return claim, err
}

// paintNewSQL: the affected grids' new areas: the target ($2) gains the claim $3, the others
// lose it.
const paintNewSQL = `
SELECT g.id, CASE WHEN g.id = $2 THEN gridmap_poly(ST_Union(g.geom, $3))
                  ELSE gridmap_poly(ST_Difference(g.geom, $3)) END
FROM grids g WHERE g.id = ANY($1) ORDER BY g.id`

// parentsFollowSQL: parents $1 of grids that changed inside region $2 (the changed grids'
// old union) take the new areas of their changed children ($3 ids, $4 geometries, $5 parents)
// there and keep the rest.
const parentsFollowSQL = `
SELECT p.id, gridmap_poly(ST_Union(ST_Difference(p.geom, $2),
       coalesce((SELECT ST_Union(ST_Intersection(x.geom, $2)) FROM unnest($3::bigint[], $4::geometry[], $5::bigint[]) x(id, geom, parent)
                 WHERE x.parent = p.id), 'SRID=4326;POLYGON EMPTY'::geometry)))
FROM grids p WHERE p.id = ANY($1) ORDER BY p.id`

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

// Paint moves buildings into a level-3 grid and redraws the affected boundaries.
func (s *Store) Paint(ctx context.Context, u *grid.User, p grid.Paint) (grid.EditResult, error) {
	if p.Across == "" {
		p.Across = grid.AcrossRefuse
	}
	return s.edit(ctx, u, grid.PermEditGrids, "grid.paint", p.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		tid, err := resolveCurrent(ctx, tx, p.Target)
		if err != nil {
			return err
		}
		if p.Area != nil {
			if err := checkGeometry(ctx, tx, "the paint area", p.Area); err != nil {
				return err
			}
		}
		var area orb.Geometry
		if p.Area != nil {
			area = p.Area
		}
		codes := p.Codes
		if codes == nil {
			codes = []string{}
		}
		ids := p.BuildingIDs
		if ids == nil {
			ids = []int64{}
		}
		// first look (unlocked) for the families to lock, then the locked look that counts
		var target grid.GridState
		var blds []paintBuilding
		for attempt := 0; attempt < 2; attempt++ {
			rows, _ := tx.Query(ctx, paintBuildingsSQL, ids, codes, area)
			if blds, err = pgx.CollectRows(rows, pgx.RowToStructByPos[paintBuilding]); err != nil {
				return err
			}
			if attempt == 1 {
				break
			}
			if err := missingBuildings(blds, ids, codes); err != nil {
				return err
			}
			fam := map[int64]bool{}
			t, err := lockedGridRead(ctx, tx, tid)
			if err != nil {
				return err
			}
			fam[familyOf(t)] = true
			for _, b := range blds {
				if b.ParentID != nil {
					fam[*b.ParentID] = true
				}
			}
			if p.Across == grid.AcrossMove {
				// parents follow: their families (and the level-1 family) are locked too
				fam[0] = true
				var more []int64
				r, _ := tx.Query(ctx, `SELECT DISTINCT coalesce(parent_id, 0) FROM grids WHERE id = ANY($1)`, keys(fam))
				if more, err = pgx.CollectRows(r, pgx.RowTo[int64]); err != nil {
					return err
				}
				for _, m := range more {
					fam[m] = true
				}
			}
			if err := lockFamilies(ctx, tx, keys(fam)); err != nil {
				return err
			}
			m, err := lockGrids(ctx, tx, []int64{tid})
			if err != nil {
				return err
			}
			target = m[tid]
		}
		if err := staleOrGone(target, p.IfVersion); err != nil {
			return err
		}
		if target.Level != grid.LevelGrid {
			return grid.Errorf(grid.EINVALID, "paint: the target %s is a level-%d grid: paint into a level-3 grid", target.Code, target.Level)
		}
		var moved []int64
		donors := map[int64]bool{}
		var outside []string
		for _, b := range blds {
			switch {
			case b.GridID != nil && *b.GridID == target.ID:
				continue // already there
			case b.GridID == nil || *b.Level != grid.LevelGrid:
				return grid.Errorf(grid.EINVALID, "paint: building %s lies in no level-3 grid (a gap): reshape a grid over it first", b.Code)
			case !eq(b.ParentID, target.ParentID) && p.Across != grid.AcrossMove:
				if p.Across == grid.AcrossSkip {
					res.Skipped = append(res.Skipped, b.ID)
					continue
				}
				outside = append(outside, fmt.Sprintf("%s (in %s)", b.Code, *b.GridCode))
				continue
			}
			moved = append(moved, b.ID)
			donors[*b.GridID] = true
		}
		if len(outside) > 0 {
			return grid.Errorf(grid.EINVALID, "paint: %d building(s) lie outside the target's parent grid: %s; paint within one community, or send across_parents=skip (leave them) or move (their communities follow)",
				len(outside), firstN(outside, 5))
		}
		res.Moved = moved
		if len(moved) == 0 {
			res.Grids = []grid.GridVersion{}
			res.DataVersion, err = dataVersion(ctx, tx)
			return err
		}
		affected := append([]int64{target.ID}, keys(donors)...)
		locked, err := lockGrids(ctx, tx, affected)
		if err != nil {
			return err
		}
		// a donor left without buildings would be an empty grid: refuse, say what to do
		rows, _ := tx.Query(ctx, `SELECT g.code FROM grids g WHERE g.id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id AND NOT b.id = ANY($2)) ORDER BY g.code`,
			keys(donors), moved)
		emptied, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(emptied) > 0 {
			return grid.Errorf(grid.EINVALID, "paint would leave grid(s) %s without buildings: merge them into %s instead",
				strings.Join(emptied, ", "), target.Code)
		}
		// who is where now, to verify afterwards that only the moved buildings moved
		rows, _ = tx.Query(ctx, `SELECT id, grid_id FROM buildings WHERE grid_id = ANY($1) AND NOT id = ANY($2)`, affected, moved)
		var stayIDs, stayGrids []int64
		var bid, gid int64
		if _, err := pgx.ForEachRow(rows, []any{&bid, &gid}, func() error {
			stayIDs, stayGrids = append(stayIDs, bid), append(stayGrids, gid)
			return nil
		}); err != nil {
			return err
		}
		claim, err := paintClaim(ctx, tx, affected, keys(donors), moved)
		if err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, paintNewSQL, affected, target.ID, claim)
		var changes []gridChange
		var mp orb.MultiPolygon
		if _, err := pgx.ForEachRow(rows, []any{&gid, &mp}, func() error {
			b := locked[gid]
			a := b
			a.Geom = mp
			changes = append(changes, gridChange{Before: &b, After: a})
			return nil
		}); err != nil {
			return err
		}
		if p.Across == grid.AcrossMove {
			if changes, err = parentsFollow(ctx, tx, changes); err != nil {
				return err
			}
		}
		for _, c := range changes {
			if c.After.Level == grid.LevelGrid && c.After.ID != target.ID {
				if err := areaAtLeast(ctx, tx, c.After.Geom, fmt.Sprintf("paint would leave grid %s without area", c.After.Code)); err != nil {
					return err
				}
			}
		}
		if err := saveEdit(ctx, tx, u, res, &target.ID, changes, grid.Restore{}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, paintVerifySQL, moved, target.ID, stayIDs, stayGrids)
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
	})
}

// lockedGridRead reads a grid without locking it (to learn its family).
func lockedGridRead(ctx context.Context, tx pgx.Tx, id int64) (grid.GridState, error) {
	rows, _ := tx.Query(ctx, `SELECT `+gridStateColumns+` FROM grids WHERE id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanGridState)
}

// parentsFollow makes the parents of changed grids follow them: when the changed grids of a
// level have more than one parent, area moved between parents, and each parent takes its
// children's new areas within the changed region. Repeats a level up.
func parentsFollow(ctx context.Context, tx pgx.Tx, changes []gridChange) ([]gridChange, error) {
	for level := grid.LevelGrid; level > grid.LevelSubdistrict; level-- {
		var ids, parents []int64
		var geoms []orb.Geometry
		var olds []orb.Geometry
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
		var region orb.MultiPolygon
		if err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(x)) FROM unnest($1::geometry[]) x`, olds).Scan(&region); err != nil {
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
			b := locked[id]
			a := b
			a.Geom = mp
			changes = append(changes, gridChange{Before: &b, After: a})
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return changes, nil
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
		return grid.Errorf(grid.ENOTFOUND, "paint: %d building(s) not found: %s", len(miss), firstN(miss, 10))
	}
	return nil
}

func firstN(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
