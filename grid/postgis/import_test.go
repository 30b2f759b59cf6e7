package postgis_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

func openInputs(t testing.TB, paths ...string) []postgis.Input {
	t.Helper()
	var in []postgis.Input
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		in = append(in, postgis.Input{Name: filepath.Base(p), R: f})
	}
	return in
}

func dataVersion(t *testing.T, s *postgis.Store) int64 {
	t.Helper()
	v, _, err := s.DataVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The real Taipei data: 12 districts → level 1, 448 villages → level 2, 19,878 building
// footprints with self-intersections and duplicates. Every feature is accounted for, and a
// second run changes nothing.
func TestImportTaipei(t *testing.T) {
	dir := filepath.Join(testdb.DataDir(t), "taipei")
	s := testdb.New(t)
	ctx := context.Background()

	d, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "districts.geojson")),
		postgis.GridImport{Level: 1, NameProp: "TOWNNAME", CityName: "臺北市", AdminCode: "630000"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "villages.geojson")),
		postgis.GridImport{Level: 2, NameProp: "VILLAGENAM"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Imported+d.Repaired != 12 || v.Imported+v.Repaired != 448 {
		t.Fatalf("districts %+v, villages %+v: want 12 and 448 grids", d, v)
	}
	db := s.Pool()
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM grids c JOIN grids p ON p.id = c.parent_id
		WHERE c.level = 2 AND p.level = 1`)); n != 448 {
		t.Fatalf("%d villages with a parent district, want 448", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "buildings", "*.json"))
	if len(files) == 0 {
		t.Fatal("no building files")
	}
	b, err := s.ImportBuildings(ctx, openInputs(t, files...), postgis.BuildingImport{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Read != 19878 {
		t.Fatalf("read %d features, want 19878", b.Read)
	}
	if got := b.Imported + b.Repaired + b.Duplicates + len(b.Rejected); got != b.Read {
		t.Fatalf("summary %+v accounts for %d of %d features", b, got, b.Read)
	}
	if b.Repaired == 0 || b.Duplicates == 0 {
		t.Fatalf("summary %+v: the data has self-intersections and duplicates", b)
	}
	stored := count(t, db.QueryRow(ctx, "SELECT count(*) FROM buildings"))
	if stored != b.Imported+b.Repaired {
		t.Fatalf("%d buildings stored, summary says %d", stored, b.Imported+b.Repaired)
	}
	if n := count(t, db.QueryRow(ctx, "SELECT count(*) FROM buildings WHERE repaired")); n != b.Repaired {
		t.Fatalf("%d flagged repaired, summary says %d", n, b.Repaired)
	}
	// households are estimated (the data has none) and flagged; grids derived; buildings outside
	// every village are kept (with no grid), not dropped
	if n := count(t, db.QueryRow(ctx, "SELECT count(*) FROM buildings WHERE NOT households_estimated")); n != 0 {
		t.Fatalf("%d buildings with households not flagged as estimated", n)
	}
	if n := count(t, db.QueryRow(ctx, "SELECT sum(households) FROM buildings")); n < 50000 || n > 2000000 {
		t.Fatalf("estimated %d households: implausible", n)
	}
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.level = 2
		AND ST_Intersects(g.geom, b.anchor)`)); n < stored*9/10 {
		t.Fatalf("only %d of %d buildings derived into a village", n, stored)
	}

	// a second run of every import changes nothing at all
	version := dataVersion(t, s)
	audits := count(t, db.QueryRow(ctx, "SELECT count(*) FROM audit_log"))
	d2, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "districts.geojson")), postgis.GridImport{Level: 1, NameProp: "TOWNNAME"})
	if err != nil || d2.Duplicates != 12 || d2.Imported+d2.Repaired != 0 {
		t.Fatalf("district re-import %+v, %v", d2, err)
	}
	v2, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "villages.geojson")), postgis.GridImport{Level: 2, NameProp: "VILLAGENAM"})
	if err != nil || v2.Duplicates != 448 {
		t.Fatalf("village re-import %+v, %v", v2, err)
	}
	b2, err := s.ImportBuildings(ctx, openInputs(t, files...), postgis.BuildingImport{})
	if err != nil || b2.Duplicates != b2.Read || b2.Imported+b2.Repaired != 0 {
		t.Fatalf("building re-import %+v, %v", b2, err)
	}
	if dataVersion(t, s) != version || count(t, db.QueryRow(ctx, "SELECT count(*) FROM audit_log")) != audits ||
		count(t, db.QueryRow(ctx, "SELECT count(*) FROM buildings")) != stored {
		t.Fatal("re-import changed the database")
	}
}

