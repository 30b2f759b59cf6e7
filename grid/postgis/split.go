package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// Split divides a grid by a line or polygon (see grid.Split): the grid keeps one side, a new
// sibling gets the other, and a grid with children is split along their boundaries.
func (s *Store) Split(ctx context.Context, u *grid.User, sp grid.Split) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.split", sp.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		g, err := lockCurrent(ctx, tx, sp.Key, sp.IfVersion, true)
		if err != nil {
			return err
		}
		keep, cut, err := splitSides(ctx, tx, g, sp)
		if err != nil {
			return err
		}
		kids, err := childrenOf(ctx, tx, []int64{g.ID})
		if err != nil {
			return err
		}
		var moving []grid.GridState
		if len(kids) > 0 {
			if keep, cut, moving, err = snapToChildren(ctx, tx, g, kids, keep, cut); err != nil {
				return err
			}
		}
		var codes codeAllocator
		ng, err := splitOff(ctx, tx, &codes, g, sp.Name, cut)
		if err != nil {
			return err
		}
		after := g
		after.Geom = keep
		changes := []gridChange{{Before: &g, After: after}, {After: ng}}
		moved, err := moveSubtrees(ctx, tx, &codes, moving, ng)
		if err != nil {
			return err
		}
		return saveEdit(ctx, tx, u, res, &g.ID, append(changes, moved...), grid.Restore{})
	})
}

// splitSides returns what the grid keeps and what the new grid gets.
func splitSides(ctx context.Context, tx pgx.Tx, g grid.GridState, sp grid.Split) (keep, cut orb.MultiPolygon, err error) {
	if sp.Area != nil {
		return splitByArea(ctx, tx, g, sp.Area)
	}
	return splitByLine(ctx, tx, g, sp.Line)
}

// splitAreaSQL: grid $1 inside and outside polygon $2, with their areas.
const splitAreaSQL = `
SELECT gridmap_poly(ST_Intersection(geom, $2)), gridmap_poly(ST_Difference(geom, $2)),
       ST_Area(ST_Intersection(geom, $2)::geography), ST_Area(ST_Difference(geom, $2)::geography)
FROM grids WHERE id = $1`

// splitByArea cuts area off g: the new grid gets what lies inside it.
func splitByArea(ctx context.Context, tx pgx.Tx, g grid.GridState, area orb.MultiPolygon) (keep, cut orb.MultiPolygon, err error) {
	if err := checkGeometry(ctx, tx, "the split area", area); err != nil {
		return nil, nil, err
	}
	var in, out float64
	if err := tx.QueryRow(ctx, splitAreaSQL, g.ID, area).Scan(&cut, &keep, &in, &out); err != nil {
		return nil, nil, err
	}
	switch {
	case in < minAreaM2:
		return nil, nil, grid.Errorf(grid.EINVALID, "the split area does not overlap grid %s: nothing to cut off", g.Code)
	case out < minAreaM2:
		return nil, nil, grid.Errorf(grid.EINVALID, "the split area covers all of grid %s: nothing would be left", g.Code)
	}
	return keep, cut, nil
}

// splitLineSQL: the pieces of grid $1 cut by line $2, with the area each shares with a thin
// strip ($3 degrees) along the line's left and right: a piece lies on the side it shares
// more with, and a piece the line does not touch shares nothing with either.
const splitLineSQL = `
WITH g AS (SELECT geom FROM grids WHERE id = $1),
s AS (SELECT ST_Buffer($2::geometry, $3, 'side=left') AS l, ST_Buffer($2::geometry, $3, 'side=right') AS r)
SELECT gridmap_poly(d.geom), ST_Area(ST_Intersection(d.geom, s.l)), ST_Area(ST_Intersection(d.geom, s.r)),
       ST_Area(d.geom::geography)
FROM g CROSS JOIN LATERAL ST_Dump(ST_Split(g.geom, $2::geometry)) d CROSS JOIN s`

// splitStrip is the width, in degrees (≈10 cm), of the strips that tell a piece's side.
const splitStrip = 1e-6

