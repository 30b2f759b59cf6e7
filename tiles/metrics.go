package tiles

import (
	"github.com/IBM/pgxpoolprometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the tile server's Prometheus metrics (README "Metrics" lists them).
type metrics struct {
	hits, misses, notModified, empty, errors prometheus.Counter
	versionReads, densityBuilds, syncs       prometheus.Counter
	densityReuses                            prometheus.Counter
	simplified, dropped                      prometheus.Counter
	bytesOut                                 prometheus.Counter
	render                                   prometheus.Histogram
}

// renderBuckets are the upper bounds (seconds) of the render-time histogram.
var renderBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}

// newMetrics registers the tile server's metrics on reg: its counters, the cache's gauges (read
// from c at each scrape; c nil: the cache is off) and its connection pool's statistics.
func (s *Server) newMetrics(reg prometheus.Registerer, c *cache) error {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := metrics{
		hits:          counter("gridmap_tile_cache_hits_total", "Tile requests answered from the cache."),
		misses:        counter("gridmap_tile_cache_misses_total", "Tile requests that rendered the tile (every request when the cache is off)."),
		notModified:   counter("gridmap_tile_not_modified_total", "Tile requests answered 304 Not Modified."),
		empty:         counter("gridmap_tile_empty_total", "Tile requests answered 204 No Content (no feature in the tile)."),
		errors:        counter("gridmap_tile_errors_total", "Tile requests that failed with an internal error."),
		versionReads:  counter("gridmap_tile_version_reads_total", "Data version reads (one serves every request waiting for it)."),
		densityBuilds: counter("gridmap_tile_density_builds_total", "Builds of the H3 density index (a building's point or households changed, or none was built yet)."),
		densityReuses: counter("gridmap_tile_density_reuses_total", "Density indexes carried to a newer data version unchanged (no building's point or households changed)."),
		syncs:         counter("gridmap_tile_cache_syncs_total", "Reads of the change log by the cache (one per newer data version seen)."),
		simplified:    counter("gridmap_tile_simplified_total", "Tiles over the byte cap rendered again, coarser."),
		dropped:       counter("gridmap_tile_layers_dropped_total", "Layers left out of tiles still over the byte cap."),
		bytesOut:      counter("gridmap_tile_response_bytes_total", "Tile bytes written (as sent, compressed or not)."),
		render: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gridmap_tile_render_seconds",
			Help: "Time to render a tile (database and encoding).", Buckets: renderBuckets}),
	}
	stat := func(f func(cacheStats) int64) func() float64 {
		return func() float64 {
			if c == nil {
				return 0
			}
			return float64(f(c.stats()))
		}
	}
	cs := []prometheus.Collector{
		m.hits, m.misses, m.notModified, m.empty, m.errors, m.versionReads, m.densityBuilds,
		m.densityReuses, m.syncs, m.simplified, m.dropped, m.bytesOut, m.render,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_tile_cache_evictions_total",
			Help: "Tiles evicted from the cache to stay within its budget."}, stat(func(s cacheStats) int64 { return s.evictions })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_tile_cache_invalidated_total",
			Help: "Tiles dropped from the cache because a logged change reached them."}, stat(func(s cacheStats) int64 { return s.invalidated })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_tile_cache_resets_total",
			Help: "Times the cache was emptied: at its start, and when the change log no longer reached back to its version."}, stat(func(s cacheStats) int64 { return s.resets })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_tile_cache_entries",
			Help: "Tiles in the cache."}, stat(func(s cacheStats) int64 { return int64(s.entries) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_tile_cache_bytes",
			Help: "Bytes of the tiles in the cache."}, stat(func(s cacheStats) int64 { return s.bytes })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_tile_cache_capacity_bytes",
			Help: "Budget of the cache in bytes (0: cache off)."}, func() float64 { return float64(s.o.CacheBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_tile_data_version",
			Help: "Data version up to which the cache has applied the logged changes."}, stat(func(s cacheStats) int64 { return s.applied })),
		pgxpoolprometheus.NewCollector(s.pool, map[string]string{"pool": "tiles"}),
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	s.m = m
	return nil
}
