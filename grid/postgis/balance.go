package postgis

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// balanceVersionsSQL: the versions of the grids in the subtree of $1 (for the panel's ETags).
const balanceVersionsSQL = `SELECT g.id, g.version FROM grids g WHERE g.id IN (SELECT id FROM gridmap_subtree($1))`

// Balance measures the level-3 grids under the query's roots with the coverage report's own
// queries (coverageGridsSQL, coverageStaffSQL), one batch in one snapshot, and rates them with
// grid.BuildBalance.
func (s *Store) Balance(ctx context.Context, q grid.BalanceQuery) (*grid.Balance, error) {
	start := time.Now()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	keys := q.Grids
	if q.Parent != nil {
		keys = []grid.GridKey{*q.Parent}
	}
	var f grid.CoverageFacts
	var roots []grid.GridRef
	versions := map[int64]int{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT version FROM data_version").Scan(&f.DataVersion); err != nil {
			return err
		}
		for _, k := range keys {
			r, err := resolveGrid(ctx, tx, k)
			if err != nil {
				return err
			}
			roots = append(roots, r)
		}
		seenGrid, seenStaff := map[int64]bool{}, map[grid.GridStaff]bool{}
		b := &pgx.Batch{}
		for _, r := range roots {
			b.Queue(coverageGridsSQL, r.ID).Query(func(rows pgx.Rows) error {
				gs, err := pgx.CollectRows(rows, scanGridFact)
				for _, g := range gs {
					if !seenGrid[g.ID] {
						seenGrid[g.ID] = true
						f.Grids = append(f.Grids, g)
					}
				}
				return err
			})
			b.Queue(coverageStaffSQL, r.ID).Query(func(rows pgx.Rows) error {
				st, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.GridStaff])
				for _, x := range st {
					if !seenStaff[x] {
						seenStaff[x] = true
						f.Staff = append(f.Staff, x)
					}
				}
				return err
			})
			b.Queue(balanceVersionsSQL, r.ID).Query(func(rows pgx.Rows) error {
				var id int64
				var v int
				_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
					versions[id] = v
					return nil
				})
				return err
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, mapError(err)
	}
	bal := grid.BuildBalance(f, versions, roots, q)
	bal.Elapsed = time.Since(start)
	return bal, nil
}

// householdsExportSQL: household rows (dwelling records: label, floor, occupancy, residents)
// of the buildings under grid $1 (NULL: all), with where they are.
const householdsExportSQL = `
SELECT coalesce(g.code, ''), b.code, u.label, h.label, h.floor, h.occupancy, h.residents
FROM households h JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = u.building_id
LEFT JOIN grids g ON g.id = b.grid_id
WHERE $1::bigint IS NULL OR b.grid_id IN (SELECT id FROM gridmap_subtree($1))
ORDER BY b.code, u.label, h.floor, h.label`

var householdColumns = []string{"grid_code", "building_code", "unit", "household", "floor", "occupancy", "residents"}

// ExportHouseholds streams the household rows under a grid as CSV, for those who may see them.
func (s *Store) ExportHouseholds(ctx context.Context, u *grid.User, f grid.HouseholdExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	if err := u.Require(grid.PermExportHouseholds); err != nil {
		return 0, err
	}
	if f.Grid == nil && !u.Everywhere() {
		return 0, grid.Errorf(grid.EFORBIDDEN, "%s: name one of your grids (grid=…)", u.Name)
	}
	e := grid.Export{Kind: "households", Filters: map[string]any{}}
	n := 0
	err := s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		var root *int64
		if f.Grid != nil {
			ref, err := resolveGrid(ctx, tx, *f.Grid)
			if err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, gridChainSQL, ref.ID)
			chain, err := pgx.CollectRows(rows, scanGridRef)
			if err != nil {
				return err
			}
			if !u.Viewer().MaySeeHouseholds(idsOfRefs(chain)) {
				return grid.Errorf(grid.EFORBIDDEN, "%s: grid %s is outside your grids", u.Name, ref.Code)
			}
			root = &ref.ID
			e.Filters["grid"] = ref.Code
		}
		rows, err := tx.Query(ctx, householdsExportSQL, root)
		if err != nil {
			return err
		}
		var gc, bc, ul, hl, occ string
		var floor, res int
		n, err = streamCSV(rows, open, e, householdColumns, func() ([]string, error) {
			if err := rows.Scan(&gc, &bc, &ul, &hl, &floor, &occ, &res); err != nil {
				return nil, err
			}
			return []string{gc, bc, ul, hl, strconv.Itoa(floor), occ, strconv.Itoa(res)}, nil
		})
		return err
	}, e)
	return n, err
}
