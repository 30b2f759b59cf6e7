package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// The coverage report is read from what the writing transactions keep (migrations
// 0005_tiles_tables.sql and 0010_coverage.sql; the report's sources are listed at the top of
// 0010): per-grid facts rolled up over each subtree, the gap, overlap and outside-parent
// pieces, the straddling flags. A read is one snapshot: the data version it names is the one
// its facts describe. coverage_scratch.go measures the same from the data, as the check.

// coverageRollupSQL: every current grid of the scope (the city's, or @ids) with its kept facts.
func coverageRollupSQL(sc scopeSQL) string {
	return `
SELECT g.id, g.level, g.code, g.name, g.parent_id,
       c.buildings, c.units, t.households, c.residents, t.workers,
       t.households_estimated, c.carriers, t.staffed,
       c.area_m2, c.perimeter_m, c.polsby_popper, c.reock, c.parts
FROM grids g
JOIN coverage_grids c ON c.grid_id = g.id
JOIN tile_grids t ON t.grid_id = g.id
WHERE ` + sc.grid
}

var rollupSQL = [2]string{coverageRollupSQL(cityScope), coverageRollupSQL(subtreeScope)}

// coverageScopeSQL: the data version; the distinct grid staff of the scope (kept: the city's
// in coverage_workers, a subtree's in tile_grids); and the buildings in no grid (the city only).
const coverageScopeSQL = `
SELECT (SELECT version FROM data_version),
       CASE WHEN @root::bigint IS NULL THEN (SELECT count(*) FROM coverage_workers)
       ELSE (SELECT workers FROM tile_grids WHERE grid_id = @root) END::int,
       CASE WHEN @root::bigint IS NULL THEN (SELECT count(*) FROM buildings WHERE grid_id IS NULL) ELSE 0 END::int`

// Coverage returns the coverage report of o's scope, read from the kept facts; with o.At in
// the past, as coverageFacts measures it; with o.Recompute, measured from scratch (at o.At
// too). EINVALID for bad options, ENOTFOUND for an unknown root.
func (s *Store) Coverage(ctx context.Context, o grid.CoverageOptions) (*grid.CoverageReport, error) {
	start := time.Now()
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var err error
	if o.At, err = s.pastMoment(ctx, o.At); err != nil {
		return nil, err
	}
	if o.Recompute || o.At != nil {
		f, err := s.measureFacts(ctx, o, o.Recompute)
		if err != nil {
			return nil, err
		}
		r := grid.BuildCoverage(f, o, time.Now())
		r.At, r.Elapsed = o.At, time.Since(start)
		return r, nil
	}
	read, err := s.readCoverage(ctx, o, o.Page)
	if err != nil {
		return nil, err
	}
	r := grid.AssembleCoverage(read, o, time.Now())
	r.Elapsed = time.Since(start)
	return r, nil
}

// CoverageSummary returns the key figures of o's scope (o.Page is ignored): the kept facts
// of its grids and the lengths of its lists. EINVALID, ENOTFOUND.
func (s *Store) CoverageSummary(ctx context.Context, o grid.CoverageOptions) (*grid.CoverageSummary, error) {
	o = o.WithDefaults()
	o.Page = nil
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var err error
	if o.At, err = s.pastMoment(ctx, o.At); err != nil {
		return nil, err
	}
	if o.At != nil {
		f, err := s.coverageFacts(ctx, o)
		if err != nil {
			return nil, err
		}
		sum := grid.SummarizeCoverage(grid.FactsRead(f, &grid.Page{}), o, time.Now())
		sum.At = o.At
		return sum, nil
	}
	read, err := s.readCoverage(ctx, o, &grid.Page{})
	if err != nil {
		return nil, err
	}
	return grid.SummarizeCoverage(read, o, time.Now()), nil
}

