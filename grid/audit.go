package grid

import (
	"context"
	"time"
)

// Change is the latest audited change of an entity: who made it, what it was and when.
type Change struct {
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// AuditService reads the audit log.
type AuditService interface {
	// LastChange returns the latest audit entry that changed entity id (EntityGrid,
	// EntityWorker): an entry about it, or an edit whose after-state lists it. ENOTFOUND when
	// the log names none (a grid as loaded or imported in bulk).
	LastChange(ctx context.Context, entity string, id int64) (Change, error)
}
