package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
// after-state (an edit's "grids" or "workers", filled in per entity: a paint names its
// target, yet changes the donor grids too). Each branch reads one index (migrations/0012_audit_last_change.sql) for
// the entity's own entries, newest first, so the cost follows the entity's history, not the
// log's length; the path must stay the indexes' expression, word for word.
const lastChangeSQL = `
WITH listed AS MATERIALIZED (
    SELECT id, actor, action, at FROM audit_log
    WHERE jsonb_path_query_array(after, '$.%s[*].id') @> jsonb_build_array($2::bigint)
)
SELECT actor, action, at FROM (
    (SELECT id, actor, action, at FROM audit_log
     WHERE entity = $1 AND entity_id = $2 ORDER BY id DESC LIMIT 1)
    UNION ALL
    (SELECT id, actor, action, at FROM listed ORDER BY id DESC LIMIT 1)
) last ORDER BY id DESC LIMIT 1`

// lastChangeSQLs are lastChangeSQL per entity that keeps versions.
var lastChangeSQLs = map[string]string{
	grid.EntityGrid:   fmt.Sprintf(lastChangeSQL, "grids"),
	grid.EntityWorker: fmt.Sprintf(lastChangeSQL, "workers"),
}

// LastChange returns who last changed entity id, and when. ENOTFOUND when the audit log names
// none.
func (s *Store) LastChange(ctx context.Context, entity string, id int64) (grid.Change, error) {
	var c grid.Change
	sql, ok := lastChangeSQLs[entity]
	if !ok {
		return c, grid.Errorf(grid.EINVALID, "audit: no versions kept for %q", entity)
	}
	err := s.pool.QueryRow(ctx, sql, entity, id).Scan(&c.Actor, &c.Action, &c.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, grid.Errorf(grid.ENOTFOUND, "audit: no change of %s %d recorded", entity, id)
	}
	return c, mapError(err)
}
