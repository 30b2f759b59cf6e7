package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/demo"
)

// DemoSummary counts what LoadDemo wrote.
type DemoSummary struct {
	Scale       int            `json:"scale"`
	Seed        uint64         `json:"seed"`
	Grids       map[int]int    `json:"grids"` // by level
	Buildings   int            `json:"buildings"`
	Units       int            `json:"units"`
	Households  int            `json:"households"`
	Residents   int            `json:"residents"`
	Workers     int            `json:"workers"`
	Assignments int            `json:"assignments"`
	Defects     []demo.Defects `json:"defects"` // per copy
	Elapsed     time.Duration  `json:"-"`
}

// IsEmpty reports whether the database holds no grids and no buildings.
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var empty bool
	err := s.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM grids) AND NOT EXISTS (SELECT 1 FROM buildings)`).Scan(&empty)
	return empty, mapError(err)
}

// Reset deletes every grid, building, unit, household, worker, assignment and road and the city
// (the audit log stays, with an entry for the reset).
func (s *Store) Reset(ctx context.Context, actor string) error {
	return mapError(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE edit_ops, user_grids, assignments, workers, households, units, buildings, roads, grid_versions, grids, city RESTART IDENTITY`); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "reset", "database", nil, nil, nil)
	}))
}

// LoadDemo loads the demo city (see package demo) into an empty database, in one
// transaction: all of it or nothing. progress, when not nil, hears a line per city copy.
// A database that is not empty gives ECONFLICT.
//
// It is a bulk load (migrations/0007_bulk.sql): the next copies are generated while the
// database takes the current one; rows go in with COPY, the columns the row triggers would
// derive are derived per copy in set SQL, the secondary indexes and the households' checks
// are built once at the end, and the tile tables are rebuilt once (bulk_refresh_derived).
// The result is the same database, row for row, as the triggers would make.
func (s *Store) LoadDemo(ctx context.Context, o demo.Options, actor string, progress func(string)) (DemoSummary, error) {
	start := time.Now()
	sum := DemoSummary{Scale: o.Scale, Seed: o.Seed, Grids: map[int]int{}}
	if err := o.Validate(); err != nil {
		return sum, err
	}
	if progress == nil {
		progress = func(string) {}
	}
	step := func(what string, t0 time.Time) {
		s.log.Debug("demo: "+what, "ms", time.Since(t0).Milliseconds())
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		restore, err := prepareDemo(ctx, tx)
		if err != nil {
			return err
		}
		bounds, err := loadCopies(ctx, tx, o, &sum, progress, start, s.log)
		if err != nil {
			return err
		}
		progress("demo: checking and indexing")
		if err := indexDemo(ctx, tx, restore, step); err != nil {
			return err
		}
		t0 := time.Now()
		if err := finishDemo(ctx, tx, bounds); err != nil {
			return err
		}
		step("tile tables rebuilt", t0)
		after, _ := json.Marshal(sum)
		return audit(ctx, tx, actor, "demo.load", "city", nil, nil, after)
	})
	if err != nil {
		return sum, mapError(err)
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// prepareDemo readies the load's transaction on an empty database: no statement timeout, the
// bulk session, the tables truncated and their checks lifted; it returns the statement that
// restores the checks and indexes.
func prepareDemo(ctx context.Context, tx pgx.Tx) (string, error) {
	// a bulk load takes as long as it takes (92 s at --scale 100), under serve --demo too
	if err := statementTimeout(ctx, tx, 0); err != nil {
		return "", err
	}
	if err := lockEmpty(ctx, tx); err != nil {
		return "", err
	}
	if err := demoSession(ctx, tx); err != nil {
		return "", err
	}
	// Empty already (no grids, no buildings: nothing can refer to them), but truncated they
	// get new files, which a server at wal_level minimal (gridmap's own) fills without
	// writing the rows to the WAL too.
	if _, err := tx.Exec(ctx, `TRUNCATE grids, grid_versions, user_grids, buildings, units, households, assignments`); err != nil {
		return "", err
	}
	return liftDemoChecks(ctx, tx)
}

// indexDemo restores the checks and indexes lifted for the load, then gathers statistics
// before the tile tables are rebuilt from the new rows: without them the planner guesses at
// tables it has never seen.
func indexDemo(ctx context.Context, tx pgx.Tx, restore string, step func(string, time.Time)) error {
	t0 := time.Now()
	if _, err := tx.Exec(ctx, restore); err != nil {
		return err
	}
	step("checks and indexes restored", t0)
	t0 = time.Now()
	if _, err := tx.Exec(ctx, "ANALYZE grids, buildings, units, households, workers, assignments"); err != nil {
		return err
	}
	step("analyzed", t0)
	return nil
}

// demoSession sets up the load's transaction: a bulk load with memory for its sorts and index
// builds (never less than the server gives), and a commit that does not wait for the disk
// (one commit; a crash before it loses the load, which is then simply run again).
func demoSession(ctx context.Context, tx pgx.Tx) error {
	if err := bulkLoad(ctx, tx, 256); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', greatest(setting::bigint, 1048576) || 'kB', true)
		FROM pg_settings WHERE name = 'maintenance_work_mem';
		SET LOCAL synchronous_commit = off`)
	return err
}

// liftDemoChecks drops what is cheaper built or checked once than kept row by row while the
// empty tables fill — of buildings, units, households and assignments: the foreign keys (a
// lookup per row and key; re-added, each is checked by one join), the unique constraints
// but the primary keys, and the secondary indexes — and turns off the households' triggers
// (their transition table would hold all 5 million rows at scale 100; the load writes the
// counts they keep with the units and buildings). It returns the SQL that restores exactly
// what it dropped, from the catalog's own definitions.
func liftDemoChecks(ctx context.Context, tx pgx.Tx) (string, error) {
	rows, _ := tx.Query(ctx, liftSQL)
	var drop strings.Builder
	var restore [3]strings.Builder // unique keys, indexes, foreign keys
	var dropSQL, restoreSQL string
	var order int
	_, err := pgx.ForEachRow(rows, []any{&dropSQL, &restoreSQL, &order}, func() error {
		drop.WriteString(dropSQL + ";\n")
		restore[order].WriteString(restoreSQL + ";\n")
		return nil
	})
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, drop.String()+"ALTER TABLE households DISABLE TRIGGER USER"); err != nil {
		return "", err
	}
	return restore[0].String() + restore[1].String() + restore[2].String() + "ALTER TABLE households ENABLE TRIGGER USER", nil
}

// liftSQL lists what liftDemoChecks drops, in the order to drop it (foreign keys first), and
// how to restore it, with the step to restore it in: unique keys (0), indexes (1), foreign
// keys (2), which need the keys they refer to.
const liftSQL = `
WITH t(rel) AS (VALUES ('buildings'::regclass), ('units'::regclass), ('households'::regclass), ('assignments'::regclass)),
lifted AS (
	SELECT CASE k.contype WHEN 'f' THEN 0 ELSE 1 END AS drop_order, CASE k.contype WHEN 'f' THEN 2 ELSE 0 END AS restore_order,
	       format('ALTER TABLE %s DROP CONSTRAINT %I', k.conrelid::regclass, k.conname) AS drop_sql,
	       format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid)) AS restore_sql,
	       k.conname AS name
	FROM pg_constraint k JOIN t ON t.rel = k.conrelid WHERE k.contype IN ('f', 'u')
	UNION ALL
	SELECT 2, 1, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text
	FROM pg_index i JOIN t ON t.rel = i.indrelid
	WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
)
SELECT drop_sql, restore_sql, restore_order FROM lifted ORDER BY drop_order, name`

// lockEmpty locks out a concurrent loader, then checks that the database holds no grids and
// no buildings: ECONFLICT otherwise.
func lockEmpty(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "LOCK TABLE grids, buildings IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return err
	}
	var empty bool
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM grids) AND NOT EXISTS (SELECT 1 FROM buildings)`).Scan(&empty); err != nil {
		return err
	}
	if !empty {
		return grid.Errorf(grid.ECONFLICT, "the database already holds grids or buildings; the demo city loads into an empty database (gridmap demo --reset empties it first)")
	}
	return nil
}

