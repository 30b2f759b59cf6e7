package postgis

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

var _ grid.Store = (*Store)(nil)

// resolveGridSQL finds a current grid by id ($1) or code ($2).
const resolveGridSQL = `
SELECT id, level, code, name FROM grids
WHERE valid_to IS NULL AND (id = $1 OR code = $2)`

// resolveGrid returns the current grid named by k, or ENOTFOUND.
func resolveGrid(ctx context.Context, q querier, k grid.GridKey) (grid.GridRef, error) {
	var r grid.GridRef
	err := q.QueryRow(ctx, resolveGridSQL, k.ID, k.Code).Scan(&r.ID, &r.Level, &r.Code, &r.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, grid.Errorf(grid.ENOTFOUND, "grid %s not found", k)
	}
	return r, err
}

// querier is a pool, a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// The filter of grid lists: level ($1), parent id ($2), bbox ($3..$6); NULL skips a term.
const gridsWhere = `
WHERE g.valid_to IS NULL
  AND ($1::int IS NULL OR g.level = $1)
  AND ($2::bigint IS NULL OR g.parent_id = $2)
  AND ($3::float8 IS NULL OR (g.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)
       AND ST_Intersects(g.geom, ST_MakeEnvelope($3, $4, $5, $6, 4326))))`

const gridsCountSQL = `SELECT count(*) FROM grids g` + gridsWhere

const gridsPageSQL = `
SELECT g.id, g.level, g.parent_id, g.code, g.name, g.geom, g.valid_from, g.version,
       c.buildings, c.units, c.households, c.residents, c.workers
FROM (SELECT g.* FROM grids g` + gridsWhere + `
      ORDER BY g.code LIMIT $7 OFFSET $8) g
CROSS JOIN LATERAL gridmap_grid_counts(g.id) c
ORDER BY g.code`

// Grids returns a page of current grids with their counts and how many match; with f.At in
// the past, of the grids as they stood then (history.go).
func (s *Store) Grids(ctx context.Context, f grid.GridFilter) (grid.GridList, error) {
	var out grid.GridList
	if err := f.Validate(); err != nil {
		return out, err
	}
	if at, err := s.pastMoment(ctx, f.At); err != nil || at != nil {
		if err != nil {
			return out, err
		}
		return s.gridsAt(ctx, f, *at)
	}
	var level *int
	if f.Level != 0 {
		level = &f.Level
	}
	parent, err := optionalGridID(ctx, s.pool, f.Parent)
	if err != nil {
		return out, mapError(err)
	}
	args := append([]any{level, parent}, bboxArgs(f.BBox)...)
	b := &pgx.Batch{}
	b.Queue(gridsCountSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&out.Matched) })
	b.Queue(gridsPageSQL, append(args, f.Limit, f.Offset)...).Query(func(rows pgx.Rows) error {
		var err error
		out.Grids, err = pgx.CollectRows(rows, scanGridInfo)
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return out, mapError(err)
	}
	return out, nil
}

// bboxArgs passes a box as four parameters, or four NULLs.
func bboxArgs(b *grid.BBox) []any {
	if b == nil {
		return []any{nil, nil, nil, nil}
	}
	return []any{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}
}

func scanGridInfo(row pgx.CollectableRow) (grid.GridInfo, error) {
	var g grid.GridInfo
	err := row.Scan(&g.ID, &g.Level, &g.ParentID, &g.Code, &g.Name, &g.Geom, &g.ValidFrom, &g.Version,
		&g.Buildings, &g.Units, &g.Households, &g.Residents, &g.Workers)
	return g, err
}

const gridSQL = `
SELECT g.id, g.level, g.parent_id, g.code, g.name, g.geom, g.valid_from, g.version,
       c.buildings, c.units, c.households, c.residents, c.workers
FROM grids g CROSS JOIN LATERAL gridmap_grid_counts(g.id) c
WHERE g.id = $1`

// gridChainSQL is grid $1 and its ancestors, level 1 first.
const gridChainSQL = `
WITH RECURSIVE up(id, parent_id, level, code, name) AS (
    SELECT id, parent_id, level, code, name FROM grids WHERE id = $1
    UNION ALL
    SELECT p.id, p.parent_id, p.level, p.code, p.name FROM up JOIN grids p ON p.id = up.parent_id
)
SELECT id, level, code, name FROM up ORDER BY level`

const gridChildrenSQL = `
SELECT id, level, code, name FROM grids
WHERE parent_id = $1 AND valid_to IS NULL
ORDER BY code`

// Grid returns a current grid with its counts, ancestors and children.
func (s *Store) Grid(ctx context.Context, k grid.GridKey) (grid.GridDetail, error) {
	var d grid.GridDetail
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		ref, err := resolveGrid(ctx, tx, k)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, gridSQL, ref.ID)
		d.GridInfo, err = pgx.CollectExactlyOneRow(rows, scanGridInfo)
		if err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, gridChainSQL, ref.ID)
		chain, err := pgx.CollectRows(rows, scanGridRef)
		if err != nil {
			return err
		}
		d.Ancestors = chain[:len(chain)-1]
		rows, _ = tx.Query(ctx, gridChildrenSQL, ref.ID)
		d.Children, err = pgx.CollectRows(rows, scanGridRef)
		return err
	})
	return d, mapError(err)
}

func scanGridRef(row pgx.CollectableRow) (grid.GridRef, error) {
	var r grid.GridRef
	err := row.Scan(&r.ID, &r.Level, &r.Code, &r.Name)
	return r, err
}
