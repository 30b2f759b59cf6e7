package postgis_test

import (
	"testing"

	"gridmap/grid"
)

func ptr[T any](v T) *T { return &v }

// TestStaffEdits: create, update (versioned), assign, end, retire (ending the rest), with one
// audit entry each, history kept, undo of each; grid leaders assign inside their grids only.
func TestStaffEdits(t *testing.T) {
	s, ctx := demoTest(t)
	g3 := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 ORDER BY code LIMIT 1`)
	l2 := q1[int64](t, s, `SELECT parent_id FROM grids WHERE id = $1`, g3)
	elsewhere := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 AND parent_id <> $1 ORDER BY code LIMIT 1`, l2)
	bld := q1[int64](t, s, `SELECT id FROM buildings WHERE grid_id = $1 ORDER BY id LIMIT 1`, g3)
	unit := q1[int64](t, s, `SELECT id FROM units WHERE building_id = $1 ORDER BY id LIMIT 1`, bld)
	leader := &grid.User{Name: "lee", Role: grid.UserGridLeader, Grids: []int64{l2}}

	w := snapshot(t, s)
	wk, err := s.CreateWorker(ctx, planner, grid.WorkerPatch{DisplayName: ptr("王芳"), Role: ptr(grid.RoleGridWorker), WorkContact: ptr("ext. 204")})
	if err != nil {
		t.Fatal(err)
	}
	if n := snapshot(t, s).audit - w.audit; n != 1 {
		t.Errorf("create: %d audit entries", n)
	}
	_, err = s.CreateWorker(ctx, leader, grid.WorkerPatch{DisplayName: ptr("x"), Role: ptr(grid.RoleGridWorker)})
	wantCode(t, err, grid.EFORBIDDEN)
	_, err = s.UpdateWorker(ctx, planner, wk.ID, wk.Version+1, grid.WorkerPatch{DisplayName: ptr("stale")})
	wantCode(t, err, grid.ECONFLICT)
	w = snapshot(t, s)
	wk, err = s.UpdateWorker(ctx, planner, wk.ID, wk.Version, grid.WorkerPatch{DisplayName: ptr("王芳芳")})
	if err != nil || wk.DisplayName != "王芳芳" || wk.Version != 2 {
		t.Fatalf("update: %+v %v", wk, err)
	}
	wantOneWrite(t, s, w, "pat", "worker.update")

	// assignments: a grid leader inside their community, not outside it
	a1, err := s.Assign(ctx, leader, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &g3, Role: grid.RoleGridWorker})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Assign(ctx, leader, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &elsewhere, Role: grid.RoleGridWorker})
	wantCode(t, err, grid.EFORBIDDEN)
	_, err = s.Assign(ctx, leader, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &g3, Role: grid.RoleGridWorker})
	wantCode(t, err, grid.ECONFLICT)
	_, err = s.Assign(ctx, leader, grid.AssignmentSpec{WorkerID: wk.ID, BuildingID: &bld, Role: grid.RoleGridWorker})
	wantCode(t, err, grid.EINVALID)
	_, err = s.Assign(ctx, viewer, grid.AssignmentSpec{WorkerID: wk.ID, UnitID: &unit, Role: grid.RoleUnitLeader})
	wantCode(t, err, grid.EFORBIDDEN)
	if _, err := s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: wk.ID, UnitID: &unit, Role: grid.RoleUnitLeader}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: wk.ID, GridCode: q1[string](t, s, `SELECT code FROM grids WHERE id = $1`, elsewhere), Role: grid.RoleGridLeader}); err != nil {
		t.Fatal(err)
	}
	// ending: the row stays with valid_to
	ended, err := s.EndAssignment(ctx, leader, a1.ID)
	if err != nil || ended.ValidTo == nil {
		t.Fatalf("end: %+v %v", ended, err)
	}
	_, err = s.EndAssignment(ctx, leader, a1.ID)
	wantCode(t, err, grid.ECONFLICT)
	// the leader undoes the end: the same assignment starts again (a new row; history kept)
	if _, err := s.Undo(ctx, leader); err != nil {
		t.Fatal(err)
	}
	hist, err := s.Assignments(ctx, grid.AssignmentFilter{WorkerID: wk.ID, History: true, Page: grid.Page{Limit: 10}})
	if err != nil || len(hist) != 4 {
		t.Fatalf("history: %d rows %v", len(hist), err)
	}
	// retiring ends the current assignments; undo brings worker and assignments back
	w = snapshot(t, s)
	wk, err = s.RetireWorker(ctx, planner, wk.ID, wk.Version)
	if err != nil || wk.RetiredAt == nil || wk.Assignments != 0 {
		t.Fatalf("retire: %+v %v", wk, err)
	}
	wantOneWrite(t, s, w, "pat", "worker.retire")
	_, err = s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &g3, Role: grid.RoleGridWorker})
	wantCode(t, err, grid.EINVALID)
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	if wk, err = s.Worker(ctx, wk.ID); err != nil || wk.RetiredAt != nil || wk.Assignments != 3 {
		t.Errorf("undo retire: %+v %v", wk, err)
	}
}

// TestBalance: the panel of a community lists its level-3 grids with the coverage report's
// workload, and a paint shows at once.
func TestBalance(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, moved := pair(t, s, 3)
	b, err := s.Balance(ctx, grid.BalanceQuery{Parent: &grid.GridKey{ID: *target.ParentID}})
	if err != nil {
		t.Fatal(err)
	}
	n := q1[int](t, s, `SELECT count(*)::int FROM grids WHERE parent_id = $1`, *target.ParentID)
	if len(b.Grids) != n || b.Target != 300 || b.Low != 240 || b.High != 360 {
		t.Fatalf("balance: %d grids (want %d), band %v..%v", len(b.Grids), n, b.Low, b.High)
	}
	rep, err := s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: *target.ParentID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range b.Grids {
		for _, c := range rep.Grids {
			if c.ID == g.ID && (c.Households != g.Households || c.Workload.Status != g.Status || c.Parts != g.Parts || g.Version != 1) {
				t.Errorf("grid %s: balance %+v, coverage %+v", g.Code, g, c)
			}
		}
	}
	hh := func(b *grid.Balance, id int64) int {
		for _, g := range b.Grids {
			if g.ID == id {
				return g.Households
			}
		}
		return -1
	}
	movedHH := q1[int](t, s, `SELECT sum(households)::int FROM buildings WHERE id = ANY($1)`, moved)
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: 1, BuildingIDs: moved}); err != nil {
		t.Fatal(err)
	}
	after, err := s.Balance(ctx, grid.BalanceQuery{Grids: []grid.GridKey{{ID: target.ID}, {Code: donor.Code}}})
	if err != nil {
		t.Fatal(err)
	}
	if hh(after, target.ID) != hh(b, target.ID)+movedHH || hh(after, donor.ID) != hh(b, donor.ID)-movedHH || after.DataVersion <= b.DataVersion {
		t.Errorf("after the paint: %d/%d households, was %d/%d, moved %d", hh(after, target.ID), hh(after, donor.ID), hh(b, target.ID), hh(b, donor.ID), movedHH)
	}
	_, err = s.Balance(ctx, grid.BalanceQuery{})
	wantCode(t, err, grid.EINVALID)
	_, err = s.Balance(ctx, grid.BalanceQuery{Parent: &grid.GridKey{ID: 999999}})
	wantCode(t, err, grid.ENOTFOUND)
}
