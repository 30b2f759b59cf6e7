package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
)

// POST /conform: a level-3 grid of the demo city shrunk by 2 m leaves a 2 m ring of its
// community uncovered; a planner's dry run says so and writes nothing, the run gives the ring
// back to the grid (it borders it longest), and undo brings the shrunk geometry back exactly.
func TestConformAPI(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	ctx := context.Background()
	db := s.store.Pool()
	if _, err := db.Exec(ctx, `UPDATE grids SET geom = ST_Multi(ST_Buffer(geom::geography, -2)::geometry) WHERE id = $1`, f.target); err != nil {
		t.Fatal(err)
	}
	geomOf := func() orb.MultiPolygon {
		var g orb.MultiPolygon
		if err := db.QueryRow(ctx, `SELECT geom FROM grids WHERE id = $1`, f.target).Scan(&g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	shrunk := geomOf()
	var own string
	if err := db.QueryRow(ctx, `SELECT code FROM grids WHERE id = $1`, f.own).Scan(&own); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"level": 3, "parent": own, "dry_run": true}
	for role, want := range map[string]int{roleAnon: 401, grid.UserViewer: 403, grid.UserGridLeader: 403} {
		if r := s.call(t, role, "POST", "/api/v1/conform", body); r.status != want {
			t.Errorf("%s: %d, want %d", role, r.status, want)
		}
	}
	for name, bad := range map[string]any{
		"snap -1":          map[string]any{"level": 3, "snap_m": -1},
		"snap 150":         map[string]any{"level": 3, "snap_m": 150},
		"level 5":          map[string]any{"level": 5},
		"parent level 3":   map[string]any{"level": 3, "parent": jsonID(f.target)},
		"parent not a key": map[string]any{"level": 3, "parent": "x"},
		"unknown field":    map[string]any{"level": 3, "snap": 5},
	} {
		r := s.call(t, grid.UserPlanner, "POST", "/api/v1/conform", bad)
		var e struct{ Error struct{ Code string } }
		_ = json.Unmarshal(r.body, &e)
		if r.status != 400 || e.Error.Code != grid.EINVALID {
			t.Errorf("%s: %d %s, want 400 EINVALID", name, r.status, r.body)
		}
	}
	var dry, run grid.EditResult
	r := s.call(t, grid.UserPlanner, "POST", "/api/v1/conform", body)
	if err := json.Unmarshal(r.body, &dry); r.status != 200 || err != nil || dry.Op != 0 || dry.Conform == nil ||
		dry.Conform.GapSlivers.Count == 0 || dry.Conform.Changed != 1 || !geomOf().Equal(shrunk) {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	body["dry_run"] = false
	r = s.call(t, grid.UserPlanner, "POST", "/api/v1/conform", body)
	if err := json.Unmarshal(r.body, &run); r.status != 200 || err != nil || run.Op == 0 || run.Action != "grid.conform" ||
		len(run.Grids) != 1 || run.Grids[0].ID != f.target || run.Conform.GapSlivers != dry.Conform.GapSlivers {
		t.Fatalf("run: %d %s", r.status, r.body)
	}
	if geomOf().Equal(shrunk) {
		t.Fatal("the run changed nothing")
	}
	if r := s.call(t, grid.UserPlanner, "POST", "/api/v1/ops/undo", nil); r.status != 200 {
		t.Fatalf("undo: %d %s", r.status, r.body)
	}
	if !geomOf().Equal(shrunk) {
		t.Error("undo did not restore the geometry exactly")
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }
