package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

var (
	planner = &grid.User{ID: 1, Name: "pat", Role: grid.UserPlanner}
	viewer  = &grid.User{ID: 2, Name: "vic", Role: grid.UserViewer}
)

// demoTest starts a parallel test on a demo city of its own.
func demoTest(t *testing.T) (*postgis.Store, context.Context) {
	t.Parallel()
	return testdb.NewDemo(t), context.Background()
}

// q1 runs a one-value query.
func q1[T any](t testing.TB, s *postgis.Store, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := s.Pool().QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// pair returns two adjacent level-3 grids of one parent (target, donor) whose parent has no
// deliberate defect, and up to n buildings of the donor nearest the target.
func pair(t testing.TB, s *postgis.Store, n int) (target, donor grid.GridState, buildings []int64) {
	t.Helper()
	ctx := context.Background()
	var tid, did int64
	err := s.Pool().QueryRow(ctx, `
		SELECT a.id, b.id FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
		WHERE a.level = 3 AND a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****')
		  AND (SELECT count(*) FROM buildings x WHERE x.grid_id = b.id) > $1
		  AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id = a.parent_id
		                  OR c.grid_ids && (SELECT array_agg(id) FROM grids WHERE parent_id = a.parent_id))
		ORDER BY a.code, b.code LIMIT 1`, n).Scan(&tid, &did)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT id FROM buildings WHERE grid_id = $1
		ORDER BY ST_Distance(anchor, (SELECT geom FROM grids WHERE id = $2)), id LIMIT $3`, did, tid, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		buildings = append(buildings, id)
	}
	return state(t, s, tid), state(t, s, did), buildings
}

func state(t testing.TB, s *postgis.Store, id int64) grid.GridState {
	t.Helper()
	var g grid.GridState
	err := s.Pool().QueryRow(context.Background(), `SELECT id, version, level, parent_id, code, name, valid_to IS NULL, successor_id, geom
		FROM grids WHERE id = $1`, id).Scan(&g.ID, &g.Version, &g.Level, &g.ParentID, &g.Code, &g.Name, &g.Current, &g.SuccessorID, &g.Geom)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// tiling measures how the current children of parent tile it: the area of the parent no child
// covers and the area two children share, in m².
func tiling(t testing.TB, s *postgis.Store, parent int64) (gap, overlap float64) {
	t.Helper()
	gap = q1[float64](t, s, `SELECT coalesce(ST_Area(ST_Difference(p.geom, (SELECT ST_Union(geom) FROM grids
		WHERE parent_id = p.id AND valid_to IS NULL))::geography), 0) FROM grids p WHERE p.id = $1`, parent)
	overlap = q1[float64](t, s, `SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
		FROM grids a JOIN grids b ON a.id < b.id AND a.parent_id = b.parent_id AND b.valid_to IS NULL AND a.geom && b.geom
		WHERE a.parent_id = $1 AND a.valid_to IS NULL`, parent)
	return gap, overlap
}

// writes counts the audit entries and reads the data version: what a write must change and a
// refused one must not.
type writes struct {
	audit   int
	version int64
}

func snapshot(t testing.TB, s *postgis.Store) writes {
	return writes{q1[int](t, s, `SELECT count(*)::int FROM audit_log`), q1[int64](t, s, `SELECT version FROM data_version`)}
}

// wantOneWrite checks that exactly one audit entry was added since w, naming the actor with a
// before and an after, and that the data version moved.
func wantOneWrite(t *testing.T, s *postgis.Store, w writes, actor, action string) {
	t.Helper()
	now := snapshot(t, s)
	if now.audit != w.audit+1 {
		t.Errorf("%d audit entries written, want 1", now.audit-w.audit)
	}
	if now.version <= w.version {
		t.Errorf("data version %d did not move past %d", now.version, w.version)
	}
	var gotActor, gotAction string
	var hasBefore, hasAfter bool
	err := s.Pool().QueryRow(context.Background(), `SELECT actor, action, before IS NOT NULL, after IS NOT NULL
		FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&gotActor, &gotAction, &hasBefore, &hasAfter)
	if err != nil {
		t.Fatal(err)
	}
	if gotActor != actor || gotAction != action || !hasBefore || !hasAfter {
		t.Errorf("audit entry %s %s before=%v after=%v, want %s %s with both", gotActor, gotAction, hasBefore, hasAfter, actor, action)
	}
}

