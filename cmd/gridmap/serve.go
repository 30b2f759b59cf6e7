package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gridmap/api"
	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/tiles"
	"gridmap/web"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	withDemo := fs.Bool("demo", false, "load the demo city when the database is empty")
	scale := fs.Int("demo-scale", 1, "scale of the demo city loaded by --demo")
	tileCacheMB := fs.Int("tile-cache-mb", 256, "memory for the vector tile cache in MiB (0: off)")
	tileMaxKB := fs.Int("tile-max-kb", tiles.DefaultMaxTileBytes/1000, "hard cap on a vector tile's uncompressed size in kB")
	private := fs.Bool("private", false, "require signing in for reads too (default: anonymous users read aggregates and maps)")
	tileMaxAge := fs.Duration("tile-max-age", 0, "how long clients may keep a tile without revalidating (0: revalidate every time)")
	tileConns := fs.Int("tile-db-conns", 0, "database connections for vector tiles (0: max(4, CPUs))")
	var lim serveLimits
	lim.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	lim.api.RequestTimeout = lim.writeTimeout // an answer that cannot be written is not worth waiting for
	t0 := time.Now()
	store, cluster, closeDB, err := db.openCluster(ctx, e, lim.store)
	if err != nil {
		return err
	}
	defer closeDB()
	if *withDemo {
		empty, err := store.IsEmpty(ctx)
		if err != nil {
			return err
		}
		if empty {
			e.log.Info("loading the demo city", "scale", *scale)
			sum, err := store.LoadDemo(ctx, demo.Options{Scale: *scale, Seed: demo.DefaultSeed}, "gridmap serve --demo",
				func(line string) { e.log.Info(line) })
			if err != nil {
				return err
			}
			e.log.Info("demo city loaded", "buildings", sum.Buildings, "households", sum.Households, "seconds", sum.Elapsed.Seconds())
		}
	}
	if *tileCacheMB < 0 || *tileMaxKB <= 0 || *tileConns < 0 {
		return usageErr("--tile-cache-mb and --tile-db-conns must be 0 or more, --tile-max-kb more than 0")
	}
	// one registry for the process, served at /metrics (and /tiles/metrics)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := store.Instrument(reg); err != nil {
		return err
	}
	ts, err := tiles.New(store.Pool(), tiles.Options{
		CacheBytes:   int64(*tileCacheMB) << 20,
		MaxTileBytes: *tileMaxKB * 1000,
		MaxAge:       *tileMaxAge,
		DBConns:      *tileConns,
		MaxQueued:    lim.tileQueue,
		Private:      *private,
		Forwarded:    len(lim.proxies) > 0,
		Logger:       e.log,
		Metrics:      reg,
	})
	if err != nil {
		return err
	}
	defer ts.Close()
	go func() {
		if err := ts.Warm(ctx, 4); err != nil {
			e.log.Warn("warming the tile server", "err", err)
		}
		t0 := time.Now()
		if err := store.WarmLocate(ctx); err != nil {
			e.log.Warn("building the locate index", "err", err)
		} else {
			e.log.Info("locate index built", "seconds", time.Since(t0).Seconds())
		}
	}()
	ui, built := web.Dist()
	if !built {
		ui = nil
		e.log.Warn("the map UI is not built into this binary (make web)")
	}
	srv := &http.Server{
		Handler: api.New(api.Options{Store: store, Tiles: ts, Web: ui, Logger: e.log, Private: *private,
			Limits: lim.api, Proxies: lim.proxies, BasemapHosts: lim.basemaps, Metrics: reg}),
		ReadHeaderTimeout: 10 * time.Second,
		// every response must be written within it; streamed exports set a deadline per chunk
		WriteTimeout:   lim.writeTimeout,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	e.log.Info("gridmap serving", "url", "http://"+ln.Addr().String(), "startup_ms", time.Since(t0).Milliseconds())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cluster != nil {
		// serve keeps the private cluster up: a postmaster that dies is started again, and
		// one that stays down ends serve with the reason rather than a 503 for ever
		watch, stopWatch := context.WithCancel(ctx)
		defer stopWatch() // before closeDB stops the cluster
		go func() {
			if err := cluster.Supervise(watch); err != nil {
				errc <- fmt.Errorf("the private PostgreSQL is down: %w", err)
			}
		}()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	e.log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) && failed == nil {
		return err
	}
	return failed
}

