package postgis

import (
	"context"
	"encoding/json"
	"fmt"
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

// LoadDemo loads the demo city (see package demo) into an empty database with COPY, in one
// transaction: all of it or nothing. progress, when not nil, hears a line per city copy.
// A database that is not empty gives ECONFLICT.
func (s *Store) LoadDemo(ctx context.Context, o demo.Options, actor string, progress func(string)) (DemoSummary, error) {
	start := time.Now()
	sum := DemoSummary{Scale: o.Scale, Seed: o.Seed, Grids: map[int]int{}}
	if err := o.Validate(); err != nil {
		return sum, err
	}
	if progress == nil {
		progress = func(string) {}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockEmpty(ctx, tx); err != nil {
			return err
		}
		bounds, err := loadCopies(ctx, tx, o, &sum, progress, start)
		if err != nil {
			return err
		}
		progress("demo: checking and indexing households")
		if err := finishDemo(ctx, tx, bounds); err != nil {
			return err
		}
		after, _ := json.Marshal(sum)
		return audit(ctx, tx, actor, "demo.load", "city", nil, nil, after)
	})
	if err != nil {
		return sum, mapError(err)
	}
	progress("demo: analyzing tables")
	if _, err := s.pool.Exec(ctx, "ANALYZE grids, buildings, units, households, workers, assignments"); err != nil {
		return sum, mapError(err)
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

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

// loadCopies generates and copies the city's copies one by one, counting them into sum and
// telling progress the time since start, and returns their boundaries. The households' checks are lifted for the load (dropHouseholdChecks):
// finishDemo restores them.
func loadCopies(ctx context.Context, tx pgx.Tx, o demo.Options, sum *DemoSummary, progress func(string), start time.Time) ([]orb.Polygon, error) {
	// Bulk mode: the households' foreign key, unique and spatial indexes are checked and
	// built once at the end, set-based, instead of row by row: per 50k households that is
	// 0.72 s → 0.25 s, most of the load at scale 100.
	if _, err := tx.Exec(ctx, dropHouseholdChecks); err != nil {
		return nil, err
	}
	ids := demo.NewIDs()
	var bounds []orb.Polygon
	for k := 0; k < o.Scale; k++ {
		t0 := time.Now()
		c := demo.Generate(o, k, ids)
		if err := copyDemo(ctx, tx, c); err != nil {
			return nil, fmt.Errorf("copy %d: %w", k+1, err)
		}
		bounds = append(bounds, c.Boundary)
		sum.add(c)
		progress(fmt.Sprintf("demo: %d/%d loaded: %d grids, %d buildings, %d units, %d households (%.1fs, %.0fs in all)",
			k+1, o.Scale, len(c.Grids), len(c.Buildings), len(c.Units), len(c.Households),
			time.Since(t0).Seconds(), time.Since(start).Seconds()))
	}
	return bounds, nil
}

// finishDemo restores the households' checks, writes the city (named by the demo, bounded
// by the copies) and moves the id sequences past the generated ids.
func finishDemo(ctx context.Context, tx pgx.Tx, bounds []orb.Polygon) error {
	if _, err := tx.Exec(ctx, addHouseholdChecks); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO city (name, admin_code, boundary)
		VALUES ($1, $2, ST_Multi(ST_Union($3::geometry[])))
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, admin_code = excluded.admin_code, boundary = excluded.boundary`,
		demo.Name, demo.AdminCode, polygonsArg(bounds)); err != nil {
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

// The household constraints LoadDemo lifts during the load; addHouseholdChecks must restore
// exactly what migrations/0001_schema.sql declares.
const (
	dropHouseholdChecks = `
ALTER TABLE households DROP CONSTRAINT households_unit_id_fkey, DROP CONSTRAINT households_unit_id_label_key;
DROP INDEX households_geom;`
	addHouseholdChecks = `
ALTER TABLE households ADD CONSTRAINT households_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id) ON DELETE CASCADE,
	ADD CONSTRAINT households_unit_id_label_key UNIQUE (unit_id, label);
CREATE INDEX households_geom ON households USING gist (geom);`
)

// polygonsArg passes polygons as a geometry[] parameter.
func polygonsArg(ps []orb.Polygon) []orb.Geometry {
	out := make([]orb.Geometry, len(ps))
	for k, p := range ps {
		out[k] = p
	}
	return out
}

// copyDemo copies one city copy, parents before children.
func copyDemo(ctx context.Context, tx pgx.Tx, c *demo.Copy) error {
	if err := copyGrids(ctx, tx, c.Grids); err != nil {
		return err
	}
	tables := []struct {
		name    string
		columns []string
		n       int
		row     func(i int) []any
	}{
		{"buildings", []string{"id", "code", "name", "address", "floors", "footprint", "source"}, len(c.Buildings), func(i int) []any {
			b := c.Buildings[i]
			return []any{b.ID, b.Code, b.Name, b.Address, b.Floors, b.Footprint, "demo"}
		}},
		{"units", []string{"id", "building_id", "label", "geom"}, len(c.Units), func(i int) []any {
			u := c.Units[i]
			return []any{u.ID, u.BuildingID, u.Label, u.Geom}
		}},
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
	}
	return nil
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
