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

// The filter of grid lists: level ($1), parent id ($2), bbox ($3..$6), what a user typed
// ($7: a code starting with it or a name holding it, case-insensitive); NULL skips a term.
const gridsWhere = `
WHERE g.valid_to IS NULL
  AND ($1::int IS NULL OR g.level = $1)
  AND ($2::bigint IS NULL OR g.parent_id = $2)
  AND ($3::float8 IS NULL OR (g.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)
       AND ST_Intersects(g.geom, ST_MakeEnvelope($3, $4, $5, $6, 4326))))
  AND ($7::text IS NULL OR left(g.code, length($7)) = $7 OR strpos(lower(g.name), lower($7)) > 0)`

const gridsCountSQL = `SELECT count(*) FROM grids g` + gridsWhere

const gridsPageSQL = `
SELECT g.id, g.level, g.parent_id, g.code, g.name, g.geom, g.valid_from, g.version, g.locked,
       c.buildings, c.units, c.households, c.residents, c.workers
FROM (SELECT g.* FROM grids g` + gridsWhere + `
      ORDER BY g.code LIMIT $8 OFFSET $9) g
CROSS JOIN LATERAL gridmap_grid_counts(g.id) c
ORDER BY g.code`

// gridStatusSQL is the kept status of grids $1 (GridStatus): the facts the tile and coverage
// tables keep per grid, and the issues of each subtree counted from the kept pieces. Set-based
// over the page's subtrees (each grid of a subtree once per root), so a page of 10,000 level-3
// grids costs joins, not 10,000 probes of six tables; an overlap inside a subtree counts once,
// and the gap of a grid with no child yet (its whole area, the empty level) not at all.
const gridStatusSQL = `
WITH RECURSIVE sub(root, id) AS (
    SELECT id, id FROM unnest($1::bigint[]) id
    UNION ALL
    SELECT sub.root, x.id FROM sub JOIN grids x ON x.parent_id = sub.id AND x.valid_to IS NULL
), own AS (
    SELECT sub.root, count(*) FILTER (WHERE NOT t.staffed) + count(*) FILTER (WHERE c.parts > 1) AS n
    FROM sub JOIN tile_grids t ON t.grid_id = sub.id LEFT JOIN coverage_grids c ON c.grid_id = sub.id
    GROUP BY sub.root
), pieces AS (
    SELECT sub.root, count(*) AS n FROM sub JOIN tile_coverage v ON v.kind = 'gap' AND v.parent_id = sub.id
    WHERE EXISTS (SELECT 1 FROM grids x WHERE x.parent_id = sub.id AND x.valid_to IS NULL)
    GROUP BY sub.root
    UNION ALL
    SELECT sub.root, count(*) FROM sub JOIN coverage_outside o ON o.grid_id = sub.id GROUP BY sub.root
    UNION ALL
    SELECT sub.root, count(*) FROM sub JOIN buildings b ON b.grid_id = sub.id AND b.straddling GROUP BY sub.root
    UNION ALL
    SELECT sub.root, count(DISTINCT v.id) FROM sub
    JOIN (SELECT id, unnest(grid_ids) AS grid_id FROM tile_coverage WHERE kind = 'overlap') v ON v.grid_id = sub.id
    GROUP BY sub.root
)
SELECT t.grid_id, t.staffed, coalesce(k.carriers, 0), coalesce(k.polsby_popper, 0), coalesce(k.parts, 0),
       (coalesce(o.n, 0) + coalesce(p.n, 0))::int
FROM tile_grids t
LEFT JOIN coverage_grids k ON k.grid_id = t.grid_id
LEFT JOIN own o ON o.root = t.grid_id
LEFT JOIN (SELECT root, sum(n) AS n FROM pieces GROUP BY root) p ON p.root = t.grid_id
WHERE t.grid_id = ANY($1)`

// Grids returns a page of current grids with their counts (and status, when f asks) and how
// many match; with f.At in the past, of the grids as they stood then (history.go: no status,
// no search, as the coverage report keeps no history).
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
	db := s.read(ctx)
	parent, err := optionalGridID(ctx, db, f.Parent)
	if err != nil {
		return out, mapError(err)
	}
	var query *string
	if f.Query != "" {
		query = &f.Query
	}
	args := append(append([]any{level, parent}, bboxArgs(f.BBox)...), query)
	err = pgx.BeginTxFunc(ctx, db, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(gridsCountSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&out.Matched) })
		b.Queue(gridsPageSQL, append(args, f.Limit, f.Offset)...).Query(func(rows pgx.Rows) error {
			var err error
			out.Grids, err = pgx.CollectRows(rows, scanGridInfo)
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !f.Status || len(out.Grids) == 0 {
			return nil
		}
		return readGridStatus(ctx, tx, out.Grids)
	})
	if err != nil {
		return out, mapError(err)
	}
	return out, nil
}

// readGridStatus fills the Status of gs, in the same snapshot as the grids.
func readGridStatus(ctx context.Context, tx pgx.Tx, gs []grid.GridInfo) error {
	ids := make([]int64, len(gs))
	at := make(map[int64]int, len(gs))
	for k, g := range gs {
		ids[k], at[g.ID] = g.ID, k
	}
	rows, _ := tx.Query(ctx, gridStatusSQL, ids)
	var id int64
	var st grid.GridStatus
	_, err := pgx.ForEachRow(rows, []any{&id, &st.Staffed, &st.Carriers, &st.PolsbyPopper, &st.Parts, &st.Issues}, func() error {
		v := st
		gs[at[id]].Status = &v
		return nil
	})
	return err
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
	err := row.Scan(&g.ID, &g.Level, &g.ParentID, &g.Code, &g.Name, &g.Geom, &g.ValidFrom, &g.Version, &g.Locked,
		&g.Buildings, &g.Units, &g.Households, &g.Residents, &g.Workers)
	return g, err
}

const gridSQL = `
SELECT g.id, g.level, g.parent_id, g.code, g.name, g.geom, g.valid_from, g.version, g.locked,
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

// Grid returns a current grid with its counts, ancestors and children. It reads from the
// primary even with a replica: its version is the ETag an edit names in If-Match, and one
// read from a replica behind would have the edit refused as stale.
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
