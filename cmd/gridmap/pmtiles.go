package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/tiles"
	"gridmap/tiles/archive"
)

// cmdExportPMTiles writes an offline package: a PMTiles archive of the tiles over a grid or a
// box, rendered by the tile server's code on the database given, as GET
// /api/v1/export/offline.pmtiles does. The file appears only when complete.
func cmdExportPMTiles(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("export pmtiles", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	gridKey := fs.String("grid", "", "the grid (id or code) the package covers")
	bbox := fs.String("bbox", "", "or the box it covers: minlon,minlat,maxlon,maxlat (WGS 84)")
	maxZoom := fs.Int("maxzoom", tiles.DefaultRules().MaxZoom, "the deepest zoom in the package")
	tileMaxKB := fs.Int("tile-max-kb", tiles.DefaultMaxTileBytes/1000, "hard cap on a tile's uncompressed size in kB (as serve's)")
	workers := fs.Int("workers", max(2, runtime.NumCPU()), "tiles rendered at once")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErr("export pmtiles: name one output FILE.pmtiles")
	}
	if (*gridKey == "") == (*bbox == "") {
		return usageErr("export pmtiles: give --grid CODE or --bbox minlon,minlat,maxlon,maxlat")
	}
	if *tileMaxKB <= 0 || *workers <= 0 {
		return usageErr("export pmtiles: --tile-max-kb and --workers must be more than 0")
	}
	o := archive.Options{MaxZoom: *maxZoom, Workers: *workers}
	var key *grid.GridKey
	if *gridKey != "" {
		if key, err = optionalKey(*gridKey); err != nil {
			return err
		}
	} else {
		b, err := parseBBox(*bbox)
		if err != nil {
			return err
		}
		o.Area, o.Name = orb.Bound{Min: orb.Point{b.MinLon, b.MinLat}, Max: orb.Point{b.MaxLon, b.MaxLat}}, "gridmap "+*bbox
		o.Provenance = map[string]any{"bbox": []float64{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}}
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	if key != nil {
		d, err := store.Grid(ctx, *key)
		if err != nil {
			return err
		}
		o.Area, o.Name = d.Geom, d.Code+" "+d.Name
		o.Provenance = map[string]any{"grid": d.GridRef}
	}
	ts, err := tiles.New(store.Pool(), tiles.Options{MaxTileBytes: *tileMaxKB * 1000, DBConns: *workers, Logger: e.log})
	if err != nil {
		return err
	}
	defer ts.Close()

	file := rest[0]
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	defer tmp.Close()
	sum, err := archive.Write(ctx, ts, o, func(archive.Summary) (io.Writer, error) { return tmp, nil })
	if err != nil {
		return err
	}
	// CreateTemp makes it 0600; a package is meant to be copied to a tablet like any file
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, sum.Describe(file))
	return nil
}

// parseBBox reads minlon,minlat,maxlon,maxlat.
func parseBBox(s string) (grid.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return grid.BBox{}, grid.Errorf(grid.EINVALID, "--bbox %q: want minlon,minlat,maxlon,maxlat", s)
	}
	var v [4]float64
	for k, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return grid.BBox{}, grid.Errorf(grid.EINVALID, "--bbox %q: %q is not a number", s, p)
		}
		v[k] = f
	}
	b := grid.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	return b, b.Validate()
}
