package postgis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/grid"
)

// TestLockGuardsEdits locks a grid: every hand edit that would change its area or place is
// refused with ECONFLICT naming it and writes nothing — a paint into it and out of it, a split,
// a merge, a reshape, the undo of an edit made before the lock — while a rename still works.
// Locking twice writes one audit entry, keeps the version, and unlocking lets the paint through.
func TestLockGuardsEdits(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, moved := pair(t, s, 2)

	// an edit before the lock, to undo after it
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: moved[:1]}); err != nil {
		t.Fatal(err)
	}
	target, donor = state(t, s, target.ID), state(t, s, donor.ID)

	w := snapshot(t, s)
	d, err := s.SetLocked(ctx, planner, grid.GridKey{Code: target.Code}, true)
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.lock")
	if !d.Locked || d.Version != target.Version {
		t.Errorf("locked grid: locked %v version %d, want true and %d (locking keeps the version)", d.Locked, d.Version, target.Version)
	}
	w = snapshot(t, s)
	if _, err := s.SetLocked(ctx, planner, grid.GridKey{ID: target.ID}, true); err != nil {
		t.Fatal(err)
	}
	wantNoWrite(t, s, w)
	if _, err := s.SetLocked(ctx, viewer, grid.GridKey{ID: target.ID}, false); grid.ErrorCode(err) != grid.EFORBIDDEN {
		t.Errorf("a viewer unlocking: %v, want EFORBIDDEN", err)
	}

	var line orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
		FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, target.ID).Scan(&line); err != nil {
		t.Fatal(err)
	}
	grown := q1[orb.MultiPolygon](t, s, `SELECT ST_Multi(ST_Buffer(geom, 0.0002, 'join=mitre')) FROM grids WHERE id = $1`, target.ID)
	edits := []struct {
		name string
		do   func() error
	}{
		{"paint into it", func() error {
			_, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: moved[1:]})
			return err
		}},
		{"paint out of it", func() error {
			_, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: donor.ID}, IfVersion: donor.Version, BuildingIDs: moved[:1]})
			return err
		}},
		{"split", func() error {
			_, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: target.ID}, IfVersion: target.Version, Line: line, Name: "east"})
			return err
		}},
		{"merge", func() error {
			_, err := s.Merge(ctx, planner, grid.Merge{Grids: []grid.VersionedKey{
				{GridKey: grid.GridKey{ID: donor.ID}, Version: donor.Version}, {GridKey: grid.GridKey{ID: target.ID}, Version: target.Version}}})
			return err
		}},
		{"reshape", func() error {
			_, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: target.Version, Geometry: grown})
			return err
		}},
		{"undo", func() error { _, err := s.Undo(ctx, planner); return err }},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			w := snapshot(t, s)
			err := e.do()
			wantCode(t, err, grid.ECONFLICT)
			if !strings.Contains(grid.ErrorMessage(err), target.Code) || !strings.Contains(grid.ErrorMessage(err), "locked") {
				t.Errorf("%s: %q does not name the locked grid %s", e.name, grid.ErrorMessage(err), target.Code)
			}
			wantNoWrite(t, s, w)
			if got := state(t, s, target.ID); got.Version != target.Version || !got.Current || !got.Geom.Equal(target.Geom) {
				t.Errorf("%s changed the locked grid: version %d → %d", e.name, target.Version, got.Version)
			}
		})
	}

	name := "已锁定"
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: target.Version, Name: &name}); err != nil {
		t.Errorf("renaming a locked grid: %v", err)
	}
	target = state(t, s, target.ID)

	w = snapshot(t, s)
	if d, err = s.SetLocked(ctx, planner, grid.GridKey{ID: target.ID}, false); err != nil || d.Locked {
		t.Fatalf("unlock: %v (locked %v)", err, d.Locked)
	}
	wantOneWrite(t, s, w, "pat", "grid.unlock")
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: moved[1:]}); err != nil {
		t.Errorf("paint after unlocking: %v", err)
	}
}

