package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// audit appends one entry to the audit log inside the writing transaction, so the entry
// exists exactly when the write does.
func audit(ctx context.Context, tx pgx.Tx, actor, action, entity string, id *int64, before, after json.RawMessage) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, entity, entity_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6)`, actor, action, entity, id, nullJSON(before), nullJSON(after))
	return err
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// lastChangeSQL finds the newest entry about an entity: named by the entry, or listed in its
// after-state (an edit's "grids" or "workers": a paint names its target, yet changes the donor
// grids too). Scanning newest first stops at the first match, which for a version a client just
// tripped over is a recent one.
const lastChangeSQL = `
SELECT actor, action, at FROM audit_log
WHERE (entity = $1 AND entity_id = $2)
   OR after -> $3 @> jsonb_build_array(jsonb_build_object('id', $2::bigint))
ORDER BY id DESC LIMIT 1`

// LastChange returns who last changed entity id, and when. ENOTFOUND when the audit log names
// none.
func (s *Store) LastChange(ctx context.Context, entity string, id int64) (grid.Change, error) {
	var c grid.Change
	var list string
	switch entity {
	case grid.EntityGrid:
		list = "grids"
	case grid.EntityWorker:
		list = "workers"
	default:
		return c, grid.Errorf(grid.EINVALID, "audit: no versions kept for %q", entity)
	}
	err := s.pool.QueryRow(ctx, lastChangeSQL, entity, id, list).Scan(&c.Actor, &c.Action, &c.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, grid.Errorf(grid.ENOTFOUND, "audit: no change of %s %d recorded", entity, id)
	}
	return c, mapError(err)
}
