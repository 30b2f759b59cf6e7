package postgis

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// PatchGrid renames and/or reshapes a grid; siblings and children follow a reshape.
func (s *Store) PatchGrid(ctx context.Context, u *grid.User, p grid.GridPatch) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.patch", p.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		g, err := lockCurrent(ctx, tx, p.Key, p.IfVersion, p.Geometry != nil)
		if err != nil {
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

// reshape computes the changes of giving g the geometry geom (after holds its other new
// fields): g takes geom clipped to its parent, siblings give up what it covers, the area g
// gives up goes to the neighbours bordering it most (g keeps what borders none), and the
// children of every grid whose area changed follow.
func reshape(ctx context.Context, tx pgx.Tx, g grid.GridState, geom orb.MultiPolygon, after grid.GridState) ([]gridChange, error) {
	clipped, err := clipToParent(ctx, tx, g.ID, geom)
	if err != nil {
		return nil, err
	}
	sibs, newGeom, err := siblingsGivingWay(ctx, tx, g, clipped)
	if err != nil {
		return nil, err
	}
	grown, err := shareOut(ctx, tx, idsOf(sibs), newGeom, g.Geom, clipped)
	if err != nil {
		return nil, err
	}
	for id, mp := range grown {
		if id == 0 {
			clipped = mp // the pieces no neighbour borders: g keeps them
		} else {
			newGeom[id] = mp
		}
	}
	after.Geom = clipped
	changes := []gridChange{{Before: &g, After: after}}
	changes = withGeoms(changes, map[int64]int{g.ID: 0}, sibs, newGeom)
	return fitChildren(ctx, tx, changes)
}

// reshapeClipSQL: the new geometry $2 of grid $1 clipped to its parent (or the city boundary).
const reshapeClipSQL = `
SELECT gridmap_poly(CASE
    WHEN g.parent_id IS NOT NULL THEN ST_Intersection($2, p.geom)
    WHEN c.boundary IS NOT NULL THEN ST_Intersection($2, c.boundary)
    ELSE $2 END)
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id LEFT JOIN city c ON true
WHERE g.id = $1`

// clipToParent checks the new geometry of grid id and clips it to the grid's parent; EINVALID
// when nothing is left.
func clipToParent(ctx context.Context, tx pgx.Tx, id int64, geom orb.MultiPolygon) (orb.MultiPolygon, error) {
	if err := checkGeometry(ctx, tx, "the new geometry", geom); err != nil {
		return nil, err
	}
	var clipped orb.MultiPolygon
	if err := tx.QueryRow(ctx, reshapeClipSQL, id, geom).Scan(&clipped); err != nil {
		return nil, err
	}
	return clipped, areaAtLeast(ctx, tx, clipped, "the new geometry lies outside the grid's parent")
}

// siblingsMinusSQL: siblings $1 less the new area $2, with their areas after and before.
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

// siblingsGivingWay returns g's siblings (locked, in id order) and their geometries less
// area, the area g takes. A sibling left without area refuses the edit.
func siblingsGivingWay(ctx context.Context, tx pgx.Tx, g grid.GridState, area orb.MultiPolygon) ([]grid.GridState, map[int64]orb.MultiPolygon, error) {
	family, err := childrenOf(ctx, tx, []int64{familyOf(g)})
	if err != nil {
		return nil, nil, err
	}
	var sibs []grid.GridState
	code := map[int64]string{}
	for _, s := range family {
		if s.ID != g.ID {
			sibs = append(sibs, s)
			code[s.ID] = s.Code
		}
	}
	newGeom := map[int64]orb.MultiPolygon{}
	rows, _ := tx.Query(ctx, siblingsMinusSQL, idsOf(sibs), area)
	var id int64
	var mp orb.MultiPolygon
	var left, was float64
	_, err = pgx.ForEachRow(rows, []any{&id, &mp, &left, &was}, func() error {
		if left < minAreaM2 && was >= minAreaM2 {
			return grid.Errorf(grid.EINVALID, "the new boundary covers all of grid %s: merge the grids instead", code[id])
		}
		newGeom[id] = mp
		return nil
	})
	return sibs, newGeom, err
}

// shareOutSQL hands the pieces of $3 less $4 to the grids $1 (their geometries $2) bordering
// them most (gridmap_assign_pieces) and returns each grid that gains one with its geometry
// grown by it. Pieces no grid borders grow $4 and come back with a NULL id; with $4 NULL the
// area shared out is $3 less the grids themselves, and such pieces are dropped. One statement
// for every grid instead of a union per grid.
const shareOutSQL = `
WITH o AS (SELECT * FROM unnest($1::bigint[], $2::geometry[]) o(id, geom)),
a AS (SELECT * FROM gridmap_assign_pieces($1, $2, ST_Difference($3, coalesce($4::geometry, (SELECT ST_Union(geom) FROM o)))))
SELECT coalesce(a.id, 0), gridmap_poly(ST_Union(coalesce(o.geom, $4::geometry), gridmap_poly(a.geom)))
FROM a LEFT JOIN o ON o.id = a.id
WHERE a.id IS NOT NULL OR $4::geometry IS NOT NULL`

// shareOut hands the area from less keep (nil: less the grids ids) to the grids bordering
// each piece most, and returns the grown geometries of the grids that gain, by id; keep grown
// by the pieces no grid borders comes back under id 0.
func shareOut(ctx context.Context, tx pgx.Tx, ids []int64, geoms map[int64]orb.MultiPolygon, from orb.MultiPolygon, keep orb.Geometry) (map[int64]orb.MultiPolygon, error) {
	list := make([]orb.Geometry, len(ids))
	for k, id := range ids {
		list[k] = geoms[id]
	}
	rows, _ := tx.Query(ctx, shareOutSQL, ids, list, from, keep)
	grown := map[int64]orb.MultiPolygon{}
	var id int64
	var mp orb.MultiPolygon
	_, err := pgx.ForEachRow(rows, []any{&id, &mp}, func() error {
		grown[id] = mp
		return nil
	})
	return grown, err
}

// withGeoms gives the grids states (in their order) their new geometries: a grid this edit
// changes already (index: position in changes by id) takes it in its change, another gets a
// change when its geometry differs.
func withGeoms(changes []gridChange, index map[int64]int, states []grid.GridState, geoms map[int64]orb.MultiPolygon) []gridChange {
	for _, s := range states {
		if k, ok := index[s.ID]; ok {
			changes[k].After.Geom = geoms[s.ID]
			continue
		}
		if s.Geom.Equal(geoms[s.ID]) {
			continue
		}
		changes = append(changes, reshaped(s, geoms[s.ID]))
		index[s.ID] = len(changes) - 1
	}
	return changes
}

// fitChildren makes the children of every grid whose area the changes alter follow it, level
// by level (fitFamily). A child left without area refuses the edit.
func fitChildren(ctx context.Context, tx pgx.Tx, changes []gridChange) ([]gridChange, error) {
	index := map[int64]int{}
	for k, c := range changes {
		index[c.After.ID] = k
	}
	for level := grid.LevelSubdistrict; level < grid.LevelGrid; level++ {
		parents := reshapedAt(changes, level)
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
			pid := *k.ParentID
			if k2, ok := index[k.ID]; ok {
				k = changes[k2].After // already changed by this edit: follow from there
			}
			byParent[pid] = append(byParent[pid], k)
		}
		for _, pid := range parents {
			if len(byParent[pid]) == 0 {
				continue
			}
			geoms, err := fitFamily(ctx, tx, changes[index[pid]].After, byParent[pid])
			if err != nil {
				return nil, err
			}
			changes = withGeoms(changes, index, byParent[pid], geoms)
		}
	}
	return changes, nil
}

