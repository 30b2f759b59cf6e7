package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"gridmap/geo/chinacrs"
	"gridmap/grid"
	"gridmap/grid/postgis"
)

func cmdImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErr("import what? grids, buildings or roads")
	}
	kind, args := args[0], args[1:]
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	skip := fs.Bool("skip-invalid", false, "import the valid features and report the rejected ones (default: all or nothing)")
	crsName := fs.String("crs", "", "the files' coordinates: wgs84, gcj02, bd09, EPSG:4490, EPSG:4513–4554 or an OGC URI (default: each file's crs member, else WGS 84)")
	var (
		gi postgis.GridImport
		bi postgis.BuildingImport
		ri postgis.RoadImport
	)
	switch kind {
	case "grids":
		fs.IntVar(&gi.Level, "level", 0, "level of the grids in the files: 1, 2 or 3")
		fs.StringVar(&gi.NameProp, "name-prop", "", "feature property holding the name (default name/NAME/Name)")
		fs.StringVar(&gi.CityName, "city", "", "city name, for the first level-1 import")
		fs.StringVar(&gi.AdminCode, "admin-code", "", "6-digit administrative division code, for the first level-1 import")
		fs.BoolVar(&gi.Conform, "conform", false, "conform the imported grids to their parents in the same transaction (see gridmap conform)")
		fs.Float64Var(&gi.SnapM, "snap-m", grid.DefaultSnapM, "with --conform: slivers narrower than this many metres go to a neighbour")
	case "buildings":
		fs.Float64Var(&bi.StoreyM, "storey-m", 3, "metres per storey (floors = height / storey)")
		fs.Float64Var(&bi.DwellingM2, "dwelling-m2", 90, "average floor area per dwelling, to estimate households")
		fs.Float64Var(&bi.HouseholdSize, "household-size", 2.6, "average residents per dwelling, to estimate residents")
	case "roads":
		fs.StringVar(&ri.ClassProp, "class-prop", "", "feature property holding the road class (default highway, else class)")
	default:
		return usageErr("import %q: want grids, buildings or roads", kind)
	}
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErr("import %s: name one or more GeoJSON files", kind)
	}
	if kind == "grids" && gi.Level == 0 {
		return usageErr("import grids: --level 1, 2 or 3 is required")
	}
	snap := false
	fs.Visit(func(f *flag.Flag) { snap = snap || f.Name == "snap-m" })
	if snap && !gi.Conform {
		return usageErr("import grids: --snap-m goes with --conform")
	}
	var crs chinacrs.CRS
	if *crsName != "" {
		if crs, err = chinacrs.Parse(*crsName); err != nil {
			return grid.Errorf(grid.EINVALID, "--crs: %s", strings.TrimPrefix(err.Error(), "chinacrs: "))
		}
	}
	var inputs []postgis.Input
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		inputs = append(inputs, postgis.Input{Name: name, R: f, CRS: crs})
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	var sum grid.ImportSummary
	switch kind {
	case "grids":
		gi.SkipInvalid, gi.Actor = *skip, "gridmap import grids"
		sum, err = store.ImportGrids(ctx, inputs, gi)
	case "buildings":
		bi.SkipInvalid, bi.Actor = *skip, "gridmap import buildings"
		sum, err = store.ImportBuildings(ctx, inputs, bi)
	default:
		ri.SkipInvalid, ri.Actor = *skip, "gridmap import roads"
		sum, err = store.ImportRoads(ctx, inputs, ri)
	}
	if sum.Read > 0 || len(sum.Rejected) > 0 {
		fmt.Fprint(e.stdout, sum.Format())
	}
	return err
}