// loadCopies generates the city's copies, one ahead of the one being copied, copies them one
// by one, counting them into sum and telling progress the time since start, and returns their
// boundaries.
func loadCopies(ctx context.Context, tx pgx.Tx, o demo.Options, sum *DemoSummary, progress func(string), start time.Time, log *slog.Logger) ([]orb.Polygon, error) {
	if _, err := tx.Exec(ctx, demoStagingSQL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	copies := make(chan *demo.Copy, 1)
	go func() {
		defer close(copies)
		ids := demo.NewIDs()
		for k := 0; k < o.Scale; k++ {
			select {
			case copies <- demo.Generate(o, k, ids):
			case <-ctx.Done():
				return
			}
		}
	}()
	var bounds []orb.Polygon
	tm := timings{}
	defer func() { log.Debug("demo: copies", "ms", tm.ms()) }()
	for c := range copies {
		t0 := time.Now()
		if err := copyDemo(ctx, tx, c, tm); err != nil {
			return nil, fmt.Errorf("copy %d: %w", c.Index+1, err)
		}
		bounds = append(bounds, c.Boundary)
		sum.add(c)
		progress(fmt.Sprintf("demo: %d/%d loaded: %d grids, %d buildings, %d units, %d households (%.1fs, %.0fs in all)",
			c.Index+1, o.Scale, len(c.Grids), len(c.Buildings), len(c.Units), len(c.Households),
			time.Since(t0).Seconds(), time.Since(start).Seconds()))
	}
	return bounds, ctx.Err()
}

// finishDemo writes the city (named by the demo, bounded by the copies), rebuilds the tables
// the skipped triggers keep and moves the id sequences past the generated ids.
func finishDemo(ctx context.Context, tx pgx.Tx, bounds []orb.Polygon) error {
	if _, err := tx.Exec(ctx, `INSERT INTO city (name, admin_code, boundary)
		VALUES ($1, $2, ST_Multi(ST_Union($3::geometry[])))
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, admin_code = excluded.admin_code, boundary = excluded.boundary`,
		demo.Name, demo.AdminCode, polygonsArg(bounds)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT bulk_refresh_derived(NULL)`); err != nil {
		return err
	}
	for _, t := range []string{"grids", "buildings", "units", "households", "workers", "assignments"} {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), coalesce((SELECT max(id) FROM %s), 0) + 1, false)`, t, t)); err != nil {
			return err
		}
	}
	return nil
}

