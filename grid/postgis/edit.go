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

// unionOf returns the polygonal union of geoms, in one statement.
func unionOf(ctx context.Context, tx pgx.Tx, geoms []orb.Geometry) (orb.MultiPolygon, error) {
	var out orb.MultiPolygon
	err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(x)) FROM unnest($1::geometry[]) x`, geoms).Scan(&out)
	return out, err
}

// areaAtLeast returns EINVALID with msg when g has less than minAreaM2 of area.
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
