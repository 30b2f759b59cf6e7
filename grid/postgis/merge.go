package postgis

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// Merge joins adjacent grids of one parent into the first one named (see grid.Merge): it
// locks them, refuses a merge of stale, unrelated or separate grids, and writes the merged
// grid, the retired ones, the adopted children and the moved staff.
func (s *Store) Merge(ctx context.Context, u *grid.User, m grid.Merge) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermEditGrids, "grid.merge", m.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		ids, locked, err := lockMerging(ctx, tx, m)
		if err != nil {
			return err
		}
		if err := refuseUnmergeable(ctx, tx, m, ids, locked); err != nil {
			return err
		}
		changes, err := mergedInto(ctx, tx, ids, locked, m.Name)
		if err != nil {
			return err
		}
		gone := ids[1:]
		adopted, err := adoptChildren(ctx, tx, gone, changes[0].After)
		if err != nil {
			return err
		}
		written, err := writeGrids(ctx, tx, append(changes, adopted...))
		if err != nil {
			return err
		}
		undo, err := moveGridStaff(ctx, tx, gone, ids[0])
		if err != nil {
			return err
		}
		return recordEdit(ctx, tx, u, res, &ids[0], written, undo)
	})
}

// lockMerging resolves the grids a merge names and locks them, their families and their
// children's families; EINVALID when a grid is named twice.
func lockMerging(ctx context.Context, tx pgx.Tx, m grid.Merge) ([]int64, map[int64]grid.GridState, error) {
	ids := make([]int64, len(m.Grids))
	for k, key := range m.Grids {
		id, err := resolveCurrent(ctx, tx, key.GridKey)
		if err != nil {
			return nil, nil, err
		}
		ids[k] = id
	}
	if hasDup(ids) {
		return nil, nil, grid.Errorf(grid.EINVALID, "merge: a grid is named twice (by id and by code)")
	}
	locked, err := lockWithFamilies(ctx, tx, ids, ids...)
	return ids, locked, err
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

// mergeAdjacentSQL: pairs of grids ($1) sharing a border (or area).
const mergeAdjacentSQL = `
SELECT a.id, b.id FROM grids a JOIN grids b ON a.id < b.id AND a.geom && b.geom
WHERE a.id = ANY($1) AND b.id = ANY($1)
  AND (ST_Relate(a.geom, b.geom, '****1****') OR ST_Relate(a.geom, b.geom, '2********'))`

// refuseUnmergeable checks the grids to merge: each at the version the merge was made on
// (*StaleError), all of one level and parent, and together one connected area (EINVALID).
func refuseUnmergeable(ctx context.Context, tx pgx.Tx, m grid.Merge, ids []int64, locked map[int64]grid.GridState) error {
	first := locked[ids[0]]
	index := map[int64]int{}
	for k, id := range ids {
		g := locked[id]
		if err := staleOrGone(g, m.Grids[k].Version); err != nil {
			return err
		}
		if g.Level != first.Level || !eq(g.ParentID, first.ParentID) {
			return grid.Errorf(grid.EINVALID, "merge: grids %s and %s have different parents or levels: merge grids of one parent only",
				first.Code, g.Code)
		}
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
		codes := make([]string, len(ids))
		for k, id := range ids {
			codes[k] = locked[id].Code
		}
		return grid.Errorf(grid.EINVALID, "merge: grids %s are not adjacent: each must share a border with the others", strings.Join(codes, ", "))
	}
	return nil
}

// mergedInto returns the changes of merging the grids ids into the first: it takes their
// union (and the new name, if any), the others retire with it as their successor.
func mergedInto(ctx context.Context, tx pgx.Tx, ids []int64, locked map[int64]grid.GridState, name *string) ([]gridChange, error) {
	first := locked[ids[0]]
	after := first
	if err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(geom)) FROM grids WHERE id = ANY($1)`, ids).Scan(&after.Geom); err != nil {
		return nil, err
	}
	if name != nil {
		after.Name = *name
	}
	changes := []gridChange{{Before: &first, After: after}}
	for _, id := range ids[1:] {
		b := locked[id]
		a := b
		a.Current, a.SuccessorID = false, &first.ID
		changes = append(changes, gridChange{Before: &b, After: a})
	}
	return changes, nil
}

// adoptChildren moves the children of the merged-away grids gone, with their subtrees, under
// the merged grid, recoded.
func adoptChildren(ctx context.Context, tx pgx.Tx, gone []int64, merged grid.GridState) ([]gridChange, error) {
	kids, err := childrenOf(ctx, tx, gone)
	if err != nil {
		return nil, err
	}
	var codes codeAllocator
	return moveSubtrees(ctx, tx, &codes, kids, merged)
}

// moveGridStaff ends the current assignments to grids `from` and starts the same ones on
// grid to (unless the worker already holds that role there); it returns the undo steps.
func moveGridStaff(ctx context.Context, tx pgx.Tx, from []int64, to int64) (grid.Restore, error) {
	var undo grid.Restore
	ended, err := endGridStaff(ctx, tx, from)
	if err != nil {
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

// endGridStaff ends the current assignments to the grids ids and returns them as specs, which
// an undo starts again.
func endGridStaff(ctx context.Context, tx pgx.Tx, ids []int64) ([]grid.AssignmentSpec, error) {
	rows, _ := tx.Query(ctx, `
		UPDATE assignments SET valid_to = now()
		WHERE grid_id = ANY($1) AND valid_to IS NULL
		RETURNING id, worker_id, grid_id, role`, ids)
	var id, worker, gid int64
	var role string
	var ended []grid.AssignmentSpec
	_, err := pgx.ForEachRow(rows, []any{&id, &worker, &gid, &role}, func() error {
		g := gid
		ended = append(ended, grid.AssignmentSpec{WorkerID: worker, GridID: &g, Role: role})
		return nil
	})
	return ended, err
}
