package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/postgis"
)

// The coverage report is kept by the writing transactions; these tests hold it, after every
// kind of write, to the report measured from scratch (grid.CoverageOptions.Recompute).

// sameCoverage fails t unless the kept report of the scope of root (nil: the city) equals the
// one measured from scratch: every field of every list, numbers to 1e-9 (relative), each
// geometry within 1e-8° (Hausdorff distance; gaps and overlaps are kept in Web Mercator).
// The summary and the issue list must agree with the report too.
func sameCoverage(t *testing.T, s *postgis.Store, what string, root *grid.GridKey) *grid.CoverageReport {
	t.Helper()
	kept, diffs := coverageDiffs(t, s, root)
	if len(diffs) > 0 {
		t.Errorf("%s (scope %v): the kept report differs from the one measured from scratch:\n  %s",
			what, root, strings.Join(diffs[:min(len(diffs), 20)], "\n  "))
	}
	if len(kept.Grids) == 0 {
		t.Errorf("%s: an empty report", what)
	}
	sameSummaryAndIssues(t, s, what, root, kept)
	return kept
}

// coverageDiffs returns the kept report of root's scope and how it differs from the one
// measured from scratch.
func coverageDiffs(t *testing.T, s *postgis.Store, root *grid.GridKey) (*grid.CoverageReport, []string) {
	t.Helper()
	ctx := context.Background()
	kept, err := s.Coverage(ctx, grid.CoverageOptions{Root: root})
	if err != nil {
		t.Fatalf("kept report: %v", err)
	}
	scratch, err := s.Coverage(ctx, grid.CoverageOptions{Root: root, Recompute: true})
	if err != nil {
		t.Fatalf("report from scratch: %v", err)
	}
	var geoms [][2]string
	var diffs []string
	compareJSON("", toTree(t, kept), toTree(t, scratch), &geoms, &diffs)
	for _, pair := range geoms {
		var d float64
		err := s.Pool().QueryRow(ctx, `SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2))`,
			pair[0], pair[1]).Scan(&d)
		if err != nil || d > 1e-8 {
			diffs = append(diffs, fmt.Sprintf("geometry %.40s…: Hausdorff distance %g (%v)", pair[0], d, err))
		}
	}
	return kept, diffs
}

// TestSameCoverageSeesDrift: the comparison catches kept facts that drifted from the data
// (written here behind the triggers' back).
func TestSameCoverageSeesDrift(t *testing.T) {
	s, ctx := demoTest(t)
	for _, drift := range []string{
		`UPDATE coverage_grids SET residents = residents + 1 WHERE grid_id = (SELECT min(id) FROM grids WHERE level = 3)`,
		`UPDATE coverage_grids SET reock = reock * 1.001 WHERE grid_id = (SELECT min(id) FROM grids WHERE level = 2)`,
		`UPDATE tile_coverage SET geom_3857 = ST_Translate(geom_3857, 0.5, 0) WHERE kind = 'gap'`,
		`DELETE FROM tile_coverage WHERE kind = 'overlap'`,
		`UPDATE buildings SET straddling = false WHERE straddling`,
		`INSERT INTO coverage_outside (grid_id, parent_id, area_m2, geom)
		 SELECT id, parent_id, 10, ST_GeometryN(geom, 1) FROM grids WHERE level = 3 ORDER BY id LIMIT 1`,
	} {
		if _, err := s.Pool().Exec(ctx, drift); err != nil {
			t.Fatal(err)
		}
		if _, diffs := coverageDiffs(t, s, nil); len(diffs) == 0 {
			t.Errorf("no difference seen after %s", drift)
		}
		if _, err := s.Pool().Exec(ctx, `SELECT coverage_rebuild(), tile_rebuild()`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `UPDATE buildings SET straddling = tile_straddles(footprint, grid_id)`); err != nil {
			t.Fatal(err)
		}
		if _, diffs := coverageDiffs(t, s, nil); len(diffs) > 0 {
			t.Fatalf("rebuilt after %s: %v", drift, diffs)
		}
	}
}