// reshapedAt returns the ids of the current level-`level` grids whose area the changes alter.
func reshapedAt(changes []gridChange, level int) []int64 {
	var out []int64
	for _, c := range changes {
		if c.After.Level == level && c.Before != nil && !c.Before.Geom.Equal(c.After.Geom) && c.After.Current {
			out = append(out, c.After.ID)
		}
	}
	return out
}

// fitChildSQL: the children $1 clipped to their parent's new area $2, with the area left.
// (A child inside the new area keeps its geometry exactly. Materialized: the overlay runs
// once per child, not once per reference.)
const fitChildSQL = `
WITH n AS MATERIALIZED (
    SELECT c.id, CASE WHEN ST_CoveredBy(c.geom, $2) THEN c.geom ELSE gridmap_poly(ST_Intersection(c.geom, $2)) END AS geom
    FROM grids c WHERE c.id = ANY($1)
)
SELECT id, geom, coalesce(ST_Area(geom::geography), 0) FROM n ORDER BY id`

// fitFamily returns the new areas of the children kids of p, whose area changed: each child is
// clipped to p's new area, and the area p gained goes to the child bordering it most.
func fitFamily(ctx context.Context, tx pgx.Tx, p grid.GridState, kids []grid.GridState) (map[int64]orb.MultiPolygon, error) {
	ids := idsOf(kids)
	newGeom := map[int64]orb.MultiPolygon{}
	area := map[int64]float64{}
	rows, _ := tx.Query(ctx, fitChildSQL, ids, p.Geom)
	var id int64
	var mp orb.MultiPolygon
	var left float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &mp, &left}, func() error {
		newGeom[id], area[id] = mp, left
		return nil
	}); err != nil {
		return nil, err
	}
	for _, k := range kids {
		if area[k.ID] < minAreaM2 {
			return nil, grid.Errorf(grid.EINVALID, "grid %s would lie entirely outside its parent %s's new boundary", k.Code, p.Code)
		}
	}
	grown, err := shareOut(ctx, tx, ids, newGeom, p.Geom, nil)
	for id, mp := range grown {
		newGeom[id] = mp
	}
	return newGeom, err
}
