package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// exported is an exported FeatureCollection: its crs member and its features' geometries.
type exported struct {
	CRS *struct {
		Properties struct{ Name string } `json:"properties"`
	} `json:"crs"`
	Features []struct {
		ID       int64           `json:"id"`
		Geometry json.RawMessage `json:"geometry"`
	} `json:"features"`
}

// get returns the status, headers and body of GET path.
func (s *server) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func (s *server) export(t *testing.T, path string) (exported, []byte) {
	t.Helper()
	res, body := s.get(t, path)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	var e exported
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e, body
}

// firstPoint reads the first position of a GeoJSON geometry of any type.
func firstPoint(t *testing.T, raw json.RawMessage) orb.Point {
	t.Helper()
	s := string(raw)
	i := strings.Index(s, "[")
	for i+1 < len(s) && s[i+1] == '[' {
		i++
	}
	var x, y float64
	if _, err := fmt.Sscanf(s[i:], "[%g,%g]", &x, &y); err != nil {
		t.Fatalf("no position in %.100s: %v", s, err)
	}
	return orb.Point{x, y}
}

// The GeoJSON exports in another CRS: the coordinates are converted, the crs member names the
// CRS, GDAL reads the file in that CRS, and a GCJ-02 export imports back where it came from.
func TestExportInCRS(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const path = "/api/v1/export/buildings.geojson?grid="
	grid := fmt.Sprint(s.sqlInt(t, "SELECT id FROM grids WHERE level = 2 ORDER BY code LIMIT 1"))
	wgs, _ := s.export(t, path+grid)
	if wgs.CRS != nil || len(wgs.Features) == 0 {
		t.Fatalf("WGS 84 export: crs %v, %d features", wgs.CRS, len(wgs.Features))
	}
	want := firstPoint(t, wgs.Features[0].Geometry)

	for _, tt := range []struct {
		crs, member string
		near        func(orb.Point) orb.Point // where the first position should be
	}{
		{"EPSG:4490", "urn:ogc:def:crs:EPSG::4490", func(p orb.Point) orb.Point { return p }},
		{"http://www.opengis.net/def/crs/EPSG/0/4490", "urn:ogc:def:crs:EPSG::4490", func(p orb.Point) orb.Point { return p }},
		{"gcj02", "GCJ-02", chinacrs.WGS84ToGCJ02},
		{"bd09", "BD-09", chinacrs.WGS84ToBD09},
		{"EPSG:4528", "urn:ogc:def:crs:EPSG::4528", nil},
	} {
		e, _ := s.export(t, path+grid+"&crs="+tt.crs)
		if e.CRS == nil || e.CRS.Properties.Name != tt.member || len(e.Features) != len(wgs.Features) {
			t.Errorf("crs=%s: crs member %v, %d features", tt.crs, e.CRS, len(e.Features))
			continue
		}
		got := firstPoint(t, e.Features[0].Geometry)
		if tt.near == nil { // metres of zone 40: 118.7°E is 160 km west of its meridian
			if got[0] < 40_300_000 || got[0] > 40_400_000 || got[1] < 3_500_000 || got[1] > 3_600_000 {
				t.Errorf("crs=%s: first position %v is not in zone 40", tt.crs, got)
			}
			continue
		}
		if d := orbgeo.Distance(got, tt.near(want)); d > 0.001 {
			t.Errorf("crs=%s: first position %v, %.4f m from %v", tt.crs, got, d, tt.near(want))
		}
	}

	t.Run("bad crs", func(t *testing.T) {
		for _, p := range []string{path + grid + "&crs=EPSG:3857", "/api/v1/export/grids.geojson?crs=mercator"} {
			status, body := s.do(t, "GET", p, nil)
			if status != 400 || !strings.Contains(string(body), `"EINVALID"`) || !strings.Contains(string(body), "gcj02, bd09, EPSG:4326, EPSG:4490") {
				t.Errorf("GET %s: %d %s", p, status, body)
			}
		}
	})

	t.Run("GDAL reads the declared CRS", func(t *testing.T) {
		needGDAL(t, "ogrinfo")
		dir := t.TempDir()
		for _, tt := range []struct{ crs, srs, extent string }{
			{"EPSG:4528", `PROJCRS["CGCS2000 / 3-degree Gauss-Kruger zone 40"`, "(403"},
			{"EPSG:4490", `GEOGCRS["China Geodetic Coordinate System 2000"`, "(118.7"},
		} {
			_, body := s.export(t, "/api/v1/export/grids.geojson?level=3&crs="+tt.crs)
			file := filepath.Join(dir, strings.ReplaceAll(tt.crs, ":", "")+".geojson")
			if err := os.WriteFile(file, body, 0o644); err != nil {
				t.Fatal(err)
			}
			out := gdal(t, "ogrinfo", "-ro", "-so", file, "grids")
			if !strings.Contains(out, tt.srs) || !strings.Contains(out, "Extent: "+tt.extent) || count(t, out) != 134 {
				t.Errorf("ogrinfo on the %s export:\n%s", tt.crs, out)
			}
		}
	})

	t.Run("GCJ-02 round trip", func(t *testing.T) {
		_, body := s.export(t, path+grid+"&crs=gcj02")
		back := testdb.New(t)
		// no CRS given: the crs member says GCJ-02
		sum, err := back.ImportBuildings(context.Background(), []postgis.Input{{Name: "gcj.geojson", R: strings.NewReader(string(body))}}, postgis.BuildingImport{})
		if err != nil || sum.Imported != len(wgs.Features) || strings.Join(sum.CRS, ",") != "GCJ-02" {
			t.Fatalf("import: %+v %v", sum, err)
		}
		worst := 0.0
		rows, err := back.Pool().Query(context.Background(), `SELECT footprint FROM buildings ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		k := 0
		for ; rows.Next(); k++ {
			var got orb.MultiPolygon
			if err := rows.Scan(&got); err != nil {
				t.Fatal(err)
			}
			orig, _, err := geo.ParsePolygonal(wgs.Features[k].Geometry)
			if err != nil {
				t.Fatal(err)
			}
			for i := range orig {
				for j := range orig[i] {
					for v := range orig[i][j] {
						worst = max(worst, orbgeo.Distance(orig[i][j][v], got[i][j][v]))
					}
				}
			}
		}
		// the export rounds to 9 decimals (0.1 mm), the inverse is exact to micrometres
		if k != len(wgs.Features) || worst > 0.001 {
			t.Errorf("%d buildings back, the farthest vertex %.6f m from where it was", k, worst)
		}
	})
}

// A grid sent to POST /grids in a Gauss–Krüger zone (crs=, or the body's crs member) is stored
// where the same grid in WGS 84 would be; a body contradicting crs= is refused.
func TestImportGridsInCRS(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.signIn(t, "planner")
	ctx := context.Background()
	var parent int64
	var zone40 string
	err := s.store.Pool().QueryRow(ctx, `SELECT g.parent_id, ST_AsGeoJSON(ST_Transform(g.geom, 4528), 15)
		FROM grids g WHERE g.level = 3 ORDER BY g.code LIMIT 1`).Scan(&parent, &zone40)
	if err != nil {
		t.Fatal(err)
	}
	feature := func(name, member string) []byte {
		return []byte(`{"type":"FeatureCollection",` + member + `"features":[{"type":"Feature","properties":{"name":"` + name +
			`","parent":` + fmt.Sprint(parent) + `},"geometry":` + zone40 + `}]}`)
	}
	member := `"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4528"}},`
	for _, tt := range []struct{ name, query, member string }{
		{"by crs", "&crs=EPSG:4528", ""},
		{"by member", "", member},
	} {
		status, body := s.do(t, "POST", "/api/v1/grids?level=3"+tt.query, feature(tt.name, tt.member))
		if status != 200 {
			t.Fatalf("%s: %d %s", tt.name, status, body)
		}
		var d float64
		if err := s.store.Pool().QueryRow(ctx, `SELECT ST_HausdorffDistance(ST_Transform(n.geom, 4528), ST_Transform(o.geom, 4528))
			FROM grids n, grids o WHERE n.name = $1 AND o.level = 3 AND o.name <> $1 ORDER BY o.code LIMIT 1`, tt.name).Scan(&d); err != nil {
			t.Fatal(err)
		}
		if d > 0.01 {
			t.Errorf("%s: the stored grid lies %.4f m from the one it was made from", tt.name, d)
		}
	}
	status, body := s.do(t, "POST", "/api/v1/grids?level=3&crs=EPSG:4490", feature("conflict", member))
	if status != 400 || !strings.Contains(string(body), "crs member names EPSG:4528") || !strings.Contains(string(body), "EPSG:4490 was given") {
		t.Errorf("conflicting CRSs: %d %s", status, body)
	}
	status, body = s.do(t, "POST", "/api/v1/grids?level=3", feature("metres as degrees", ""))
	if status != 400 || !strings.Contains(string(body), "longitude 4.") {
		t.Errorf("metres without a CRS: %d %s", status, body)
	}
}

// OGC API – Features Part 2: the conformance class, each collection's crs list and storage
// CRS, crs= answered in the CRS's axis order with Content-Crs, bbox-crs= selecting what the
// same box in CRS84 selects, GCJ-02 as an extension, and refusals.
func TestOGCCRS(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var conf struct{ ConformsTo []string }
	s.getJSON(t, "/ogc/conformance", &conf)
	if !strings.Contains(strings.Join(conf.ConformsTo, " "), "ogcapi-features-2/1.0/conf/crs") {
		t.Errorf("conformsTo %v", conf.ConformsTo)
	}
	var cols struct {
		Collections []struct {
			ID         string
			CRS        []string
			StorageCRS string
		}
	}
	s.getJSON(t, "/ogc/collections", &cols)
	for _, c := range cols.Collections {
		list := strings.Join(c.CRS, " ")
		if c.CRS[0] != "http://www.opengis.net/def/crs/OGC/1.3/CRS84" || c.StorageCRS != c.CRS[0] || len(c.CRS) != 2+1+42 ||
			!strings.Contains(list, "http://www.opengis.net/def/crs/EPSG/0/4490") || strings.Contains(strings.ToLower(list), "gcj") {
			t.Errorf("%s: crs %v, storageCrs %q", c.ID, c.CRS, c.StorageCRS)
		}
	}

	const items = "/ogc/collections/buildings/items?limit=5"
	type page struct {
		Features []struct {
			ID       int64           `json:"id"`
			Geometry json.RawMessage `json:"geometry"`
		}
	}
	read := func(path string) (page, http.Header) {
		res, body := s.get(t, path)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p, res.Header
	}
	base, h := read(items)
	if h.Get("Content-Crs") != "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>" {
		t.Errorf("default Content-Crs %q", h.Get("Content-Crs"))
	}
	lonLat := firstPoint(t, base.Features[0].Geometry)
	for _, tt := range []struct {
		crs, header string
		want        orb.Point
	}{
		{"http://www.opengis.net/def/crs/EPSG/0/4326", "<http://www.opengis.net/def/crs/EPSG/0/4326>", orb.Point{lonLat[1], lonLat[0]}},
		{"http://www.opengis.net/def/crs/EPSG/0/4490", "<http://www.opengis.net/def/crs/EPSG/0/4490>", orb.Point{lonLat[1], lonLat[0]}},
		{"gcj02", "", chinacrs.WGS84ToGCJ02(lonLat)},
	} {
		p, h := read(items + "&crs=" + tt.crs)
		got := firstPoint(t, p.Features[0].Geometry)
		if h.Get("Content-Crs") != tt.header || p.Features[0].ID != base.Features[0].ID || math.Abs(got[0]-tt.want[0]) > 1e-8 || math.Abs(got[1]-tt.want[1]) > 1e-8 {
			t.Errorf("crs=%s: Content-Crs %q, first position %v, want %v", tt.crs, h.Get("Content-Crs"), got, tt.want)
		}
	}
	// a zone: northing first, and the single item too
	p, h := read(items + "&crs=http://www.opengis.net/def/crs/EPSG/0/4528")
	if ne := firstPoint(t, p.Features[0].Geometry); h.Get("Content-Crs") != "<http://www.opengis.net/def/crs/EPSG/0/4528>" || ne[0] < 3_500_000 || ne[0] > 3_600_000 || ne[1] < 40_300_000 {
		t.Errorf("zone 40: Content-Crs %q, first position %v (want northing, easting)", h.Get("Content-Crs"), ne)
	}
	res, body := s.get(t, fmt.Sprintf("/ogc/collections/buildings/items/%d?crs=EPSG:4490", base.Features[0].ID))
	if res.Header.Get("Content-Crs") != "<http://www.opengis.net/def/crs/EPSG/0/4490>" || !strings.Contains(string(body), fmt.Sprint(lonLat[1])) {
		t.Errorf("one item in EPSG:4490: %q %.200s", res.Header.Get("Content-Crs"), body)
	}

	// bbox-crs: the same box in EPSG:4326 (lat, lon) selects what it selects in CRS84; a box in
	// zone 40 (northing, easting) selects every building it meets, and nothing 50 m beyond it
	// (its edges are not meridians: the WGS 84 box that holds it is a little larger)
	ids := func(path string) map[int64]bool {
		p, _ := read(path)
		out := map[int64]bool{}
		for _, f := range p.Features {
			out[f.ID] = true
		}
		return out
	}
	want := ids("/ogc/collections/buildings/items?limit=1000&bbox=118.71,32.005,118.72,32.012")
	if got := ids("/ogc/collections/buildings/items?limit=1000&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&bbox=32.005,118.71,32.012,118.72"); len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bbox in EPSG:4326: %v, want %v", got, want)
	}
	const n, e = 3_543_000.0, 40_378_000.0 // a kilometre square of zone 40 over the demo city
	got := ids(fmt.Sprintf("/ogc/collections/buildings/items?limit=1000&bbox-crs=EPSG:4528&bbox=%.0f,%.0f,%.0f,%.0f", n, e, n+1000, e+1000))
	meets := func(margin float64) map[int64]bool {
		rows, err := s.store.Pool().Query(context.Background(), `SELECT id FROM buildings
			WHERE ST_Intersects(ST_Transform(footprint, 4528), ST_Expand(ST_MakeEnvelope($1::float8, $2::float8, $1::float8 + 1000, $2::float8 + 1000, 4528), $3::float8))`, e, n, margin)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]bool{}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			out[id] = true
		}
		return out
	}
	inside, near := meets(0), meets(50)
	for id := range inside {
		if !got[id] {
			t.Errorf("bbox in zone 40: building %d meets the box and was left out", id)
		}
	}
	for id := range got {
		if !near[id] {
			t.Errorf("bbox in zone 40: building %d lies more than 50 m outside the box", id)
		}
	}
	if len(inside) < 20 {
		t.Errorf("the zone box meets %d buildings: move it over the city", len(inside))
	}

	for _, q := range []string{"crs=EPSG:3857", "crs=http://www.opengis.net/def/crs/EPSG/0/4555", "bbox-crs=EPSG:3857&bbox=0,0,1,1",
		"bbox-crs=EPSG:4528&bbox=0,0,1,1"} {
		res, body := s.get(t, "/ogc/collections/buildings/items?"+q)
		if res.StatusCode != 400 || !strings.Contains(string(body), "EINVALID") || res.Header.Get("Content-Crs") != "" {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
}
