package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// crsFixture is the demo city's first 200 buildings as a WGS 84 FeatureCollection, and the
// same footprints moved into crs by PostGIS (ST_Transform) and written with 15 significant
// digits, as GIS tools write them; declare adds the crs member GDAL writes.
func crsFixture(t *testing.T, demo *postgis.Store, crs chinacrs.CRS, declare bool) string {
	t.Helper()
	var doc string
	member := ""
	if declare {
		member = fmt.Sprintf(`"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::%d"}},`, crs.EPSG())
	}
	err := demo.Pool().QueryRow(context.Background(), `
		SELECT '{"type":"FeatureCollection",' || $2::text || '"features":[' || string_agg(
		         json_build_object('type', 'Feature', 'properties', json_build_object('name', code),
		                           'geometry', ST_AsGeoJSON(ST_Transform(footprint, $1::int), 15)::json)::text, ',' ORDER BY id) || ']}'
		FROM (SELECT id, code, footprint FROM buildings ORDER BY id LIMIT 200) b`, crs.EPSG(), member).Scan(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// footprints returns the imported buildings' footprints by name (the demo code they came with).
func footprints(t *testing.T, s *postgis.Store) map[string]orb.MultiPolygon {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), `SELECT name, footprint FROM buildings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]orb.MultiPolygon{}
	for rows.Next() {
		var name string
		var mp orb.MultiPolygon
		if err := rows.Scan(&name, &mp); err != nil {
			t.Fatal(err)
		}
		out[name] = mp
	}
	return out
}

// farthest returns the largest distance in metres between corresponding vertices of two
// imports of the same footprints, failing when they hold different buildings or shapes.
func farthest(t *testing.T, a, b map[string]orb.MultiPolygon) float64 {
	t.Helper()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d buildings against %d", len(a), len(b))
	}
	worst := 0.0
	for name, pa := range a {
		pb, ok := b[name]
		if !ok || len(pa) != len(pb) {
			t.Fatalf("building %s: %v against %v", name, pa, pb)
		}
		for i := range pa {
			for j := range pa[i] {
				if len(pa[i][j]) != len(pb[i][j]) {
					t.Fatalf("building %s ring %d: %d vertices against %d", name, j, len(pa[i][j]), len(pb[i][j]))
				}
				for k := range pa[i][j] {
					worst = max(worst, orbgeo.Distance(pa[i][j][k], pb[i][j][k]))
				}
			}
		}
	}
	return worst
}

func importInCRS(t *testing.T, doc string, crs chinacrs.CRS) (*postgis.Store, grid.ImportSummary) {
	t.Helper()
	s := testdb.New(t)
	sum, err := s.ImportBuildings(context.Background(), []postgis.Input{{Name: "b.geojson", R: strings.NewReader(doc), CRS: crs}}, postgis.BuildingImport{})
	if err != nil {
		t.Fatalf("import in %q: %v\n%s", crs, err, sum.Format())
	}
	return s, sum
}

// Survey data in CGCS2000 — geographic (EPSG:4490) or a Gauss–Krüger zone, with or without the
// zone number in the easting — and footprints traced on a GCJ-02 map land where the same
// buildings in WGS 84 land, within a centimetre, whether the CRS is given or declared by the
// file's crs member.
func TestImportInCRS(t *testing.T) {
	t.Parallel()
	demo := testdb.NewDemo(t)
	wgs, sum := importInCRS(t, crsFixture(t, demo, chinacrs.WGS84, false), "")
	if sum.Imported != 200 || len(sum.CRS) != 0 {
		t.Fatalf("WGS 84: %+v", sum)
	}
	want := footprints(t, wgs)
	// the demo city lies at 118.7°E: zone 40, central meridian 120°E
	zone40, _ := chinacrs.GaussKruger(120, true)
	cm120, _ := chinacrs.GaussKruger(120, false)
	for _, tt := range []struct {
		crs     chinacrs.CRS
		declare bool
	}{
		{chinacrs.CGCS2000, false},
		{chinacrs.CGCS2000, true},
		{zone40, false},
		{zone40, true},
		{cm120, true},
	} {
		t.Run(fmt.Sprintf("%s declared %v", tt.crs, tt.declare), func(t *testing.T) {
			given := tt.crs
			if tt.declare {
				given = ""
			}
			s, sum := importInCRS(t, crsFixture(t, demo, tt.crs, tt.declare), given)
			if sum.Imported != 200 || strings.Join(sum.CRS, ",") != tt.crs.String() {
				t.Fatalf("summary %+v", sum)
			}
			d := farthest(t, want, footprints(t, s))
			if d > 0.01 {
				t.Errorf("a vertex lands %.4f m from where the WGS 84 import put it", d)
			}
			t.Logf("farthest vertex %.2g m from the WGS 84 import's", d)
		})
	}
	t.Run("GCJ-02", func(t *testing.T) {
		var fc struct {
			Type     string `json:"type"`
			Features []struct {
				Type       string          `json:"type"`
				Properties map[string]any  `json:"properties"`
				Geometry   json.RawMessage `json:"geometry"`
			} `json:"features"`
		}
		if err := json.Unmarshal([]byte(crsFixture(t, demo, chinacrs.WGS84, false)), &fc); err != nil {
			t.Fatal(err)
		}
		for k, f := range fc.Features {
			mp, _, err := geo.ParsePolygonal(f.Geometry)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := chinacrs.Convert(mp, chinacrs.WGS84, chinacrs.GCJ02)
			fc.Features[k].Geometry, _ = json.Marshal(geo.GeoJSON{Geometry: g})
		}
		doc, _ := json.Marshal(fc)
		s, sum := importInCRS(t, string(doc), chinacrs.GCJ02)
		if d := farthest(t, want, footprints(t, s)); d > 0.01 || sum.CRS[0] != "GCJ-02" {
			t.Errorf("a vertex lands %.4f m from where the WGS 84 import put it (%+v)", d, sum)
		}
	})
	t.Run("ogr2ogr's EPSG:4528", func(t *testing.T) {
		ogr2ogr, err := exec.LookPath("ogr2ogr")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("ogr2ogr not found: install gdal-bin (scripts/setup.sh test)")
			}
			t.Skip("ogr2ogr not found (install gdal-bin)")
		}
		dir := t.TempDir()
		in, out := filepath.Join(dir, "wgs84.geojson"), filepath.Join(dir, "zone40.geojson")
		if err := os.WriteFile(in, []byte(crsFixture(t, demo, chinacrs.WGS84, false)), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(ogr2ogr, "-f", "GeoJSON", "-t_srs", "EPSG:4528", out, in).CombinedOutput(); err != nil {
			t.Fatalf("ogr2ogr: %v\n%s", err, b)
		}
		doc, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "EPSG::4528") {
			t.Fatalf("ogr2ogr wrote no crs member: %.300s", doc)
		}
		s, _ := importInCRS(t, string(doc), "")
		if d := farthest(t, want, footprints(t, s)); d > 0.01 {
			t.Errorf("a vertex lands %.4f m from where the WGS 84 import put it", d)
		}
	})
}

// What the CRS of a file cannot be, and how that is said: a crs member against --crs, a
// member naming a CRS gridmap does not read, one that comes after the features it concerns,
// and positions that belong to no zone (the zone number left out of the easting).
func TestImportCRSRefusals(t *testing.T) {
	t.Parallel()
	s := testdb.New(t)
	ctx := context.Background()
	square := `{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[%[1]v,%[2]v],[%[3]v,%[2]v],[%[3]v,%[4]v],[%[1]v,%[2]v]]]}}`
	inDegrees := fmt.Sprintf(square, 118.70, 32.00, 118.71, 32.01)
	inMetres := fmt.Sprintf(square, 40472000, 3541000, 40472100, 3541100)
	crsMember := func(code string) string {
		return `"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::` + code + `"}}`
	}
	for _, tt := range []struct {
		name, doc string
		crs       chinacrs.CRS
		want      string
	}{
		{"member against --crs", `{"type":"FeatureCollection",` + crsMember("4490") + `,"features":[` + inDegrees + `]}`, "EPSG:4528",
			`crs member names EPSG:4490 ("urn:ogc:def:crs:EPSG::4490") but EPSG:4528 was given`},
		{"a CRS gridmap does not read", `{"type":"FeatureCollection",` + crsMember("3857") + `,"features":[` + inDegrees + `]}`, "",
			`"urn:ogc:def:crs:EPSG::3857": use wgs84, gcj02, bd09`},
		{"member after the features", `{"type":"FeatureCollection","features":[` + inMetres + `],` + crsMember("4528") + `}`, "",
			"names EPSG:4528 after 1 features were read as OGC:CRS84"},
	} {
		_, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "f.geojson", R: strings.NewReader(tt.doc), CRS: tt.crs}}, postgis.BuildingImport{})
		if grid.ErrorCode(err) != grid.EINVALID || !strings.Contains(grid.ErrorMessage(err), tt.want) || !strings.Contains(grid.ErrorMessage(err), "f.geojson") {
			t.Errorf("%s: %v, want EINVALID naming the file and saying %q", tt.name, err, tt.want)
		}
	}
	// a member after the features that agrees with how they were read is fine
	doc := `{"type":"FeatureCollection","features":[` + inMetres + `],` + crsMember("4528") + `}`
	if _, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "f.geojson", R: strings.NewReader(doc), CRS: "EPSG:4528"}}, postgis.BuildingImport{}); err != nil {
		t.Errorf("a late member that agrees: %v", err)
	}
	// zone 40 without its zone number: every feature rejected with the reason, nothing written
	noPrefix := fmt.Sprintf(square, 472000, 3541000, 472100, 3541100)
	sum, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "g.geojson", R: strings.NewReader(`{"type":"FeatureCollection","features":[` + noPrefix + `]}`), CRS: "EPSG:4528"}}, postgis.BuildingImport{})
	if grid.ErrorCode(err) != grid.EINVALID || len(sum.Rejected) != 1 || !strings.Contains(sum.Rejected[0].Reason, "easting 472000 is not in EPSG:4528") {
		t.Errorf("no zone number: %+v, %v", sum, err)
	}
	if n := count(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM buildings")); n != 1 {
		t.Errorf("%d buildings, want the one import that went through", n)
	}
}
