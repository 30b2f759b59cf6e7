package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"gridmap/grid"
)

// cmdCoverage prints the coverage report: the same report as GET /api/v1/coverage (a page
// of each list, --limit and --offset), as JSON with --json, else as a summary for people.
func cmdCoverage(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("coverage", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	root := fs.String("grid", "", "report on this grid's subtree only (id or code); default the whole city")
	asJSON := fs.Bool("json", false, "print the report as JSON (the API's format)")
	var o grid.CoverageOptions
	fs.Float64Var(&o.Target, "target", grid.DefaultTarget, "households per worker")
	fs.Float64Var(&o.Band, "band", grid.DefaultBand, "accepted deviation from the target (0.2: ±20%)")
	fs.Float64Var(&o.MinAreaM2, "min-area", grid.DefaultMinAreaM2, "ignore gaps, overlaps and overhangs smaller than this (m², at least 1)")
	page := grid.Page{}
	fs.IntVar(&page.Limit, "limit", grid.DefaultLimit, "items of each list to show")
	fs.IntVar(&page.Offset, "offset", 0, "items of each list to skip")
	fs.BoolVar(&o.Recompute, "recompute", false, "measure everything from the data instead of reading what is kept (slow; a check)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("coverage: unexpected argument %q", rest[0])
	}
	if o.Root, err = optionalKey(*root); err != nil {
		return err
	}
	// zero means "the default" to the domain: an explicit zero is a wish it cannot honour
	var zero error
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "target" || f.Name == "band" || f.Name == "min-area") && f.Value.String() == "0" {
			zero = usageErr("--%s 0: leave it out for the default", f.Name)
		}
	})
	if zero != nil {
		return zero
	}
	o.Page = &page
	if err := o.Validate(); err != nil {
		return err
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	r, err := store.Coverage(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	fmt.Fprint(e.stdout, r.Format())
	return nil
}