const twoSquares = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"A","height":9},"geometry":{"type":"Polygon","coordinates":[[[121.50,25.00],[121.5001,25.00],[121.5001,25.0001],[121.50,25.0001],[121.50,25.00]]]}},
{"type":"Feature","properties":{"name":"B","height":30},"geometry":{"type":"Polygon","coordinates":[[[121.51,25.01],[121.5101,25.01],[121.5101,25.0101],[121.51,25.0101],[121.51,25.01]]]}}
]}`

// Bad input never leaves half an import behind, and says which file and feature.
func TestImportBadGeoJSON(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		doc        string
		skip       bool
		wantErr    string // fragment of the error message; "" = no error
		wantStored int
		wantReject string // fragment of the first rejection reason
	}{
		{"truncated file", twoSquares[:len(twoSquares)/2], false, "truncated", 0, ""},
		{"not JSON", "hello", false, "invalid JSON", 0, ""},
		{"wrong top-level type", `{"type":"Topology","objects":{}}`, false, "Topology", 0, ""},
		{"point feature", strings.Replace(twoSquares, `"type":"Polygon","coordinates":[[[121.50,25.00],[121.5001,25.00],[121.5001,25.0001],[121.50,25.0001],[121.50,25.00]]]`, `"type":"Point","coordinates":[121.5,25.0]`, 1), false, "rejected", 0, "not a polygon (Point)"},
		{"lon 500", strings.Replace(twoSquares, "121.51,25.01],", "500,25.01],", 1), false, "rejected", 0, "out of range"},
		{"lon 500, skip invalid", strings.Replace(twoSquares, "121.51,25.01],", "500,25.01],", 1), true, "", 1, "out of range"},
		{"bad height", strings.Replace(twoSquares, `"height":30`, `"height":"tall"`, 1), false, "rejected", 0, "height is not a number"},
		{"collapsed polygon", strings.Replace(twoSquares, `[[[121.51,25.01],[121.5101,25.01],[121.5101,25.0101],[121.51,25.0101],[121.51,25.01]]]`, `[[[121.51,25.01],[121.5101,25.01],[121.51,25.01],[121.5101,25.01],[121.51,25.01]]]`, 1), false, "rejected", 0, "empty polygon"},
		{"good", twoSquares, false, "", 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testdb.New(t)
			before := dataVersion(t, s)
			sum, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "in.geojson", R: strings.NewReader(tc.doc)}},
				postgis.BuildingImport{SkipInvalid: tc.skip})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.wantErr != "" {
				if grid.ErrorCode(err) != grid.EINVALID || !strings.Contains(grid.ErrorMessage(err), tc.wantErr) {
					t.Fatalf("error %v, want EINVALID with %q", err, tc.wantErr)
				}
				if !strings.Contains(grid.ErrorMessage(err), "in.geojson") {
					t.Fatalf("error %q does not name the file", grid.ErrorMessage(err))
				}
			}
			if tc.wantReject != "" {
				if len(sum.Rejected) == 0 || !strings.Contains(sum.Rejected[0].Reason, tc.wantReject) || sum.Rejected[0].File != "in.geojson" {
					t.Fatalf("rejections %v, want %q", sum.Rejected, tc.wantReject)
				}
			}
			stored := count(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM buildings"))
			if stored != tc.wantStored {
				t.Fatalf("%d buildings stored, want %d", stored, tc.wantStored)
			}
			if stored == 0 && dataVersion(t, s) != before {
				t.Fatal("a failed import changed the data version")
			}
		})
	}
}

// A truncated second file rolls back the first file's features too: one import, one transaction.
func TestImportAllOrNothingAcrossFiles(t *testing.T) {
	s := testdb.New(t)
	ctx := context.Background()
	_, err := s.ImportBuildings(ctx, []postgis.Input{
		{Name: "good.geojson", R: strings.NewReader(twoSquares)},
		{Name: "cut.geojson", R: strings.NewReader(twoSquares[:100])},
	}, postgis.BuildingImport{SkipInvalid: true})
	if grid.ErrorCode(err) != grid.EINVALID || !strings.Contains(grid.ErrorMessage(err), "cut.geojson") {
		t.Fatalf("got %v, want EINVALID naming cut.geojson", err)
	}
	if n := count(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM buildings")); n != 0 {
		t.Fatalf("%d buildings written by a failed import", n)
	}
}

func TestImportGridsHierarchy(t *testing.T) {
	s := testdb.New(t)
	ctx := context.Background()
	l1 := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"D"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}}]}`
	l2 := `{"type":"FeatureCollection","features":[
	  {"type":"Feature","properties":{"n":"V1"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,2],[0,2],[0,0]]]}},
	  {"type":"Feature","properties":{"n":"V2"},"geometry":{"type":"Polygon","coordinates":[[[1,0],[2,0],[2,2],[1,2],[1,0]]]}},
	  {"type":"Feature","properties":{"n":"far"},"geometry":{"type":"Polygon","coordinates":[[[50,50],[51,50],[51,51],[50,51],[50,50]]]}}]}`
	// level 2 before any level 1: no city, refused
	if _, err := s.ImportGrids(ctx, []postgis.Input{{Name: "l2", R: strings.NewReader(l2)}}, postgis.GridImport{Level: 2, NameProp: "n"}); grid.ErrorCode(err) != grid.EINVALID {
		t.Fatalf("level 2 first: %v, want EINVALID", err)
	}
	if _, err := s.ImportGrids(ctx, []postgis.Input{{Name: "l1", R: strings.NewReader(l1)}}, postgis.GridImport{Level: 1, AdminCode: "110101"}); err != nil {
		t.Fatal(err)
	}
	// the village outside every district is rejected, so nothing is written...
	sum, err := s.ImportGrids(ctx, []postgis.Input{{Name: "l2", R: strings.NewReader(l2)}}, postgis.GridImport{Level: 2, NameProp: "n"})
	if grid.ErrorCode(err) != grid.EINVALID || len(sum.Rejected) != 1 || sum.Rejected[0].Index != 2 || !strings.Contains(sum.Rejected[0].Reason, "outside every level-1 grid") {
		t.Fatalf("got %+v, %v", sum, err)
	}
	// ...unless asked to skip it
	sum, err = s.ImportGrids(ctx, []postgis.Input{{Name: "l2", R: strings.NewReader(l2)}}, postgis.GridImport{Level: 2, NameProp: "n", SkipInvalid: true})
	if err != nil || sum.Imported != 2 {
		t.Fatalf("got %+v, %v", sum, err)
	}
	rows, _ := s.Pool().Query(ctx, `SELECT c.code || ' ' || c.name || ' ' || p.code FROM grids c JOIN grids p ON p.id = c.parent_id ORDER BY c.code`)
	var got []string
	for rows.Next() {
		var line string
		rows.Scan(&line)
		got = append(got, line)
	}
	want := []string{"110101001001000 V1 110101001000000", "110101001002000 V2 110101001000000"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("grids %v, want %v", got, want)
	}
}
