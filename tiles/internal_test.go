package tiles

import (
	"fmt"
	"testing"
	"time"

	"gridmap/internal/changelog"
)

func TestCacheLRU(t *testing.T) {
	body := func(v int64, n int) *tileBody { return &tileBody{version: v, raw: make([]byte, n)} }
	per := body(1, 1000).size()
	c := newCache(3 * per)
	k := func(x int) cacheKey { return cacheKey{t: Tile{Z: 10, X: x}, layers: allLayers} }
	for x := range 3 {
		c.put(k(x), body(1, 1000))
	}
	if c.get(k(0)) == nil { // 0 is now the most recent
		t.Fatal("miss on a cached tile")
	}
	c.put(k(3), body(1, 1000)) // evicts 1, the least recently used
	if c.get(k(1)) != nil || c.get(k(0)) == nil || c.get(k(3)) == nil {
		t.Fatal("LRU evicted the wrong tile")
	}
	if st := c.stats(); st.entries != 3 || st.bytes != 3*per || st.evictions != 1 {
		t.Fatalf("stats %+v", st)
	}
	c.put(k(9), body(1, int(4*per))) // alone over the budget: not kept, nothing evicted
	if st := c.stats(); st.entries != 3 || c.get(k(9)) != nil {
		t.Fatal("a tile larger than the budget was cached")
	}
}

// A batch of changes evicts the tiles its boxes reach, at the zooms and in the layers of their
// kind, and nothing else; a tile cut before a change that reaches it is not taken in after.
func TestCacheInvalidation(t *testing.T) {
	s := &Server{rules: DefaultRules(), densityGrow: densityGrowth(DefaultRules())}
	body := func(v int64) *tileBody { return &tileBody{version: v, raw: []byte{1}} }
	c := newCache(1 << 30)
	c.apply(0, 10, false, nil) // the first read of the log starts the cache at version 10
	// a building of 20 × 20 m
	x, y := mercator(118.7123, 32.0123)
	b := Box{x - 10, y - 10, x + 10, y + 10}
	var keys []cacheKey
	for z := 6; z <= 20; z++ {
		at := tileOf(x, y, z)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				for _, l := range []layerSet{allLayers, layerBit(LayerGrids)} {
					k := cacheKey{t: Tile{Z: z, X: at.X + dx, Y: at.Y + dy}, layers: l}
					keys = append(keys, k)
					c.put(k, body(10))
				}
			}
		}
	}
	r, ok := s.reachOf(changelog.Change{Version: 11, Kind: changelog.Building, ID: 1,
		Box: changelog.Box{MinX: b.MinX, MinY: b.MinY, MaxX: b.MaxX, MaxY: b.MaxY}})
	if !ok {
		t.Fatal("a building change reaches no tile")
	}
	c.apply(10, 11, true, []reach{r})
	kept, dropped := 0, 0
	for _, k := range keys {
		hit := c.get(k) != nil
		// dropped: the buildings layer from z14, in tiles whose buffered envelope meets the box
		in := k.t.Z >= 14 && k.layers.has(LayerBuildings) && k.t.Bounds(float64(buffer)/extent).Intersects(b)
		if hit == in {
			t.Errorf("tile %s layers %05b: cached %v, want %v", k.t, k.layers, hit, !in)
		}
		if hit {
			kept++
		} else {
			dropped++
		}
	}
	if dropped < 7 || kept < len(keys)/2 {
		t.Errorf("%d tiles dropped, %d kept", dropped, kept)
	}
	// a tile cut at version 10 does not go in once a change of 11 reaching it is applied...
	in := cacheKey{t: tileOf(x, y, 16), layers: allLayers}
	c.put(in, body(10))
	if c.get(in) != nil {
		t.Error("a tile older than a change reaching it was cached")
	}
	// ...one it does not reach does, and so does one cut after the change
	out := cacheKey{t: Tile{Z: 16, X: in.t.X + 5, Y: in.t.Y}, layers: allLayers}
	c.put(out, body(10))
	c.put(in, body(11))
	if c.get(out) == nil || c.get(in) == nil {
		t.Error("a tile no change reaches was not cached")
	}
	// a log that no longer reaches back empties the cache
	c.apply(11, 20, false, nil)
	if st := c.stats(); st.entries != 0 || st.resets != 2 {
		t.Errorf("after an incomplete batch: %+v", st)
	}
}

// tileOf returns the tile at zoom z holding Web-Mercator point x, y.
func tileOf(x, y float64, z int) Tile {
	w := 2 * earth / float64(int(1)<<z)
	return Tile{Z: z, X: int((x + earth) / w), Y: int((earth - y) / w)}
}

