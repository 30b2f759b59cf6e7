package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// Undo reverts the user's latest operation still done, as a new operation.
func (s *Store) Undo(ctx context.Context, u *grid.User) (grid.EditResult, error) {
	return s.replay(ctx, u, undoing)
}

// Redo re-applies the user's latest undone operation, as a new operation.
func (s *Store) Redo(ctx context.Context, u *grid.User) (grid.EditResult, error) {
	return s.replay(ctx, u, redoing)
}

// replayDir is a direction through the journal: which operation comes next, which of its
// changes applies, and where the operation goes afterwards.
type replayDir struct {
	verb     string // "undo" or "redo"
	from, to string // the operation's state before and after
	order    string // the next operation from `from`: the newest to undo, the oldest to redo
	apply    string // the journal column holding the change to apply
	inverse  string // the journal column that gets the change reverting this replay
}

var (
	undoing = replayDir{verb: "undo", from: grid.OpDone, to: grid.OpUndone, order: "DESC", apply: "undo", inverse: "redo"}
	redoing = replayDir{verb: "redo", from: grid.OpUndone, to: grid.OpDone, order: "ASC", apply: "redo", inverse: "undo"}
)

// replay applies an operation's undo (or redo) change, records it in the audit log (one
// entry naming the operation), and moves the operation to the other stack with the change
// that reverts this one.
func (s *Store) replay(ctx context.Context, u *grid.User, d replayDir) (grid.EditResult, error) {
	return s.edit(ctx, u, grid.PermWrite, "", nil, func(tx pgx.Tx, res *grid.EditResult) error {
		op, entityID, cmd, err := nextOp(ctx, tx, u, d)
		if err != nil {
			return err
		}
		done, err := applyRestore(ctx, tx, u, cmd)
		if err != nil {
			return noLongerApplies(err, d, op)
		}
		done.after["op"] = op.ID
		*res = grid.EditResult{Op: op.ID, Action: d.verb + " " + op.Action, Grids: done.versions}
		b, _ := json.Marshal(done.before)
		a, _ := json.Marshal(done.after)
		if err := audit(ctx, tx, u.Actor(), res.Action, op.Entity, entityID, b, a); err != nil {
			return err
		}
		inv, err := json.Marshal(done.inverse)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE edit_ops SET state = $2, `+d.inverse+` = $3, updated_at = now() WHERE id = $1`,
			op.ID, d.to, inv); err != nil {
			return err
		}
		res.DataVersion, err = dataVersion(ctx, tx)
		return err
	})
}

// noLongerApplies turns a refusal of a replay (a worker retired since, an assignment ended
// since, a geometry that no longer fits) into ECONFLICT naming the operation: the request was
// fine, the data moved on, and the way out is to drop the operation (DropOp) so the ones
// before it can be undone. A stale version stays a *StaleError (412, with who changed it).
func noLongerApplies(err error, d replayDir, op grid.Op) error {
	var stale *grid.StaleError
	switch code := grid.ErrorCode(err); {
	case errors.As(err, &stale), code == grid.EINTERNAL, code == grid.EUNAUTHORIZED, code == grid.EFORBIDDEN:
		return err
	}
	return grid.Errorf(grid.ECONFLICT, "%s %s (operation %d) no longer applies: %s; drop it from your journal to %s what came before it",
		d.verb, op.Action, op.ID, grid.ErrorMessage(err), d.verb)
}

// nextOp reads the user's next operation in direction d, with the grid or worker it is about
// and the change to apply; ECONFLICT when there is none.
func nextOp(ctx context.Context, tx pgx.Tx, u *grid.User, d replayDir) (grid.Op, *int64, grid.Restore, error) {
	var op grid.Op
	var entityID *int64
	var raw []byte
	var cmd grid.Restore
	err := tx.QueryRow(ctx, `SELECT id, action, entity, entity_id, `+d.apply+` FROM edit_ops
		WHERE actor = $1 AND state = $2 ORDER BY id `+d.order+` LIMIT 1`, u.Actor(), d.from).
		Scan(&op.ID, &op.Action, &op.Entity, &entityID, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return op, nil, cmd, grid.Errorf(grid.ECONFLICT, "nothing to %s", d.verb)
	}
	if err != nil {
		return op, nil, cmd, err
	}
	err = json.Unmarshal(raw, &cmd)
	return op, entityID, cmd, err
}

// restored is what applying a Restore did: the Restore that reverts it, the audit's before
// and after, the grids it wrote, and the grids and workers it retired.
type restored struct {
	inverse        grid.Restore
	before, after  map[string]any
	versions       []grid.GridVersion
	retiredGrids   []int64
	retiredWorkers []int64
}

// applyRestore applies a Restore in the transaction: grids (their families locked), then
// workers, then the assignments to end, then those to start, then the staff of what it
// retired. Every grid and worker must still be at the version the Restore expects (else a
// *StaleError and nothing changes).
func applyRestore(ctx context.Context, tx pgx.Tx, u *grid.User, r grid.Restore) (*restored, error) {
	done := &restored{before: map[string]any{}, after: map[string]any{}, versions: []grid.GridVersion{}}
	if err := done.grids(ctx, tx, u, r.Grids); err != nil {
		return nil, err
	}
	if err := done.workers(ctx, tx, u, r.Workers); err != nil {
		return nil, err
	}
	if err := done.assignments(ctx, tx, u, r.End, r.Start); err != nil {
		return nil, err
	}
	if err := done.retiredStaff(ctx, tx); err != nil {
		return nil, err
	}
	return done, nil
}

// retiredStaff ends the assignments still current to the grids and of the workers this
// change retired. An undone split's new grid, a redone merge's merged-away grids, an undone
// worker.create's worker or a redone worker.retire's worker may have been given staff since
// the operation; retiring them forward ends their assignments (merge moves them, retire ends
// them), and so does retiring them by undo or redo, rather than leave staff on a retired grid
// or a retired worker on duty — or refuse, which would leave the user's stack stuck behind
// someone else's assignment. What it ends goes into the inverse, so the opposite replay starts
// it again, and into the audit entry.
func (done *restored) retiredStaff(ctx context.Context, tx pgx.Tx) error {
	if len(done.retiredGrids) == 0 && len(done.retiredWorkers) == 0 {
		return nil
	}
	specs, ids, err := endAssignmentsOf(ctx, tx, done.retiredGrids, done.retiredWorkers)
	if err != nil || len(ids) == 0 {
		return err
	}
	done.inverse.Start = append(done.inverse.Start, specs...)
	done.after["ended_with_retired"] = ids
	return nil
}

// grids brings the grids back to the states rs hold.
func (done *restored) grids(ctx context.Context, tx pgx.Tx, u *grid.User, rs []grid.GridRestore) error {
	if len(rs) == 0 {
		return nil
	}
	if err := u.Require(grid.PermEditGrids); err != nil {
		return err
	}
	ids := make([]int64, len(rs))
	fam := make([]int64, len(rs))
	for k, g := range rs {
		ids[k], fam[k] = g.State.ID, familyOf(g.State)
	}
	locked, err := lockWithFamilies(ctx, tx, ids, fam...)
	if err != nil {
		return err
	}
	var changes []gridChange
	for _, g := range rs {
		b := locked[g.State.ID]
		if err := grid.CheckVersion(grid.EntityGrid, b.ID, g.Expect, b.Version); err != nil {
			return err
		}
		changes = append(changes, gridChange{Before: &b, After: g.State})
		if b.Current && !g.State.Current {
			done.retiredGrids = append(done.retiredGrids, b.ID)
		}
	}
	written, err := writeGrids(ctx, tx, changes)
	if err != nil {
		return err
	}
	b, a, undo, vs := diffs(written)
	done.before["grids"], done.after["grids"] = b.Grids, a.Grids
	done.inverse.Grids = undo
	if vs != nil {
		done.versions = vs
	}
	return nil
}

// workers brings the workers back to the states rs hold.
func (done *restored) workers(ctx context.Context, tx pgx.Tx, u *grid.User, rs []grid.WorkerRestore) error {
	if len(rs) == 0 {
		return nil
	}
	if err := u.Require(grid.PermEditStaff); err != nil {
		return err
	}
	var bs, as []grid.WorkerState
	for _, w := range rs {
		b, err := lockWorkerAt(ctx, tx, w.State.ID, w.Expect)
		if err != nil {
			return err
		}
		a, err := setWorker(ctx, tx, w.State)
		if err != nil {
			return err
		}
		bs, as = append(bs, b), append(as, a)
		done.inverse.Workers = append(done.inverse.Workers, grid.WorkerRestore{Expect: a.Version, State: b})
		if !b.Retired && a.Retired {
			done.retiredWorkers = append(done.retiredWorkers, b.ID)
		}
	}
	done.before["workers"], done.after["workers"] = bs, as
	return nil
}

// assignments ends the assignments end and starts those of start.
func (done *restored) assignments(ctx context.Context, tx pgx.Tx, u *grid.User, end []int64, start []grid.AssignmentSpec) error {
	for _, id := range end {
		spec, err := endAssignment(ctx, tx, u, id)
		if err != nil {
			return err
		}
		done.inverse.Start = append(done.inverse.Start, spec)
	}
	if len(end) > 0 {
		done.after["ended_assignments"] = end
	}
	var started []int64
	for _, spec := range start {
		s := spec
		id, err := startAssignment(ctx, tx, u, &s)
		if err != nil {
			return err
		}
		started = append(started, id)
		done.inverse.End = append(done.inverse.End, id)
	}
	if len(started) > 0 {
		done.after["started_assignments"] = started
	}
	return nil
}

// DropOp takes one of the user's operations off their undo or redo stack without applying it
// (one audit entry): an undo that no longer applies would otherwise stand in front of every
// operation before it for ever. Dropping changes no data, and what is left stays safe to
// replay: every replay checks the versions and assignments it expects.
func (s *Store) DropOp(ctx context.Context, u *grid.User, id int64) (grid.Op, error) {
	var op grid.Op
	err := s.write(ctx, u, grid.PermWrite, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+opColumns+` FROM edit_ops WHERE id = $1 AND actor = $2 FOR UPDATE`, id, u.Actor())
		var err error
		op, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[grid.Op])
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ENOTFOUND, "operation %d is not in your journal", id)
		}
		if err != nil {
			return err
		}
		if op.State == grid.OpDropped {
			return grid.Errorf(grid.ECONFLICT, "operation %d (%s) was dropped already", id, op.Action)
		}
		b, _ := json.Marshal(map[string]any{"op": id, "action": op.Action, "state": op.State})
		op.State = grid.OpDropped
		if err := tx.QueryRow(ctx, `UPDATE edit_ops SET state = $2, updated_at = now() WHERE id = $1 RETURNING updated_at`,
			id, op.State).Scan(&op.UpdatedAt); err != nil {
			return err
		}
		a, _ := json.Marshal(map[string]any{"op": id, "action": op.Action, "state": op.State})
		return audit(ctx, tx, u.Actor(), "op.drop", "edit_op", &id, b, a)
	})
	return op, err
}

// opColumns are the columns of a grid.Op, in its field order.
const opColumns = `id, action, entity, entity_id, state, audit_id, created_at, updated_at`

// Ops returns the user's latest operations, newest first.
func (s *Store) Ops(ctx context.Context, u *grid.User, limit int) ([]grid.Op, error) {
	if err := u.Require(grid.PermWrite); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		return nil, grid.Errorf(grid.EINVALID, "limit %d out of range 1..1000", limit)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+opColumns+`
		FROM edit_ops WHERE actor = $1 ORDER BY id DESC LIMIT $2`, u.Actor(), limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.Op])
	if out == nil {
		out = []grid.Op{}
	}
	return out, mapError(err)
}