// serveLimits are serve's flags that bound what clients may take (README: Hardening / limits).
type serveLimits struct {
	api                    api.Limits
	store                  postgis.Limits
	tileQueue              int
	writeTimeout           time.Duration
	basemapList, proxyList string
	basemaps               []string
	proxies                api.Proxies
}

func (l *serveLimits) register(fs *flag.FlagSet) {
	fs.IntVar(&l.api.Heavy, "heavy-conns", 0, "heavy reads (within, balance, coverage) running at once (0: max(2, CPUs))")
	fs.IntVar(&l.api.Exports, "export-conns", api.DefaultExports, "exports streaming at once")
	fs.DurationVar(&l.api.QueueWait, "queue-wait", api.DefaultQueueWait, "how long a heavy read or export waits for a turn before 503")
	fs.IntVar(&l.api.AnonHeavyPerMinute, "anon-heavy-per-min", api.DefaultAnonHeavyPerMinute, "heavy reads and exports one anonymous client (IP) may start a minute (-1: no limit)")
	fs.DurationVar(&l.api.WriteStall, "write-stall", api.DefaultWriteStall, "how long a client may take to accept each 64 KiB of an export before it is cut off")
	fs.DurationVar(&l.writeTimeout, "write-timeout", 60*time.Second, "how long writing any other response may take")
	fs.DurationVar(&l.store.StatementTimeout, "statement-timeout", 30*time.Second, "the longest a database statement may run (0: no limit)")
	fs.DurationVar(&l.store.ExportTimeout, "export-timeout", 10*time.Minute, "the longest an export's query may run")
	fs.IntVar(&l.tileQueue, "tile-queue", tiles.DefaultMaxQueued, "tile renders that may wait for a connection before 503")
	fs.StringVar(&l.basemapList, "basemap-hosts", "", "hosts the map UI may load a basemap from (?basemap=), comma-separated; none by default")
	fs.StringVar(&l.proxyList, "trusted-proxies", "", "addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto/-Host count; none by default")
}

// check validates the flags and reads the lists.
func (l *serveLimits) check() error {
	a := l.api
	if a.Heavy < 0 || a.Exports <= 0 || a.QueueWait <= 0 || a.AnonHeavyPerMinute == 0 || a.AnonHeavyPerMinute < -1 ||
		a.WriteStall <= 0 || l.writeTimeout <= 0 || l.store.StatementTimeout < 0 || l.store.ExportTimeout <= 0 || l.tileQueue <= 0 {
		return usageErr("limits: --export-conns, --queue-wait, --write-stall, --write-timeout, --export-timeout and --tile-queue must be more than 0; --heavy-conns and --statement-timeout 0 or more; --anon-heavy-per-min more than 0 or -1")
	}
	var err error
	if l.basemaps, err = api.ParseBasemapHosts(l.basemapList); err != nil {
		return usageErr("--basemap-hosts: %v", err)
	}
	if l.proxies, err = api.ParseProxies(l.proxyList); err != nil {
		return usageErr("--trusted-proxies: %v", err)
	}
	return nil
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	_, closeDB, err := db.open(ctx, e) // opening migrates
	if err != nil {
		return err
	}
	closeDB()
	fmt.Fprintln(e.stdout, "migrate: the database schema is up to date")
	return nil
}

func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	scale := fs.Int("scale", 1, "copies of the city (100: ~13k grids, ~150k buildings, ~5M households)")
	seed := fs.Uint64("seed", demo.DefaultSeed, "random seed (same seed, same city)")
	reset := fs.Bool("reset", false, "empty the database first (the audit log stays)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	o := demo.Options{Scale: *scale, Seed: *seed}
	if err := o.Validate(); err != nil {
		return err
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	if *reset {
		if err := store.Reset(ctx, "gridmap demo --reset"); err != nil {
			return err
		}
	}
	sum, err := store.LoadDemo(ctx, o, "gridmap demo", func(line string) { fmt.Fprintln(e.stderr, line) })
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: scale %d, seed %d: %d/%d/%d grids (levels 1/2/3), %d buildings, %d units, %d households (%d residents), %d workers, %d assignments in %.1fs\n",
		sum.Scale, sum.Seed, sum.Grids[1], sum.Grids[2], sum.Grids[3], sum.Buildings, sum.Units,
		sum.Households, sum.Residents, sum.Workers, sum.Assignments, sum.Elapsed.Seconds())
	return nil
}