// A level-3 grid's change reaches z13 and deeper; a level-1 grid's from z8; a density change
// reaches the low zooms around its point, further than the point itself; a road the roads
// layer from the zoom of the major roads.
func TestReachOf(t *testing.T) {
	s := &Server{rules: DefaultRules(), densityGrow: densityGrowth(DefaultRules())}
	for _, c := range []struct {
		c          changelog.Change
		minZ, maxZ int
		layer      string
	}{
		{changelog.Change{Kind: changelog.Grid, Level: 3}, 13, MaxZoom, LayerGrids},
		{changelog.Change{Kind: changelog.Grid, Level: 1}, 8, MaxZoom, LayerGrids},
		{changelog.Change{Kind: changelog.Coverage}, 10, MaxZoom, LayerCoverage},
		{changelog.Change{Kind: changelog.Unit}, 16, MaxZoom, LayerUnits},
		{changelog.Change{Kind: changelog.Density}, 0, 13, LayerDensity},
		{changelog.Change{Kind: changelog.Road}, 12, MaxZoom, LayerRoads}, // from the major roads' zoom
	} {
		r, ok := s.reachOf(c.c)
		if !ok || r.minZ != c.minZ || r.maxZ != c.maxZ || !r.layers.has(c.layer) {
			t.Errorf("%s: zooms %d–%d layers %05b ok %v", c.c.Kind, r.minZ, r.maxZ, r.layers, ok)
		}
	}
	if _, ok := s.reachOf(changelog.Change{Kind: changelog.City}); ok {
		t.Error("a city change reaches tiles")
	}
	x, y := mercator(118.7, 32)
	r, _ := s.reachOf(changelog.Change{Kind: changelog.Density, Box: changelog.Box{MinX: x, MinY: y, MaxX: x, MaxY: y}})
	for z := 0; z <= 13; z++ {
		b := r.boxAt(z)
		hex := 2 * 1.5 * h3EdgeM[DefaultRules().densityRes(z)]
		if b.MaxX-x < hex || x-b.MinX < hex {
			t.Errorf("z%d: a density change reaches %.0f m, less than its hexagon (%.0f m)", z, b.MaxX-x, hex)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false,
		"gzip; q=0.0": false, "br": false, "*": true, "identity": false, "x-gzip": false,
	} {
		if acceptsGzip(h) != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, !want, want)
		}
	}
}

func TestRules(t *testing.T) {
	r := DefaultRules()
	want := map[int]int{0: 0, 5: 3, 8: 5, 9: 6, 10: 7, 11: 7, 12: 8, 13: 9, 14: -1, 22: -1}
	for z, res := range want {
		if got := r.densityRes(z); got != res {
			t.Errorf("z%d: density resolution %d, want %d", z, got, res)
		}
	}
	for z, level := range map[int]int{7: 0, 8: 1, 10: 1, 11: 2, 12: 2, 13: 3, 22: 3} {
		if got := r.gridLevel(z); got != level {
			t.Errorf("z%d: grid level %d, want %d", z, got, level)
		}
	}
	for _, bad := range []Rules{{GridLevels: [3]int{8, 7, 13}, Buildings: 14, Units: 16, Coverage: 10, MaxZoom: 16},
		{GridLevels: [3]int{8, 11, 13}, Buildings: 23, Units: 16, Coverage: 10, MaxZoom: 16}} {
		if bad.Validate() == nil {
			t.Errorf("rules %+v accepted", bad)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		z, x, y string
		ok      bool
	}{
		{"0", "0", "0", true}, {"22", "4194303", "4194303", true}, {"22", "4194304", "0", false},
		{"23", "0", "0", false}, {"", "0", "0", false}, {"1", "-1", "0", false}, {"1", "0", "2", false},
		{"01", "1", "1", true}, {"1", "1 ", "1", false}, {"1", "0x1", "1", false}, {"999999999", "0", "0", false},
	} {
		_, err := Parse(c.z, c.x, c.y)
		if (err == nil) != c.ok {
			t.Errorf("%s/%s/%s: err %v, want ok=%v", c.z, c.x, c.y, err, c.ok)
		}
	}
}

func ExampleTile_Bounds() {
	b := Tile{Z: 1, X: 1, Y: 0}.Bounds(0)
	fmt.Printf("%.0f %.0f %.0f %.0f\n", b.MinX, b.MinY, b.MaxX, b.MaxY)
	// Output: 0 0 20037508 20037508
}

// A tile of a past moment draws only history, which no later write changes: a change reaching
// it leaves it cached (while the current tile beside it goes), a reset empties it, and it goes
// in even when cut before a change that reaches the place.
func TestCachePastTiles(t *testing.T) {
	s := &Server{rules: DefaultRules(), densityGrow: densityGrowth(DefaultRules())}
	c := newCache(1 << 30)
	c.apply(0, 10, false, nil)
	x, y := mercator(118.7123, 32.0123)
	now := cacheKey{t: tileOf(x, y, 16), layers: allLayers}
	past := now
	past.at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	c.put(now, &tileBody{version: 10, raw: []byte{1}})
	c.put(past, &tileBody{version: 10, raw: []byte{2}})
	r, _ := s.reachOf(changelog.Change{Version: 11, Kind: changelog.Grid, ID: 1, Level: 3, Box: changelog.Box{MinX: x - 10, MinY: y - 10, MaxX: x + 10, MaxY: y + 10}})
	c.apply(10, 11, true, []reach{r})
	if c.get(now) != nil || c.get(past) == nil {
		t.Errorf("after a change over the tile: current cached %v, past cached %v; want false, true", c.get(now) != nil, c.get(past) != nil)
	}
	other := past
	other.at++
	c.put(other, &tileBody{version: 10, raw: []byte{3}})
	if b := c.get(other); b == nil || b.raw[0] != 3 || c.get(past).raw[0] != 2 {
		t.Error("two moments of one tile are not cached apart")
	}
	c.apply(11, 20, false, nil)
	if c.get(past) != nil || c.stats().bytes != 0 {
		t.Errorf("a reset kept a past tile: %+v", c.stats())
	}
}
