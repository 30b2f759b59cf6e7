package tiles

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gridmap/grid"
)

// FuzzTileKey: whatever path and layers a client sends, the tile server's request parsing
// answers a valid tile or an EINVALID error — never a panic, a tile off the grid, or a layer
// that does not exist. Seeds replay from testdata/fuzz/FuzzTileKey with plain go test.
func FuzzTileKey(f *testing.F) {
	for _, seed := range [][2]string{
		{"14/13712/6675.mvt", ""}, {"0/0/0.mvt", "grids,buildings"}, {"22/4194303/4194303.mvt", "units"},
		{"23/0/0.mvt", ""}, {"3/8/0.mvt", ""}, {"+1/0/0.mvt", ""}, {"1/-0/0.mvt", ""}, {"01/1/1.mvt", ""},
		{"1/1/1.png", ""}, {"1/1/1.mvt", "grids,,units"}, {"1/1/1.mvt", "GRIDS"}, {"99999999/0/0.mvt", ""},
		{"1/1/1.mvt.mvt", ""}, {"1/1/%31.mvt", ""}, {"٣/1/1.mvt", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	mux := http.NewServeMux()
	var key cacheKey
	var keyErr error
	mux.HandleFunc("GET /tiles/{z}/{x}/{y}", func(w http.ResponseWriter, r *http.Request) { key, keyErr = tileKey(r) })
	f.Fuzz(func(t *testing.T, path, layers string) {
		u, err := url.Parse("/tiles/" + path + "?layers=" + url.QueryEscape(layers))
		if err != nil || strings.Count(u.Path, "/") != 4 {
			return
		}
		key, keyErr = cacheKey{}, nil
		mux.ServeHTTP(httptest.NewRecorder(), &http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: "x"})
		if keyErr != nil {
			if grid.ErrorCode(keyErr) != grid.EINVALID {
				t.Fatalf("%q %q: %v, want EINVALID", path, layers, keyErr)
			}
			return
		}
		if key == (cacheKey{}) {
			return // the mux did not route it here (a path it cleans or refuses)
		}
		k := key.t
		if k.Z < 0 || k.Z > MaxZoom || k.X < 0 || k.Y < 0 || k.X >= 1<<k.Z || k.Y >= 1<<k.Z {
			t.Fatalf("%q: tile %v off the grid", path, k)
		}
		if back, err := Parse(strings.Split(k.String(), "/")[0], strings.Split(k.String(), "/")[1], strings.Split(k.String(), "/")[2]); err != nil || back != k {
			t.Fatalf("%q: %v does not read back (%v, %v)", path, k, back, err)
		}
		if key.layers == 0 || key.layers&^allLayers != 0 {
			t.Fatalf("%q: layers %b", layers, key.layers)
		}
	})
}
