package postgis

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// splitLineSQL: the pieces of grid $1 cut by line $2, with the area each shares with a thin
// strip ($3 degrees) along the line's left and right: a piece lies on the side it shares
// more with, and a piece the line does not touch shares nothing with either.
const splitLineSQL = `
WITH g AS (SELECT geom FROM grids WHERE id = $1),
s AS (SELECT ST_Buffer($2::geometry, $3, 'side=left') AS l, ST_Buffer($2::geometry, $3, 'side=right') AS r)
SELECT gridmap_poly(d.geom), ST_Area(ST_Intersection(d.geom, s.l)), ST_Area(ST_Intersection(d.geom, s.r)),
       ST_Area(d.geom::geography)
FROM g CROSS JOIN LATERAL ST_Dump(ST_Split(g.geom, $2::geometry)) d CROSS JOIN s`

// splitAreaSQL: grid $1 inside and outside polygon $2, with their areas.
const splitAreaSQL = `
SELECT gridmap_poly(ST_Intersection(geom, $2)), gridmap_poly(ST_Difference(geom, $2)),
       ST_Area(ST_Intersection(geom, $2)::geography), ST_Area(ST_Difference(geom, $2)::geography)
FROM grids WHERE id = $1`

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

// splitStrip is the width, in degrees (≈10 cm), of the strips that tell a piece's side.
const splitStrip = 1e-6

// Split divides a grid by a line or polygon.
func (s *Store) Split(ctx context.Context, u *grid.User, sp grid.Split) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.split", sp.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		id, err := resolveCurrent(ctx, tx, sp.Key)
		if err != nil {
			return err
		}
		g, err := lockedGrid(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := staleOrGone(g, sp.IfVersion); err != nil {
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
		parentCode, admin := "", ""
		if g.ParentID != nil {
			if err := tx.QueryRow(ctx, `SELECT code FROM grids WHERE id = $1`, *g.ParentID).Scan(&parentCode); err != nil {
				return err
			}
		} else if admin, err = adminCode(ctx, tx); err != nil {
			return err
		}
		code, err := codes.nextCode(ctx, tx, g.Level, parentCode, admin)
		if err != nil {
			return err
		}
		newID, err := newGridID(ctx, tx)
		if err != nil {
			return err
		}
		name := sp.Name
		if name == "" {
			name = g.Name + " (2)"
			if len([]rune(name)) > 200 {
				name = string([]rune(name)[:196]) + " (2)"
			}
		}
		ng := grid.GridState{ID: newID, Level: g.Level, ParentID: g.ParentID, Code: code, Name: name, Current: true, Geom: cut}
		after := g
		after.Geom = keep
		changes := []gridChange{{Before: &g, After: after}, {After: ng}}
		if len(moving) > 0 {
			sub, err := subtreeOf(ctx, tx, idsOf(moving))
			if err != nil {
				return err
			}
			recoded, err := recode(ctx, tx, &codes, moving, ng, sub)
			if err != nil {
				return err
			}
			for _, r := range recoded {
				b := r
				for _, x := range append(append([]grid.GridState{}, moving...), sub...) {
					if x.ID == r.ID {
						b = x
					}
				}
				changes = append(changes, gridChange{Before: &b, After: r})
			}
		}
		return saveEdit(ctx, tx, u, res, &g.ID, changes, grid.Restore{})
	})
}

func idsOf(states []grid.GridState) []int64 {
	out := make([]int64, len(states))
	for k, s := range states {
		out[k] = s.ID
	}
	return out
}