// sameSummaryAndIssues: the summary's findings are the report's, and the issue list holds
// as many issues of each kind as the report's lists.
func sameSummaryAndIssues(t *testing.T, s *postgis.Store, what string, root *grid.GridKey, r *grid.CoverageReport) {
	t.Helper()
	ctx := context.Background()
	sum, err := s.CoverageSummary(ctx, grid.CoverageOptions{Root: root})
	if err != nil {
		t.Fatalf("%s: summary: %v", what, err)
	}
	if sum.Findings != r.Findings || sum.DataVersion != r.DataVersion || sum.Totals != r.Totals || sum.Grids != r.Page.Total.Grids {
		t.Errorf("%s: summary %+v disagrees with the report (findings %+v, totals %+v)", what, sum, r.Findings, r.Totals)
	}
	issues, err := s.CoverageIssues(ctx, grid.IssueQuery{Root: root, Page: grid.Page{Limit: 3}})
	if err != nil {
		t.Fatalf("%s: issues: %v", what, err)
	}
	f := r.Findings
	want := map[string]int{grid.IssueGap: f.Gaps, grid.IssueOverlap: f.Overlaps, grid.IssueOutsideParent: f.OutsideParent,
		grid.IssueBuildingOutside: f.BuildingsOutside, grid.IssueMultiGrid: f.MultiGrid, grid.IssueStraddler: f.Straddlers,
		grid.IssueUnstaffed: f.UnstaffedGrids, grid.IssueUnstaffedBuilding: f.UnstaffedBuildings,
		grid.IssueUnstaffedUnit: f.UnstaffedUnits, grid.IssueNonContiguous: f.NonContiguous}
	for k, n := range want {
		if issues.ByKind[k] != n {
			t.Errorf("%s: %d issues of kind %s, the report lists %d", what, issues.ByKind[k], k, n)
		}
	}
	if issues.NumberMatched != f.Total() || issues.NumberReturned != min(3, f.Total()) {
		t.Errorf("%s: %d issues matched, %d returned; %d findings", what, issues.NumberMatched, issues.NumberReturned, f.Total())
	}
	sameEmptyLevel(t, s, what, root, r, sum)
}

// sameEmptyLevel: the summary's empty level is the report's grids with no child, their
// households and gaps; the issue list without it lacks exactly those gaps and buildings.
func sameEmptyLevel(t *testing.T, s *postgis.Store, what string, root *grid.GridKey, r *grid.CoverageReport, sum *grid.CoverageSummary) {
	t.Helper()
	parents := map[int64]bool{}
	for _, g := range r.Grids {
		if g.ParentID != nil {
			parents[*g.ParentID] = true
		}
	}
	var want grid.EmptyLevel
	undivided := map[int64]bool{}
	for _, g := range r.Grids {
		if g.Level < grid.LevelGrid && !parents[g.ID] {
			undivided[g.ID] = true
			want.Grids[g.Level-1]++
			want.Households[g.Level-1] += g.Households
		}
	}
	for _, g := range r.Gaps {
		if g.Parent != nil && undivided[g.Parent.ID] {
			want.Gaps++
		}
	}
	e := sum.EmptyLevel
	if e.Grids != want.Grids || e.Households != want.Households || e.Gaps != want.Gaps || len(e.First) != min(len(undivided), grid.EmptyLevelListed) {
		t.Errorf("%s: empty level %+v, the report's is %+v", what, e, want)
	}
	for _, g := range e.First {
		if !undivided[g.ID] {
			t.Errorf("%s: %s listed as undivided", what, g.Code)
		}
	}
	without, err := s.CoverageIssues(context.Background(), grid.IssueQuery{Root: root, OmitEmptyLevel: true,
		Kinds: []string{grid.IssueGap, grid.IssueBuildingOutside}})
	if err != nil {
		t.Fatalf("%s: issues: %v", what, err)
	}
	if without.ByKind[grid.IssueGap] != r.Findings.Gaps-e.Gaps ||
		without.ByKind[grid.IssueBuildingOutside] != r.Findings.BuildingsOutside-e.BuildingsOutside {
		t.Errorf("%s: without the empty level %v; the report's %d gaps, %d buildings outside less %+v",
			what, without.ByKind, r.Findings.Gaps, r.Findings.BuildingsOutside, e)
	}
	for _, is := range without.Issues {
		if is.Kind == grid.IssueGap && len(is.Grids) > 0 && undivided[is.Grids[0].ID] {
			t.Errorf("%s: the gap of undivided %s listed", what, is.Grids[0].Code)
		}
	}
}

