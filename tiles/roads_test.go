package tiles_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// roadsEnv is a tile server over a database holding the Liechtenstein roads (and nothing else).
func roadsEnv(t *testing.T) *env {
	t.Helper()
	store := testdb.New(t)
	f, err := os.Open(filepath.Join(testdb.DataDir(t), "liechtenstein", "roads.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := store.ImportRoads(context.Background(), []postgis.Input{{Name: "roads.geojson", R: f}}, postgis.RoadImport{}); err != nil {
		t.Fatal(err)
	}
	s, err := tiles.New(store.Pool(), tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{pool: store.Pool(), srv: s, url: hs.URL}
}

// vaduz is the centre of Vaduz, where Liechtenstein's roads are densest.
var vaduz = [2]float64{9.5215, 47.1395}

// The roads layer follows its zoom rule — none below z12, the major classes from z12, every
// class from z14 — and GDAL's MVT driver reads as many lines as a direct SQL count of the
// roads meeting the buffered tile, at least a pixel across, of the classes drawn; each with
// its class and name.
func TestRoadsLayer(t *testing.T) {
	ogrinfo(t)
	e := roadsEnv(t)
	ctx := context.Background()
	for _, z := range []int{10, 11, 12, 13, 14, 15, 16} {
		tl := tileAt(vaduz[0], vaduz[1], z)
		major := z < 14
		var want int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM roads r
			WHERE ST_Intersects(ST_Transform(r.geom, 3857), ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))
			  AND tile_size(ST_Transform(r.geom, 3857)) >= $4
			  AND (NOT $5 OR r.class = ANY($6))`,
			tl.Z, tl.X, tl.Y, tl.Width()/512, major, tiles.MajorRoadClasses).Scan(&want); err != nil {
			t.Fatal(err)
		}
		resp, body := e.get(t, "/tiles/"+tl.String()+".mvt")
		if z < 12 {
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("z%d: status %d, want 204: no roads below z12 (and nothing else here)", z, resp.StatusCode)
			}
			continue
		}
		if want == 0 || resp.StatusCode != http.StatusOK {
			t.Fatalf("z%d: status %d, %d roads expected", z, resp.StatusCode, want)
		}
		got := decodeGDAL(t, tl, body)
		if len(got["roads"]) != want {
			t.Errorf("z%d: GDAL reads %d roads, SQL counts %d", z, len(got["roads"]), want)
		}
		ls, err := mvt.Unmarshal(body)
		if err != nil {
			t.Fatal(err)
		}
		l := layerNamed(ls, "roads")
		minor := 0
		for _, f := range l.Features {
			class, ok := f.Properties["class"].(string)
			if _, named := f.Properties["name"]; !ok || !named {
				t.Fatalf("z%d: feature %v without class or name: %v", z, f.ID, f.Properties)
			}
			if !slices.Contains(tiles.MajorRoadClasses, class) {
				minor++
			}
		}
		if major != (minor == 0) {
			t.Errorf("z%d: %d roads of minor classes", z, minor)
		}
		t.Logf("z%d %s: %d roads (%d minor), %d bytes", z, tl, len(l.Features), minor, len(body))
	}
}