func wantNoWrite(t *testing.T, s *postgis.Store, w writes) {
	t.Helper()
	if now := snapshot(t, s); now != w {
		t.Errorf("a refused edit wrote: audit %d → %d, data version %d → %d", w.audit, now.audit, w.version, now.version)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if grid.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// buildingsIn returns the building → grid map of the buildings of the given grids.
func buildingsIn(t testing.TB, s *postgis.Store, grids ...int64) map[int64]int64 {
	return idPairs(t, s, `SELECT id, grid_id FROM buildings WHERE grid_id = ANY($1)`, grids)
}

// TestPaint moves buildings between neighbours: the moved ones end up in the target, nobody
// else moves, the parent is still tiled, untouched grids keep their geometry exactly, history
// and the audit log record it, and undo/redo restore both states exactly.
func TestPaint(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, moved := pair(t, s, 3)
	parent := *target.ParentID
	sibs := q1[[]int64](t, s, `SELECT array_agg(id ORDER BY id) FROM grids WHERE parent_id = $1 AND valid_to IS NULL AND id <> ALL($2)`,
		parent, []int64{target.ID, donor.ID})
	before := buildingsIn(t, s, target.ID, donor.ID)
	gap0, over0 := tiling(t, s, parent)
	w := snapshot(t, s)

	res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{Code: target.Code}, IfVersion: target.Version, BuildingIDs: moved})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.paint")
	if len(res.Moved) != len(moved) || res.Op == 0 || len(res.Grids) != 2 {
		t.Fatalf("result %+v", res)
	}
	after := buildingsIn(t, s, target.ID, donor.ID)
	for b, g := range before {
		want := g
		for _, m := range moved {
			if m == b {
				want = target.ID
			}
		}
		if after[b] != want {
			t.Errorf("building %d in grid %d, want %d", b, after[b], want)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d buildings in the two grids, was %d", len(after), len(before))
	}
	gap1, over1 := tiling(t, s, parent)
	if gap1 > gap0+1 || over1 > over0+1 {
		t.Errorf("parent tiling: gap %.2f → %.2f m², overlap %.2f → %.2f m²", gap0, gap1, over0, over1)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grids WHERE id = ANY($1) AND version <> 1`, sibs); n != 0 {
		t.Errorf("%d untouched siblings changed", n)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grid_versions WHERE grid_id = ANY($1) AND version = 1`, []int64{target.ID, donor.ID}); n != 2 {
		t.Errorf("%d earlier versions kept, want 2", n)
	}
	painted := []grid.GridState{state(t, s, target.ID), state(t, s, donor.ID)}

	// undo restores the geometries exactly (and the buildings), redo the painted ones
	w = snapshot(t, s)
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "undo grid.paint")
	for _, g := range []grid.GridState{target, donor} {
		if now := state(t, s, g.ID); !now.Geom.Equal(g.Geom) || now.Version != g.Version+2 {
			t.Errorf("undo: grid %s v%d, geometry restored %v", g.Code, now.Version, now.Geom.Equal(g.Geom))
		}
	}
	if got := buildingsIn(t, s, target.ID, donor.ID); !sameMap(got, before) {
		t.Errorf("undo: buildings not back")
	}
	if _, err := s.Redo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for _, g := range painted {
		if now := state(t, s, g.ID); !now.Geom.Equal(g.Geom) {
			t.Errorf("redo: grid %s not as painted", g.Code)
		}
	}
	if got := buildingsIn(t, s, target.ID, donor.ID); !sameMap(got, after) {
		t.Errorf("redo: buildings not as painted")
	}
	_, err = s.Redo(ctx, planner)
	wantCode(t, err, grid.ECONFLICT) // nothing left to redo
}

func sameMap(a, b map[int64]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPaintRefused: every refusal says why and changes nothing.
func TestPaintRefused(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, moved := pair(t, s, 3)
	all := q1[[]int64](t, s, `SELECT array_agg(id) FROM buildings WHERE grid_id = $1`, donor.ID)
	far := q1[int64](t, s, `SELECT b.id FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE g.level = 3 AND g.parent_id <> $1 ORDER BY b.id LIMIT 1`, *target.ParentID)
	l2 := q1[int64](t, s, `SELECT parent_id FROM grids WHERE id = $1`, target.ID)
	tk := grid.GridKey{ID: target.ID}
	tests := []struct {
		name string
		u    *grid.User
		p    grid.Paint
		code string
	}{
		{"nobody", nil, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: moved}, grid.EUNAUTHORIZED},
		{"viewer", viewer, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: moved}, grid.EFORBIDDEN},
		{"grid leader", &grid.User{Name: "gl", Role: grid.UserGridLeader, Grids: []int64{target.ID}}, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: moved}, grid.EFORBIDDEN},
		{"stale", planner, grid.Paint{Target: tk, IfVersion: 7, BuildingIDs: moved}, grid.ECONFLICT},
		{"no buildings", planner, grid.Paint{Target: tk, IfVersion: 1}, grid.EINVALID},
		{"unknown building", planner, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: []int64{moved[0], 99999999}}, grid.ENOTFOUND},
		{"unknown code", planner, grid.Paint{Target: tk, IfVersion: 1, Codes: []string{"99010000100100099999"}}, grid.ENOTFOUND},
		{"target not level 3", planner, grid.Paint{Target: grid.GridKey{ID: l2}, IfVersion: 1, BuildingIDs: moved}, grid.EINVALID},
		{"across parents", planner, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: []int64{far}}, grid.EINVALID},
		{"empties the donor", planner, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: all}, grid.EINVALID},
		{"bad mode", planner, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: moved, Across: "sideways"}, grid.EINVALID},
		{"self-intersecting area", planner, grid.Paint{Target: tk, IfVersion: 1,
			Area: orb.MultiPolygon{{{{118.70, 32.00}, {118.72, 32.02}, {118.72, 32.00}, {118.70, 32.02}, {118.70, 32.00}}}}}, grid.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Paint(ctx, tt.u, tt.p)
			wantCode(t, err, tt.code)
			if tt.name == "stale" {
				var se *grid.StaleError
				if !errors.As(err, &se) || se.Current != 1 || se.ETag() != `"grid-`+itoa(target.ID)+`-v1"` {
					t.Errorf("stale error %#v", err)
				}
			}
			wantNoWrite(t, s, w)
		})
	}
	// skip: the buildings of other communities stay where they are, the rest move
	res, err := s.Paint(ctx, planner, grid.Paint{Target: tk, IfVersion: 1, BuildingIDs: append([]int64{far}, moved...), Across: grid.AcrossSkip})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0] != far || len(res.Moved) != len(moved) {
		t.Errorf("skip: moved %v skipped %v", res.Moved, res.Skipped)
	}
	// painting buildings already there changes nothing and writes nothing
	w := snapshot(t, s)
	res, err = s.Paint(ctx, planner, grid.Paint{Target: tk, IfVersion: 2, BuildingIDs: moved})
	if err != nil || len(res.Moved) != 0 || res.Op != 0 {
		t.Errorf("repaint: %+v %v", res, err)
	}
	wantNoWrite(t, s, w)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestPaintAcrossParents (move): buildings of another community move, and both communities
