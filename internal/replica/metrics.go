package replica

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count where reads went and how long they waited; the lag is read at each scrape.
type metrics struct {
	reads *prometheus.CounterVec
	wait  prometheus.Histogram
}

func (m *metrics) read(to string) {
	if m != nil {
		m.reads.WithLabelValues(to).Inc()
	}
}

func (m *metrics) waited(d time.Duration) {
	if m != nil {
		m.wait.Observe(d.Seconds())
	}
}

// Instrument registers the router's metrics on reg: reads per database, the waits of reads
// that named a position, and — with a replica — its lag, measured at each scrape
// (gridmap_replica_lag_seconds, gridmap_replica_lag_bytes).
func (r *Router) Instrument(reg prometheus.Registerer) error {
	m := &metrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmap_replica_reads_total",
			Help: "Reads routed by the replica router, to=replica or to=primary (a read naming a position the replica did not replay in time)."},
			[]string{"to"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gridmap_replica_wait_seconds",
			Help:    "Time a read naming a WAL position (Gridmap-Min-LSN) waited for the replica to replay it.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}}),
	}
	cs := []prometheus.Collector{m.reads, m.wait}
	if r.replica != nil {
		cs = append(cs, &lagCollector{r: r,
			seconds: prometheus.NewDesc("gridmap_replica_lag_seconds",
				"How far the replica's replay is behind: 0 when it has replayed all it received, else the age of the last transaction it replayed.", nil, nil),
			bytes: prometheus.NewDesc("gridmap_replica_lag_bytes",
				"WAL bytes between the primary's current position and the replica's replay position.", nil, nil),
		})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	r.m = m
	return nil
}

// lagCollector reads the replica's lag when scraped, so the number is as fresh as the scrape.
type lagCollector struct {
	r              *Router
	seconds, bytes *prometheus.Desc
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.seconds
	ch <- c.bytes
}

// Collect reads the primary's position and the replica's replay position and time; a
// database that does not answer within a second leaves its metric out of the scrape.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var replay *string
	var secs float64
	// the usual measure: a standby that has replayed everything it received is not behind,
	// however long ago the last write was
	err := c.r.replica.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text,
		CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		     ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END::float8`).Scan(&replay, &secs)
	if err != nil || replay == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, max(secs, 0))
	replayed, err := ParseLSN(*replay)
	if err != nil {
		return
	}
	var cur string
	if err := c.r.primary.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&cur); err != nil {
		return
	}
	if primary, err := ParseLSN(cur); err == nil {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(max(int64(primary)-int64(replayed), 0)))
	}
}
