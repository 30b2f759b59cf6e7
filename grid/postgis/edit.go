package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// How an edit runs: every write of a user goes through write (permission, request check, one
// transaction under the actor's lock); the edits of the grid hierarchy go through edit, which
// adds the result, and end with saveEdit (write the grids, one audit entry, one journal entry).

// minAreaM2 is the smallest piece an edit treats as area: below it a piece is the numerical
// noise of an overlay (the coverage report's threshold too).
const minAreaM2 = grid.DefaultMinAreaM2

// write runs one write of user u. Before the database is asked anything, u must hold perm
// (EUNAUTHORIZED, EFORBIDDEN) and the request must pass check (nil: nothing to check). fn then
// runs in one transaction that first takes the actor's lock, so one user's writes run one after
// the other and their undo journal stays a stack; its error comes back coded (mapError).
func (s *Store) write(ctx context.Context, u *grid.User, perm grid.Permission, check func() error, fn func(tx pgx.Tx) error) error {
	return s.writeAs(ctx, u, perm, permActions[perm], check, fn)
}

// permActions name the writes other than edits in the write metrics.
var permActions = map[grid.Permission]string{
	grid.PermWrite: "write", grid.PermEditGrids: "grids", grid.PermEditStaff: "staff",
	grid.PermAssign: "assignment", grid.PermExportHouseholds: "export", grid.PermAdmin: "admin",
}

// writeAs is write timed as action.
func (s *Store) writeAs(ctx context.Context, u *grid.User, perm grid.Permission, action string, check func() error, fn func(tx pgx.Tx) error) error {
	if err := u.Require(perm); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return mapError(s.inTx(ctx, action, func(tx pgx.Tx) error {
		if err := actorLock(ctx, tx, u.Actor()); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// edit is write for an edit that answers with an EditResult: the result starts with the
// action's name, fn fills it in the transaction, and it comes back timed.
func (s *Store) edit(ctx context.Context, u *grid.User, perm grid.Permission, action string, check func() error,
	fn func(tx pgx.Tx, res *grid.EditResult) error) (grid.EditResult, error) {
	start := time.Now()
	res := grid.EditResult{Action: action}
	err := s.writeAs(ctx, u, perm, action, check, func(tx pgx.Tx) error { return fn(tx, &res) })
	res.Elapsed = time.Since(start)
	return res, err
}

// checkGeometrySQL: validity and area of a geometry given by the user.
const checkGeometrySQL = `SELECT ST_IsValid($1), ST_IsValidReason($1), ST_Area($1::geography)`

// checkGeometry returns EINVALID (naming what) for an invalid or area-less geometry.
func checkGeometry(ctx context.Context, tx pgx.Tx, what string, g orb.Geometry) error {
	var ok bool
	var reason string
	var area float64
	if err := tx.QueryRow(ctx, checkGeometrySQL, g).Scan(&ok, &reason, &area); err != nil {
		return err
	}
	if !ok {
		return grid.Errorf(grid.EINVALID, "%s is not a valid polygon: %s", what, reason)
	}
	if area < minAreaM2 {
		return grid.Errorf(grid.EINVALID, "%s has no area (%.3g m²)", what, area)
	}
	return nil
}

// areaAtLeast returns EINVALID with msg when g has less than minAreaM2 of area.
func areaAtLeast(ctx context.Context, tx pgx.Tx, g orb.MultiPolygon, msg string) error {
	var area float64
	if err := tx.QueryRow(ctx, `SELECT coalesce(ST_Area($1::geometry::geography), 0)`, g).Scan(&area); err != nil {
		return err
	}
	if area < minAreaM2 {
		return grid.Errorf(grid.EINVALID, "%s", msg)
	}
	return nil
}

// unionOf returns the polygonal union of geoms, in one statement.
func unionOf(ctx context.Context, tx pgx.Tx, geoms []orb.Geometry) (orb.MultiPolygon, error) {
	var out orb.MultiPolygon
	err := tx.QueryRow(ctx, `SELECT gridmap_poly(ST_Union(x)) FROM unnest($1::geometry[]) x`, geoms).Scan(&out)
	return out, err
}

// saveEdit writes the changes of a grid edit and records it (recordEdit).
func saveEdit(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.EditResult, id *int64,
	changes []gridChange, extra grid.Restore) error {
	written, err := writeGrids(ctx, tx, changes)
	if err != nil {
		return err
	}
	return recordEdit(ctx, tx, u, res, id, written, extra)
}

// recordEdit records written grid changes (and extra undo steps) as one operation about grid
// id: the audit entry, the journal entry (whose undo is the before states plus extra), and the
// result's grids, journal id and data version. Nothing written, nothing recorded.
func recordEdit(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.EditResult, id *int64,
	written []gridChange, extra grid.Restore) error {
	var err error
	before, after, undo, versions := diffs(written)
	res.Grids = versions
	if res.Grids == nil {
		res.Grids = []grid.GridVersion{}
	}
	if len(written) == 0 && extra.Empty() {
		return nil // nothing changed: no write, no audit entry
	}
	extra.Grids = append(undo, extra.Grids...)
	type auditDoc struct {
		gridDiff
		Moved   []int64              `json:"moved,omitempty"`
		Skipped []int64              `json:"skipped,omitempty"`
		Conform *grid.ConformSummary `json:"conform,omitempty"`
		Extra   any                  `json:"assignments,omitempty"`
	}
	a := auditDoc{gridDiff: after, Moved: res.Moved, Skipped: res.Skipped, Conform: res.Conform}
	if len(extra.End) > 0 || len(extra.Start) > 0 {
		a.Extra = map[string]any{"ended_on_undo": extra.End, "started_on_undo": extra.Start}
	}
	if res.Op, err = record(ctx, tx, u, res.Action, grid.EntityGrid, id, before, a, extra); err != nil {
		return err
	}
	res.DataVersion, err = dataVersion(ctx, tx)
	return err
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func idsOf(states []grid.GridState) []int64 {
	out := make([]int64, len(states))
	for k, s := range states {
		out[k] = s.ID
	}
	return out
}