// splitSides returns what the grid keeps and what the new grid gets.
func splitSides(ctx context.Context, tx pgx.Tx, g grid.GridState, sp grid.Split) (keep, cut orb.MultiPolygon, err error) {
	if sp.Area != nil {
		if err := checkGeometry(ctx, tx, "the split area", sp.Area); err != nil {
			return nil, nil, err
		}
		var in, out float64
		if err := tx.QueryRow(ctx, splitAreaSQL, g.ID, sp.Area).Scan(&cut, &keep, &in, &out); err != nil {
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
	var valid bool
	if err := tx.QueryRow(ctx, `SELECT ST_IsValid($1::geometry) AND NOT ST_IsEmpty($1::geometry) AND ST_Length($1::geometry) > 0`, sp.Line).Scan(&valid); err != nil {
		return nil, nil, err
	}
	if !valid {
		return nil, nil, grid.Errorf(grid.EINVALID, "the split line has no length")
	}
	rows, _ := tx.Query(ctx, splitLineSQL, g.ID, sp.Line, splitStrip)
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
	// the grid keeps the larger side (and any part the line does not touch)
	if ra > la {
		left, right = right, left
	}
	left = append(left, loose...)
	for _, side := range []struct {
		parts []orb.Geometry
		dst   *orb.MultiPolygon
	}{{left, &keep}, {right, &cut}} {
		if err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(x)) FROM unnest($1::geometry[]) x`, side.parts).Scan(side.dst); err != nil {
			return nil, nil, err
		}
	}
	return keep, cut, nil
}

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
	for _, side := range []struct {
		g    orb.MultiPolygon
		what string
	}{{nk, "keeps"}, {nc, "gets"}} {
		if err := areaAtLeast(ctx, tx, side.g, fmt.Sprintf(
			"grid %s has children: a split follows their boundaries, and this one leaves every child (and all uncovered area) on one side", g.Code)); err != nil {
			return nil, nil, nil, err
		}
	}
	return nk, nc, moving, nil
}

// mergeAdjacentSQL: pairs of grids ($1) sharing a border (or area).
const mergeAdjacentSQL = `
SELECT a.id, b.id FROM grids a JOIN grids b ON a.id < b.id AND a.geom && b.geom
WHERE a.id = ANY($1) AND b.id = ANY($1)
  AND (ST_Relate(a.geom, b.geom, '****1****') OR ST_Relate(a.geom, b.geom, '2********'))`

// Merge joins adjacent grids of one parent into the first one named.
func (s *Store) Merge(ctx context.Context, u *grid.User, m grid.Merge) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.merge", m.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		ids := make([]int64, len(m.Grids))
		fam := map[int64]bool{}
		for k, key := range m.Grids {
			id, err := resolveCurrent(ctx, tx, key.GridKey)
			if err != nil {
				return err
			}
			ids[k] = id
			st, err := peekGrid(ctx, tx, id)
			if err != nil {
				return err
			}
			fam[familyOf(st)], fam[id] = true, true
		}
		if hasDup(ids) {
			return grid.Errorf(grid.EINVALID, "merge: a grid is named twice (by id and by code)")
		}
		if err := lockFamilies(ctx, tx, keys(fam)); err != nil {
			return err
		}
		locked, err := lockGrids(ctx, tx, ids)
		if err != nil {
			return err
		}
		first := locked[ids[0]]
		for k, id := range ids {
			g := locked[id]
			if err := staleOrGone(g, m.Grids[k].Version); err != nil {
				return err
			}
			if g.Level != first.Level || !eq(g.ParentID, first.ParentID) {
				return grid.Errorf(grid.EINVALID, "merge: grids %s and %s have different parents or levels: merge grids of one parent only",
					first.Code, g.Code)
			}
		}
		index := map[int64]int{}
		for k, id := range ids {
			index[id] = k
		}
		rows, _ := tx.Query(ctx, mergeAdjacentSQL, ids)
		var a, b int64
		var edges [][2]int
		if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
			edges = append(edges, [2]int{index[a], index[b]})
			return nil
		}); err != nil {
			return err
		}
		if !grid.Connected(len(ids), edges) {
			return grid.Errorf(grid.EINVALID, "merge: grids %s are not adjacent: each must share a border with the others", codesOf(locked, ids))
		}
		after := first
		if err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(geom)) FROM grids WHERE id = ANY($1)`, ids).Scan(&after.Geom); err != nil {
			return err
		}
		if m.Name != nil {
			after.Name = *m.Name
		}
		changes := []gridChange{{Before: &first, After: after}}
		var gone []grid.GridState
		for _, id := range ids[1:] {
			b := locked[id]
			a := b
			a.Current, a.SuccessorID = false, &first.ID
			changes = append(changes, gridChange{Before: &b, After: a})
			gone = append(gone, b)
		}
		kids, err := childrenOf(ctx, tx, idsOf(gone))
		if err != nil {
			return err
		}
		if len(kids) > 0 {
			sub, err := subtreeOf(ctx, tx, idsOf(kids))
			if err != nil {
				return err
			}
			var codes codeAllocator
			recoded, err := recode(ctx, tx, &codes, kids, after, sub)
			if err != nil {
				return err
			}
			orig := map[int64]grid.GridState{}
			for _, x := range append(append([]grid.GridState{}, kids...), sub...) {
				orig[x.ID] = x
			}
			for _, r := range recoded {
				b := orig[r.ID]
				changes = append(changes, gridChange{Before: &b, After: r})
			}
		}
		written, err := writeGrids(ctx, tx, changes)
		if err != nil {
			return err
		}
		undo, err := moveGridStaff(ctx, tx, idsOf(gone), first.ID)
		if err != nil {
			return err
		}
		return recordEdit(ctx, tx, u, res, &first.ID, written, undo)
	})
}