// follow so that they still tile their subdistrict and their grids still tile them.
func TestPaintAcrossParents(t *testing.T) {
	s, ctx := demoTest(t)
	// two adjacent level-3 grids in different communities of one subdistrict
	var tid, did int64
	if err := s.Pool().QueryRow(ctx, `
		SELECT a.id, b.id FROM grids a JOIN grids b ON a.parent_id <> b.parent_id AND a.id < b.id
		JOIN grids pa ON pa.id = a.parent_id JOIN grids pb ON pb.id = b.parent_id AND pb.parent_id = pa.parent_id
		WHERE a.level = 3 AND b.level = 3 AND a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****')
		  AND (SELECT count(*) FROM buildings x WHERE x.grid_id = b.id) > 3
		  AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id IN (pa.id, pb.id, pa.parent_id))
		ORDER BY a.code, b.code LIMIT 1`).Scan(&tid, &did); err != nil {
		t.Fatal(err)
	}
	target, donor := state(t, s, tid), state(t, s, did)
	moved := q1[[]int64](t, s, `SELECT array_agg(id) FROM (SELECT id FROM buildings WHERE grid_id = $1
		ORDER BY ST_Distance(anchor, (SELECT geom FROM grids WHERE id = $2)), id LIMIT 2) x`, did, tid)
	parents := []int64{*target.ParentID, *donor.ParentID}
	l1 := q1[int64](t, s, `SELECT parent_id FROM grids WHERE id = $1`, parents[0])
	_, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: tid}, IfVersion: target.Version, BuildingIDs: moved})
	wantCode(t, err, grid.EINVALID)
	res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: tid}, IfVersion: target.Version, BuildingIDs: moved, Across: grid.AcrossMove})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Grids) != 4 {
		t.Errorf("%d grids changed, want the 2 grids and their 2 communities: %+v", len(res.Grids), res.Grids)
	}
	for _, p := range append(parents, l1) {
		if gap, over := tiling(t, s, p); gap > 1 || over > 1 {
			t.Errorf("grid %d: children leave %.2f m² uncovered, overlap %.2f m²", p, gap, over)
		}
	}
	for _, b := range moved {
		if g := q1[int64](t, s, `SELECT grid_id FROM buildings WHERE id = $1`, b); g != tid {
			t.Errorf("building %d in %d", b, g)
		}
	}
}

