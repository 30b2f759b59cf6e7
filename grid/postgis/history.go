package postgis

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// Reads of the division as it stood at a moment (migrations/0015_history.sql). Two ways:
//   - the exports, and the coverage report measured from scratch (the check of the report
//     built from what did not change since, coverage_past.go), run their usual statements
//     with the gridmap_asof views first in the search path (asOf);
//   - lists and single grids, which show a page of grids with their subtrees' counts, have
//     statements of their own below: the buildings whose grid at the moment may differ from
//     their grid now (gridmap_moved_since) are found once per statement, and every other
//     building is counted through its current grid, so a page costs what its subtrees hold.

// heldAt is the condition on a version h of grid_history that it held at @at.
const heldAt = `h.valid_from <= @at AND (h.valid_to IS NULL OR h.valid_to > @at)`

// pastMoment returns at when it lies before the database's clock, nil when at is nil or not
// in the past: a moment in the future is now, whose division is the current one.
func (s *Store) pastMoment(ctx context.Context, at *time.Time) (*time.Time, error) {
	if at == nil {
		return nil, nil
	}
	var past bool
	if err := s.pool.QueryRow(ctx, `SELECT $1::timestamptz < now()`, *at).Scan(&past); err != nil {
		return nil, mapError(err)
	}
	if !past {
		return nil, nil
	}
	return at, nil
}

// asOf makes tx read the division at moment at: the gridmap_asof views before the tables in
// its search path, and gridmap.at set, both for the transaction only.
func asOf(ctx context.Context, tx pgx.Tx, at time.Time) error {
	_, err := tx.Exec(ctx, `SELECT set_config('gridmap.at', $1, true),
		set_config('search_path', 'gridmap_asof, ' || current_setting('search_path'), true)`,
		at.UTC().Format(time.RFC3339Nano))
	return err
}

// resolveGridAtSQL finds the grid that held at @at with id @id or code @code.
const resolveGridAtSQL = `
SELECT h.id, h.level, h.code, h.name FROM grid_history h
WHERE ` + heldAt + ` AND (h.id = @id OR h.code = @code)`

// resolveGridAt returns the grid named by k as it stood at at, or ENOTFOUND.
func resolveGridAt(ctx context.Context, tx pgx.Tx, k grid.GridKey, at time.Time) (grid.GridRef, error) {
	var r grid.GridRef
	err := tx.QueryRow(ctx, resolveGridAtSQL, pgx.NamedArgs{"at": at, "id": k.ID, "code": k.Code}).
		Scan(&r.ID, &r.Level, &r.Code, &r.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, grid.Errorf(grid.ENOTFOUND, "grid %s did not exist at %s", k, at.UTC().Format(time.RFC3339))
	}
	return r, err
}

// gridsAtFrom: the versions that held at @at matching the filter — level @level, parent
// @parent, one grid @id, the subtree below @root (the root excluded), the box (NULL skips a
// term).
const gridsAtFrom = `
FROM grid_history h
WHERE ` + heldAt + `
  AND (@level::int IS NULL OR h.level = @level)
  AND (@parent::bigint IS NULL OR h.parent_id = @parent)
  AND (@id::bigint IS NULL OR h.id = @id)
  AND (@root::bigint IS NULL OR (h.id IN (SELECT s.id FROM gridmap_subtree_at(@root, @at) s) AND h.id <> @root))
  AND (@xmin::float8 IS NULL OR (h.geom && ST_MakeEnvelope(@xmin, @ymin, @xmax, @ymax, 4326)
       AND ST_Intersects(h.geom, ST_MakeEnvelope(@xmin, @ymin, @xmax, @ymax, 4326))))`

const gridsAtCountSQL = `SELECT count(*)::int` + gridsAtFrom

// gridsAtPageSQL: a page of gridsAtFrom by code, each grid with its subtree's counts as then:
// the buildings derived into the subtree then (not moved since: through their current grid;
// moved: through their grid then), their units, households and residents, and the distinct
// grid staff of the subtree whose assignments held then.
const gridsAtPageSQL = `
WITH RECURSIVE page AS MATERIALIZED (
    SELECT h.id, h.level, h.parent_id, h.code, h.name, h.geom, h.valid_from, h.valid_to, h.version` + gridsAtFrom + `
    ORDER BY h.code LIMIT @limit OFFSET @offset
), tree AS MATERIALIZED (
    SELECT g.id, g.parent_id FROM gridmap_grids_at(@at) g
), sub(root, id) AS (
    SELECT p.id, p.id FROM page p
    UNION ALL
    SELECT s.root, t.id FROM sub s JOIN tree t ON t.parent_id = s.id
), moved AS MATERIALIZED (
    SELECT m.id, m.grid_id FROM gridmap_moved_since(@at) m
), there AS MATERIALIZED (
    SELECT gridmap_history_start() AS since
), bs AS (
    SELECT s.root, b.id, b.households, b.residents
    FROM sub s JOIN buildings b ON b.grid_id = s.id
    WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.id = b.id)
      AND coalesce(b.created_at, (SELECT since FROM there)) <= @at
    UNION ALL
    SELECT s.root, b.id, b.households, b.residents
    FROM sub s JOIN moved m ON m.grid_id = s.id JOIN buildings b ON b.id = m.id
    WHERE coalesce(b.created_at, (SELECT since FROM there)) <= @at
), counts AS (
    SELECT bs.root, count(*)::int AS buildings, coalesce(sum(bs.households), 0)::int AS households,
           coalesce(sum(bs.residents), 0)::int AS residents,
           coalesce(sum((SELECT count(*) FROM units u WHERE u.building_id = bs.id)), 0)::int AS units
    FROM bs GROUP BY bs.root
), staff AS (
    SELECT s.root, count(DISTINCT a.worker_id)::int AS workers
    FROM sub s JOIN assignments a ON a.grid_id = s.id JOIN workers w ON w.id = a.worker_id
    WHERE a.valid_from <= @at AND (a.valid_to IS NULL OR a.valid_to > @at)
      AND (w.retired_at IS NULL OR w.retired_at > @at)
    GROUP BY s.root
)
SELECT p.id, p.level, p.parent_id, p.code, p.name, p.geom, p.valid_from, p.valid_to, p.version,
       coalesce(c.buildings, 0), coalesce(c.units, 0), coalesce(c.households, 0),
       coalesce(c.residents, 0), coalesce(st.workers, 0)
FROM page p LEFT JOIN counts c ON c.root = p.id LEFT JOIN staff st ON st.root = p.id
ORDER BY p.code`