// TestLockKeptByDivideAndRebalance: a divide of a community leaves its locked grid exactly as
// it was and divides the rest around it (the children still tile the parent), a rebalance
// moves nothing into or out of it, and with every child locked both refuse with EINVALID.
func TestLockKeptByDivideAndRebalance(t *testing.T) {
	s, ctx := demoTest(t)
	parent := q1[int64](t, s, `SELECT p.id FROM grids p JOIN grids c ON c.parent_id = p.id JOIN buildings b ON b.grid_id = c.id
		WHERE p.level = 2 GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1`)
	lockedID := q1[int64](t, s, `SELECT c.id FROM grids c JOIN buildings b ON b.grid_id = c.id
		WHERE c.parent_id = $1 AND c.valid_to IS NULL GROUP BY c.id ORDER BY count(*), c.id LIMIT 1`, parent)
	if _, err := s.SetLocked(ctx, planner, grid.GridKey{ID: lockedID}, true); err != nil {
		t.Fatal(err)
	}
	locked := state(t, s, lockedID)
	held := buildingsIn(t, s, lockedID)

	div, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: parent}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := state(t, s, lockedID); !got.Current || got.Version != locked.Version || !got.Geom.Equal(locked.Geom) {
		t.Errorf("divide changed the locked grid %s", locked.Code)
	}
	if !sameMap(buildingsIn(t, s, lockedID), held) {
		t.Errorf("divide moved buildings into or out of the locked grid")
	}
	if len(div.Summary.Kept) != 1 || div.Summary.Kept[0] != locked.Code {
		t.Errorf("divide kept %v, want the locked grid %s", div.Summary.Kept, locked.Code)
	}
	if gap, overlap := tiling(t, s, parent); gap > 0.01 || overlap > 0.01 {
		t.Errorf("after the divide around the locked grid: gap %.3f m², overlap %.3f m²", gap, overlap)
	}

	// households change, so that a rebalance has moves to make
	if _, err := s.Pool().Exec(ctx, `UPDATE buildings b SET households = b.households * 3
		WHERE b.grid_id IN (SELECT id FROM grids WHERE parent_id = $1 AND valid_to IS NULL) AND b.id % 4 = 0`, parent); err != nil {
		t.Fatal(err)
	}
	res, err := s.Rebalance(ctx, planner, grid.Rebalance{Parent: grid.GridKey{ID: parent}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Moves {
		if m.From == locked.Code || m.To == locked.Code {
			t.Errorf("rebalance move %+v touches the locked grid", m)
		}
	}
	if got := state(t, s, lockedID); got.Version != locked.Version || !got.Geom.Equal(locked.Geom) {
		t.Errorf("rebalance changed the locked grid %s", locked.Code)
	}

	kids := q1[[]int64](t, s, `SELECT array_agg(id) FROM grids WHERE parent_id = $1 AND valid_to IS NULL`, parent)
	for _, id := range kids {
		if _, err := s.SetLocked(ctx, planner, grid.GridKey{ID: id}, true); err != nil {
			t.Fatal(err)
		}
	}
	w := snapshot(t, s)
	_, err = s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: parent}, Seed: 1})
	wantCode(t, err, grid.EINVALID)
	_, err = s.Rebalance(ctx, planner, grid.Rebalance{Parent: grid.GridKey{ID: parent}})
	wantCode(t, err, grid.EINVALID)
	wantNoWrite(t, s, w)
}

// TestLockWaitsOutARetire: a lock asked for while a merge holds the grid's row, and which the
// merge then retires, is refused (ECONFLICT) and writes nothing — it does not lock a retired
// grid that could never be unlocked and whose retirement could then never be undone.
func TestLockWaitsOutARetire(t *testing.T) {
	s, ctx := demoTest(t)
	a, b, _ := pair(t, s, 1) // a.ID < b.ID: a merge locks a, then b; it retires b
	waiting := func(n int) {
		t.Helper()
		for range 500 {
			if q1[int](t, s, `SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%d sessions never waited for a lock", n)
	}
	blocker, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM grids WHERE id = $1 FOR UPDATE`, b.ID); err != nil {
		t.Fatal(err)
	}
	merged := make(chan error, 1)
	go func() {
		_, err := s.Merge(ctx, planner, grid.Merge{Grids: []grid.VersionedKey{
			{GridKey: grid.GridKey{ID: a.ID}, Version: a.Version}, {GridKey: grid.GridKey{ID: b.ID}, Version: b.Version}}})
		merged <- err
	}()
	waiting(1) // the merge holds a and waits for b
	w := snapshot(t, s)
	locked := make(chan error, 1)
	other := &grid.User{ID: 3, Name: "olga", Role: grid.UserPlanner}
	go func() { _, err := s.SetLocked(ctx, other, grid.GridKey{ID: b.ID}, true); locked <- err }()
	waiting(2) // the lock waits for b behind the merge
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-merged; err != nil {
		t.Fatalf("merge: %v", err)
	}
	wantCode(t, <-locked, grid.ECONFLICT)
	if n := q1[int](t, s, `SELECT count(*)::int FROM grids WHERE locked`); n != 0 {
		t.Errorf("%d grids locked, want none", n)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM audit_log WHERE action = 'grid.lock'`); n != 0 || snapshot(t, s).audit != w.audit+1 {
		t.Errorf("%d grid.lock audit entries; want none, and only the merge's entry", n)
	}
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Errorf("undo of the merge: %v", err)
	}
}
