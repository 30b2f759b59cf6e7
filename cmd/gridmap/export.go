package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"gridmap/grid"
)

// cmdExport streams an export to stdout: the same documents as GET /api/v1/export/…, written
// row by row as the database sends them.
func cmdExport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErr("export what? grids, buildings, assignments or pmtiles")
	}
	kind, args := args[0], args[1:]
	if kind == "pmtiles" {
		return cmdExportPMTiles(ctx, e, args)
	}
	fs := flag.NewFlagSet("export "+kind, flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	level := fs.Int("level", 0, "grids: only this level (1, 2 or 3)")
	parent := fs.String("parent", "", "grids: only the subtree under this grid (id or code)")
	gridKey := fs.String("grid", "", "buildings: only those of this grid and the grids below it (id or code)")
	crsName := fs.String("crs", "", "grids, buildings: the coordinates' CRS — wgs84 (default), gcj02, bd09, EPSG:4490, EPSG:4513–4554 or an OGC URI")
	at := fs.String("at", "", "the division as it stood at this moment (RFC 3339 or a date); default now")
	if kind != "grids" && kind != "buildings" && kind != "assignments" {
		return usageErr("export %q: want grids, buildings, assignments or pmtiles", kind)
	}
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("export %s: unexpected argument %q (the export goes to stdout)", kind, rest[0])
	}
	crs, err := grid.ParseCRS("--crs", *crsName, "")
	if err != nil {
		return err
	}
	if crs != "" && kind == "assignments" {
		return usageErr("export assignments: --crs goes with grids and buildings (the CSV has no coordinates)")
	}
	gf := grid.GridExport{CRS: crs}
	// the command line reads the database it was given: every count as it is
	actor := grid.SystemUser("gridmap export")
	bf := grid.BuildingExport{Viewer: actor.Viewer(), CRS: crs}
	var af grid.AssignmentExport
	if af.At, err = optionalTime("at", *at); err != nil {
		return err
	}
	gf.At, bf.At = af.At, af.At
	switch {
	case kind == "grids":
		gf.Level = *level
		if gf.Parent, err = optionalKey(*parent); err != nil {
			return err
		}
		if err := gf.Validate(); err != nil {
			return err
		}
	case kind == "buildings":
		if bf.Grid, err = optionalKey(*gridKey); err != nil {
			return err
		}
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	var version int64
	open := func(x grid.Export) (io.Writer, error) {
		version = x.DataVersion
		return e.stdout, nil
	}
	var n int
	switch kind {
	case "grids":
		n, err = store.ExportGrids(ctx, gf, open)
	case "buildings":
		n, err = store.ExportBuildings(ctx, bf, open)
	default:
		n, err = store.ExportAssignments(ctx, af, open)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "export: %d %s (data version %d)\n", n, kind, version)
	return nil
}

// optionalTime parses a moment flag (grid.ParseTime); empty means none.
func optionalTime(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := grid.ParseTime("--"+name, s)
	return &t, err
}

// optionalKey parses a grid id or code flag; empty means none.
func optionalKey(s string) (*grid.GridKey, error) {
	if s == "" {
		return nil, nil
	}
	k, err := grid.ParseGridKey(s)
	return &k, err
}
