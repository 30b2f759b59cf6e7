package postgis_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/postgis"
)

var olga = &grid.User{ID: 3, Name: "olga", Role: grid.UserPlanner}

// current counts the current assignments of a grid (by id) or of a worker.
func current(t *testing.T, s *postgis.Store, column string, id int64) int {
	t.Helper()
	return q1[int](t, s, `SELECT count(*)::int FROM assignments WHERE valid_to IS NULL AND `+column+` = $1`, id)
}

// lastAfter returns the after-state of the newest audit entry.
func lastAfter(t *testing.T, s *postgis.Store) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(q1[string](t, s, `SELECT after::text FROM audit_log ORDER BY id DESC LIMIT 1`)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// replay runs pat's undo (or redo) and wants it to write one audit entry.
func replay(t *testing.T, s *postgis.Store, fn func(context.Context, *grid.User) (grid.EditResult, error), action string) {
	t.Helper()
	w := snapshot(t, s)
	res, err := fn(context.Background(), planner)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if res.Action != action {
		t.Errorf("replayed %s, want %s", res.Action, action)
	}
	wantOneWrite(t, s, w, "pat", action)
}

// TestReplayRetiresWithStaff: an undo or redo that retires a grid or a worker ends the
// assignments given to it since the operation (someone else's included) — no staff stay on a
// retired grid, no retired worker stays on duty — records them in its audit entry, and the
// opposite replay starts them again.
func TestReplayRetiresWithStaff(t *testing.T) {
	s, ctx := demoTest(t)
	a, b, _ := pair(t, s, 1)
	worker := q1[int64](t, s, `SELECT id FROM workers WHERE retired_at IS NULL AND role = 'grid_worker' ORDER BY id LIMIT 1`)
	assign := func(gid int64, wid int64) {
		t.Helper()
		if _, err := s.Assign(ctx, olga, grid.AssignmentSpec{WorkerID: wid, GridID: &gid, Role: grid.RoleGridWorker}); err != nil {
			t.Fatal(err)
		}
	}
	endedWithRetired := func(what string, want int) {
		t.Helper()
		ids, _ := lastAfter(t, s)["ended_with_retired"].([]any)
		if len(ids) != want {
			t.Errorf("%s: audit names %d assignments ended with the retired, want %d", what, len(ids), want)
		}
	}

	t.Run("undo split", func(t *testing.T) {
		var line orb.LineString
		if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
			FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, a.ID).Scan(&line); err != nil {
			t.Fatal(err)
		}
		res, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: a.ID}, IfVersion: a.Version, Line: line})
		if err != nil {
			t.Fatal(err)
		}
		var nw int64
		for _, g := range res.Grids {
			if g.ID != a.ID {
				nw = g.ID
			}
		}
		assign(nw, worker) // olga staffs the new grid
		replay(t, s, s.Undo, "undo grid.split")
		if g := state(t, s, nw); g.Current || current(t, s, "grid_id", nw) != 0 {
			t.Errorf("undone split: new grid current %v with %d current assignments", g.Current, current(t, s, "grid_id", nw))
		}
		endedWithRetired("undo split", 1)
		replay(t, s, s.Redo, "redo grid.split")
		if g := state(t, s, nw); !g.Current || current(t, s, "grid_id", nw) != 1 {
			t.Errorf("redone split: new grid current %v with %d current assignments, want 1", g.Current, current(t, s, "grid_id", nw))
		}
		replay(t, s, s.Undo, "undo grid.split")
		if n := current(t, s, "grid_id", nw); n != 0 {
			t.Errorf("undone again: %d current assignments on the retired grid", n)
		}
	})

	t.Run("redo merge", func(t *testing.T) {
		a, b := state(t, s, a.ID), state(t, s, b.ID)
		m := grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{ID: a.ID}, Version: a.Version}, {GridKey: grid.GridKey{ID: b.ID}, Version: b.Version}}}
		if _, err := s.Merge(ctx, planner, m); err != nil {
			t.Fatal(err)
		}
		replay(t, s, s.Undo, "undo grid.merge")
		other := q1[int64](t, s, `SELECT id FROM workers WHERE retired_at IS NULL AND role = 'grid_worker' AND id <> $1 ORDER BY id LIMIT 1`, worker)
		assign(b.ID, other) // olga staffs the revived grid
		staff := current(t, s, "grid_id", b.ID)
		replay(t, s, s.Redo, "redo grid.merge")
		if g := state(t, s, b.ID); g.Current || current(t, s, "grid_id", b.ID) != 0 {
			t.Errorf("redone merge: merged-away grid current %v with %d current assignments", g.Current, current(t, s, "grid_id", b.ID))
		}
		endedWithRetired("redo merge", 1)
		replay(t, s, s.Undo, "undo grid.merge")
		if n := current(t, s, "grid_id", b.ID); n != staff {
			t.Errorf("undone again: %d current assignments on the revived grid, want %d", n, staff)
		}
	})

	t.Run("undo worker.create", func(t *testing.T) {
		wk, err := s.CreateWorker(ctx, planner, grid.WorkerPatch{DisplayName: ptr("新人"), Role: ptr(grid.RoleGridWorker)})
		if err != nil {
			t.Fatal(err)
		}
		assign(a.ID, wk.ID)
		replay(t, s, s.Undo, "undo worker.create")
		if w, _ := s.Worker(ctx, wk.ID); w.RetiredAt == nil || current(t, s, "worker_id", wk.ID) != 0 {
			t.Errorf("undone create: retired %v, %d current assignments", w.RetiredAt, current(t, s, "worker_id", wk.ID))
		}
		endedWithRetired("undo worker.create", 1)
		replay(t, s, s.Redo, "redo worker.create")
		if w, _ := s.Worker(ctx, wk.ID); w.RetiredAt != nil || current(t, s, "worker_id", wk.ID) != 1 {
			t.Errorf("redone create: retired %v, %d current assignments, want 1", w.RetiredAt, current(t, s, "worker_id", wk.ID))
		}
	})
	if n := q1[int](t, s, `SELECT count(*)::int FROM assignments a LEFT JOIN grids g ON g.id = a.grid_id JOIN workers w ON w.id = a.worker_id
		WHERE a.valid_to IS NULL AND (g.valid_to IS NOT NULL OR w.retired_at IS NOT NULL)`); n != 0 {
		t.Errorf("%d current assignments on retired grids or of retired workers", n)
	}
}