func toTree(t *testing.T, r *grid.CoverageReport) any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	delete(v.(map[string]any), "generated_at")
	return v
}

// compareJSON walks two decoded JSON values side by side, noting differences in diffs and
// the pairs of geometries (members named geometry) to compare in geoms.
func compareJSON(path string, a, b any, geoms *[][2]string, diffs *[]string) {
	if strings.HasSuffix(path, ".geometry") && a != nil && b != nil {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		*geoms = append(*geoms, [2]string{string(ja), string(jb)})
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v vs %v", path, a, b))
			return
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for k := range keys {
			compareJSON(path+"."+k, x[k], y[k], geoms, diffs)
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %d items vs %v", path, len(x), short(b)))
			return
		}
		for k := range x {
			compareJSON(fmt.Sprintf("%s[%d]", path, k), x[k], y[k], geoms, diffs)
		}
	case float64:
		y, ok := b.(float64)
		if !ok || math.Abs(x-y) > 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v vs %v", path, a, b))
		}
	default:
		if a != b {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v vs %v", path, short(a), short(b)))
		}
	}
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// scopes returns the city and the scopes of the grids named (their subtrees, their parents'
// and their subdistricts').
func scopes(t *testing.T, s *postgis.Store, ids ...int64) []*grid.GridKey {
	t.Helper()
	out := []*grid.GridKey{nil}
	chain := q1[[]int64](t, s, `SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(tile_grid_chain($1)) x
		WHERE EXISTS (SELECT 1 FROM grids WHERE id = x AND valid_to IS NULL)`, ids)
	for _, id := range chain {
		out = append(out, &grid.GridKey{ID: id})
	}
	return out
}

