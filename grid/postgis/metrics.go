package postgis

import (
	"context"
	"time"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// writeMetrics (the store's metrics) time the users' writes: the whole transaction, and its COMMIT alone — where
// the deferred triggers refresh what the database keeps derived from the data (the tile
// tables, and whatever else is maintained at commit), so the cost an edit pays for them.
type writeMetrics struct {
	total, commit *prometheus.HistogramVec
	// locate answers by the in-memory index or by SQL
	located *prometheus.CounterVec
}

// writeBuckets are the upper bounds (seconds) of the write-time histograms.
var writeBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Instrument registers the store's metrics on reg: its connection pool (pool="api"), the time
// of each user's write, per action, and how locate was answered. Call it once, before serving.
func (s *Store) Instrument(reg prometheus.Registerer) error {
	m := &writeMetrics{
		total: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gridmap_write_seconds",
			Help: "Time of a user's write transaction, from BEGIN to COMMIT done, per action.", Buckets: writeBuckets},
			[]string{"action"}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gridmap_write_commit_seconds",
			Help: "Time of a write's COMMIT, per action: the deferred upkeep of derived tables (tile tables, coverage) it pays for.", Buckets: writeBuckets},
			[]string{"action"}),
		located: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmap_locate_total",
			Help: "Locate answers, by=index from memory or by=sql while the index is built (at start, after a bulk write)."},
			[]string{"by"}),
	}
	for _, c := range []prometheus.Collector{m.total, m.commit, m.located, pgxpoolprometheus.NewCollector(s.pool, map[string]string{"pool": "api"})} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	s.writes = m
	return nil
}

// inTx runs fn in a transaction of its own, committed when fn returns nil, and times it as a
// write of action.
func (s *Store) inTx(ctx context.Context, action string, fn func(tx pgx.Tx) error) error {
	start := time.Now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed
	if err := fn(tx); err != nil {
		return err
	}
	commit := time.Now()
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if s.writes != nil {
		s.writes.total.WithLabelValues(action).Observe(time.Since(start).Seconds())
		s.writes.commit.WithLabelValues(action).Observe(time.Since(commit).Seconds())
	}
	return nil
}