func (sum *DemoSummary) add(c *demo.Copy) {
	for _, g := range c.Grids {
		sum.Grids[g.Level]++
	}
	sum.Buildings += len(c.Buildings)
	sum.Units += len(c.Units)
	sum.Households += len(c.Households)
	for _, h := range c.Households {
		sum.Residents += h.Residents
	}
	sum.Workers += len(c.Workers)
	sum.Assignments += len(c.Assignments)
	sum.Defects = append(sum.Defects, c.Defects)
}

// polygonsArg passes polygons as a geometry[] parameter.
func polygonsArg(ps []orb.Polygon) []orb.Geometry {
	out := make([]orb.Geometry, len(ps))
	for k, p := range ps {
		out[k] = p
	}
	return out
}

// demoStagingSQL: buildings and units land in these tables first, so that the columns the
// row triggers would derive are derived for a whole copy at once (demoBuildingsSQL,
// demoUnitsSQL).
const demoStagingSQL = `
CREATE TEMP TABLE demo_buildings (id bigint, code text, name text, address text, floors int,
	footprint geometry, households int, residents int) ON COMMIT DROP;
CREATE TEMP TABLE demo_units (id bigint, building_id bigint, label text, geom geometry,
	households int, residents int) ON COMMIT DROP`

// demoBuildingsSQL inserts a copy's buildings with what buildings_derive and buildings_tile
// would derive (the codes are the generator's): the grid holding each point on surface (the
// deepest, the lowest id on a tie: gridmap_grid_at), its code, the straddling flag, the
// Web-Mercator copy and its size. They are there from the city's epoch ($1), as its grids are.
const demoBuildingsSQL = `
INSERT INTO buildings (id, code, name, address, floors, footprint, source, households, residents,
                       grid_id, grid_code, straddling, footprint_3857, size_3857, created_at)
SELECT b.id, b.code, b.name, b.address, b.floors, b.footprint, 'demo', b.households, b.residents,
       g.id, g.code, tile_straddles(b.footprint, g.geom, g.level), m.g, tile_size(m.g), $1::timestamptz
FROM demo_buildings b
CROSS JOIN LATERAL (SELECT ST_Transform(b.footprint, 3857) AS g OFFSET 0) m
LEFT JOIN (
	SELECT DISTINCT ON (d.id) d.id, g.id AS grid_id
	FROM demo_buildings d CROSS JOIN LATERAL (SELECT ST_PointOnSurface(d.footprint) AS p OFFSET 0) a
	JOIN grids g ON g.valid_to IS NULL AND g.geom && a.p AND ST_Intersects(g.geom, a.p)
	ORDER BY d.id, g.level DESC, g.id
) c ON c.id = b.id
LEFT JOIN grids g ON g.id = c.grid_id
ORDER BY b.id`

// demoUnitsSQL inserts a copy's units with their Web-Mercator points (units_tile);
// demoUnitOutsideSQL then finds a unit whose entrance lies outside its building, which
// units_check_inside would have refused.
const (
	demoUnitsSQL = `
INSERT INTO units (id, building_id, label, geom, geom_3857, households, residents)
SELECT id, building_id, label, geom, ST_Transform(geom, 3857), households, residents FROM demo_units ORDER BY id`
	demoUnitOutsideSQL = `
SELECT u.label, u.building_id FROM demo_units u JOIN buildings b ON b.id = u.building_id
WHERE NOT ST_Covers(b.footprint, u.geom) LIMIT 1`
)