// TestPaintNextToBoundary paints what the map UI's tester painted (web/test/assign.e2e.test.js,
// "paint-assign"): the two buildings nearest each other of the first community's first grid,
// next to its boundary with the second grid, into the second. Both grids stay in one piece and
// the donor keeps no sliver between them (it kept a 1.2 m strip, nearest to a building of the
// target across the boundary); the paint keeps every other invariant. Then the donor's
// building farthest from the target: what changes hands follows the rule, the target only
// gains, and every part the donor keeps holds a building of it.
func TestPaintNextToBoundary(t *testing.T) {
	s, ctx := demoTest(t)
	var parent, did, tid int64
	if err := s.Pool().QueryRow(ctx, `
		SELECT p.id, a.id, b.id FROM grids p
		JOIN LATERAL (SELECT id FROM grids WHERE parent_id = p.id AND valid_to IS NULL ORDER BY code LIMIT 1) a ON true
		JOIN LATERAL (SELECT id FROM grids WHERE parent_id = p.id AND valid_to IS NULL ORDER BY code OFFSET 1 LIMIT 1) b ON true
		WHERE p.level = 2 AND p.valid_to IS NULL ORDER BY p.code LIMIT 1`).Scan(&parent, &did, &tid); err != nil {
		t.Fatal(err)
	}
	donor, target := state(t, s, did), state(t, s, tid)
	moved := q1[[]int64](t, s, `SELECT ARRAY[a.id, b.id] FROM buildings a JOIN buildings b ON a.grid_id = b.grid_id AND a.id < b.id
		WHERE a.grid_id = $1 ORDER BY ST_Distance(ST_Centroid(a.footprint), ST_Centroid(b.footprint)), a.id, b.id LIMIT 1`, did)
	// the scene: grids sharing a boundary, the pair within 30 m of it, the donor keeping buildings
	if !q1[bool](t, s, `SELECT ST_Relate(a.geom, b.geom, '****1****') FROM grids a, grids b WHERE a.id = $1 AND b.id = $2`, did, tid) {
		t.Fatalf("grids %s and %s are not adjacent", donor.Code, target.Code)
	}
	if d := q1[float64](t, s, `SELECT max(ST_Distance(b.footprint::geography, g.geom::geography)) FROM buildings b, grids g
		WHERE b.id = ANY($1) AND g.id = $2`, moved, tid); d > 30 {
		t.Fatalf("buildings %v lie up to %.1f m from %s, want next to it", moved, d, target.Code)
	}
	parts := func(id int64) int { return q1[int](t, s, `SELECT ST_NumGeometries(geom) FROM grids WHERE id = $1`, id) }
	if parts(did) != 1 || parts(tid) != 1 {
		t.Fatalf("before the paint: %s in %d parts, %s in %d", donor.Code, parts(did), target.Code, parts(tid))
	}
	all := q1[[]int64](t, s, `SELECT array_agg(id ORDER BY id) FROM grids WHERE parent_id = $1 AND valid_to IS NULL`, parent)
	before := buildingsIn(t, s, all...)
	// per staying building, its footprint's area inside its grid (it must not change)
	inside := `SELECT coalesce(array_agg(round(ST_Area(ST_Intersection(b.footprint, g.geom)::geography)::numeric, 2)::float8 ORDER BY b.id), '{}')
		FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE b.grid_id = ANY($1) AND NOT b.id = ANY($2)`
	inside0 := q1[[]float64](t, s, inside, all, moved)
	gap0, over0 := tiling(t, s, parent)

	res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: tid}, IfVersion: target.Version, BuildingIDs: moved})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Moved) != 2 || len(res.Grids) != 2 {
		t.Fatalf("result %+v", res)
	}
	after := buildingsIn(t, s, all...)
	for b, g := range before {
		if want := map[bool]int64{true: tid, false: g}[b == moved[0] || b == moved[1]]; after[b] != want {
			t.Errorf("building %d in grid %d, want %d", b, after[b], want)
		}
	}
	if gap1, over1 := tiling(t, s, parent); gap1 > gap0+1 || over1 > over0+1 {
		t.Errorf("parent tiling: gap %.2f → %.2f m², overlap %.2f → %.2f m²", gap0, gap1, over0, over1)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grids WHERE id = ANY($1) AND NOT id = ANY($2) AND version <> 1`, all, []int64{did, tid}); n != 0 {
		t.Errorf("%d untouched grids changed", n)
	}
	if got := q1[[]float64](t, s, inside, all, moved); !equalFloats(got, inside0, 0.01) {
		t.Errorf("footprints of staying buildings changed hands: m² inside their grids %v → %v", inside0, got)
	}
	// what the balance panel says, and what lies between the target's parts
	bal, err := s.Balance(ctx, grid.BalanceQuery{Parent: &grid.GridKey{ID: parent}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range bal.Grids {
		if g.Parts != 1 {
			t.Errorf("balance: %s in %d parts, want 1 (a paint next to the boundary keeps grids whole)", g.Code, g.Parts)
		}
	}
	if parts(tid) > 1 {
		t.Errorf("%s: its parts lie %.2f m apart (the donor keeps that strip)", target.Code,
			q1[float64](t, s, `SELECT ST_Distance(ST_GeometryN(geom, 1)::geography, ST_GeometryN(geom, 2)::geography) FROM grids WHERE id = $1`, tid))
	}
	if a := sliver(t, s, did, 1); a > 5 {
		t.Errorf("%s keeps pieces thinner than 2 m: the largest %.1f m²", donor.Code, a)
	}

	nearestRule(t, s, donor.Geom, tid, did, moved)

	// the donor's building farthest from the target, with the donor's other buildings around it
	donorNow := state(t, s, did)
	far := q1[int64](t, s, `SELECT b.id FROM buildings b, grids g WHERE b.grid_id = $1 AND g.id = $2
		ORDER BY ST_Distance(b.footprint, g.geom) DESC, b.id LIMIT 1`, did, tid)
	targetNow := state(t, s, tid)
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: tid}, IfVersion: targetNow.Version, BuildingIDs: []int64{far}}); err != nil {
		t.Fatal(err)
	}
	nearestRule(t, s, donorNow.Geom, tid, did, []int64{far})
	if a := q1[float64](t, s, `SELECT ST_Area(ST_Difference($2::geometry, geom)::geography) FROM grids WHERE id = $1`, tid, targetNow.Geom); a > 0.01 {
		t.Errorf("far paint: %s lost %.2f m², a target only gains", target.Code, a)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grids g, ST_Dump(g.geom) d WHERE g.id = $1
		AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id AND ST_Intersects(b.anchor, d.geom))`, did); n != 0 {
		t.Errorf("far paint: %d part(s) of %s hold none of its buildings", n, donor.Code)
	}
}

