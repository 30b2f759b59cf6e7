package tiles_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

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
	// at a past moment too (tile_at.sql): $GRIDMAP_TILES_BENCH_AT, default an hour ago (before
	// the edits bench/history.sh makes), against the same tiles now
	at := os.Getenv("GRIDMAP_TILES_BENCH_AT")
	if at == "" {
		at = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	}
	for _, c := range []struct {
		name, query string
		tile        tiles.Tile
	}{
		{"z10", "", cityTile(10, 0.5, 0.5)}, {"z12", "", cityTile(12, 0.5, 0.5)},
		{"z14", "", cityTile(14, 0.5, 0.5)}, {"z16", "", cityTile(16, 0.5, 0.5)},
		{"z14-grids,buildings", "?layers=grids,buildings", cityTile(14, 0.5, 0.5)},
		{"z14-grids,buildings-at", "?layers=grids,buildings&at=" + at, cityTile(14, 0.5, 0.5)},
		{"z12-grids-at", "?layers=grids&at=" + at, cityTile(12, 0.5, 0.5)},
		{"z12-grids", "?layers=grids", cityTile(12, 0.5, 0.5)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/tiles/"+c.tile.String()+".mvt"+c.query, nil)
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