// copyDemo copies one city copy, parents before children.
func copyDemo(ctx context.Context, tx pgx.Tx, c *demo.Copy, tm timings) error {
	t0 := time.Now()
	if err := copyGrids(ctx, tx, c.Grids); err != nil {
		return err
	}
	t0 = tm.add("grids", t0)
	err := copyRows(ctx, tx, "demo_buildings", []string{"id", "code", "name", "address", "floors", "footprint", "households", "residents"}, len(c.Buildings), func(i int) []any {
		b := c.Buildings[i]
		return []any{b.ID, b.Code, b.Name, b.Address, b.Floors, b.Footprint, b.Households, b.Residents}
	})
	if err != nil {
		return err
	}
	// one statement per Exec: pgx prepares it once for all copies (a multi-statement string
	// would be planned again for each)
	if _, err := tx.Exec(ctx, demoBuildingsSQL, demo.Epoch()); err != nil {
		return fmt.Errorf("buildings: %w", err)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE demo_buildings`); err != nil {
		return err
	}
	t0 = tm.add("buildings", t0)
	if err := copyUnits(ctx, tx, c.Units); err != nil {
		return err
	}
	t0 = tm.add("units", t0)
	tables := []struct {
		name    string
		columns []string
		n       int
		row     func(i int) []any
	}{
		{"households", []string{"id", "unit_id", "label", "floor", "occupancy", "residents", "geom"}, len(c.Households), func(i int) []any {
			h := c.Households[i]
			return []any{h.ID, h.UnitID, h.Label, h.Floor, h.Occupancy, h.Residents, h.Geom}
		}},
		{"workers", []string{"id", "display_name", "role", "work_contact"}, len(c.Workers), func(i int) []any {
			w := c.Workers[i]
			return []any{w.ID, w.DisplayName, w.Role, w.WorkContact}
		}},
		{"assignments", []string{"id", "worker_id", "grid_id", "building_id", "unit_id", "role", "valid_from"}, len(c.Assignments), func(i int) []any {
			a := c.Assignments[i]
			return []any{a.ID, a.WorkerID, a.GridID, a.BuildingID, a.UnitID, a.Role, a.ValidFrom}
		}},
	}
	for _, t := range tables {
		if err := copyRows(ctx, tx, t.name, t.columns, t.n, t.row); err != nil {
			return err
		}
		t0 = tm.add(t.name, t0)
	}
	return nil
}

// timings add up where a load's time goes, per step (logged at debug level).
type timings map[string]time.Duration

// ms returns the times in milliseconds.
func (tm timings) ms() map[string]int64 {
	out := make(map[string]int64, len(tm))
	for k, d := range tm {
		out[k] = d.Milliseconds()
	}
	return out
}

// add counts the time since t0 to step and returns the time now.
func (tm timings) add(step string, t0 time.Time) time.Time {
	now := time.Now()
	tm[step] += now.Sub(t0)
	return now
}

// copyUnits copies a copy's units through demo_units, checking each entrance against its
// building as units_check_inside would.
func copyUnits(ctx context.Context, tx pgx.Tx, units []grid.Unit) error {
	err := copyRows(ctx, tx, "demo_units", []string{"id", "building_id", "label", "geom", "households", "residents"}, len(units), func(i int) []any {
		u := units[i]
		return []any{u.ID, u.BuildingID, u.Label, u.Geom, u.Households, u.Residents}
	})
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, demoUnitsSQL); err != nil {
		return fmt.Errorf("units: %w", err)
	}
	var label string
	var building int64
	switch err := tx.QueryRow(ctx, demoUnitOutsideSQL).Scan(&label, &building); {
	case err == nil:
		return grid.Errorf(grid.EINVALID, "unit %s: entrance point is outside building %d", label, building)
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	_, err = tx.Exec(ctx, `TRUNCATE demo_units`)
	return err
}

// copyGrids copies grids level by level: the parent check reads rows of earlier statements.
func copyGrids(ctx context.Context, tx pgx.Tx, grids []grid.Grid) error {
	for level := 1; level <= 3; level++ {
		var gs []grid.Grid
		for _, g := range grids {
			if g.Level == level {
				gs = append(gs, g)
			}
		}
		err := copyRows(ctx, tx, "grids", []string{"id", "level", "parent_id", "code", "name", "geom", "valid_from", "version"}, len(gs), func(i int) []any {
			g := gs[i]
			return []any{g.ID, g.Level, g.ParentID, g.Code, g.Name, g.Geom, g.ValidFrom, g.Version}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyRows copies n rows into table with COPY; row gives the values of row i. Errors name the
// table.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, n int, row func(i int) []any) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return row(i), nil
	}))
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}