// nearestRule checks the paint's rule on 300 random points of what the target gained from the
// donor (donorBefore: the donor's geometry before) and 300 of what the donor kept within 50 m
// of it: a gained point lies nearer a moved building than any building staying in the donor,
// a kept one nearer a staying building — to within 12 m, as the sites sample the footprints'
// edges every ~20 m.
func nearestRule(t testing.TB, s *postgis.Store, donorBefore orb.MultiPolygon, tid, did int64, moved []int64) {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), `
		WITH gained AS (SELECT ST_CollectionExtract(ST_Intersection($1::geometry, geom), 3) AS geom FROM grids WHERE id = $2),
		kept AS (SELECT ST_CollectionExtract(ST_Intersection(g.geom, ST_Buffer(x.geom::geography, 50)::geometry), 3) AS geom FROM grids g, gained x WHERE g.id = $3),
		pts AS (SELECT 'gained' AS k, d.geom AS p FROM gained, ST_Dump(ST_GeneratePoints(geom, 300, 1)) d
		        UNION ALL SELECT 'kept', d.geom FROM kept, ST_Dump(ST_GeneratePoints(geom, 300, 2)) d),
		dist AS (SELECT k, p,
		        (SELECT min(ST_Distance(p::geography, b.footprint::geography)) FROM buildings b WHERE b.id = ANY($4)) AS dm,
		        (SELECT min(ST_Distance(p::geography, b.footprint::geography)) FROM buildings b WHERE b.grid_id = $3) AS ds
		        FROM pts)
		SELECT k, ST_AsText(p), dm, ds FROM dist
		WHERE (k = 'gained' AND dm > ds + 12) OR (k = 'kept' AND ds > dm + 12) LIMIT 5`, donorBefore, tid, did, moved)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, p string
		var dm, ds float64
		if err := rows.Scan(&k, &p, &dm, &ds); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s point %s: %.1f m from the moved buildings, %.1f m from the staying ones", k, p, dm, ds)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// sliver returns the largest piece (m²) of grid id thinner than 2·r metres: what an opening
// (erode, then dilate by r) takes away. Work in Web Mercator, conformal, with r scaled to it.
func sliver(t testing.TB, s *postgis.Store, id int64, r float64) float64 {
	t.Helper()
	return q1[float64](t, s, `WITH g AS (SELECT ST_Transform(geom, 3857) AS m, $2 / cos(radians(ST_Y(ST_Centroid(geom)))) AS r FROM grids WHERE id = $1)
		SELECT coalesce(max(ST_Area(ST_Transform(d.geom, 4326)::geography)), 0)
		FROM g, ST_Dump(ST_Difference(g.m, ST_Buffer(ST_Buffer(g.m, -g.r), g.r))) d`, id, r)
}

