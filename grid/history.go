package grid

import (
	"context"
	"strings"
	"time"
)

// The division through time. Every grid version, assignment and retirement is stamped with
// the start of the transaction that made it, so the division as it stood at any moment can be
// read back: the grids of that moment, each building in the grid its point on surface lay in
// then, the staff assignments valid then. Household and resident counts, units and the facts
// of a building have no history: a past moment shows them as they are now.
//
// A moment is given as At (a *time.Time: nil is now). A moment in the future is now; one
// before the first grid held gives empty answers (no grids, no buildings), not errors.

// ParseTime reads a moment given by a user (parameter name, for the message): RFC 3339 with
// or without fractional seconds (2026-01-01T00:00:00Z, 2026-01-01T08:00:00+08:00), or a
// calendar date (2026-01-01), which is its first instant in UTC. EINVALID otherwise.
func ParseTime(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, Errorf(EINVALID, "%s=%q: want an RFC 3339 time (2026-01-01T00:00:00Z) or a date (2026-01-01)", name, s)
}

// HistoryService reads single grids as they stood at a moment and what changed between two
// moments. (Lists, the coverage report and exports take a moment in their options: At.)
type HistoryService interface {
	// GridAt returns the grid named by k (an id, or a code it carried then) as it stood at at,
	// with its subtree's counts of then, its ancestors and children of then. ENOTFOUND when
	// no such grid held at that moment.
	GridAt(ctx context.Context, k GridKey, at time.Time) (GridDetail, error)
	// Changes returns what changed in the period (q.From, q.To]. EINVALID for a bad period,
	// ENOTFOUND for an unknown parent.
	Changes(ctx context.Context, q ChangeQuery) (*Changes, error)
}