// gridsAtFilter is the filter of gridsAtFrom; zero values skip a term. A nil Page is every
// grid.
type gridsAtFilter struct {
	level            int
	parent, id, root *int64
	box              *grid.BBox
	page             *grid.Page
}

// args are the named parameters of gridsAtFrom and gridsAtPageSQL.
func (f gridsAtFilter) args(at time.Time) pgx.NamedArgs {
	args := pgx.NamedArgs{"at": at, "level": nil, "parent": f.parent, "id": f.id, "root": f.root,
		"xmin": nil, "ymin": nil, "xmax": nil, "ymax": nil, "limit": nil, "offset": 0}
	if f.level != 0 {
		args["level"] = f.level
	}
	if f.box != nil {
		args["xmin"], args["ymin"], args["xmax"], args["ymax"] = f.box.MinLon, f.box.MinLat, f.box.MaxLon, f.box.MaxLat
	}
	if f.page != nil {
		args["limit"], args["offset"] = f.page.Limit, f.page.Offset
	}
	return args
}

// gridsAt returns a page of the grids as they stood at at (f.At), with their counts of then.
func (s *Store) gridsAt(ctx context.Context, f grid.GridFilter, at time.Time) (grid.GridList, error) {
	var out grid.GridList
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		var parent *int64
		if f.Parent != nil {
			ref, err := resolveGridAt(ctx, tx, *f.Parent, at)
			if err != nil {
				return err
			}
			parent = &ref.ID
		}
		args := gridsAtFilter{level: f.Level, parent: parent, box: f.BBox, page: &f.Page}.args(at)
		if err := tx.QueryRow(ctx, gridsAtCountSQL, args).Scan(&out.Matched); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, gridsAtPageSQL, args)
		var err error
		out.Grids, err = pgx.CollectRows(rows, scanGridInfoAt)
		return err
	})
	return out, mapError(err)
}

func scanGridInfoAt(row pgx.CollectableRow) (grid.GridInfo, error) {
	var g grid.GridInfo
	err := row.Scan(&g.ID, &g.Level, &g.ParentID, &g.Code, &g.Name, &g.Geom, &g.ValidFrom, &g.ValidTo, &g.Version,
		&g.Buildings, &g.Units, &g.Households, &g.Residents, &g.Workers)
	return g, err
}

// gridChainAtSQL is grid @id and its ancestors as they stood at @at, level 1 first.
const gridChainAtSQL = `
WITH RECURSIVE up(id, parent_id, level, code, name) AS (
    SELECT g.id, g.parent_id, g.level, g.code, g.name FROM gridmap_grids_at(@at) g WHERE g.id = @id
    UNION ALL
    SELECT p.id, p.parent_id, p.level, p.code, p.name FROM up JOIN gridmap_grids_at(@at) p ON p.id = up.parent_id
)
SELECT id, level, code, name FROM up ORDER BY level`

const gridChildrenAtSQL = `
SELECT g.id, g.level, g.code, g.name FROM gridmap_grids_at(@at) g
WHERE g.parent_id = @id
ORDER BY g.code`

// GridAt returns the grid named by k as it stood at at, with its counts, ancestors and
// children of then; a moment in the future reads the current grid. ENOTFOUND when no such
// grid held then.
func (s *Store) GridAt(ctx context.Context, k grid.GridKey, at time.Time) (grid.GridDetail, error) {
	past, err := s.pastMoment(ctx, &at)
	if err != nil || past == nil {
		if err != nil {
			return grid.GridDetail{}, err
		}
		return s.Grid(ctx, k)
	}
	var d grid.GridDetail
	err = s.readSnapshot(ctx, func(tx pgx.Tx) error {
		ref, err := resolveGridAt(ctx, tx, k, at)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, gridsAtPageSQL, gridsAtFilter{id: &ref.ID}.args(at))
		if d.GridInfo, err = pgx.CollectExactlyOneRow(rows, scanGridInfoAt); err != nil {
			return err
		}
		args := pgx.NamedArgs{"at": at, "id": ref.ID}
		rows, _ = tx.Query(ctx, gridChainAtSQL, args)
		chain, err := pgx.CollectRows(rows, scanGridRef)
		if err != nil {
			return err
		}
		d.Ancestors = chain[:len(chain)-1]
		rows, _ = tx.Query(ctx, gridChildrenAtSQL, args)
		d.Children, err = pgx.CollectRows(rows, scanGridRef)
		return err
	})
	return d, mapError(err)
}