func equalFloats(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestPatchGrid: a rename, and a reshape whose neighbours and buildings follow.
func TestPatchGrid(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, _ := pair(t, s, 1)
	parent := *target.ParentID
	name := "新名字 renamed"
	w := snapshot(t, s)
	res, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 1, Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.patch")
	if g := state(t, s, target.ID); g.Name != name || g.Version != 2 || res.Grids[0].ETag != `"grid-`+itoa(target.ID)+`-v2"` {
		t.Errorf("renamed: %q v%d %+v", g.Name, g.Version, res.Grids)
	}
	// stale and invalid edits change nothing
	w = snapshot(t, s)
	_, err = s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 1, Name: &name})
	wantCode(t, err, grid.ECONFLICT)
	bowtie := orb.MultiPolygon{{{{118.70, 32.00}, {118.72, 32.02}, {118.72, 32.00}, {118.70, 32.02}, {118.70, 32.00}}}}
	_, err = s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 2, Geometry: bowtie})
	wantCode(t, err, grid.EINVALID)
	wantNoWrite(t, s, w)

	// reshape: the target takes the donor's half nearest to it
	var grown orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `SELECT ST_Multi(ST_Union(t.geom, ST_Intersection(d.geom,
		ST_Buffer(t.geom, ST_Distance(ST_Centroid(t.geom), ST_Centroid(d.geom)) / 2))))
		FROM grids t, grids d WHERE t.id = $1 AND d.id = $2`, target.ID, donor.ID).Scan(&grown); err != nil {
		t.Fatal(err)
	}
	gap0, over0 := tiling(t, s, parent)
	w = snapshot(t, s)
	res, err = s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 2, Geometry: grown})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.patch")
	if len(res.Grids) != 2 {
		t.Errorf("reshape changed %d grids, want the grid and its neighbour", len(res.Grids))
	}
	if gap, over := tiling(t, s, parent); gap > gap0+1 || over > over0+1 {
		t.Errorf("after the reshape: gap %.2f m², overlap %.2f m²", gap, over)
	}
	// buildings follow: each is in the grid holding its point on surface
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE b.grid_id = ANY($1) AND NOT ST_Intersects(g.geom, b.anchor)`, []int64{target.ID, donor.ID}); n != 0 {
		t.Errorf("%d buildings not in their grid", n)
	}
}

// TestSplit: by a line across a grid and by a polygon; the new grid gets the next code under
// the parent, buildings follow; refusals change nothing.
func TestSplit(t *testing.T) {
	s, ctx := demoTest(t)
	target, _, _ := pair(t, s, 1)
	parent := *target.ParentID
	var line orb.LineString
	// a line through the grid's centroid, north to south, well beyond its box
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
		FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, target.ID).Scan(&line); err != nil {
		t.Fatal(err)
	}
	total := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id = $1`, target.ID)
	last := q1[string](t, s, `SELECT max(code) FROM grids WHERE parent_id = $1`, parent)
	w := snapshot(t, s)
	res, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: target.ID}, IfVersion: 1, Line: line, Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.split")
	if len(res.Grids) != 2 {
		t.Fatalf("%+v", res.Grids)
	}
	var nw grid.GridVersion
	for _, g := range res.Grids {
		if g.ID != target.ID {
			nw = g
		}
	}
	if want := last[:12] + pad3(atoi(last[12:])+1); nw.Code != want || nw.Name != "east" {
		t.Errorf("new grid %s %q, want code %s", nw.Code, nw.Name, want)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id = ANY($1)`, []int64{target.ID, nw.ID}); n != total {
		t.Errorf("%d buildings in the two halves, want %d", n, total)
	}
	if gap, over := tiling(t, s, parent); gap > 1 || over > 1 {
		t.Errorf("after the split: gap %.2f m², overlap %.2f m²", gap, over)
	}
	// by a polygon: a box around part of the new grid
	var box orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `SELECT ST_Multi(ST_Expand(ST_PointOnSurface(geom), 0.0003)) FROM grids WHERE id = $1`, nw.ID).Scan(&box); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: nw.ID}, IfVersion: 1, Area: box}); err != nil {
		t.Fatal(err)
	}

	// refusals
	var miss orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_XMax(geom) + 0.01, ST_YMin(geom)), ST_MakePoint(ST_XMax(geom) + 0.01, ST_YMax(geom)))
		FROM grids WHERE id = $1`, target.ID).Scan(&miss); err != nil {
		t.Fatal(err)
	}
	var inside orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(p, ST_Translate(p, 0.00001, 0)) FROM grids, ST_PointOnSurface(geom) p WHERE id = $1`, target.ID).Scan(&inside); err != nil {
		t.Fatal(err)
	}
	var whole orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `SELECT ST_Multi(ST_Expand(ST_Envelope(geom), 0.001)) FROM grids WHERE id = $1`, target.ID).Scan(&whole); err != nil {
		t.Fatal(err)
	}
	away := orb.MultiPolygon{{{{100, 10}, {100.001, 10}, {100.001, 10.001}, {100, 10}}}}
	tk := grid.GridKey{ID: target.ID}
	for _, tt := range []struct {
		name string
		sp   grid.Split
		code string
	}{
		{"line misses the grid", grid.Split{Key: tk, IfVersion: 2, Line: miss}, grid.EINVALID},
		{"line ends inside", grid.Split{Key: tk, IfVersion: 2, Line: inside}, grid.EINVALID},
		{"polygon covers it all", grid.Split{Key: tk, IfVersion: 2, Area: whole}, grid.EINVALID},
		{"polygon misses it", grid.Split{Key: tk, IfVersion: 2, Area: away}, grid.EINVALID},
		{"both line and polygon", grid.Split{Key: tk, IfVersion: 2, Line: line, Area: box}, grid.EINVALID},
		{"stale", grid.Split{Key: tk, IfVersion: 1, Line: line}, grid.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Split(ctx, planner, tt.sp)
			wantCode(t, err, tt.code)
			wantNoWrite(t, s, w)
		})
	}
}

func pad3(n int) string {
	b := []byte{'0', '0', '0'}
	for k := 2; k >= 0; k-- {
		b[k] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestSplitCommunity: a level-2 split follows its children's boundaries; the children that go
// to the new community are recoded under it, with their buildings' grids unchanged.
func TestSplitCommunity(t *testing.T) {
	s, ctx := demoTest(t)
	pid := q1[int64](t, s, `SELECT p.id FROM grids p WHERE p.level = 2 AND (SELECT count(*) FROM grids c WHERE c.parent_id = p.id) >= 4
		AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id = p.id) ORDER BY p.code LIMIT 1`)
	p := state(t, s, pid)
	var line orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
		FROM grids g, ST_Centroid(g.geom) c WHERE g.id = $1`, pid).Scan(&line); err != nil {
		t.Fatal(err)
	}
	kids := q1[[]int64](t, s, `SELECT array_agg(id) FROM grids WHERE parent_id = $1`, pid)
	bld := buildingsIn(t, s, kids...)
	res, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: pid}, IfVersion: p.Version, Line: line})
	if err != nil {
		t.Fatal(err)
	}
	var nw int64
	for _, g := range res.Grids {
		if g.Level == 2 && g.ID != pid {
			nw = g.ID
		}
	}
	for _, par := range []int64{pid, nw} {
		if gap, over := tiling(t, s, par); gap > 1 || over > 1 {
			t.Errorf("community %d: gap %.2f m², overlap %.2f m²", par, gap, over)
		}
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grids c JOIN grids p ON p.id = c.parent_id
		WHERE c.parent_id = $1 AND left(c.code, 12) = left(p.code, 12)`, nw); n == 0 {
		t.Errorf("no child moved under the new community (with its code prefix)")
	}
	if got := buildingsIn(t, s, kids...); !sameMap(got, bld) {
		t.Errorf("buildings changed grids in a community split")
	}
}

// TestMerge: adjacent grids of one parent merge into the first; the others retire with a
// successor, their staff move; non-adjacent grids and grids of different parents are refused.
func TestMerge(t *testing.T) {
	s, ctx := demoTest(t)
	a, b, _ := pair(t, s, 1)
	far := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 AND parent_id = $1 AND id NOT IN ($2, $3)
		AND NOT ST_Intersects(geom, (SELECT geom FROM grids WHERE id = $2)) ORDER BY id LIMIT 1`, *a.ParentID, a.ID, b.ID)
	other := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 AND parent_id <> $1 ORDER BY id LIMIT 1`, *a.ParentID)
	staffB := q1[int](t, s, `SELECT count(*)::int FROM assignments WHERE grid_id = $1 AND valid_to IS NULL`, b.ID)
	for _, tt := range []struct {
		name string
		m    grid.Merge
		code string
	}{
		{"one grid", grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{ID: a.ID}, Version: 1}}}, grid.EINVALID},
		{"not adjacent", grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{ID: a.ID}, Version: 1}, {GridKey: grid.GridKey{ID: far}, Version: 1}}}, grid.EINVALID},
		{"different parents", grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{ID: a.ID}, Version: 1}, {GridKey: grid.GridKey{ID: other}, Version: 1}}}, grid.EINVALID},
		{"stale", grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{ID: a.ID}, Version: 1}, {GridKey: grid.GridKey{ID: b.ID}, Version: 3}}}, grid.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Merge(ctx, planner, tt.m)
			wantCode(t, err, tt.code)
			wantNoWrite(t, s, w)
		})
	}
	total := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id IN ($1, $2)`, a.ID, b.ID)
	w := snapshot(t, s)
	_, err := s.Merge(ctx, planner, grid.Merge{Grids: []grid.VersionedKey{{GridKey: grid.GridKey{Code: a.Code}, Version: 1}, {GridKey: grid.GridKey{ID: b.ID}, Version: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.merge")
	gb := state(t, s, b.ID)
	if gb.Current || gb.SuccessorID == nil || *gb.SuccessorID != a.ID {
		t.Errorf("merged-away grid: current %v successor %v", gb.Current, gb.SuccessorID)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id = $1`, a.ID); n != total {
		t.Errorf("%d buildings in the merged grid, want %d", n, total)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM assignments WHERE grid_id = $1 AND valid_to IS NULL`, b.ID); n != 0 {
		t.Errorf("%d assignments still on the retired grid", n)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM assignments WHERE grid_id = $1 AND valid_to IS NOT NULL`, b.ID); n != staffB {
		t.Errorf("%d ended assignments kept as history, want %d", n, staffB)
	}
	if gap, over := tiling(t, s, *a.ParentID); gap > 1 || over > 1 {
		t.Errorf("after the merge: gap %.2f, overlap %.2f", gap, over)
	}
	// undo revives the grid with its staff
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	if g := state(t, s, b.ID); !g.Current || !g.Geom.Equal(b.Geom) || g.SuccessorID != nil {
		t.Errorf("undo merge: grid %s current %v", g.Code, g.Current)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM assignments WHERE grid_id = $1 AND valid_to IS NULL`, b.ID); n != staffB {
		t.Errorf("undo merge: %d current assignments, want %d", n, staffB)
	}
}

// TestUndoRefusedWhenChanged: undo checks versions; a later edit by someone else blocks it.
func TestUndoRefusedWhenChanged(t *testing.T) {
	s, ctx := demoTest(t)
	target, _, moved := pair(t, s, 2)
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: 1, BuildingIDs: moved}); err != nil {
		t.Fatal(err)
	}
	other := &grid.User{Name: "olga", Role: grid.UserPlanner}
	name := "renamed by olga"
	if _, err := s.PatchGrid(ctx, other, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 2, Name: &name}); err != nil {
		t.Fatal(err)
	}
	w := snapshot(t, s)
	_, err := s.Undo(ctx, planner)
	var se *grid.StaleError
	if !errors.As(err, &se) || se.Current != 3 {
		t.Fatalf("undo after someone else's edit: %v", err)
	}
	wantNoWrite(t, s, w)
	_, err = s.Undo(ctx, viewer)
	wantCode(t, err, grid.EFORBIDDEN)
	// versions are strict: after olga undoes her rename the content is back, the version is not
	if _, err := s.Undo(ctx, other); err != nil {
		t.Fatal(err)
	}
	_, err = s.Undo(ctx, planner)
	wantCode(t, err, grid.ECONFLICT)
	// pat renames, undoes it, renames again: the second rename clears the redo stack
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 4, Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	again := "again"
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: 6, Name: &again}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Redo(ctx, planner)
	wantCode(t, err, grid.ECONFLICT)
	ops, err := s.Ops(ctx, planner, 10)
	if err != nil || len(ops) != 3 || ops[0].State != grid.OpDone || ops[1].State != grid.OpDropped || ops[2].State != grid.OpDone {
		t.Errorf("ops %+v %v", ops, err)
	}
}

