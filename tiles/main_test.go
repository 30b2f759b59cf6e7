package tiles_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/grid/demo"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// env is a tile server over a fresh database holding the demo city.
type env struct {
	pool *pgxpool.Pool
	srv  *tiles.Server
	url  string
}

func newEnv(t *testing.T, o tiles.Options) *env {
	t.Helper()
	store := testdb.NewDemo(t)
	s, err := tiles.New(store.Pool(), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{pool: store.Pool(), srv: s, url: hs.URL}
}

// get requests path with the given header pairs and returns the response with its body read.
func (e *env) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k+1 < len(header); k += 2 {
		req.Header.Set(header[k], header[k+1])
	}
	// a plain transport: Go's default one asks for gzip and hides the encoding
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// tile fetches a tile that must exist and decodes it with orb.
func (e *env) tile(t *testing.T, tl tiles.Tile, query string) ([]byte, mvt.Layers) {
	t.Helper()
	resp, body := e.get(t, "/tiles/"+tl.String()+".mvt"+query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tile %s%s: status %d: %s", tl, query, resp.StatusCode, body)
	}
	layers, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatalf("tile %s: orb cannot decode it: %v", tl, err)
	}
	return body, layers
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// cityTile returns the tile at zoom z holding the point dx, dy (fractions of the width and
// height) of the first copy of the demo city.
func cityTile(z int, dx, dy float64) tiles.Tile {
	// one copy spans 26 × 160 m east and 20 × 140 m north of demo.Origin
	lon := demo.Origin[0] + dx*26*160/(111320*math.Cos(demo.Origin[1]*math.Pi/180))
	lat := demo.Origin[1] + dy*20*140/110574
	return tileAt(lon, lat, z)
}

// tileAt returns the tile at zoom z holding lon, lat.
func tileAt(lon, lat float64, z int) tiles.Tile {
	n := float64(int(1) << z)
	x := int((lon + 180) / 360 * n)
	y := int((1 - math.Asinh(math.Tan(lat*math.Pi/180))/math.Pi) / 2 * n)
	return tiles.Tile{Z: z, X: x, Y: y}
}

func layerNamed(ls mvt.Layers, name string) *mvt.Layer {
	for _, l := range ls {
		if l.Name == name {
			return l
		}
	}
	return nil
}
