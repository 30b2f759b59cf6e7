package tiles

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"
)

// The tile cache counts the memory it really holds: filled with tiles of many sizes, the heap
// grows by what the cache says it holds, within 10%.
func TestCacheCountsItsMemory(t *testing.T) {
	s := &Server{}
	for _, n := range []int{0, 90, 700, 5_000, 61_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const tiles = 5000
			bodies := make([]*tileBody, tiles)
			keys := make([]cacheKey, tiles)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := newCache(1 << 40)
			for k := range tiles {
				size := n + k%97 // sizes that fall anywhere in their size classes
				raw := append([]byte(nil), make([]byte, size)...)
				for i := range raw {
					raw[i] = byte(i * k)
				}
				b := s.finish(1, raw, "")
				if len(raw) > 0 { // as renderShared keeps it: an exact clone of the gzip output
					b.gz = append([]byte(nil), raw[:size/3+1]...)
				}
				keys[k] = cacheKey{t: Tile{Z: 20, X: k, Y: k}, layers: allLayers}
				c.put(keys[k], b)
				bodies[k] = b
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
			counted := c.stats().bytes
			// bodies and keys are the test's own: take them off what the heap grew by
			heap -= float64(cap(bodies)*8 + cap(keys)*int(unsafe.Sizeof(cacheKey{})))
			if r := float64(counted) / heap; r < 0.9 || r > 1.1 {
				t.Errorf("per entry %.1f bytes over the tiles' own; tiles of ~%d bytes: the cache counts %d bytes, the heap grew by %.0f (ratio %.2f)", (heap-float64(counted))/tiles+entryOverhead, n, counted, heap, r)
			}
			runtime.KeepAlive(bodies)
			runtime.KeepAlive(c)
		})
	}
}