// TestUpsertGrids: a planner's GeoJSON creates a grid (parent by overlap, next code) and
// updates another (with its version); an invalid feature refuses the whole file.
func TestUpsertGrids(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, _ := pair(t, s, 1)
	// a new level-3 grid: the donor's area, under the same parent (it overlaps the donor)
	res, err := s.UpsertGrids(ctx, planner, []grid.GridFeature{
		{Index: 0, ID: target.ID, Version: 1, Name: "updated", Geom: target.Geom},
		{Index: 1, Level: 3, Name: "from QGIS", Geom: donor.Geom},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Grids) != 2 {
		t.Fatalf("%+v", res.Grids)
	}
	for _, g := range res.Grids {
		switch {
		case g.ID == target.ID && (g.Name != "updated" || g.Version != 2):
			t.Errorf("updated %+v", g)
		case g.ID != target.ID && (g.Name != "from QGIS" || g.Code[:12] != target.Code[:12]):
			t.Errorf("created %+v (parent prefix %s)", g, target.Code[:12])
		}
	}
	// undo retires the new grid and restores the updated one
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for _, g := range res.Grids {
		now := state(t, s, g.ID)
		if g.ID == target.ID && (now.Name != target.Name || !now.Current) || g.ID != target.ID && now.Current {
			t.Errorf("after undo: grid %s %q current %v", now.Code, now.Name, now.Current)
		}
	}
	bowtie := orb.MultiPolygon{{{{118.70, 32.00}, {118.72, 32.02}, {118.72, 32.00}, {118.70, 32.02}, {118.70, 32.00}}}}
	w := snapshot(t, s)
	_, err = s.UpsertGrids(ctx, planner, []grid.GridFeature{
		{Index: 0, Level: 3, Name: "ok", Geom: donor.Geom},
		{Index: 1, Level: 3, Name: "bad", Geom: bowtie},
	})
	wantCode(t, err, grid.EINVALID)
	wantNoWrite(t, s, w)
	_, err = s.UpsertGrids(ctx, planner, []grid.GridFeature{{Index: 0, ID: target.ID, Version: 2, Name: "stale", Geom: target.Geom}})
	wantCode(t, err, grid.ECONFLICT)
	wantNoWrite(t, s, w)
}

// TestReshapeCommunity: a community gives up a strip to its neighbour; both communities'
// children follow (the strip's grids are clipped, the neighbour's border grids take it), so
// every level still tiles its parent.
func TestReshapeCommunity(t *testing.T) {
	s, ctx := demoTest(t)
	var a, b int64
	if err := s.Pool().QueryRow(ctx, `
		SELECT a.id, b.id FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
		WHERE a.level = 2 AND ST_Relate(a.geom, b.geom, '****1****')
		  AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id IN (a.id, b.id, a.parent_id))
		ORDER BY a.code LIMIT 1`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	ga := state(t, s, a)
	// community a without a 60 m strip along its border with b
	var shrunk orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `SELECT ST_Multi(ST_Difference(a.geom, ST_Buffer(ST_Intersection(a.geom, b.geom)::geography, 60)::geometry))
		FROM grids a, grids b WHERE a.id = $1 AND b.id = $2`, a, b).Scan(&shrunk); err != nil {
		t.Fatal(err)
	}
	hh := q1[int](t, s, `SELECT sum(households)::int FROM buildings WHERE grid_id IN (SELECT id FROM grids WHERE parent_id IN ($1, $2))`, a, b)
	res, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: a}, IfVersion: ga.Version, Geometry: shrunk})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]int{}
	for _, g := range res.Grids {
		levels[g.Level]++
	}
	if levels[2] != 2 || levels[3] < 2 {
		t.Errorf("changed grids by level: %v", levels)
	}
	for _, p := range []int64{a, b, *ga.ParentID} {
		if gap, over := tiling(t, s, p); gap > 1 || over > 1 {
			t.Errorf("grid %d: gap %.2f m², overlap %.2f m²", p, gap, over)
		}
	}
	if n := q1[int](t, s, `SELECT sum(households)::int FROM buildings WHERE grid_id IN (SELECT id FROM grids WHERE parent_id IN ($1, $2))`, a, b); n != hh {
		t.Errorf("%d households in the two communities, was %d", n, hh)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.level < 3`); n != q1[int](t, testdb.NewDemo(t), `SELECT count(*)::int FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.level < 3`) {
		t.Errorf("buildings fell out of level-3 grids")
	}
}
