package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// applyRestore applies a Restore in the transaction: grids (their families locked), then
// workers, then the assignments to end, then those to start. Every grid and worker must still
// be at the version the Restore expects (else a *StaleError and nothing changes). It returns
// the Restore that reverts it, the audit's before and after, and the grids it wrote.
func applyRestore(ctx context.Context, tx pgx.Tx, u *grid.User, r grid.Restore) (inv grid.Restore, before, after map[string]any, versions []grid.GridVersion, err error) {
	before, after = map[string]any{}, map[string]any{}
	if len(r.Grids) > 0 {
		if err := u.Require(grid.PermEditGrids); err != nil {
			return inv, nil, nil, nil, err
		}
		ids := make([]int64, len(r.Grids))
		fam := map[int64]bool{}
		for k, g := range r.Grids {
			ids[k] = g.State.ID
			fam[familyOf(g.State)] = true
			cur, err := peekGrid(ctx, tx, g.State.ID)
			if err != nil {
				return inv, nil, nil, nil, err
			}
			fam[familyOf(cur)] = true
		}
		if err := lockFamilies(ctx, tx, keys(fam)); err != nil {
			return inv, nil, nil, nil, err
		}
		locked, err := lockGrids(ctx, tx, ids)
		if err != nil {
			return inv, nil, nil, nil, err
		}
		var changes []gridChange
		for _, g := range r.Grids {
			b := locked[g.State.ID]
			if err := grid.CheckVersion(grid.EntityGrid, b.ID, g.Expect, b.Version); err != nil {
				return inv, nil, nil, nil, err
			}
			changes = append(changes, gridChange{Before: &b, After: g.State})
		}
		written, err := writeGrids(ctx, tx, changes)
		if err != nil {
			return inv, nil, nil, nil, err
		}
		b, a, undo, vs := diffs(written)
		before["grids"], after["grids"] = b.Grids, a.Grids
		inv.Grids, versions = undo, vs
	}
	if len(r.Workers) > 0 {
		if err := u.Require(grid.PermEditStaff); err != nil {
			return inv, nil, nil, nil, err
		}
		var bs, as []grid.WorkerState
		for _, w := range r.Workers {
			b, err := workerState(ctx, tx, w.State.ID)
			if err != nil {
				return inv, nil, nil, nil, err
			}
			if err := grid.CheckVersion(grid.EntityWorker, b.ID, w.Expect, b.Version); err != nil {
				return inv, nil, nil, nil, err
			}
			a, err := setWorker(ctx, tx, w.State)
			if err != nil {
				return inv, nil, nil, nil, err
			}
			bs, as = append(bs, b), append(as, a)
			inv.Workers = append(inv.Workers, grid.WorkerRestore{Expect: a.Version, State: b})
		}
		before["workers"], after["workers"] = bs, as
	}
	for _, id := range r.End {
		spec, err := endAssignment(ctx, tx, u, id)
		if err != nil {
			return inv, nil, nil, nil, err
		}
		inv.Start = append(inv.Start, spec)
	}
	if len(r.End) > 0 {
		after["ended_assignments"] = r.End
	}
	var started []int64
	for _, spec := range r.Start {
		s := spec
		id, err := startAssignment(ctx, tx, u, &s)
		if err != nil {
			return inv, nil, nil, nil, err
		}
		started = append(started, id)
		inv.End = append(inv.End, id)
	}
	if len(started) > 0 {
		after["started_assignments"] = started
	}
	if versions == nil {
		versions = []grid.GridVersion{}
	}
	return inv, before, after, versions, nil
}

// Undo reverts the user's latest operation still done, as a new operation.
func (s *Store) Undo(ctx context.Context, u *grid.User) (grid.EditResult, error) {
	return s.replay(ctx, u, true)
}

// Redo re-applies the user's latest undone operation, as a new operation.
func (s *Store) Redo(ctx context.Context, u *grid.User) (grid.EditResult, error) {
	return s.replay(ctx, u, false)
}

// replay applies an operation's undo (or redo) change, records it in the audit log (one
// entry naming the operation), and moves the operation to the other stack with the change
// that reverts this one.
func (s *Store) replay(ctx context.Context, u *grid.User, undo bool) (grid.EditResult, error) {
	verb, from, to, order, col := "undo", grid.OpDone, grid.OpUndone, "DESC", "redo"
	if !undo {
		verb, from, to, order, col = "redo", grid.OpUndone, grid.OpDone, "ASC", "undo"
	}
	return s.edit(ctx, u, grid.PermWrite, "", nil, func(tx pgx.Tx, res *grid.EditResult) error {
		var (
			op       grid.Op
			cmdUndo  []byte
			cmdRedo  []byte
			entityID *int64
		)
		err := tx.QueryRow(ctx, `SELECT id, action, entity, entity_id, undo, redo FROM edit_ops
			WHERE actor = $1 AND state = $2 ORDER BY id `+order+` LIMIT 1`, u.Actor(), from).
			Scan(&op.ID, &op.Action, &op.Entity, &entityID, &cmdUndo, &cmdRedo)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ECONFLICT, "nothing to %s", verb)
		}
		if err != nil {
			return err
		}
		raw := cmdUndo
		if !undo {
			raw = cmdRedo
		}
		var cmd grid.Restore
		if err := json.Unmarshal(raw, &cmd); err != nil {
			return err
		}
		inv, before, after, versions, err := applyRestore(ctx, tx, u, cmd)
		if err != nil {
			return err
		}
		after["op"] = op.ID
		*res = grid.EditResult{Op: op.ID, Action: verb + " " + op.Action, Grids: versions}
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(after)
		if err := audit(ctx, tx, u.Actor(), res.Action, op.Entity, entityID, b, a); err != nil {
			return err
		}
		ib, err := json.Marshal(inv)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE edit_ops SET state = $2, `+col+` = $3, updated_at = now() WHERE id = $1`,
			op.ID, to, ib); err != nil {
			return err
		}
		res.DataVersion, err = dataVersion(ctx, tx)
		return err
	})
}

// Ops returns the user's latest operations, newest first.
func (s *Store) Ops(ctx context.Context, u *grid.User, limit int) ([]grid.Op, error) {
	if err := u.Require(grid.PermWrite); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		return nil, grid.Errorf(grid.EINVALID, "limit %d out of range 1..1000", limit)
	}
	rows, _ := s.pool.Query(ctx, `SELECT id, action, entity, entity_id, state, audit_id, created_at, updated_at
		FROM edit_ops WHERE actor = $1 ORDER BY id DESC LIMIT $2`, u.Actor(), limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.Op])
	if out == nil {
		out = []grid.Op{}
	}
	return out, mapError(err)
}
