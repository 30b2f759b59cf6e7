package tiles_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"gridmap/grid/demo"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// The cache is never stale: after a write through plain SQL (no application code in the way),
// the very next request for a tile shows it, though the tile was cached a moment before.
func TestCacheNeverStale(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	ctx := context.Background()
	centre := cityTile(16, 0.5, 0.5)
	var bID, gID int64
	var bCode, gCode string
	if err := e.pool.QueryRow(ctx, `SELECT b.id, b.code, g.id, g.code FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE b.footprint_3857 && ST_TileEnvelope($1, $2, $3) AND g.level = 3
		  AND EXISTS (SELECT 1 FROM assignments a WHERE a.grid_id = g.id AND a.valid_to IS NULL)
		ORDER BY b.id LIMIT 1`, centre.Z, centre.X, centre.Y).Scan(&bID, &bCode, &gID, &gCode); err != nil {
		t.Fatal(err)
	}
	defects := demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs()).Defects
	var gapID int64 // by id: a subtest recodes grids
	if err := e.pool.QueryRow(ctx, `SELECT id FROM grids WHERE code = $1`, defects.GapGrid).Scan(&gapID); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		tile  tiles.Tile
		edit  string
		args  []any
		check func(t *testing.T, before, after mvt.Layers)
	}{{
		name: "grid renamed",
		tile: centre,
		edit: `UPDATE grids SET name = 'renamed grid' WHERE id = $1`, args: []any{gID},
		check: func(t *testing.T, before, after mvt.Layers) {
			wantProp(t, after, "grids", gID, "name", "renamed grid")
		},
	}, {
		name: "grid recoded",
		tile: centre,
		edit: `UPDATE grids SET code = left(code, 12) || '999' WHERE id = $1`, args: []any{gID},
		check: func(t *testing.T, before, after mvt.Layers) {
			wantProp(t, after, "grids", gID, "code", gCode[:12]+"999")
			wantProp(t, after, "buildings", bID, "grid_code", gCode[:12]+"999")
		},
	}, {
		// the community's leader: the community counts one worker less, its grid as many
		name: "worker retires",
		tile: centre,
		edit: `UPDATE workers SET retired_at = now() WHERE id = (
			SELECT a.worker_id FROM assignments a JOIN grids g ON g.parent_id = a.grid_id
			WHERE g.id = $1 AND a.valid_to IS NULL ORDER BY a.id LIMIT 1)`, args: []any{gID},
		check: func(t *testing.T, before, after mvt.Layers) {
			var parent int64
			if err := e.pool.QueryRow(ctx, `SELECT parent_id FROM grids WHERE id = $1`, gID).Scan(&parent); err != nil {
				t.Fatal(err)
			}
			n := prop(t, before, "grids", parent, "workers").(float64)
			wantProp(t, after, "grids", parent, "workers", n-1)
			wantProp(t, after, "grids", gID, "workers", prop(t, before, "grids", gID, "workers"))
		},
	}, {
		name: "grid leaves its staff",
		tile: centre,
		edit: `UPDATE assignments SET valid_to = now() WHERE grid_id = $1 AND valid_to IS NULL`, args: []any{gID},
		check: func(t *testing.T, before, after mvt.Layers) {
			wantProp(t, before, "grids", gID, "status", "ok")
			wantProp(t, after, "grids", gID, "status", "unstaffed")
			wantProp(t, after, "grids", gID, "workers", 0.0)
		},
	}, {
		name: "household added",
		tile: centre,
		edit: `INSERT INTO households (unit_id, label, floor, occupancy, residents)
			SELECT id, 'new-1', 1, 'occupied', 2 FROM units WHERE building_id = $1 ORDER BY id LIMIT 1`, args: []any{bID},
		check: func(t *testing.T, before, after mvt.Layers) {
			for _, l := range []struct {
				layer string
				id    int64
			}{{"buildings", bID}, {"grids", gID}} {
				n := prop(t, before, l.layer, l.id, "households").(float64)
				wantProp(t, after, l.layer, l.id, "households", n+1)
			}
		},
	}, {
		name: "building moved",
		tile: centre,
		edit: `UPDATE buildings SET footprint = ST_Translate(footprint, 0.0001, 0) WHERE id = $1`, args: []any{bID},
		check: func(t *testing.T, before, after mvt.Layers) {
			b, a := feature(t, before, "buildings", bID), feature(t, after, "buildings", bID)
			if b.Geometry.Bound() == a.Geometry.Bound() {
				t.Errorf("building %s did not move: %v", bCode, a.Geometry.Bound())
			}
		},
	}, {
		name: "gap filled",
		tile: cityTile(12, 0.5, 0.5),
		edit: `UPDATE grids g SET geom = ST_Multi(ST_Union(g.geom, (
				SELECT ST_Difference(p.geom, ST_Union(c.geom)) FROM grids p JOIN grids c ON c.parent_id = p.id
				WHERE p.id = g.parent_id GROUP BY p.id)))
			WHERE id = $1`, args: []any{gapID},
		check: func(t *testing.T, before, after mvt.Layers) {
			kinds := func(ls mvt.Layers) string {
				var k []string
				if l := layerNamed(ls, "coverage"); l != nil {
					for _, f := range l.Features {
						k = append(k, f.Properties.MustString("kind"))
					}
				}
				return strings.Join(k, ",")
			}
			if kinds(before) != "gap,overlap" || kinds(after) != "overlap" {
				t.Errorf("coverage before %q, after %q: want the gap gone", kinds(before), kinds(after))
			}
		},
	}, {
		name: "households show in density",
		tile: cityTile(12, 0.5, 0.5),
		edit: `INSERT INTO households (unit_id, label, floor, occupancy, residents)
			SELECT u.id, 'density-' || n, 1, 'occupied', 1
			FROM (SELECT id FROM units WHERE building_id = $1 ORDER BY id LIMIT 1) u, generate_series(1, 7) n`, args: []any{bID},
		check: func(t *testing.T, before, after mvt.Layers) {
			sum := func(ls mvt.Layers) (n float64) {
				for _, f := range layerNamed(ls, "density").Features {
					n += f.Properties.MustFloat64("households")
				}
				return n
			}
			if d := sum(after) - sum(before); d != 7 {
				t.Errorf("density households grew by %v, want 7", d)
			}
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			path := "/tiles/" + c.tile.String() + ".mvt"
			_, before := e.tile(t, c.tile, "")
			hits := e.metric(t, "gridmap_tile_cache_hits_total")
			resp, _ := e.get(t, path)
			etag := resp.Header.Get("ETag")
			if e.metric(t, "gridmap_tile_cache_hits_total") != hits+1 {
				t.Fatal("the second request was not answered from the cache")
			}
			e.exec(t, c.edit, c.args...)
			resp, body := e.get(t, path, "If-None-Match", etag)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
				t.Fatalf("after the edit: status %d, ETag %s (was %s)", resp.StatusCode, resp.Header.Get("ETag"), etag)
			}
			after, err := mvt.Unmarshal(body)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, before, after)
		})
	}
}