// readCoverage reads the scope's grids and page (nil: all; limit 0: none) of each list, with
// the lists' lengths, in one snapshot and one round trip.
func (s *Store) readCoverage(ctx context.Context, o grid.CoverageOptions, page *grid.Page) (grid.CoverageRead, error) {
	var read grid.CoverageRead
	err := s.readKept(ctx, func(tx pgx.Tx) error {
		sc, err := readScope(ctx, tx, o.Root)
		if err != nil {
			return err
		}
		read.Root = sc.ref
		args := sc.args(o.MinAreaM2, nil, page)
		b := &pgx.Batch{}
		b.Queue(coverageScopeSQL, args).QueryRow(func(row pgx.Row) error {
			return row.Scan(&read.DataVersion, &read.Workers, &read.Ungridded)
		})
		queueCollect(b, &read.Grids, scanRollup, rollupSQL[sc.form()], args)
		l, n := &read.Lists, &read.Lengths
		gapKind.queueReport(b, args, page, &l.Gaps, &n.Gaps)
		overlapKind.queueReport(b, args, page, &l.Overlaps, &n.Overlaps)
		outsideKind.queueReport(b, args, page, &l.OutsideParent, &n.OutsideParent)
		buildingOutsideKind.queueReport(b, args, page, &l.BuildingsOutside, &n.BuildingsOutside)
		multiGridKind.queueReport(b, args, page, &l.MultiGrid, &n.MultiGrid)
		straddlerKind.queueReport(b, args, page, &l.Straddlers, &n.Straddlers)
		unstaffedBuildingKind.queueReport(b, args, page, &l.UnstaffedBuildings, &n.UnstaffedBuildings)
		unstaffedUnitKind.queueReport(b, args, page, &l.UnstaffedUnits, &n.UnstaffedUnits)
		if page != nil && page.Limit == 0 {
			// a summary: how many of those gaps and buildings are the empty level's
			empty := sc.args(o.MinAreaM2, nil, page)
			empty["undivided"] = true
			gapKind.queueCount(b, empty, &read.EmptyLevel.Gaps)
			buildingOutsideKind.queueCount(b, empty, &read.EmptyLevel.BuildingsOutside)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return read, err
}

// readSnapshot runs fn in a read-only transaction that sees one snapshot throughout.
func (s *Store) readSnapshot(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return mapError(pgx.BeginTxFunc(ctx, s.read(ctx), pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, fn))
}

// readKept is readSnapshot for reads of the kept coverage facts. Their statements run with
// their generic plans: planned for the parameters at hand (custom plans, which PostgreSQL
// keeps choosing for these), the larger ones cost more to plan than to run — on demo
// --scale 100, 10–40 ms of planning against well under 1 ms of execution for a community.
// The subtree's grids come as an array, so a generic plan starts from them too.
func (s *Store) readKept(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		return fn(tx)
	})
}

// scopeRoot resolves the root of a report's scope (nil key: the whole city, nil results).
func scopeRoot(ctx context.Context, tx pgx.Tx, k *grid.GridKey) (*grid.GridRef, *int64, error) {
	if k == nil {
		return nil, nil, nil
	}
	r, err := resolveGrid(ctx, tx, *k)
	if err != nil {
		return nil, nil, err
	}
	return &r, &r.ID, nil
}

// scope is the scope of a read: the whole city (nil ref), or the subtree of ref with its
// current grids.
type scope struct {
	ref *grid.GridRef
	ids []int64
}

// readScope resolves the root of a scope (nil key: the whole city) and its subtree.
func readScope(ctx context.Context, tx pgx.Tx, k *grid.GridKey) (scope, error) {
	var sc scope
	var err error
	if sc.ref, _, err = scopeRoot(ctx, tx, k); err != nil || sc.ref == nil {
		return sc, err
	}
	err = tx.QueryRow(ctx, `SELECT array_agg(id) FROM gridmap_subtree($1)`, sc.ref.ID).Scan(&sc.ids)
	return sc, err
}

// form is the index of the scope's form of SQL: 0 the city's, 1 a subtree's.
func (sc scope) form() int {
	if sc.ref == nil {
		return 0
	}
	return 1
}

// args are the named parameters of the lists (coverage_lists.go) for this scope.
func (sc scope) args(minArea float64, box *grid.BBox, page *grid.Page) pgx.NamedArgs {
	args := pgx.NamedArgs{"root": nil, "ids": sc.ids, "min_area": minArea,
		"xmin": nil, "ymin": nil, "xmax": nil, "ymax": nil, "limit": nil, "offset": 0}
	if sc.ref != nil {
		args["root"] = sc.ref.ID
	}
	if box != nil {
		args["xmin"], args["ymin"], args["xmax"], args["ymax"] = box.MinLon, box.MinLat, box.MaxLon, box.MaxLat
	}
	if page != nil {
		args["limit"], args["offset"] = page.Limit, page.Offset
	}
	return args
}

// scanRollup reads a row of coverageRollupSQL.
func scanRollup(row pgx.CollectableRow) (grid.GridRollup, error) {
	var g grid.GridRollup
	err := row.Scan(&g.ID, &g.Level, &g.Code, &g.Name, &g.ParentID,
		&g.Buildings, &g.Units, &g.Households, &g.Residents, &g.Workers,
		&g.HouseholdsEstimated, &g.Carriers, &g.Staffed,
		&g.AreaM2, &g.PerimeterM, &g.PolsbyPopper, &g.Reock, &g.Parts)
	return g, err
}
