package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"gridmap/grid"
)

// cmdChanges prints what changed in a period: the same answer as GET /api/v1/changes, as a
// summary for people, as JSON (--json) or as GeoJSON of the areas gained and lost (--geojson).
// The command line reads the database it was given, so people are named.
func cmdChanges(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("changes", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	from := fs.String("from", "", "the start of the period (RFC 3339 or a date); required")
	to := fs.String("to", "", "the end of the period; default now")
	parent := fs.String("parent", "", "only this grid and the grids below it (id or code)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	asGeoJSON := fs.Bool("geojson", false, "print the areas gained and lost as GeoJSON (for QGIS)")
	q := grid.ChangeQuery{ShowNames: true}
	fs.IntVar(&q.Limit, "limit", grid.DefaultLimit, "items of each list to show")
	fs.IntVar(&q.Offset, "offset", 0, "items of each list to skip")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("changes: unexpected argument %q", rest[0])
	}
	if *from == "" {
		return usageErr("changes: --from is required")
	}
	if *asJSON && *asGeoJSON {
		return usageErr("changes: --json or --geojson, not both")
	}
	f, err := optionalTime("from", *from)
	if err != nil {
		return err
	}
	q.From = *f
	if q.To, err = optionalTime("to", *to); err != nil {
		return err
	}
	if q.Parent, err = optionalKey(*parent); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	c, err := store.Changes(ctx, q)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		return writeJSON(e, c)
	case *asGeoJSON:
		return writeJSON(e, grid.ChangesGeoJSON(c))
	}
	fmt.Fprint(e.stdout, c.Format())
	return nil
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
