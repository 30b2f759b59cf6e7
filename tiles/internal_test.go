package tiles

import (
	"fmt"
	"testing"
)

func TestCacheLRU(t *testing.T) {
	body := func(v int64, n int) *tileBody { return &tileBody{version: v, raw: make([]byte, n)} }
	per := body(1, 1000).size()
	c := newCache(3 * per)
	k := func(x int) cacheKey { return cacheKey{t: Tile{Z: 10, X: x}, layers: allLayers} }
	for x := range 3 {
		c.put(k(x), body(1, 1000))
	}
	if c.get(k(0), 1) == nil { // 0 is now the most recent
		t.Fatal("miss on a cached tile")
	}
	c.put(k(3), body(1, 1000)) // evicts 1, the least recently used
	if c.get(k(1), 1) != nil || c.get(k(0), 1) == nil || c.get(k(3), 1) == nil {
		t.Fatal("LRU evicted the wrong tile")
	}
	if n, size, ev := c.stats(); n != 3 || size != 3*per || ev != 1 {
		t.Fatalf("stats %d entries, %d bytes, %d evictions", n, size, ev)
	}
	c.put(k(9), body(1, int(4*per))) // alone over the budget: not kept, nothing evicted
	if n, _, _ := c.stats(); n != 3 || c.get(k(9), 1) != nil {
		t.Fatal("a tile larger than the budget was cached")
	}

	// another version is a miss; a newer one empties the cache, an older one is not kept
	if c.get(k(0), 2) != nil {
		t.Fatal("hit across versions")
	}
	if n, size, _ := c.stats(); n != 0 || size != 0 {
		t.Fatalf("after version 2: %d entries, %d bytes", n, size)
	}
	c.put(k(0), body(1, 10))
	if c.get(k(0), 1) != nil {
		t.Fatal("a tile of an old version was cached")
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
