package tiles_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/tiles"
)

// served fetches a tile that must exist and tells whether the cache answered (a render sets
// Server-Timing).
func (e *env) served(t *testing.T, tl tiles.Tile, query ...string) (cached bool, etag string, layers mvt.Layers) {
	t.Helper()
	resp, body := e.get(t, "/tiles/"+tl.String()+".mvt"+strings.Join(query, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tile %s: status %d: %s", tl, resp.StatusCode, body)
	}
	ls, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Server-Timing") == "", resp.Header.Get("ETag"), ls
}

// gridAt returns a level-3 grid under the centre of the city and its parents.
func (e *env) gridAt(t *testing.T) (grid, community, subdistrict int64) {
	t.Helper()
	c := cityTile(16, 0.5, 0.5)
	if err := e.pool.QueryRow(context.Background(), `SELECT g.id, p.id, p.parent_id FROM grids g JOIN grids p ON p.id = g.parent_id
		WHERE g.level = 3 AND g.valid_to IS NULL AND ST_Transform(g.geom, 3857) && ST_TileEnvelope($1, $2, $3)
		  AND EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id)
		ORDER BY g.id LIMIT 1`, c.Z, c.X, c.Y).Scan(&grid, &community, &subdistrict); err != nil {
		t.Fatal(err)
	}
	return grid, community, subdistrict
}

// outside returns a tile at zoom z whose buffered envelope does not meet grid id's box.
func (e *env) outside(t *testing.T, z int, id int64) tiles.Tile {
	t.Helper()
	for _, d := range [][2]float64{{0.05, 0.05}, {0.95, 0.95}, {0.05, 0.95}, {0.95, 0.05}} {
		tl := cityTile(z, d[0], d[1])
		var meets bool
		if err := e.pool.QueryRow(context.Background(), `SELECT ST_TileEnvelope($1, $2, $3, margin => 65.0 / 4096) && geom_3857
			FROM tile_grids WHERE grid_id = $4`, tl.Z, tl.X, tl.Y, id).Scan(&meets); err != nil {
			t.Fatal(err)
		}
		if !meets {
			return tl
		}
	}
	t.Fatalf("no z%d tile of the city lies away from grid %d", z, id)
	return tiles.Tile{}
}

// An edit drops only the tiles it reaches: a tile away from the edited grid keeps its cache
// entry (served from the cache after the edit, same ETag), the tiles over it show the edit at
// once, at every zoom that draws what changed — and only there: the buildings' floors are not
// drawn at z13.
func TestEditKeepsTilesElsewhere(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	gID, _, _ := e.gridAt(t)
	inside := []tiles.Tile{cityTile(16, 0.5, 0.5), cityTile(13, 0.5, 0.5)}
	outside := []tiles.Tile{e.outside(t, 16, gID), e.outside(t, 14, gID)}
	etags := map[tiles.Tile]string{}
	for _, tl := range append(inside, outside...) {
		e.served(t, tl)
		cached, etag, _ := e.served(t, tl)
		if !cached {
			t.Fatalf("tile %s: the second request was not answered from the cache", tl)
		}
		etags[tl] = etag
	}
	for i, edit := range []string{
		`UPDATE grids SET name = 'renamed-1' WHERE id = $1`,
		`UPDATE buildings SET floors = floors + 1 WHERE grid_id = $1`,
		`UPDATE grids SET name = 'renamed-2' WHERE id = $1`,
	} {
		e.exec(t, edit, gID)
		reached := inside
		if i == 1 {
			reached = inside[:1]
			if cached, etag, _ := e.served(t, inside[1]); !cached || etag != etags[inside[1]] {
				t.Errorf("the z13 tile, which draws no building, was dropped by a change of floors")
			}
		}
		for _, tl := range outside {
			if cached, etag, _ := e.served(t, tl); !cached || etag != etags[tl] {
				t.Errorf("edit %d: tile %s away from the edit: cached %v, ETag %s (was %s)", i, tl, cached, etag, etags[tl])
			}
		}
		for _, tl := range reached {
			cached, etag, ls := e.served(t, tl)
			if cached || etag == etags[tl] {
				t.Errorf("edit %d: tile %s over the edit: cached %v, ETag unchanged %v", i, tl, cached, etag == etags[tl])
			}
			etags[tl] = etag
			if i != 1 {
				wantProp(t, ls, "grids", gID, "name", []string{"renamed-1", "", "renamed-2"}[i])
			}
		}
	}
	if n := e.metric(t, "gridmap_tile_cache_resets_total"); n != 1 {
		t.Errorf("the cache was emptied %d times, want once (at its start)", n)
	}
}

// A grid's households count its subtree: households added to a building change its grid's,
// community's and subdistrict's numbers, so the z8 and z11 tiles, which draw only the
// subdistrict and the community, change too — in the grids layer alone (the density layer,
// which the households change as well, is left out of the request).
func TestAncestorTilesFollowChild(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	gID, community, subdistrict := e.gridAt(t)
	for _, c := range []struct {
		tile tiles.Tile
		id   int64
	}{{cityTile(8, 0.5, 0.5), subdistrict}, {cityTile(11, 0.5, 0.5), community}, {cityTile(13, 0.5, 0.5), gID}} {
		_, _, before := e.served(t, c.tile, "?layers=grids")
		if cached, _, _ := e.served(t, c.tile, "?layers=grids"); !cached {
			t.Fatalf("tile %s not cached", c.tile)
		}
		n := prop(t, before, "grids", c.id, "households").(float64)
		e.exec(t, `INSERT INTO households (unit_id, label, floor, occupancy, residents)
			SELECT u.id, 'anc-' || $2::int || '-' || n, 1, 'occupied', 1
			FROM (SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.grid_id = $1
			      ORDER BY u.id LIMIT 1) u, generate_series(1, 3) n`, gID, c.tile.Z)
		cached, _, after := e.served(t, c.tile, "?layers=grids")
		if cached {
			t.Errorf("tile %s: served from the cache after its grid %d gained households", c.tile, c.id)
		}
		wantProp(t, after, "grids", c.id, "households", n+3)
	}
}

// Two tile servers on one database (two gridmap instances) each read the change log and keep
// their caches current: an edit through neither shows in both, and both keep the tiles it
// does not reach.
func TestTwoServersInvalidate(t *testing.T) {
	a := newEnv(t, tiles.Options{CacheBytes: 64 << 20})
	s, err := tiles.New(a.pool, tiles.Options{CacheBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	b := &env{pool: a.pool, srv: s, url: hs.URL}
	gID, _, _ := a.gridAt(t)
	in, out := cityTile(16, 0.5, 0.5), a.outside(t, 16, gID)
	for round := range 3 {
		for _, e := range []*env{a, b} {
			e.served(t, in)
			e.served(t, out)
		}
		name := []string{"one", "two", "three"}[round]
		a.exec(t, `UPDATE grids SET name = $2 WHERE id = $1`, gID, name)
		for k, e := range []*env{a, b} {
			if cached, _, _ := e.served(t, out); !cached {
				t.Errorf("round %d, server %d: the tile away from the edit was rendered again", round, k)
			}
			cached, _, ls := e.served(t, in)
			if cached {
				t.Errorf("round %d, server %d: the tile over the edit came from the cache", round, k)
			}
			wantProp(t, ls, "grids", gID, "name", name)
		}
	}
}
