package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

const workerColumns = `w.id, w.display_name, w.role, coalesce(w.work_contact, ''), w.created_at, w.retired_at, w.version,
       (SELECT count(*) FROM assignments a WHERE a.worker_id = w.id AND a.valid_to IS NULL)::int`

func scanWorker(row pgx.CollectableRow) (grid.WorkerInfo, error) {
	var w grid.WorkerInfo
	err := row.Scan(&w.ID, &w.DisplayName, &w.Role, &w.WorkContact, &w.CreatedAt, &w.RetiredAt, &w.Version, &w.Assignments)
	return w, err
}

// Workers lists workers by name (retired ones only when asked).
func (s *Store) Workers(ctx context.Context, f grid.WorkerFilter) ([]grid.WorkerInfo, error) {
	if err := f.Page.Validate(); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+workerColumns+` FROM workers w
		WHERE $1 OR w.retired_at IS NULL ORDER BY w.display_name, w.id LIMIT $2 OFFSET $3`, f.Retired, f.Limit, f.Offset)
	out, err := pgx.CollectRows(rows, scanWorker)
	if out == nil {
		out = []grid.WorkerInfo{}
	}
	return out, mapError(err)
}

// Worker returns one worker.
func (s *Store) Worker(ctx context.Context, id int64) (grid.WorkerInfo, error) {
	return worker(ctx, s.pool, id)
}

type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func worker(ctx context.Context, q rowsQuerier, id int64) (grid.WorkerInfo, error) {
	rows, _ := q.Query(ctx, `SELECT `+workerColumns+` FROM workers w WHERE w.id = $1`, id)
	w, err := pgx.CollectExactlyOneRow(rows, scanWorker)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, grid.Errorf(grid.ENOTFOUND, "worker %d not found", id)
	}
	return w, mapError(err)
}

func workerState(ctx context.Context, tx pgx.Tx, id int64) (grid.WorkerState, error) {
	var w grid.WorkerState
	err := tx.QueryRow(ctx, `SELECT id, version, display_name, role, coalesce(work_contact, ''), retired_at IS NOT NULL
		FROM workers WHERE id = $1 FOR UPDATE`, id).Scan(&w.ID, &w.Version, &w.DisplayName, &w.Role, &w.WorkContact, &w.Retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, grid.Errorf(grid.ENOTFOUND, "worker %d not found", id)
	}
	return w, err
}

// setWorker writes a worker's new state (its version goes up by one) and returns it.
func setWorker(ctx context.Context, tx pgx.Tx, after grid.WorkerState) (grid.WorkerState, error) {
	err := tx.QueryRow(ctx, `UPDATE workers SET display_name = $2, role = $3, work_contact = nullif($4, ''),
		    retired_at = CASE WHEN $5 THEN coalesce(retired_at, now()) END, version = version + 1
		WHERE id = $1 RETURNING version`, after.ID, after.DisplayName, after.Role, after.WorkContact, after.Retired).Scan(&after.Version)
	return after, err
}

// CreateWorker adds a worker (undo retires it).
func (s *Store) CreateWorker(ctx context.Context, u *grid.User, p grid.WorkerPatch) (grid.WorkerInfo, error) {
	var out grid.WorkerInfo
	check := func() error { return p.Validate(true) }
	err := s.write(ctx, u, grid.PermEditStaff, check, func(tx pgx.Tx) error {
		contact := ""
		if p.WorkContact != nil {
			contact = *p.WorkContact
		}
		w := grid.WorkerState{DisplayName: *p.DisplayName, Role: *p.Role, WorkContact: contact}
		if err := tx.QueryRow(ctx, `INSERT INTO workers (display_name, role, work_contact) VALUES ($1, $2, nullif($3, ''))
			RETURNING id, version`, w.DisplayName, w.Role, contact).Scan(&w.ID, &w.Version); err != nil {
			return err
		}
		gone := w
		gone.Retired = true
		var err error
		out, err = recordWorker(ctx, tx, u, "worker.create", w.ID, nil, w,
			grid.Restore{Workers: []grid.WorkerRestore{{Expect: w.Version, State: gone}}})
		return err
	})
	return out, err
}

