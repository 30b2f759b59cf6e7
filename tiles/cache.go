package tiles

import (
	"container/list"
	"sync"
)

// cacheKey names a cached tile: the tile, the layers asked for and the moment drawn.
type cacheKey struct {
	t      Tile
	layers layerSet
	// at is the past moment drawn (Unix microseconds), 0 for now. A past tile draws only
	// history, which no later write changes: no logged change evicts it (it is not in zooms),
	// only the LRU and a reset do.
	at int64
}

// tileBody is a finished tile as served: immutable once built, shared by the cache and the
// requests reading it.
type tileBody struct {
	version int64  // data version of the snapshot it was cut from
	raw     []byte // the MVT, empty for a tile without features
	gz      []byte // raw gzipped; nil when the tile is empty or not cached
	etag    string
	reduced string // how the byte cap reduced it, "" when it did not
}

// size is the memory a cached tile holds: its buffers' capacities (the bytes allocated, see
// render and renderShared), its strings, and entryOverhead.
func (b *tileBody) size() int64 {
	return int64(cap(b.raw)+cap(b.gz)+len(b.etag)+len(b.reduced)) + entryOverhead
}

// entryOverhead is what an entry costs beside its bytes — the tileBody, the list element,
// the cacheEntry and the map slots (a tile's setBits among them) — as measured by
// TestCacheCountsItsMemory.
const entryOverhead = 264

// recentBatches is how many applied batches of changes the cache remembers, to tell whether a
// tile rendered from an older snapshot may still go in (put).
const recentBatches = 64

// cache is an LRU of tiles bounded by bytes that is never stale. It knows the data version up
// to which it has applied the changes logged since (applied): every entry it holds is the
// same tile as at that version, because each batch of changes read from the log evicts the
// tiles the changes reach (apply), and a tile rendered from an older snapshot goes in only
// when no change applied since that snapshot reaches it (put). A request brings the cache up
// to its own data version before asking it (Server.sync), so whatever it gets counts every
// write committed before the request.
type cache struct {
	max int64

	mu      sync.Mutex
	size    int64
	applied int64 // changes of every version up to this one have been applied
	ll      *list.List
	m       map[cacheKey]*list.Element
	// by zoom, the layer sets cached for each tile, one bit per set: a change finds the
	// entries it reaches by tile ranges, or by scanning a zoom when its range holds more
	// tiles than the zoom has entries (seven layers make 127 sets: setBits)
	zooms  [MaxZoom + 1]map[Tile]setBits
	recent []appliedBatch // oldest first; each begins where the one before ended

	evictions, invalidated, resets int64
}

// appliedBatch is a batch of changes the cache applied: versions in (from, to].
type appliedBatch struct {
	from, to int64
	reaches  []reach
}

type cacheEntry struct {
	key  cacheKey
	body *tileBody
}

func newCache(maxBytes int64) *cache {
	c := &cache{max: maxBytes, ll: list.New(), m: map[cacheKey]*list.Element{}}
	for z := range c.zooms {
		c.zooms[z] = map[Tile]setBits{}
	}
	return c
}

// version returns the version up to which changes are applied.
func (c *cache) version() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}

// get returns the tile for k, or nil. The caller has brought the cache up to its version.
func (c *cache) get(k cacheKey) *tileBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return nil
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cacheEntry).body
}

// put stores b under k, unless b alone is over the budget or b was cut from a snapshot older
// than the applied version and a change since that snapshot reaches k (or the cache no
// longer remembers the changes back to it).
func (c *cache) put(k cacheKey, b *tileBody) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.size() > c.max || (k.at == 0 && c.changedSince(k, b.version)) {
		return
	}
	if el, ok := c.m[k]; ok {
		c.remove(el)
	}
	c.m[k] = c.ll.PushFront(&cacheEntry{key: k, body: b})
	if k.at == 0 {
		sets := c.zooms[k.t.Z][k.t]
		sets.add(k.layers)
		c.zooms[k.t.Z][k.t] = sets
	}
	c.size += b.size()
	for c.size > c.max {
		c.remove(c.ll.Back())
		c.evictions++
	}
}