func hasDup(ids []int64) bool {
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			return true
		}
		seen[id] = true
	}
	return false
}

func codesOf(m map[int64]grid.GridState, ids []int64) string {
	var out []string
	for _, id := range ids {
		out = append(out, m[id].Code)
	}
	return strings.Join(out, ", ")
}

// moveGridStaff ends the current assignments to grids `from` and starts the same ones on
// grid to (unless the worker already holds that role there); it returns the undo steps.
func moveGridStaff(ctx context.Context, tx pgx.Tx, from []int64, to int64) (grid.Restore, error) {
	var undo grid.Restore
	rows, _ := tx.Query(ctx, `
		UPDATE assignments SET valid_to = now()
		WHERE grid_id = ANY($1) AND valid_to IS NULL
		RETURNING id, worker_id, grid_id, role`, from)
	var id, worker, gid int64
	var role string
	var ended []grid.AssignmentSpec
	if _, err := pgx.ForEachRow(rows, []any{&id, &worker, &gid, &role}, func() error {
		g := gid
		ended = append(ended, grid.AssignmentSpec{WorkerID: worker, GridID: &g, Role: role})
		return nil
	}); err != nil {
		return undo, err
	}
	undo.Start = ended
	for _, e := range ended {
		var nid int64
		err := tx.QueryRow(ctx, `
			INSERT INTO assignments (worker_id, grid_id, role)
			SELECT $1, $2, $3 WHERE NOT EXISTS (
			    SELECT 1 FROM assignments WHERE worker_id = $1 AND grid_id = $2 AND role = $3 AND valid_to IS NULL)
			RETURNING id`, e.WorkerID, to, e.Role).Scan(&nid)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return undo, err
		}
		undo.End = append(undo.End, nid)
	}
	return undo, nil
}

// parentByOverlapSQL: the current level-$2 grid overlapping $1 most.
const parentByOverlapSQL = `
SELECT id FROM grids
WHERE level = $2 AND valid_to IS NULL AND geom && $1 AND ST_Intersects(geom, $1)
ORDER BY ST_Area(ST_Intersection(geom, $1)) DESC, id LIMIT 1`

const codeUsedSQL = `SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1) OR EXISTS (SELECT 1 FROM grid_versions WHERE code = $1)`

// UpsertGrids creates and updates grids from GeoJSON features, all or nothing.
func (s *Store) UpsertGrids(ctx context.Context, u *grid.User, fs []grid.GridFeature) (grid.EditResult, error) {
	check := func() error {
		if len(fs) == 0 {
			return grid.Errorf(grid.EINVALID, "import: no features")
		}
		for _, f := range fs {
			if err := f.Validate(); err != nil {
				return err
			}
		}
		return nil
	}
	return s.edit(ctx, u, grid.PermEditGrids, "grid.import", check, func(tx pgx.Tx, res *grid.EditResult) error {
		for _, f := range fs {
			if err := checkGeometry(ctx, tx, fmt.Sprintf("feature %d: the geometry", f.Index), f.Geom); err != nil {
				return err
			}
		}
		// one edit of the whole hierarchy: take every family lock there is (level 1: 0)
		var fam []int64
		rows, _ := tx.Query(ctx, `SELECT 0 UNION SELECT id FROM grids WHERE valid_to IS NULL AND level < 3`)
		fam, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if err := lockFamilies(ctx, tx, fam); err != nil {
			return err
		}
		var codes codeAllocator
		var all []gridChange
		seen := map[int64]bool{}
		for level := grid.LevelSubdistrict; level <= grid.LevelGrid; level++ {
			var changes []gridChange
			for _, f := range fs {
				c, ok, err := upsertOne(ctx, tx, &codes, f, level, seen)
				if err != nil {
					return err
				}
				if ok {
					changes = append(changes, c)
				}
			}
			written, err := writeGrids(ctx, tx, changes)
			if err != nil {
				return err
			}
			all = append(all, written...)
		}
		return recordEdit(ctx, tx, u, res, nil, all, grid.Restore{})
	})
}