// TestDropRefusedUndo: an undo that no longer applies (the worker it would assign again was
// retired since) is ECONFLICT naming the operation, writes nothing, and blocks the user's stack
// until they drop it; dropping is one audit entry, changes no data, and lets the operation
// before it be undone.
func TestDropRefusedUndo(t *testing.T) {
	s, ctx := demoTest(t)
	a, _, _ := pair(t, s, 1)
	name := "renamed"
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: a.ID}, IfVersion: a.Version, Name: &name}); err != nil {
		t.Fatal(err)
	}
	as := q1[int64](t, s, `SELECT a.id FROM assignments a JOIN workers w ON w.id = a.worker_id
		WHERE a.valid_to IS NULL AND a.grid_id IS NOT NULL ORDER BY a.id LIMIT 1`)
	ended, err := s.EndAssignment(ctx, planner, as)
	if err != nil {
		t.Fatal(err)
	}
	wk, _ := s.Worker(ctx, ended.WorkerID)
	if _, err := s.RetireWorker(ctx, olga, wk.ID, wk.Version); err != nil {
		t.Fatal(err)
	}
	w := snapshot(t, s)
	_, err = s.Undo(ctx, planner) // would start the assignment of a retired worker
	wantCode(t, err, grid.ECONFLICT)
	if msg := grid.ErrorMessage(err); !strings.Contains(msg, "undo assignment.end") || !strings.Contains(msg, "drop") {
		t.Errorf("message %q names neither the operation nor the way out", msg)
	}
	wantNoWrite(t, s, w)
	ops, err := s.Ops(ctx, planner, 10)
	if err != nil || len(ops) != 2 || ops[0].Action != "assignment.end" {
		t.Fatalf("ops %+v %v", ops, err)
	}
	for _, tc := range []struct {
		u    *grid.User
		id   int64
		code string
	}{
		{olga, ops[0].ID, grid.ENOTFOUND}, // not hers
		{viewer, ops[0].ID, grid.EFORBIDDEN},
		{nil, ops[0].ID, grid.EUNAUTHORIZED},
		{planner, 999999, grid.ENOTFOUND},
	} {
		_, err := s.DropOp(ctx, tc.u, tc.id)
		wantCode(t, err, tc.code)
		wantNoWrite(t, s, w)
	}
	op, err := s.DropOp(ctx, planner, ops[0].ID)
	if err != nil || op.State != grid.OpDropped {
		t.Fatalf("drop: %+v %v", op, err)
	}
	if now := snapshot(t, s); now.audit != w.audit+1 || now.version != w.version {
		t.Errorf("drop: %d audit entries, data version %d → %d; want 1 entry and no data change", now.audit-w.audit, w.version, now.version)
	}
	if got := q1[string](t, s, `SELECT action FROM audit_log ORDER BY id DESC LIMIT 1`); got != "op.drop" {
		t.Errorf("audit action %s", got)
	}
	_, err = s.DropOp(ctx, planner, ops[0].ID)
	wantCode(t, err, grid.ECONFLICT)
	// the stack moves on: the rename before it is undone next
	replay(t, s, s.Undo, "undo grid.patch")
	if g := state(t, s, a.ID); g.Name != a.Name {
		t.Errorf("after the undo the grid is called %q, want %q", g.Name, a.Name)
	}
}