// checkAfter compares the kept report with the scratch one for the city and the scopes
// around the grids an edit named.
func checkAfter(t *testing.T, s *postgis.Store, what string, ids ...int64) {
	t.Helper()
	for _, root := range scopes(t, s, ids...) {
		sameCoverage(t, s, what, root)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM coverage_dirty`); n != 0 {
		t.Errorf("%s: %d rows left in coverage_dirty", what, n)
	}
}

// TestCoverageKeptAfterEdits: after each kind of edit, the kept report equals the one
// measured from scratch, for the city and for the scopes around the edit.
func TestCoverageKeptAfterEdits(t *testing.T) {
	s, ctx := demoTest(t)
	checkAfter(t, s, "the demo city as loaded")

	target, donor, moved := pair(t, s, 3)
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: moved}); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "paint", target.ID, donor.ID)
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "undo paint", target.ID, donor.ID)
	if _, err := s.Redo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "redo paint", target.ID, donor.ID)

	name := "改名 renamed"
	tg := state(t, s, target.ID)
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: tg.ID}, IfVersion: tg.Version, Name: &name}); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "rename", target.ID)

	// reshape: the target reaches into the donor, and beyond its parent (clipped)
	tg, dn := state(t, s, target.ID), state(t, s, donor.ID)
	var grown orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `SELECT ST_Multi(ST_Union(t.geom, ST_Intersection(d.geom,
		ST_Buffer(t.geom, ST_Distance(ST_Centroid(t.geom), ST_Centroid(d.geom)) / 2))))
		FROM grids t, grids d WHERE t.id = $1 AND d.id = $2`, tg.ID, dn.ID).Scan(&grown); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: tg.ID}, IfVersion: tg.Version, Geometry: grown}); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "reshape", target.ID, donor.ID)

	tg = state(t, s, target.ID)
	var line orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
		FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, tg.ID).Scan(&line); err != nil {
		t.Fatal(err)
	}
	res, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: tg.ID}, IfVersion: tg.Version, Line: line, Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "split", idsOfResult(res)...)

	a, b := state(t, s, res.Grids[0].ID), state(t, s, res.Grids[1].ID)
	res, err = s.Merge(ctx, planner, grid.Merge{Grids: []grid.VersionedKey{
		{GridKey: grid.GridKey{ID: a.ID}, Version: a.Version}, {GridKey: grid.GridKey{ID: b.ID}, Version: b.Version}}})
	if err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "merge", a.ID, b.ID)
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "undo merge", a.ID, b.ID)
}

func idsOfResult(r grid.EditResult) []int64 {
	var out []int64
	for _, g := range r.Grids {
		out = append(out, g.ID)
	}
	return out
}

// TestCoverageKeptAfterGridFeaturesAndImports: grids created and updated from GeoJSON (an
// overlap appears), grids and buildings imported from files (a subdistrict reaching out of
// the city, buildings in a gap and across a boundary), and the undo of the features.
func TestCoverageKeptAfterGridFeaturesAndImports(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, _ := pair(t, s, 1)
	res, err := s.UpsertGrids(ctx, planner, []grid.GridFeature{
		{Index: 0, ID: target.ID, Version: 1, Name: "updated", Geom: target.Geom},
		{Index: 1, Level: 3, Name: "from QGIS", Geom: donor.Geom},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "grid features", idsOfResult(res)...)
	wantFindings(t, s, "grid features", func(f grid.Findings) bool { return f.MultiGrid > 0 && f.Overlaps > 1 })
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "undo grid features", idsOfResult(res)...)

	// a subdistrict half outside the city, over the first one's south-west corner
	l1 := q1[string](t, s, `SELECT json_build_object('type', 'FeatureCollection', 'features', json_build_array(
		json_build_object('type', 'Feature', 'properties', json_build_object('name', '新街道'),
		                  'geometry', ST_AsGeoJSON(ST_Translate(ST_Envelope(g.geom), -0.6 * (ST_XMax(g.geom) - ST_XMin(g.geom)), 0))::json)))::text
		FROM grids g WHERE g.level = 1 ORDER BY g.code LIMIT 1`)
	if _, err := s.ImportGrids(ctx, []postgis.Input{{Name: "l1.geojson", R: strings.NewReader(l1)}}, postgis.GridImport{Level: 1}); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "grid import", q1[int64](t, s, `SELECT max(id) FROM grids`))
	wantFindings(t, s, "grid import", func(f grid.Findings) bool { return f.OutsideParent > 0 && f.Overlaps > 1 })

	// buildings: one in the demo's gap, one across a grid boundary, one with households given
	gap := q1[string](t, s, `SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(ST_Transform(geom_3857, 4326)), 0.0001, 2))
		FROM tile_coverage WHERE kind = 'gap' ORDER BY id LIMIT 1`)
	across := q1[string](t, s, `SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(ST_Intersection(a.geom, b.geom)), 0.0002, 2))
		FROM grids a JOIN grids b ON a.id = $1 AND b.id = $2`, target.ID, donor.ID)
	inside := q1[string](t, s, `SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(geom), 0.0001, 2)) FROM grids WHERE id = $1`, donor.ID)
	fc := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"name":"in the gap"},"geometry":` + gap + `},
		{"type":"Feature","properties":{"name":"across"},"geometry":` + across + `},
		{"type":"Feature","properties":{"name":"counted","households":12},"geometry":` + inside + `}]}`
	if _, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "b.geojson", R: strings.NewReader(fc)}}, postgis.BuildingImport{}); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "building import", target.ID, donor.ID)
	wantFindings(t, s, "building import", func(f grid.Findings) bool { return f.BuildingsOutside > 0 && f.Straddlers > 4 })
}