// changedSince reports whether a change applied after version v may reach k. Called with mu
// held.
func (c *cache) changedSince(k cacheKey, v int64) bool {
	if v >= c.applied {
		return false
	}
	if len(c.recent) == 0 || c.recent[0].from > v {
		return true
	}
	for _, b := range c.recent {
		if b.to <= v {
			continue
		}
		for _, r := range b.reaches {
			if r.version > v && r.touches(k) {
				return true
			}
		}
	}
	return false
}

// apply applies the changes of versions in (from, to] (their reaches): it evicts every tile
// they reach and moves the applied version to to. complete false (the log did not reach back
// to from) empties the cache.
func (c *cache) apply(from, to int64, complete bool, reaches []reach) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if to <= c.applied {
		return
	}
	if !complete || from > c.applied {
		c.reset()
		c.applied = to
		return
	}
	for _, r := range reaches {
		c.evict(r)
	}
	c.recent = append(c.recent, appliedBatch{from: c.applied, to: to, reaches: reaches})
	if n := len(c.recent) - recentBatches; n > 0 {
		c.recent = append(c.recent[:0], c.recent[n:]...)
	}
	c.applied = to
}

// evict removes the tiles r reaches. Called with mu held.
func (c *cache) evict(r reach) {
	for z := r.minZ; z <= r.maxZ; z++ {
		tiles := c.zooms[z]
		if len(tiles) == 0 {
			continue
		}
		if r.everywhere {
			for t := range tiles {
				c.drop(t, r.layers)
			}
			continue
		}
		x0, y0, x1, y1 := r.tiles(z)
		if (x1-x0+1)*(y1-y0+1) <= len(tiles) {
			for x := x0; x <= x1; x++ {
				for y := y0; y <= y1; y++ {
					if t := (Tile{z, x, y}); tiles[t] != (setBits{}) {
						c.drop(t, r.layers)
					}
				}
			}
			continue
		}
		for t := range tiles {
			if x0 <= t.X && t.X <= x1 && y0 <= t.Y && t.Y <= y1 {
				c.drop(t, r.layers)
			}
		}
	}
}

// drop removes the entries of tile t whose layers meet layers. Called with mu held.
func (c *cache) drop(t Tile, layers layerSet) {
	sets := c.zooms[t.Z][t]
	for s := layerSet(1); s <= allLayers; s++ {
		if sets.has(s) && s&layers != 0 {
			c.remove(c.m[cacheKey{t: t, layers: s}])
			c.invalidated++
		}
	}
}

// reset empties the cache. Called with mu held.
func (c *cache) reset() {
	c.ll.Init()
	clear(c.m)
	for z := range c.zooms {
		clear(c.zooms[z])
	}
	c.size = 0
	c.recent = nil
	c.resets++
}

// setBits has one bit per layer set: which sets of a tile are cached.
type setBits [2]uint64

func (b *setBits) add(s layerSet)     { b[s/64] |= 1 << (s % 64) }
func (b *setBits) remove(s layerSet)  { b[s/64] &^= 1 << (s % 64) }
func (b setBits) has(s layerSet) bool { return b[s/64]&(1<<(s%64)) != 0 }

// an eighth layer needs a wider setBits: this fails to compile then (a negative array length)
var _ [len(setBits{})*64 - 1 - int(allLayers)]struct{}

func (c *cache) remove(el *list.Element) {
	e := c.ll.Remove(el).(*cacheEntry)
	delete(c.m, e.key)
	c.size -= e.body.size()
	if e.key.at != 0 {
		return
	}
	z := c.zooms[e.key.t.Z]
	sets := z[e.key.t]
	sets.remove(e.key.layers)
	if sets != (setBits{}) {
		z[e.key.t] = sets
	} else {
		delete(z, e.key.t)
	}
}

// cacheStats are the cache's gauges and counters.
type cacheStats struct {
	entries                               int
	bytes, evictions, invalidated, resets int64
	applied                               int64
}

func (c *cache) stats() cacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cacheStats{entries: c.ll.Len(), bytes: c.size, evictions: c.evictions,
		invalidated: c.invalidated, resets: c.resets, applied: c.applied}
}