// UpdateWorker changes a worker made from version ifVersion.
func (s *Store) UpdateWorker(ctx context.Context, u *grid.User, id int64, ifVersion int, p grid.WorkerPatch) (grid.WorkerInfo, error) {
	var out grid.WorkerInfo
	check := func() error { return p.Validate(false) }
	err := s.write(ctx, u, grid.PermEditStaff, check, func(tx pgx.Tx) error {
		b, err := lockWorkerAt(ctx, tx, id, ifVersion)
		if err != nil {
			return err
		}
		a := b
		if p.DisplayName != nil {
			a.DisplayName = *p.DisplayName
		}
		if p.Role != nil {
			a.Role = *p.Role
		}
		if p.WorkContact != nil {
			a.WorkContact = *p.WorkContact
		}
		if a, err = setWorker(ctx, tx, a); err != nil {
			return err
		}
		out, err = recordWorker(ctx, tx, u, "worker.update", id, b, a,
			grid.Restore{Workers: []grid.WorkerRestore{{Expect: a.Version, State: b}}})
		return err
	})
	return out, err
}

// RetireWorker retires a worker and ends their current assignments (undo brings both back).
func (s *Store) RetireWorker(ctx context.Context, u *grid.User, id int64, ifVersion int) (grid.WorkerInfo, error) {
	var out grid.WorkerInfo
	err := s.write(ctx, u, grid.PermEditStaff, nil, func(tx pgx.Tx) error {
		b, err := lockWorkerAt(ctx, tx, id, ifVersion)
		if err != nil {
			return err
		}
		if b.Retired {
			return grid.Errorf(grid.ECONFLICT, "worker %d is retired already", id)
		}
		a := b
		a.Retired = true
		if a, err = setWorker(ctx, tx, a); err != nil {
			return err
		}
		ended, _, err := endAssignmentsOf(ctx, tx, nil, []int64{id})
		if err != nil {
			return err
		}
		undo := grid.Restore{Workers: []grid.WorkerRestore{{Expect: a.Version, State: b}}, Start: ended}
		out, err = recordWorker(ctx, tx, u, "worker.retire", id, b,
			map[string]any{"worker": a, "ended_assignments": ended}, undo)
		return err
	})
	return out, err
}

// lockWorkerAt reads worker id, locked, and checks it is at version ifVersion
// (*StaleError).
func lockWorkerAt(ctx context.Context, tx pgx.Tx, id int64, ifVersion int) (grid.WorkerState, error) {
	w, err := workerState(ctx, tx, id)
	if err != nil {
		return w, err
	}
	return w, grid.CheckVersion(grid.EntityWorker, id, ifVersion, w.Version)
}

// endAssignmentsOf ends the current assignments to the grids grids and of the workers
// workers, and returns what would start them again and their ids.
func endAssignmentsOf(ctx context.Context, tx pgx.Tx, grids, workers []int64) ([]grid.AssignmentSpec, []int64, error) {
	rows, _ := tx.Query(ctx, `UPDATE assignments SET valid_to = now()
		WHERE valid_to IS NULL AND (grid_id = ANY($1) OR worker_id = ANY($2))
		RETURNING id, worker_id, grid_id, building_id, unit_id, role`, grids, workers)
	var specs []grid.AssignmentSpec
	var ids []int64
	var x grid.AssignmentSpec
	var id int64
	_, err := pgx.ForEachRow(rows, []any{&id, &x.WorkerID, &x.GridID, &x.BuildingID, &x.UnitID, &x.Role}, func() error {
		specs, ids = append(specs, x), append(ids, id)
		x = grid.AssignmentSpec{}
		return nil
	})
	return specs, ids, err
}

// recordWorker records an edit of worker id (the audit entry and the journal entry with its
// undo) and returns the worker as it is now.
func recordWorker(ctx context.Context, tx pgx.Tx, u *grid.User, action string, id int64, before, after any, undo grid.Restore) (grid.WorkerInfo, error) {
	if _, err := record(ctx, tx, u, action, grid.EntityWorker, &id, before, after, undo); err != nil {
		return grid.WorkerInfo{}, err
	}
	return worker(ctx, tx, id)
}

