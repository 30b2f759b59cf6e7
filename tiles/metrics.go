package tiles

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the tile server's counters, written in the Prometheus text format by
// /tiles/metrics.
type metrics struct {
	hits, misses, notModified, empty, errors atomic.Int64
	versionReads, densityBuilds, syncs       atomic.Int64
	densityReuses                            atomic.Int64
	simplified, dropped                      atomic.Int64
	bytesOut                                 atomic.Int64

	mu      sync.Mutex
	buckets [len(renderBuckets)]int64 // render seconds, cumulative per upper bound
	count   int64
	sum     float64
}

// renderBuckets are the upper bounds (seconds) of the render-time histogram.
var renderBuckets = [...]float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}

func (m *metrics) rendered(d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, le := range renderBuckets {
		if s <= le {
			m.buckets[k]++
		}
	}
	m.count++
	m.sum += s
}

// write writes every metric; c may be nil (no cache).
func (m *metrics) write(w io.Writer, c *cache, capacity int64) {
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	counter("gridmap_tile_cache_hits_total", "Tile requests answered from the cache.", m.hits.Load())
	counter("gridmap_tile_cache_misses_total", "Tile requests that rendered the tile (every request when the cache is off).", m.misses.Load())
	counter("gridmap_tile_not_modified_total", "Tile requests answered 304 Not Modified.", m.notModified.Load())
	counter("gridmap_tile_empty_total", "Tile requests answered 204 No Content (no feature in the tile).", m.empty.Load())
	counter("gridmap_tile_errors_total", "Tile requests that failed with an internal error.", m.errors.Load())
	counter("gridmap_tile_version_reads_total", "Data version reads (one serves every request waiting for it).", m.versionReads.Load())
	counter("gridmap_tile_density_builds_total", "Builds of the H3 density index (one per data version that needed one).", m.densityBuilds.Load())
	counter("gridmap_tile_density_reuses_total", "Density indexes carried to a newer data version unchanged (no building's point or households changed).", m.densityReuses.Load())
	counter("gridmap_tile_simplified_total", "Tiles over the byte cap rendered again, coarser.", m.simplified.Load())
	counter("gridmap_tile_layers_dropped_total", "Layers left out of tiles still over the byte cap.", m.dropped.Load())
	counter("gridmap_tile_response_bytes_total", "Tile bytes written (as sent, compressed or not).", m.bytesOut.Load())
	var st cacheStats
	if c != nil {
		st = c.stats()
	}
	counter("gridmap_tile_cache_evictions_total", "Tiles evicted from the cache to stay within its budget.", st.evictions)
	counter("gridmap_tile_cache_invalidated_total", "Tiles dropped from the cache because a logged change reached them.", st.invalidated)
	counter("gridmap_tile_cache_resets_total", "Times the cache was emptied (the change log no longer reached back to its version).", st.resets)
	counter("gridmap_tile_cache_syncs_total", "Reads of the change log (one per newer data version seen).", m.syncs.Load())
	gauge("gridmap_tile_cache_entries", "Tiles in the cache.", int64(st.entries))
	gauge("gridmap_tile_cache_bytes", "Bytes of the tiles in the cache.", st.bytes)
	gauge("gridmap_tile_cache_capacity_bytes", "Budget of the cache in bytes (0: cache off).", capacity)
	gauge("gridmap_tile_data_version", "Data version the cache has applied the changes of.", st.applied)

	m.mu.Lock()
	defer m.mu.Unlock()
	name := "gridmap_tile_render_seconds"
	fmt.Fprintf(w, "# HELP %s Time to render a tile (database and encoding).\n# TYPE %s histogram\n", name, name)
	for k, le := range renderBuckets {
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, le, m.buckets[k])
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, m.count, name, m.sum, name, m.count)
}