// An edit elsewhere changes the data version, but reaches no feature of the tile: the cache
// keeps it (no render), and clients revalidating get 304.
func TestETagSurvivesUnrelatedEdits(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	path := "/tiles/" + cityTile(16, 0.5, 0.5).String() + ".mvt"
	resp, _ := e.get(t, path)
	etag := resp.Header.Get("ETag")
	e.exec(t, `UPDATE workers SET display_name = display_name || '.' WHERE id = 1`)
	resp, _ = e.get(t, path, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d, want 304", resp.StatusCode)
	}
	if e.metric(t, "gridmap_tile_cache_misses_total") != 1 {
		t.Fatalf("misses %d: an edit that reaches no tile rendered it again", e.metric(t, "gridmap_tile_cache_misses_total"))
	}
}

func feature(t *testing.T, ls mvt.Layers, layer string, id int64) *geojson.Feature {
	t.Helper()
	l := layerNamed(ls, layer)
	if l == nil {
		t.Fatalf("no layer %s", layer)
	}
	for _, f := range l.Features {
		if f.ID == float64(id) {
			return f
		}
	}
	t.Fatalf("layer %s: no feature %d", layer, id)
	return nil
}

func prop(t *testing.T, ls mvt.Layers, layer string, id int64, key string) any {
	t.Helper()
	return feature(t, ls, layer, id).Properties[key]
}