// placeChain resolves the place of an assignment (a grid code becomes its id) and returns
// its grid chain (for grid leaders' scope) and a name for messages.
func placeChain(ctx context.Context, tx pgx.Tx, a *grid.AssignmentSpec) ([]int64, string, error) {
	var gid *int64
	var place string
	switch {
	case a.GridCode != "":
		ref, err := resolveGrid(ctx, tx, grid.GridKey{Code: a.GridCode})
		if err != nil {
			return nil, "", err
		}
		a.GridID, a.GridCode = &ref.ID, ""
		gid, place = &ref.ID, "grid "+ref.Code
	case a.GridID != nil:
		var current bool
		var code string
		err := tx.QueryRow(ctx, `SELECT valid_to IS NULL, code FROM grids WHERE id = $1`, *a.GridID).Scan(&current, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, "", grid.Errorf(grid.ENOTFOUND, "grid %d not found", *a.GridID)
		}
		if err != nil {
			return nil, "", err
		}
		if !current {
			return nil, "", grid.Errorf(grid.EINVALID, "grid %s is retired: assign staff to a current grid", code)
		}
		gid, place = a.GridID, "grid "+code
	case a.BuildingID != nil:
		var code string
		err := tx.QueryRow(ctx, `SELECT grid_id, code FROM buildings WHERE id = $1`, *a.BuildingID).Scan(&gid, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, "", grid.Errorf(grid.ENOTFOUND, "building %d not found", *a.BuildingID)
		}
		if err != nil {
			return nil, "", err
		}
		place = "building " + code
	default:
		var label, code string
		err := tx.QueryRow(ctx, `SELECT b.grid_id, u.label, b.code FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = $1`,
			*a.UnitID).Scan(&gid, &label, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, "", grid.Errorf(grid.ENOTFOUND, "unit %d not found", *a.UnitID)
		}
		if err != nil {
			return nil, "", err
		}
		place = fmt.Sprintf("unit %s of building %s", label, code)
	}
	if gid == nil {
		return nil, place, nil
	}
	rows, _ := tx.Query(ctx, gridChainSQL, *gid)
	refs, err := pgx.CollectRows(rows, scanGridRef)
	if err != nil {
		return nil, "", err
	}
	return idsOfRefs(refs), place, nil
}

func idsOfRefs(refs []grid.GridRef) []int64 {
	out := make([]int64, len(refs))
	for k, r := range refs {
		out[k] = r.ID
	}
	return out
}

// startAssignment checks and inserts an assignment; it returns its id.
func startAssignment(ctx context.Context, tx pgx.Tx, u *grid.User, a *grid.AssignmentSpec) (int64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	chain, place, err := placeChain(ctx, tx, a)
	if err != nil {
		return 0, err
	}
	if err := u.MayAssignIn(chain, place); err != nil {
		return 0, err
	}
	var retired bool
	err = tx.QueryRow(ctx, `SELECT retired_at IS NOT NULL FROM workers WHERE id = $1 FOR SHARE`, a.WorkerID).Scan(&retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, grid.Errorf(grid.ENOTFOUND, "worker %d not found", a.WorkerID)
	}
	if err != nil {
		return 0, err
	}
	if retired {
		return 0, grid.Errorf(grid.EINVALID, "worker %d is retired: only current staff can be assigned", a.WorkerID)
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO assignments (worker_id, grid_id, building_id, unit_id, role)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, a.WorkerID, a.GridID, a.BuildingID, a.UnitID, a.Role).Scan(&id)
	if err != nil {
		if ge, ok := mapError(err).(*grid.Error); ok && ge.Code == grid.ECONFLICT {
			return 0, grid.Errorf(grid.ECONFLICT, "worker %d is %s of %s already", a.WorkerID, a.Role, place)
		}
		return 0, err
	}
	return id, nil
}

// endAssignment checks and ends a current assignment; it returns what would start it again.
func endAssignment(ctx context.Context, tx pgx.Tx, u *grid.User, id int64) (grid.AssignmentSpec, error) {
	var a grid.AssignmentSpec
	var ended *time.Time
	err := tx.QueryRow(ctx, `SELECT worker_id, grid_id, building_id, unit_id, role, valid_to FROM assignments WHERE id = $1 FOR UPDATE`,
		id).Scan(&a.WorkerID, &a.GridID, &a.BuildingID, &a.UnitID, &a.Role, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, grid.Errorf(grid.ENOTFOUND, "assignment %d not found", id)
	}
	if err != nil {
		return a, err
	}
	if ended != nil {
		return a, grid.Errorf(grid.ECONFLICT, "assignment %d ended already (%s)", id, ended.UTC().Format(time.RFC3339))
	}
	chain, place, err := placeChain(ctx, tx, &a)
	if err != nil && grid.ErrorCode(err) != grid.EINVALID { // a retired grid's staff can still be ended
		return a, err
	}
	if err := u.MayAssignIn(chain, place); err != nil {
		return a, err
	}
	_, err = tx.Exec(ctx, `UPDATE assignments SET valid_to = now() WHERE id = $1`, id)
	return a, err
}