// splitByLine cuts g along line: the grid keeps the larger side (and any part the line does
// not touch), the new grid gets the other.
func splitByLine(ctx context.Context, tx pgx.Tx, g grid.GridState, line orb.LineString) (keep, cut orb.MultiPolygon, err error) {
	var valid bool
	if err := tx.QueryRow(ctx, `SELECT ST_IsValid($1::geometry) AND NOT ST_IsEmpty($1::geometry) AND ST_Length($1::geometry) > 0`, line).Scan(&valid); err != nil {
		return nil, nil, err
	}
	if !valid {
		return nil, nil, grid.Errorf(grid.EINVALID, "the split line has no length")
	}
	rows, _ := tx.Query(ctx, splitLineSQL, g.ID, line, splitStrip)
	var piece orb.MultiPolygon
	var l, r, area float64
	var left, right, loose []orb.Geometry
	var la, ra float64
	if _, err := pgx.ForEachRow(rows, []any{&piece, &l, &r, &area}, func() error {
		switch {
		case l == 0 && r == 0:
			loose = append(loose, piece)
		case l >= r:
			left, la = append(left, piece), la+area
		default:
			right, ra = append(right, piece), ra+area
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if len(left) == 0 || len(right) == 0 || la < minAreaM2 || ra < minAreaM2 {
		return nil, nil, grid.Errorf(grid.EINVALID,
			"the split line does not cross grid %s: draw it from outside the grid, across it, to outside again", g.Code)
	}
	if ra > la {
		left, right = right, left
	}
	if keep, err = unionOf(ctx, tx, append(left, loose...)); err != nil {
		return nil, nil, err
	}
	cut, err = unionOf(ctx, tx, right)
	return keep, cut, err
}

// splitChildrenSQL: the share of each child ($1) lying in the new side $2.
const splitChildrenSQL = `
SELECT c.id, CASE WHEN ST_Area(c.geom) > 0 THEN ST_Area(ST_Intersection(c.geom, $2)) / ST_Area(c.geom) ELSE 0 END
FROM grids c WHERE c.id = ANY($1)`

// snapSidesSQL: each side becomes the union of the children it gets ($3 ids: new side, $4:
// old side) and its part ($1 new, $2 old) of the area no child covers ($5 all children).
const snapSidesSQL = `
WITH u AS (SELECT coalesce(ST_Union(geom), 'SRID=4326;POLYGON EMPTY'::geometry) AS geom FROM grids WHERE id = ANY($5))
SELECT gridmap_poly(ST_Union(ST_Difference($1, u.geom),
           coalesce((SELECT ST_Union(geom) FROM grids WHERE id = ANY($3)), 'SRID=4326;POLYGON EMPTY'::geometry))),
       gridmap_poly(ST_Union(ST_Difference($2, u.geom),
           coalesce((SELECT ST_Union(geom) FROM grids WHERE id = ANY($4)), 'SRID=4326;POLYGON EMPTY'::geometry)))
FROM u`

// snapToChildren moves a split of a parent onto its children's boundaries: each child goes
// whole to the side holding most of it; the sides become their children plus their part of
// any area no child covers. It returns the children that go to the new grid.
func snapToChildren(ctx context.Context, tx pgx.Tx, g grid.GridState, kids []grid.GridState, keep, cut orb.MultiPolygon) (orb.MultiPolygon, orb.MultiPolygon, []grid.GridState, error) {
	ids := idsOf(kids)
	rows, _ := tx.Query(ctx, splitChildrenSQL, ids, cut)
	var id int64
	var share float64
	toNew := map[int64]bool{}
	if _, err := pgx.ForEachRow(rows, []any{&id, &share}, func() error {
		if share > 0.5 {
			toNew[id] = true
		}
		return nil
	}); err != nil {
		return nil, nil, nil, err
	}
	var moving []grid.GridState
	var newIDs, oldIDs []int64
	for _, k := range kids {
		if toNew[k.ID] {
			moving = append(moving, k)
			newIDs = append(newIDs, k.ID)
		} else {
			oldIDs = append(oldIDs, k.ID)
		}
	}
	var nk, nc orb.MultiPolygon
	if err := tx.QueryRow(ctx, snapSidesSQL, cut, keep, newIDs, oldIDs, ids).Scan(&nc, &nk); err != nil {
		return nil, nil, nil, err
	}
	msg := fmt.Sprintf("grid %s has children: a split follows their boundaries, and this one leaves every child (and all uncovered area) on one side", g.Code)
	for _, side := range []orb.MultiPolygon{nk, nc} {
		if err := areaAtLeast(ctx, tx, side, msg); err != nil {
			return nil, nil, nil, err
		}
	}
	return nk, nc, moving, nil
}

// splitOff returns the grid a split of g creates, holding geom: a sibling of g with the next
// free code, named name (default: g's name + " (2)").
func splitOff(ctx context.Context, tx pgx.Tx, codes *codeAllocator, g grid.GridState, name string, geom orb.MultiPolygon) (grid.GridState, error) {
	parentCode, admin := "", ""
	var err error
	if g.ParentID != nil {
		parentCode, err = codeOf(ctx, tx, *g.ParentID)
	} else {
		admin, err = adminCode(ctx, tx)
	}
	if err != nil {
		return grid.GridState{}, err
	}
	code, err := codes.nextCode(ctx, tx, g.Level, parentCode, admin)
	if err != nil {
		return grid.GridState{}, err
	}
	id, err := newGridID(ctx, tx)
	if err != nil {
		return grid.GridState{}, err
	}
	if name == "" {
		name = g.Name + " (2)"
		if len([]rune(name)) > 200 {
			name = string([]rune(name)[:196]) + " (2)"
		}
	}
	return grid.GridState{ID: id, Level: g.Level, ParentID: g.ParentID, Code: code, Name: name, Current: true, Geom: geom}, nil
}