// upsertOne turns feature f into a change when it belongs to this level (ok false otherwise).
func upsertOne(ctx context.Context, tx pgx.Tx, codes *codeAllocator, f grid.GridFeature, level int, seen map[int64]bool) (gridChange, bool, error) {
	id := f.ID
	if id == 0 && f.Code != "" {
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT id FROM grids WHERE code = $1 AND valid_to IS NULL), 0)`, f.Code).Scan(&id); err != nil {
			return gridChange{}, false, err
		}
		if id > 0 && f.Version <= 0 {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s exists: updating it needs its version (property \"version\")", f.Index, f.Code)
		}
	}
	if id > 0 {
		m, err := lockGrids(ctx, tx, []int64{id})
		if err != nil {
			return gridChange{}, false, grid.Errorf(grid.ENOTFOUND, "feature %d: grid %d not found", f.Index, id)
		}
		b := m[id]
		if b.Level != level {
			return gridChange{}, false, nil
		}
		if f.Level != 0 && f.Level != b.Level {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s is level %d, not %d: an import does not move grids between levels", f.Index, b.Code, b.Level, f.Level)
		}
		if seen[id] {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s appears twice in the file", f.Index, b.Code)
		}
		seen[id] = true
		if err := staleOrGone(b, f.Version); err != nil {
			return gridChange{}, false, err
		}
		a := b
		a.Name, a.Geom = f.Name, f.Geom
		return gridChange{Before: &b, After: a}, true, nil
	}
	if f.Level != level {
		return gridChange{}, false, nil
	}
	n := grid.GridState{Level: level, Name: f.Name, Geom: f.Geom, Current: true}
	parentCode, admin := "", ""
	if level > 1 {
		var pid int64
		if f.Parent != nil {
			ref, err := resolveGrid(ctx, tx, *f.Parent)
			if err != nil {
				return gridChange{}, false, grid.Errorf(grid.ENOTFOUND, "feature %d: parent %s not found", f.Index, f.Parent)
			}
			if ref.Level != level-1 {
				return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: parent %s is level %d, a level-%d grid needs a level-%d parent", f.Index, ref.Code, ref.Level, level, level-1)
			}
			pid, parentCode = ref.ID, ref.Code
		} else {
			err := tx.QueryRow(ctx, parentByOverlapSQL, f.Geom, level-1).Scan(&pid)
			if err == pgx.ErrNoRows {
				return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: no level-%d grid lies under it: give its parent (property \"parent\")", f.Index, level-1)
			}
			if err != nil {
				return gridChange{}, false, err
			}
			if err := tx.QueryRow(ctx, `SELECT code FROM grids WHERE id = $1`, pid).Scan(&parentCode); err != nil {
				return gridChange{}, false, err
			}
		}
		n.ParentID = &pid
	} else {
		var err error
		if admin, err = adminCode(ctx, tx); err != nil {
			return gridChange{}, false, err
		}
	}
	if f.Code != "" {
		prefix := admin
		if level > 1 {
			prefix = parentCode[:6+3*(level-1)]
		}
		if !strings.HasPrefix(f.Code, prefix) {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: code %s does not extend its parent's prefix %s", f.Index, f.Code, prefix)
		}
		var used bool
		if err := tx.QueryRow(ctx, codeUsedSQL, f.Code).Scan(&used); err != nil {
			return gridChange{}, false, err
		}
		if used {
			return gridChange{}, false, grid.Errorf(grid.ECONFLICT, "feature %d: code %s is taken (codes are never reused)", f.Index, f.Code)
		}
		n.Code = f.Code
	} else {
		code, err := codes.nextCode(ctx, tx, level, parentCode, admin)
		if err != nil {
			return gridChange{}, false, err
		}
		n.Code = code
	}
	return gridChange{After: n}, true, nil
}