const assignmentSelect = `a.id, a.worker_id, w.display_name, a.role, a.grid_id, coalesce(g.code, ''), a.building_id,
       coalesce(b.code, ''), a.unit_id, coalesce(un.label, ''), a.valid_from, a.valid_to`

const assignmentFrom = `
FROM assignments a JOIN workers w ON w.id = a.worker_id
LEFT JOIN grids g ON g.id = a.grid_id
LEFT JOIN buildings b ON b.id = a.building_id
LEFT JOIN units un ON un.id = a.unit_id`

func scanAssignment(row pgx.CollectableRow) (grid.AssignmentInfo, error) {
	var a grid.AssignmentInfo
	err := row.Scan(&a.ID, &a.WorkerID, &a.WorkerName, &a.Role, &a.GridID, &a.GridCode, &a.BuildingID,
		&a.BuildingCode, &a.UnitID, &a.UnitLabel, &a.ValidFrom, &a.ValidTo)
	return a, err
}

func assignment(ctx context.Context, tx pgx.Tx, id int64) (grid.AssignmentInfo, error) {
	rows, _ := tx.Query(ctx, `SELECT `+assignmentSelect+assignmentFrom+` WHERE a.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanAssignment)
}

// Assign starts an assignment (undo ends it).
func (s *Store) Assign(ctx context.Context, u *grid.User, a grid.AssignmentSpec) (grid.AssignmentInfo, error) {
	var out grid.AssignmentInfo
	err := s.write(ctx, u, grid.PermAssign, a.Validate, func(tx pgx.Tx) error {
		id, err := startAssignment(ctx, tx, u, &a)
		if err != nil {
			return err
		}
		if out, err = assignment(ctx, tx, id); err != nil {
			return err
		}
		_, err = record(ctx, tx, u, "assignment.start", "assignment", &id, nil, out, grid.Restore{End: []int64{id}})
		return err
	})
	return out, err
}

// EndAssignment ends a current assignment (undo starts the same one again).
func (s *Store) EndAssignment(ctx context.Context, u *grid.User, id int64) (grid.AssignmentInfo, error) {
	var out grid.AssignmentInfo
	err := s.write(ctx, u, grid.PermAssign, nil, func(tx pgx.Tx) error {
		before, err := assignment(ctx, tx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ENOTFOUND, "assignment %d not found", id)
		}
		if err != nil {
			return err
		}
		spec, err := endAssignment(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if out, err = assignment(ctx, tx, id); err != nil {
			return err
		}
		_, err = record(ctx, tx, u, "assignment.end", "assignment", &id, before, out, grid.Restore{Start: []grid.AssignmentSpec{spec}})
		return err
	})
	return out, err
}

// Assignments lists assignments, newest first.
func (s *Store) Assignments(ctx context.Context, f grid.AssignmentFilter) ([]grid.AssignmentInfo, error) {
	if err := f.Page.Validate(); err != nil {
		return nil, err
	}
	gid, err := optionalGridID(ctx, s.pool, f.Grid)
	if err != nil {
		return nil, mapError(err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+assignmentSelect+assignmentFrom+`
		WHERE ($1 OR a.valid_to IS NULL)
		  AND ($2::bigint = 0 OR a.worker_id = $2) AND ($3::bigint IS NULL OR a.grid_id = $3)
		  AND ($4::bigint = 0 OR a.building_id = $4) AND ($5::bigint = 0 OR a.unit_id = $5)
		ORDER BY a.valid_from DESC, a.id DESC LIMIT $6 OFFSET $7`,
		f.History, f.WorkerID, gid, f.BuildingID, f.UnitID, f.Limit, f.Offset)
	out, err := pgx.CollectRows(rows, scanAssignment)
	if out == nil {
		out = []grid.AssignmentInfo{}
	}
	return out, mapError(err)
}