func wantProp(t *testing.T, ls mvt.Layers, layer string, id int64, key string, want any) {
	t.Helper()
	if got := prop(t, ls, layer, id, key); got != want {
		t.Errorf("layer %s feature %d: %s = %v (%T), want %v (%T)", layer, id, key, got, got, want, want)
	}
}

// metric reads one counter from /tiles/metrics.
func (e *env) metric(t *testing.T, name string) int64 {
	t.Helper()
	_, body := e.get(t, "/tiles/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int64(n)
		}
	}
	t.Fatalf("metric %s not found in:\n%s", name, body)
	return 0
}

// Readers racing a writer never see a tile older than the last write committed before their
// request: the version each request uses is read after it arrives.
func TestNeverStaleUnderConcurrentWrites(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	tl := cityTile(16, 0.5, 0.5)
	var gID int64
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM grids WHERE level = 3
		AND ST_Transform(geom, 3857) && ST_TileEnvelope($1, $2, $3) ORDER BY id LIMIT 1`, tl.Z, tl.X, tl.Y).Scan(&gID); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `UPDATE grids SET name = 'n0' WHERE id = $1`, gID)
	var committed atomic.Int64
	done := make(chan struct{})
	errs := make(chan error, 4)
	progress := make(chan int64, 64) // the floor of each finished read
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				floor := committed.Load()
				resp, err := http.Get(e.url + "/tiles/" + tl.String() + ".mvt")
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				ls, err := mvt.Unmarshal(body)
				if err != nil {
					errs <- err
					return
				}
				for _, f := range layerNamed(ls, "grids").Features {
					if f.ID == float64(gID) {
						n, _ := strconv.Atoi(strings.TrimPrefix(f.Properties.MustString("name"), "n"))
						if int64(n) < floor {
							errs <- fmt.Errorf("stale tile: name n%d after n%d was committed", n, floor)
							return
						}
					}
				}
				select {
				case progress <- floor:
				case <-done:
					return
				}
			}
		}()
	}
	// each write waits for reads begun after the previous one: reads and writes interleave
	for i := int64(1); i <= 40; i++ {
		e.exec(t, `UPDATE grids SET name = 'n' || $2::bigint WHERE id = $1`, gID, i)
		committed.Store(i)
		for reads := 0; reads < 3; {
			select {
			case f := <-progress:
				if f == i {
					reads++
				}
			case err := <-errs:
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d hits, %d misses", e.metric(t, "gridmap_tile_cache_hits_total"), e.metric(t, "gridmap_tile_cache_misses_total"))
}

// An edit undone gives back the same tile, byte for byte, though the edit moved the rows it
// touched: features are ordered by id, not by where the rows lie.
func TestETagAfterEditAndUndo(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	path := "/tiles/" + cityTile(16, 0.5, 0.5).String() + ".mvt"
	resp, _ := e.get(t, path)
	etag := resp.Header.Get("ETag")
	e.exec(t, `UPDATE buildings SET floors = floors + 1 WHERE footprint_3857 && ST_TileEnvelope(16, $1, $2)`, cityTile(16, 0.5, 0.5).X, cityTile(16, 0.5, 0.5).Y)
	if resp, _ = e.get(t, path); resp.Header.Get("ETag") == etag {
		t.Fatal("the edit did not change the tile")
	}
	e.exec(t, `UPDATE buildings SET floors = floors - 1 WHERE footprint_3857 && ST_TileEnvelope(16, $1, $2)`, cityTile(16, 0.5, 0.5).X, cityTile(16, 0.5, 0.5).Y)
	if resp, _ = e.get(t, path); resp.Header.Get("ETag") != etag {
		t.Fatalf("after the undo: ETag %s, was %s", resp.Header.Get("ETag"), etag)
	}
}
