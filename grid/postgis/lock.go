package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// SetLocked locks (or unlocks) the current grid k names (planners): a locked grid's area and
// place in the hierarchy stay as they are — the database refuses any write that would change
// them (migrations/0016_locked.sql) — and auto-divide and rebalance keep it. One audit entry
// (grid.lock or grid.unlock); a grid already in that state is left alone and nothing is
// written. Locking keeps the grid's version: it is a setting, not an edit of the division, and
// it is not on the undo stack. It answers the grid as it now stands.
func (s *Store) SetLocked(ctx context.Context, u *grid.User, k grid.GridKey, locked bool) (grid.GridDetail, error) {
	action := "grid.unlock"
	if locked {
		action = "grid.lock"
	}
	err := s.writeAs(ctx, u, grid.PermEditGrids, action, nil, func(tx pgx.Tx) error {
		id, err := resolveCurrent(ctx, tx, k)
		if err != nil {
			return err
		}
		// current still once the row is ours: an edit holding it (a merge, a divide) may have
		// retired the grid while this waited, and a retired grid must not be locked (it could
		// never be unlocked, and the undo of that edit would be refused)
		var was bool
		var code string
		err = tx.QueryRow(ctx, `SELECT locked, code FROM grids WHERE id = $1 AND valid_to IS NULL FOR UPDATE`, id).Scan(&was, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ECONFLICT, "grid %s was retired by an edit that ended meanwhile: nothing locked", k)
		}
		if err != nil {
			return err
		}
		if was == locked {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE grids SET locked = $2 WHERE id = $1`, id, locked); err != nil {
			return err
		}
		before, _ := json.Marshal(map[string]any{"code": code, "locked": was})
		after, _ := json.Marshal(map[string]any{"code": code, "locked": locked})
		return audit(ctx, tx, u.Actor(), action, "grid", &id, before, after)
	})
	if err != nil {
		return grid.GridDetail{}, err
	}
	return s.Grid(ctx, k)
}

// lockedAmong returns which of the grids are locked.
func lockedAmong(ctx context.Context, tx pgx.Tx, grids []grid.GridState) (map[int64]bool, error) {
	rows, _ := tx.Query(ctx, `SELECT id FROM grids WHERE id = ANY($1) AND locked`, idsOf(grids))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}