// TestCoverageKeptAfterStaffEdits: assignments started and ended (grid, building and unit
// leaders), a worker retired, and the undo of it.
func TestCoverageKeptAfterStaffEdits(t *testing.T) {
	s, ctx := demoTest(t)
	unstaffed := q1[int64](t, s, `SELECT g.id FROM grids g JOIN tile_grids t ON t.grid_id = g.id WHERE NOT t.staffed AND g.level = 3 ORDER BY g.code LIMIT 1`)
	wk, err := s.CreateWorker(ctx, planner, grid.WorkerPatch{DisplayName: ptr("新人"), Role: ptr(grid.RoleGridWorker)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &unstaffed, Role: grid.RoleGridWorker})
	if err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "assignment start", unstaffed)
	if _, err := s.EndAssignment(ctx, planner, a.ID); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "assignment end", unstaffed)

	// the leaders of a building and of a unit end: both appear unstaffed
	var bldA, unitA, bldGrid int64
	if err := s.Pool().QueryRow(ctx, `SELECT a.id, (SELECT x.id FROM assignments x JOIN units u ON u.id = x.unit_id
		WHERE u.building_id = b.id AND x.valid_to IS NULL LIMIT 1), b.grid_id
		FROM assignments a JOIN buildings b ON b.id = a.building_id WHERE a.valid_to IS NULL ORDER BY b.code LIMIT 1`).Scan(&bldA, &unitA, &bldGrid); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{bldA, unitA} {
		if _, err := s.EndAssignment(ctx, planner, id); err != nil {
			t.Fatal(err)
		}
	}
	checkAfter(t, s, "leaders ended", bldGrid)
	wantFindings(t, s, "leaders ended", func(f grid.Findings) bool { return f.UnstaffedBuildings == 1 && f.UnstaffedUnits == 1 })

	// retiring a worker of a staffed grid (and what else they hold)
	var w grid.WorkerInfo
	wid := q1[int64](t, s, `SELECT a.worker_id FROM assignments a JOIN grids g ON g.id = a.grid_id
		WHERE a.valid_to IS NULL AND g.level = 3 ORDER BY g.code LIMIT 1`)
	if w, err = s.Worker(ctx, wid); err != nil {
		t.Fatal(err)
	}
	grids := q1[[]int64](t, s, `SELECT array_agg(grid_id) FROM assignments WHERE worker_id = $1 AND valid_to IS NULL`, wid)
	if _, err := s.RetireWorker(ctx, planner, wid, w.Version); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "worker retired", grids...)
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "undo retire", grids...)
}

