// Command gridmap serves a city's grid management on a map: it runs (or connects to) PostGIS,
// loads the demo city or real data, and serves the API, vector tiles and the map UI.
//
// Run `gridmap help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/pgcluster"
)

const usage = `gridmap — a city's grid management on a map

Usage:
  gridmap serve    [--addr 127.0.0.1:8080] [--data-dir ./data] [--demo] [--demo-scale N] [--private]
                   [--tile-cache-mb 256] [--tile-max-kb 500] [--tile-max-age 0s] [--tile-db-conns 0]
                   [--tile-queue 64] [--heavy-conns 0] [--export-conns 2] [--queue-wait 2s]
                   [--anon-heavy-per-min 300] [--write-stall 15s] [--write-timeout 60s]
                   [--statement-timeout 30s] [--export-timeout 10m]
                   [--basemap-hosts HOST,…] [--trusted-proxies CIDR,…]
                   [--replica-url URL] [--replica-wait 2s]
                   [--basemap URL [--basemap-crs wgs84|gcj02] [--basemap-key NAME=VALUE,…] [--basemap-attribution TEXT]]
                   (limits: see README, "Hardening / limits"; replicas: "Scaling out")
  gridmap migrate  [--data-dir ./data]
  gridmap demo     [--scale N] [--seed S] [--reset] [--data-dir ./data]
  gridmap import grids --level N [--name-prop P] [--city NAME] [--admin-code CODE] [--skip-invalid]
                       [--conform [--snap-m 5]] [--crs CRS] FILE.geojson...
  gridmap import buildings [--skip-invalid] [--dwelling-m2 90] [--storey-m 3] [--crs CRS] FILE.geojson...
  gridmap import roads [--class-prop highway] [--skip-invalid] [--crs CRS] FILE.geojson...
                   (CRS: wgs84 (default), gcj02, bd09, EPSG:4490, EPSG:4513–4554 or an OGC URI;
                   a file's own crs member is read too)
  gridmap export grids [--level N] [--parent CODE] [--crs CRS] [--at DATE]  > grids.geojson
  gridmap export buildings [--grid CODE] [--crs CRS] [--at DATE]            > buildings.geojson
  gridmap export assignments [--at DATE]                                    > assignments.csv
  gridmap export pmtiles --grid CODE | --bbox MINLON,MINLAT,MAXLON,MAXLAT [--maxzoom 16] [--workers N] FILE.pmtiles
  gridmap report   [--level N] [--parent CODE] [--at DATE] [--from DATE [--to DATE]] [--format xlsx|csv]
                   [--lang zh|en] [--target 300] [--band 0.2]   > report.xlsx
  gridmap changes  --from DATE [--to DATE] [--parent CODE] [--json|--geojson] [--limit 100] [--offset 0]
  gridmap coverage [--grid CODE] [--json] [--target 300] [--band 0.2] [--min-area 1] [--limit 100] [--offset 0] [--recompute]
  gridmap conform --level N [--parent CODE] [--snap-m 5] [--dry-run] [--json]
  gridmap divide   --parent CODE | --level N [--target 300] [--band 0.2] [--k N] [--seed S] [--keep CODE,…] [--dry-run] [--json]
  gridmap rebalance --parent CODE [--target 300] [--band 0.2] [--keep CODE,…] [--max-moves N] [--dry-run] [--json]
  gridmap lock     CODE…   (and unlock CODE…): divide and rebalance keep a locked grid, no edit changes its area
                   (one grid at a time: those before a refused one stay locked)
  gridmap user add NAME --role viewer|grid_leader|planner|admin [--grids CODE,…]   (prints the API token last)
  gridmap user token NAME [--label L]
  gridmap user list
  gridmap user disable NAME | enable NAME
  gridmap help

Database: with DATABASE_URL set, gridmap uses that PostgreSQL/PostGIS server. Without it,
gridmap runs its own private PostgreSQL cluster under --data-dir (created on first use, open
to no other OS user). Commands run while serve is up share its cluster; the last gridmap
process using it stops it. serve restarts a cluster that dies. serve reads from a streaming
replica given by --replica-url or DATABASE_REPLICA_URL.
`

func main() {
	// SIGHUP too: a closed terminal must stop the private cluster in order, not orphan it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, *env, []string) error{
		"serve":     cmdServe,
		"migrate":   cmdMigrate,
		"demo":      cmdDemo,
		"import":    cmdImport,
		"export":    cmdExport,
		"report":    cmdReport,
		"changes":   cmdChanges,
		"coverage":  cmdCoverage,
		"conform":   cmdConform,
		"divide":    cmdDivide,
		"rebalance": cmdRebalance,
		"lock":      cmdLock,
		"unlock":    cmdUnlock,
		"user":      cmdUser,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "gridmap: unknown command %q\n\n%s", name, usage)
		return 2
	}
	e := &env{stdout: stdout, stderr: stderr, log: log}
	err := cmd(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp): // -h: the flag sets print nothing themselves
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "gridmap %s: %v\n", name, err)
		return 2
	case errors.Is(err, pgcluster.ErrMissing):
		fmt.Fprintln(stderr, "gridmap:", strings.TrimPrefix(err.Error(), pgcluster.ErrMissing.Error()+": "))
		return 1
	case errors.Is(err, errReported):
		return 1
	}
	var ge *grid.Error
	if errors.As(err, &ge) {
		fmt.Fprintf(stderr, "gridmap %s: %s (%s)\n", name, ge.Message, ge.Code)
		return 1
	}
	fmt.Fprintf(stderr, "gridmap %s: %v\n", name, err)
	return 1
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("GRIDMAP_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

var (
	errUsage    = errors.New("usage")
	errReported = errors.New("already reported")
)

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// env is what every command gets: output streams and the logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// dbFlags are the flags of every command that opens the database.
type dbFlags struct {
	dataDir string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./data", "directory of the private PostgreSQL cluster (when DATABASE_URL is not set)")
}

// open connects to DATABASE_URL, or starts (or joins) the private cluster in the data
// directory; it migrates the database. close releases both; the cluster stops when no other
// gridmap process uses it.
func (d *dbFlags) open(ctx context.Context, e *env) (s *postgis.Store, close func(), err error) {
	s, _, close, err = d.openCluster(ctx, e, postgis.Limits{})
	return s, close, err
}

// openCluster is open with the store's limits that also returns the private cluster, for
// serve to supervise; nil under DATABASE_URL.
func (d *dbFlags) openCluster(ctx context.Context, e *env, lim postgis.Limits) (*postgis.Store, *pgcluster.Cluster, func(), error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		s, err := postgis.Open(ctx, url, e.log, lim)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, s.Close, nil
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: d.dataDir, Logger: e.log, Shared: true})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.EnsureDatabase(ctx, "gridmap"); err != nil {
		c.Stop()
		return nil, nil, nil, err
	}
	s, err := postgis.Open(ctx, c.ConnString("gridmap"), e.log, lim)
	if err != nil {
		c.Stop()
		return nil, nil, nil, err
	}
	return s, c, func() {
		s.Close()
		if err := c.Stop(); err != nil {
			e.log.Error("stopping PostgreSQL", "err", err)
		}
	}, nil
}

// parse parses flags that may come before, between or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" { // "--" ends the flags
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
