package postgis

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
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
