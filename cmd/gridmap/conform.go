package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"gridmap/grid"
)

// cmdConform conforms a level already in the database to its parents (grid.Conform) and
// prints what changed: the summary, or the API's JSON with --json.
func cmdConform(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	var c grid.Conform
	fs.IntVar(&c.Level, "level", 0, "level of the grids to conform: 1, 2 or 3")
	parent := fs.String("parent", "", "conform only the children of this grid (id or code, one level up)")
	fs.Float64Var(&c.SnapM, "snap-m", grid.DefaultSnapM, "slivers narrower than this many metres go to a neighbour")
	fs.BoolVar(&c.DryRun, "dry-run", false, "say what would change and write nothing")
	asJSON := fs.Bool("json", false, "print the result as JSON (the API's format)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("conform: unexpected argument %q", rest[0])
	}
	if c.Level == 0 {
		return usageErr("conform: --level 1, 2 or 3 is required")
	}
	if c.Parent, err = optionalKey(*parent); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	u := grid.SystemUser("gridmap conform")
	res, err := store.Conform(ctx, &u, c)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	fmt.Fprint(e.stdout, res.Conform.Format())
	return nil
}