// TestCoverageKeptAfterSQLWrites: writes that bypass the store (psql, a GIS tool) keep the
// report current too: households, units, a building deleted, the city's boundary shrunk,
// a grid's parent moved.
func TestCoverageKeptAfterSQLWrites(t *testing.T) {
	s, ctx := demoTest(t)
	g3 := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 ORDER BY code LIMIT 1`)
	steps := []struct{ what, sql string }{
		{"households added", `INSERT INTO households (unit_id, label, floor, occupancy, residents)
			SELECT u.id, 'X' || u.id, 1, 'occupied', 3 FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.grid_id = $1`},
		{"a unit deleted", `DELETE FROM units WHERE id = (SELECT min(u.id) FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.grid_id = $1)`},
		{"a unit added", `INSERT INTO units (building_id, label, geom)
			SELECT b.id, '9单元', b.anchor FROM buildings b WHERE b.grid_id = $1 ORDER BY b.id LIMIT 1`},
		{"a building deleted", `DELETE FROM buildings WHERE id = (SELECT max(id) FROM buildings WHERE grid_id = $1)`},
		{"the city shrunk", `UPDATE city SET boundary = ST_Multi(ST_Buffer(boundary, -0.0005)) WHERE $1::bigint IS NOT NULL`},
		{"a grid in two pieces", `UPDATE grids SET geom = ST_Multi(ST_Union(geom, ST_Translate(ST_Envelope(geom), 0, -2 * (ST_YMax(geom) - ST_YMin(geom)))))
			WHERE id = $1`},
		{"a grid moved to another parent", `UPDATE grids SET parent_id = (SELECT o.id FROM grids o, grids p
			WHERE p.id = grids.parent_id AND o.level = 2 AND o.id <> p.id AND o.parent_id = p.parent_id ORDER BY o.code LIMIT 1),
			code = (SELECT left(o.code, 12) || '9' || right(grids.code, 2) FROM grids o, grids p
			WHERE p.id = grids.parent_id AND o.level = 2 AND o.id <> p.id AND o.parent_id = p.parent_id ORDER BY o.code LIMIT 1)
			WHERE id = $1`},
	}
	for _, st := range steps {
		if _, err := s.Pool().Exec(ctx, st.sql, g3); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		checkAfter(t, s, st.what, g3)
	}
	wantFindings(t, s, "SQL writes", func(f grid.Findings) bool { return f.NonContiguous == 1 && f.OutsideParent > 1 && f.Gaps > 1 })
}

// wantFindings fails t unless the city's findings pass ok: the comparison had something to
// compare.
func wantFindings(t *testing.T, s *postgis.Store, what string, ok func(grid.Findings) bool) {
	t.Helper()
	r, err := s.Coverage(context.Background(), grid.CoverageOptions{Page: &grid.Page{}})
	if err != nil {
		t.Fatal(err)
	}
	if !ok(r.Findings) {
		t.Errorf("%s: findings %+v", what, r.Findings)
	}
}

// TestCoverageKeptAcrossTransactions: several writes in one transaction are kept once, at
// commit; a transaction rolled back (and a savepoint rolled back) leaves the kept facts as
// they were.
func TestCoverageKeptAcrossTransactions(t *testing.T) {
	s, ctx := demoTest(t)
	target, donor, moved := pair(t, s, 2)
	before, err := s.Coverage(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writes := func(tx pgx.Tx) error {
		for _, w := range []struct {
			sql string
			arg any
		}{
			{`UPDATE buildings SET footprint = ST_Multi(ST_Translate(footprint, 0.002, 0)) WHERE id = ANY($1)`, moved},
			{`UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, 0.0003, 'join=mitre')) WHERE id = $1`, target.ID},
			{`UPDATE assignments SET valid_to = now() WHERE grid_id = $1 AND valid_to IS NULL`, donor.ID},
			{`INSERT INTO buildings (name, footprint) SELECT 'new', ST_Multi(ST_Buffer(ST_PointOnSurface(geom), 0.0001)) FROM grids WHERE id = $1`, donor.ID},
		} {
			if _, err := tx.Exec(ctx, w.sql, w.arg); err != nil {
				return err
			}
		}
		return nil
	}
	// rolled back: nothing kept changes
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := writes(tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.Coverage(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var geoms [][2]string
	var diffs []string
	compareJSON("", toTree(t, before), toTree(t, after), &geoms, &diffs)
	if len(diffs) > 0 {
		t.Errorf("a rolled back transaction changed the kept report: %v", diffs)
	}
	checkAfter(t, s, "rolled back", target.ID, donor.ID)

	// committed, with a savepoint rolled back in the middle
	tx, err = s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := writes(tx); err != nil {
		t.Fatal(err)
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Exec(ctx, `DELETE FROM buildings WHERE grid_id = $1`, target.ID); err != nil {
		t.Fatal(err)
	}
	if err := sp.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkAfter(t, s, "several writes in one transaction, a savepoint rolled back", target.ID, donor.ID)
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id = $1`, target.ID); n == 0 {
		t.Error("the savepoint's delete was kept")
	}
}

