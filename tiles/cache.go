package tiles

import (
	"container/list"
	"sync"
)

// cacheKey names a cached tile: the tile and the layers asked for. The data version is kept
// in the entry: one version lives in the cache at a time.
type cacheKey struct {
	t      Tile
	layers layerSet
}

// tileBody is a finished tile as served: immutable once built, shared by the cache and the
// requests reading it.
type tileBody struct {
	version int64
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
// the cacheEntry and the map slot — as measured by TestCacheCountsItsMemory.
const entryOverhead = 232

// cache is an LRU of tiles bounded by bytes. It only ever answers with a tile of the version
// asked for, so a write is never hidden by it; entries of older versions are dropped as soon
// as a newer version is seen.
type cache struct {
	max int64

	mu        sync.Mutex
	size      int64
	version   int64 // newest data version seen
	ll        *list.List
	m         map[cacheKey]*list.Element
	evictions int64
}

type cacheEntry struct {
	key  cacheKey
	body *tileBody
}

func newCache(maxBytes int64) *cache {
	return &cache{max: maxBytes, ll: list.New(), m: map[cacheKey]*list.Element{}}
}

// get returns the tile for k at version v, or nil.
func (c *cache) get(k cacheKey, v int64) *tileBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(v)
	el, ok := c.m[k]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if e.body.version != v {
		return nil
	}
	c.ll.MoveToFront(el)
	return e.body
}

// put stores b under k unless a newer version is already known or b alone is over the budget.
func (c *cache) put(k cacheKey, b *tileBody) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(b.version)
	if b.version < c.version || b.size() > c.max {
		return
	}
	if el, ok := c.m[k]; ok {
		c.remove(el)
	}
	c.m[k] = c.ll.PushFront(&cacheEntry{key: k, body: b})
	c.size += b.size()
	for c.size > c.max {
		c.remove(c.ll.Back())
		c.evictions++
	}
}

// seen notes version v; a newer one than known empties the cache (every entry is of an older
// version and can never be served again). Called with mu held.
func (c *cache) seen(v int64) {
	if v <= c.version {
		return
	}
	c.version = v
	c.ll.Init()
	clear(c.m)
	c.size = 0
}

func (c *cache) remove(el *list.Element) {
	e := c.ll.Remove(el).(*cacheEntry)
	delete(c.m, e.key)
	c.size -= e.body.size()
}

// stats returns the entries, bytes and evictions so far.
func (c *cache) stats() (entries int, bytes, evictions int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.size, c.evictions
}
