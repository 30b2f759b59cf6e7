package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
	"gridmap/grid"
)

// RoadImport configures ImportRoads.
type RoadImport struct {
	Actor       string
	SkipInvalid bool   // import the valid features and report the rest; default: all or nothing
	ClassProp   string // property holding the road's class; default highway, else class
}

// insertRoadsSQL inserts the staged lines that are no duplicates, in input order, with the
// Web-Mercator copy prepSQL made and its size (roads_tile), and counts them as imported or
// repaired.
const insertRoadsSQL = `
WITH ins AS (
	INSERT INTO roads (class, name, geom, geom_3857, size_3857, source, source_hash)
	SELECT coalesce(class, ''), coalesce(name, ''), g, g3857, tile_size(g3857), file, hash
	FROM import_ready WHERE NOT dup
	ORDER BY file_no, idx
	ON CONFLICT (source_hash) DO NOTHING
	RETURNING source_hash
)
SELECT count(*) FILTER (WHERE NOT (r.fixed OR NOT r.valid)), count(*) FILTER (WHERE r.fixed OR NOT r.valid)
FROM ins JOIN import_ready r ON r.hash = ins.source_hash AND NOT r.dup`

// ImportRoads imports road centre lines from GeoJSON (LineString/MultiLineString features;
// optional properties: the class in ClassProp — by default OSM's highway, else class — and
// name). Validation, repairs, duplicates, rejections and the transaction are as for
// ImportBuildings: parts of a line with fewer than 2 distinct positions are dropped (the
// feature counts as repaired), exact duplicates (the same line, in either direction) are
// skipped, and running the same import again imports nothing. A bulk load: the Web-Mercator
// copies for the tiles are written with the lines.
func (s *Store) ImportRoads(ctx context.Context, inputs []Input, o RoadImport) (grid.ImportSummary, error) {
	if o.Actor == "" {
		o.Actor = "import"
	}
	start := time.Now()
	sum := grid.ImportSummary{Kind: "roads"}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := bulkLoad(ctx, tx, 64); err != nil {
			return err
		}
		if err := stageShape(ctx, tx, inputs, lines, roadProps(o.ClassProp), &sum); err != nil {
			return err
		}
		if err := classifyShape(ctx, tx, lines, "roads", "", &sum); err != nil {
			return err
		}
		if len(sum.Rejected) > 0 && !o.SkipInvalid {
			return errRollback
		}
		if err := tx.QueryRow(ctx, insertRoadsSQL).Scan(&sum.Imported, &sum.Repaired); err != nil {
			return err
		}
		return auditImport(ctx, tx, o.Actor, "roads", inputs, &sum)
	})
	return importResult(&sum, start, err)
}

// maxClass is the longest road class the roads table takes.
const maxClass = 40

// roadProps reads a road's class from property classProp (""; highway, else class) and its
// name from name. A class longer than maxClass characters is rejected: no road class is,
// so the property is not one.
func roadProps(classProp string) func(f geo.Feature) (stageProps, error) {
	keys := []string{"highway", "class"}
	if classProp != "" {
		keys = []string{classProp}
	}
	return func(f geo.Feature) (stageProps, error) {
		var p stageProps
		for _, k := range keys {
			if p.class = stringProp(f.Properties, k); p.class != nil {
				if n := len([]rune(*p.class)); n > maxClass {
					return p, fmt.Errorf("property %s (the class) has %d characters, at most %d", k, n, maxClass)
				}
				break
			}
		}
		p.name = stringProp(f.Properties, "name")
		return p, nil
	}
}