// TestCoverageKeptConcurrentWrites: transactions touching grids of one community at once
// (they queue on the data version's row, the first writing statement of each); the kept
// facts hold all of them.
func TestCoverageKeptConcurrentWrites(t *testing.T) {
	s, ctx := demoTest(t)
	a, b, _ := pair(t, s, 1)
	wk := q1[int64](t, s, `INSERT INTO workers (display_name, role) VALUES ('并发', 'grid_worker') RETURNING id`)
	for round := 0; round < 4; round++ {
		writes := []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO assignments (worker_id, grid_id, role) VALUES ($1, $2, 'grid_worker')`, []any{wk, a.ID}},
			{`INSERT INTO households (unit_id, label, floor, residents, occupancy)
			  SELECT u.id, 'C' || $2::int || '-' || u.id, 1, 2, 'occupied' FROM units u JOIN buildings x ON x.id = u.building_id
			  WHERE x.grid_id = $1`, []any{b.ID, round}},
			{`UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, 0.00005 * $2::int, 'join=mitre')) WHERE id = $1`, []any{b.ID, round % 2}},
		}
		errs := make(chan error, len(writes))
		for _, w := range writes {
			go func() {
				errs <- pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, w.sql, w.args...)
					return err
				})
			}()
		}
		for range writes {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		checkAfter(t, s, fmt.Sprintf("round %d", round), a.ID, b.ID)
		if _, err := s.Pool().Exec(ctx, `UPDATE assignments SET valid_to = now() WHERE worker_id = $1 AND valid_to IS NULL`, wk); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCoverageRebuild: coverage_rebuild() (what a bulk loader calls after writing with the
// triggers off) gives back exactly the kept facts.
func TestCoverageRebuild(t *testing.T) {
	s, ctx := demoTest(t)
	dump := func() string {
		rows, err := s.Pool().Query(ctx, `SELECT row_to_json(c)::text FROM coverage_grids c ORDER BY grid_id`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out := q1[string](t, s, `SELECT coalesce(string_agg(grid_id || ' ' || coalesce(parent_id::text, 'city') || ' ' || round(area_m2::numeric, 6), ',' ORDER BY grid_id, area_m2), '') FROM coverage_outside`)
		sort.Strings(lines)
		return strings.Join(lines, "\n") + "\n" + out
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE city SET boundary = ST_Multi(ST_Buffer(boundary, -0.0005))`); err != nil {
		t.Fatal(err)
	}
	kept := dump()
	// set-based (as for a bulk load) and grid by grid (as for an edit)
	for _, many := range []string{"0", "1000000"} {
		err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('gridmap.coverage_many', $1, true)`, many); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `SELECT coverage_rebuild()`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if rebuilt := dump(); rebuilt != kept {
			t.Errorf("facts rebuilt with coverage_many %s differ from the kept ones", many)
		}
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM coverage_outside`); n == 0 {
		t.Error("no level-1 grid outside the shrunk city")
	}
}

// TestCoveragePaging: pages of each list are slices of the whole list, with its length.
func TestCoveragePaging(t *testing.T) {
	s, ctx := demoTest(t)
	// end some building leaders' assignments so that a list of places is long
	if _, err := s.Pool().Exec(ctx, `UPDATE assignments SET valid_to = now() WHERE role = 'building_leader'
		AND building_id IN (SELECT id FROM buildings ORDER BY code LIMIT 25)`); err != nil {
		t.Fatal(err)
	}
	all, err := s.Coverage(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Page.Limit != nil || all.Page.Total.UnstaffedBuildings != 25 || len(all.Unstaffed.Buildings) != 25 || all.Page.Total.Grids != 176 {
		t.Fatalf("whole report: page %+v, %d unstaffed buildings", all.Page, len(all.Unstaffed.Buildings))
	}
	for _, p := range []grid.Page{{Limit: 10}, {Limit: 10, Offset: 20}, {Limit: 0}, {Limit: 5, Offset: 300}} {
		r, err := s.Coverage(ctx, grid.CoverageOptions{Page: &p})
		if err != nil {
			t.Fatal(err)
		}
		if r.Page.Total != all.Page.Total || r.Findings != all.Findings || *r.Page.Limit != p.Limit || r.Page.Offset != p.Offset {
			t.Errorf("page %+v: %+v", p, r.Page)
		}
		lo, hi := min(p.Offset, 25), min(p.Offset+p.Limit, 25)
		if fmt.Sprint(r.Unstaffed.Buildings) != fmt.Sprint(all.Unstaffed.Buildings[lo:hi]) {
			t.Errorf("page %+v of unstaffed buildings: %v", p, r.Unstaffed.Buildings)
		}
		glo, ghi := min(p.Offset, 176), min(p.Offset+p.Limit, 176)
		if len(r.Grids) != ghi-glo || (len(r.Grids) > 0 && r.Grids[0].Code != all.Grids[glo].Code) {
			t.Errorf("page %+v of grids: %d grids", p, len(r.Grids))
		}
	}
}
