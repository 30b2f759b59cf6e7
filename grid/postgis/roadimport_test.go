package postgis_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// The Liechtenstein roads (OpenStreetMap lines with a highway class): every feature is
// accounted for, classes and names come along, the tiles' Web-Mercator copy is written with
// each line, and a second run changes nothing.
func TestImportRoadsLiechtenstein(t *testing.T) {
	file := filepath.Join(testdb.DataDir(t), "liechtenstein", "roads.geojson")
	s := testdb.New(t)
	ctx := context.Background()
	db := s.Pool()
	sum, err := s.ImportRoads(ctx, openInputs(t, file), postgis.RoadImport{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 2751 || len(sum.Rejected) != 0 {
		t.Fatalf("summary %+v: want 2751 read, none rejected", sum)
	}
	if got := sum.Imported + sum.Repaired + sum.Duplicates; got != sum.Read {
		t.Fatalf("summary %+v accounts for %d of %d features", sum, got, sum.Read)
	}
	stored := count(t, db.QueryRow(ctx, "SELECT count(*) FROM roads"))
	if stored != sum.Imported+sum.Repaired {
		t.Fatalf("%d roads stored, summary says %d", stored, sum.Imported+sum.Repaired)
	}
	if n := count(t, db.QueryRow(ctx, "SELECT count(*) FROM roads WHERE class = 'residential'")); n < 800 {
		t.Fatalf("%d residential roads, want the file's 841 less duplicates", n)
	}
	if n := count(t, db.QueryRow(ctx, "SELECT count(*) FROM roads WHERE name = 'Dorfstrasse' AND class = 'tertiary' AND source = 'roads.geojson'")); n == 0 {
		t.Fatal("feature 1 (Dorfstrasse, tertiary) lost its class, name or source")
	}
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM roads
		WHERE geom_3857 IS NULL OR NOT ST_Equals(geom_3857, ST_Transform(geom, 3857))
		   OR size_3857 IS DISTINCT FROM tile_size(geom_3857) OR ST_GeometryType(geom) <> 'ST_MultiLineString'`)); n != 0 {
		t.Fatalf("%d roads without their Web-Mercator copy and size", n)
	}
	version := dataVersion(t, s)
	audits := count(t, db.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'import.roads'"))
	if audits != 1 {
		t.Fatalf("%d audit rows for the import, want 1", audits)
	}
	again, err := s.ImportRoads(ctx, openInputs(t, file), postgis.RoadImport{})
	if err != nil || again.Duplicates != again.Read || again.Imported+again.Repaired != 0 {
		t.Fatalf("re-import %+v, %v: want every feature a duplicate", again, err)
	}
	if dataVersion(t, s) != version || count(t, db.QueryRow(ctx, "SELECT count(*) FROM audit_log")) != audits+0 ||
		count(t, db.QueryRow(ctx, "SELECT count(*) FROM roads")) != stored {
		t.Fatal("re-import changed the database")
	}
}

const threeRoads = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"highway":"primary","name":"Landstrasse"},"geometry":{"type":"LineString","coordinates":[[9.50,47.10],[9.51,47.11],[9.52,47.11]]}},
{"type":"Feature","properties":{"kind":"path","class":"footway"},"geometry":{"type":"MultiLineString","coordinates":[[[9.53,47.12],[9.54,47.12]],[[9.55,47.12],[9.55,47.12]]]}},
{"type":"Feature","properties":{"highway":"primary","name":"the same, drawn backwards"},"geometry":{"type":"LineString","coordinates":[[9.52,47.11],[9.51,47.11],[9.50,47.10]]}}
]}`

// Counts, repairs, duplicates (a line drawn the other way is the same road), classes from
// highway, class or --class-prop, and rejections that name the file and feature: all or
// nothing unless SkipInvalid.
func TestImportRoads(t *testing.T) {
	ctx := context.Background()
	s := testdb.New(t)
	sum, err := s.ImportRoads(ctx, []postgis.Input{{Name: "r.geojson", R: strings.NewReader(threeRoads)}}, postgis.RoadImport{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 3 || sum.Imported != 1 || sum.Repaired != 1 || sum.Duplicates != 1 || len(sum.Rejected) != 0 {
		t.Fatalf("summary %+v: want 3 read, 1 imported, 1 repaired (a part of one position dropped), 1 duplicate", sum)
	}
	rows, _ := s.Pool().Query(ctx, `SELECT class || '|' || name || '|' || ST_NumGeometries(geom) FROM roads ORDER BY id`)
	var got []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if strings.Join(got, " ") != "primary|Landstrasse|1 footway||1" {
		t.Fatalf("roads %v", got)
	}

	// --class-prop names the property; a missing one leaves the class empty
	s2 := testdb.New(t)
	if _, err := s2.ImportRoads(ctx, []postgis.Input{{Name: "r.geojson", R: strings.NewReader(threeRoads)}}, postgis.RoadImport{ClassProp: "kind"}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s2.Pool().QueryRow(ctx, `SELECT count(*) FROM roads WHERE class = 'path'`)); n != 1 {
		t.Fatalf("%d roads of class path, want 1", n)
	}

	bad := strings.Replace(threeRoads, `"type":"MultiLineString","coordinates":[[[9.53,47.12],[9.54,47.12]],[[9.55,47.12],[9.55,47.12]]]`,
		`"type":"Polygon","coordinates":[[[9.53,47.12],[9.54,47.12],[9.54,47.13],[9.53,47.12]]]`, 1)
	bad = strings.Replace(bad, `[9.52,47.11],[9.51,47.11],[9.50,47.10]`, `[9.52,47.11],[9.52,47.11]`, 1)
	for _, skip := range []bool{false, true} {
		s3 := testdb.New(t)
		before := dataVersion(t, s3)
		sum, err := s3.ImportRoads(ctx, []postgis.Input{{Name: "bad.geojson", R: strings.NewReader(bad)}}, postgis.RoadImport{SkipInvalid: skip})
		if len(sum.Rejected) != 2 || sum.Rejected[0].File != "bad.geojson" || sum.Rejected[0].Index != 1 ||
			!strings.Contains(sum.Rejected[0].Reason, "not a line (Polygon)") ||
			sum.Rejected[1].Index != 2 || !strings.Contains(sum.Rejected[1].Reason, "empty line") {
			t.Fatalf("skip %v: rejections %v", skip, sum.Rejected)
		}
		stored := count(t, s3.Pool().QueryRow(ctx, "SELECT count(*) FROM roads"))
		if skip {
			if err != nil || stored != 1 || sum.Imported != 1 {
				t.Fatalf("skip invalid: %+v, %v, %d stored", sum, err, stored)
			}
			continue
		}
		if grid.ErrorCode(err) != grid.EINVALID || stored != 0 || dataVersion(t, s3) != before {
			t.Fatalf("all or nothing: %v, %d stored", err, stored)
		}
	}
}
