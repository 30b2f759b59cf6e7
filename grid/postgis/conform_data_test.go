package postgis_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// dataSet returns the directory of one real data set under testdb.DataDir: missing, it fails
// the test under CI=true and skips it elsewhere, as DataDir does.
func dataSet(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(testdb.DataDir(t), name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("test data %s not found at %q (set GRIDMAP_TESTDATA)", name, dir)
		}
		t.Skipf("no test data at %q (set GRIDMAP_TESTDATA); skipping", dir)
	}
	return dir
}

// importCity imports the level-1 and level-2 files of a data set and its buildings.
func importCity(t testing.TB, s *postgis.Store, l1, l2 postgis.GridImport, files1, files2, buildings []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ImportGrids(ctx, openInputs(t, files1...), l1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportGrids(ctx, openInputs(t, files2...), l2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportBuildings(ctx, openInputs(t, buildings...), postgis.BuildingImport{}); err != nil {
		t.Fatal(err)
	}
}

// importTaipei imports Taipei's districts (level 1), villages (level 2) and buildings.
func importTaipei(t testing.TB, s *postgis.Store, dir string) {
	buildings, _ := filepath.Glob(filepath.Join(dir, "buildings", "*.json"))
	importCity(t, s, postgis.GridImport{Level: 1, NameProp: "TOWNNAME", CityName: "臺北市", AdminCode: "630000"},
		postgis.GridImport{Level: 2, NameProp: "VILLAGENAM"},
		[]string{filepath.Join(dir, "districts.geojson")}, []string{filepath.Join(dir, "villages.geojson")}, buildings)
}

// levelTwoFindings counts the coverage report's level-2 gaps (pieces of a level-1 grid no
// level-2 grid covers), level-2 overlaps and level-2 overhangs, with their m².
type levelTwoFindings struct {
	Gaps, Overlaps, Outside     int
	GapM2, OverlapM2, OutsideM2 float64
}

func findingsL2(t *testing.T, s *postgis.Store) levelTwoFindings {
	t.Helper()
	r, err := s.Coverage(context.Background(), grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var f levelTwoFindings
	for _, g := range r.Gaps {
		if g.Parent != nil && g.Parent.Level == 1 {
			f.Gaps++
			f.GapM2 += g.AreaM2
		}
	}
	for _, o := range r.Overlaps {
		if o.Grids[0].Level == 2 {
			f.Overlaps++
			f.OverlapM2 += o.AreaM2
		}
	}
	for _, o := range r.OutsideParent {
		if o.Grid.Level == 2 {
			f.Outside++
			f.OutsideM2 += o.AreaM2
		}
	}
	return f
}

// thinGapsL2 counts the pieces of level-1 grids no level-2 grid covers that are at least
// 1 m² and narrower than snapM metres (no circle of that diameter fits in them).
func thinGapsL2(t *testing.T, s *postgis.Store, snapM float64) int {
	return q1[int](t, s, `
		SELECT count(*)::int
		FROM grids p
		CROSS JOIN LATERAL (SELECT ST_Difference(p.geom, ST_Union(k.geom)) AS diff FROM grids k
		                    WHERE k.parent_id = p.id AND k.valid_to IS NULL) u
		CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(u.diff, 3)) d
		CROSS JOIN LATERAL (SELECT ST_Centroid(d.geom) AS c) c
		WHERE p.level = 1 AND p.valid_to IS NULL AND gridmap_area_m2(d.geom) >= 1
		  AND ST_IsEmpty(ST_Buffer(ST_Transform(d.geom, 32600 + floor((ST_X(c.c) + 180) / 6)::int + 1), -$1::float8 / 2))`, snapM)
}

// levelTwoOf maps each building to the level-2 grid holding its point on surface (0: none),
// by geometry rather than by the derived grid.
func levelTwoOf(t testing.TB, s *postgis.Store) map[int64]int64 {
	return idPairs(t, s, `
		SELECT b.id, coalesce((SELECT g.id FROM grids g WHERE g.level = 2 AND g.valid_to IS NULL
		                        AND g.geom && b.anchor AND ST_Intersects(g.geom, b.anchor) ORDER BY g.id LIMIT 1), 0)
		FROM buildings b`)
}

// idPairs runs a query of two bigint columns into a map from the first to the second.
func idPairs(t testing.TB, s *postgis.Store, sql string, args ...any) map[int64]int64 {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		out[a] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// buildingMoves compares two maps of levelTwoOf: buildings that kept their level-2 grid,
// lost it (now in none), gained one (were in none) or changed to another.
func buildingMoves(before, after map[int64]int64) (kept, lost, gained, changed int) {
	for b, g := range before {
		switch a := after[b]; {
		case a == g:
			kept++
		case a == 0:
			lost++
		case g == 0:
			gained++
		default:
			changed++
		}
	}
	return
}

// inTwoL2 counts buildings whose point on surface lies in two current level-2 grids.
func inTwoL2(t *testing.T, s *postgis.Store) int {
	return q1[int](t, s, `SELECT count(*)::int FROM buildings b WHERE (SELECT count(*) FROM grids g
		WHERE g.level = 2 AND g.valid_to IS NULL AND g.geom && b.anchor AND ST_Intersects(g.geom, b.anchor)) > 1`)
}

// Taipei: the village file and the district file disagree along many district boundaries.
// Conform clips 155 villages to their districts and fills the 10 gap slivers under 5 m; the
// 90 gaps left are all wider (many are parts of a district the village file gives to a village
// of the neighbouring district: clipped off there, they stay gaps here, and the 469 buildings
// in them are in no village now). Every building is in one village at most, before and after.
func TestConformTaipei(t *testing.T) {
	dir := dataSet(t, "taipei")
	t.Parallel()
	s := testdb.New(t)
	ctx := context.Background()
	importTaipei(t, s, dir)
	if f := findingsL2(t, s); f.Gaps != 102 || f.Overlaps != 0 || f.Outside != 152 {
		t.Fatalf("before: %+v, want 102 gaps, 0 overlaps, 152 villages outside their district", f)
	}
	if n := thinGapsL2(t, s, 5); n != 10 {
		t.Fatalf("before: %d gaps under 5 m, want 10", n)
	}
	before := levelTwoOf(t, s)
	res, err := s.Conform(ctx, planner, grid.Conform{Level: 2, SnapM: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Conform
	if c.Grids != 448 || c.Changed != 155 || c.GapSlivers.Count != 10 || c.OverlapSlivers.Count != 0 || c.Clipped.Count != 187 ||
		c.RemainingGaps.Count != 90 || c.RemainingOverlaps.Count != 0 {
		t.Errorf("summary %+v", c)
	}
	f := findingsL2(t, s)
	if f.Gaps != 90 || f.Overlaps != 0 || f.Outside != 0 || !near(f.GapM2, c.RemainingGaps.AreaM2, 1e-6) {
		t.Errorf("after: %+v, want 90 gaps (%.0f m²), no overlap, no village outside its district", f, c.RemainingGaps.AreaM2)
	}
	if n := thinGapsL2(t, s, 5); n != 0 {
		t.Errorf("after: %d gaps under 5 m", n)
	}
	// The buildings in the parts clipped off lose their village: by the district file they lie
	// in the neighbouring district, in a gap none of its villages covers.
	kept, lost, gained, changed := buildingMoves(before, levelTwoOf(t, s))
	if kept != len(before)-469 || lost != 469 || gained != 0 || changed != 0 || inTwoL2(t, s) != 0 {
		t.Errorf("buildings: %d kept, %d lost, %d gained, %d changed village; %d in two", kept, lost, gained, changed, inTwoL2(t, s))
	}
}

// Liechtenstein's municipalities and districts come from the same OpenStreetMap ways: they
// agree to the vertex, and conform finds nothing to do.
func TestConformLiechtenstein(t *testing.T) {
	dir := dataSet(t, "liechtenstein")
	t.Parallel()
	s := testdb.New(t)
	ctx := context.Background()
	importCity(t, s, postgis.GridImport{Level: 1, CityName: "Liechtenstein", AdminCode: "090000"}, postgis.GridImport{Level: 2},
		[]string{filepath.Join(dir, "districts.geojson")}, []string{filepath.Join(dir, "municipalities.geojson")},
		[]string{filepath.Join(dir, "buildings.geojson")})
	if f := findingsL2(t, s); f != (levelTwoFindings{}) {
		t.Fatalf("before: %+v, want nothing", f)
	}
	before := levelTwoOf(t, s)
	w := snapshot(t, s)
	res, err := s.Conform(ctx, planner, grid.Conform{Level: 2, SnapM: 5})
	if err != nil {
		t.Fatal(err)
	}
	wantNoWrite(t, s, w)
	if c := res.Conform; c.Grids != 11 || c.Changed != 0 || c.RemainingGaps.Count != 0 || c.RemainingOverlaps.Count != 0 {
		t.Errorf("summary %+v", c)
	}
	if f := findingsL2(t, s); f != (levelTwoFindings{}) {
		t.Errorf("after: %+v", f)
	}
	if kept, _, _, _ := buildingMoves(before, levelTwoOf(t, s)); kept != len(before) {
		t.Errorf("%d of %d buildings kept their municipality", kept, len(before))
	}
}
