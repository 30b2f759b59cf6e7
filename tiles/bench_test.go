package tiles_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// BenchmarkTile renders tiles of the demo city with the cache off, as a request does: scale 1
// from the test cluster, or the database at $GRIDMAP_TILES_BENCH_DB (e.g. one holding
// demo --scale 100; bench/tiles-z10.sh measures the z10 goal over HTTP).
func BenchmarkTile(b *testing.B) {
	var store *postgis.Store
	if url := os.Getenv("GRIDMAP_TILES_BENCH_DB"); url != "" {
		var err error
		if store, err = postgis.Open(context.Background(), url, nil); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(store.Close)
	} else {
		store = testdb.NewDemo(b)
	}
	s, err := tiles.New(store.Pool(), tiles.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	if err := s.Warm(context.Background(), 1); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tile tiles.Tile
	}{
		{"z10", cityTile(10, 0.5, 0.5)}, {"z12", cityTile(12, 0.5, 0.5)},
		{"z14", cityTile(14, 0.5, 0.5)}, {"z16", cityTile(16, 0.5, 0.5)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/tiles/"+c.tile.String()+".mvt", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			var n int
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
				n = rec.Body.Len()
			}
			b.ReportMetric(float64(n), "gzip-bytes/tile")
		})
	}
}
