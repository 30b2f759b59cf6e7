package postgis

import (
	"context"
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
	m := balanceFacts{versions: map[int64]int{}, seenGrid: map[int64]bool{}, seenStaff: map[grid.GridStaff]bool{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		return m.read(ctx, tx, keys)
	})
	if err != nil {
		return nil, mapError(err)
	}
	bal := grid.BuildBalance(m.facts, m.versions, m.roots, q)
	bal.Elapsed = time.Since(start)
	return bal, nil
}

// balanceFacts is what the balance panel measures: the coverage facts of the roots' subtrees
// (a grid or a staff pair under two roots counted once) and the grids' versions.
type balanceFacts struct {
	facts     grid.CoverageFacts
	roots     []grid.GridRef
	versions  map[int64]int
	seenGrid  map[int64]bool
	seenStaff map[grid.GridStaff]bool
}

// read resolves the roots and measures their subtrees in one batch.
func (m *balanceFacts) read(ctx context.Context, tx pgx.Tx, keys []grid.GridKey) error {
	if err := tx.QueryRow(ctx, "SELECT version FROM data_version").Scan(&m.facts.DataVersion); err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, k := range keys {
		r, err := resolveGrid(ctx, tx, k)
		if err != nil {
			return err
		}
		// a root named twice (by id and by code, or 500 times over) is measured once: the
		// work follows the distinct grids asked for, not the length of the list
		if !seen[r.ID] {
			seen[r.ID] = true
			m.roots = append(m.roots, r)
		}
	}
	b := &pgx.Batch{}
	for _, r := range m.roots {
		m.queue(b, r.ID)
	}
	return tx.SendBatch(ctx, b).Close()
}

// queue adds the queries of the subtree of root to b: its grids, its grid staff, its versions.
func (m *balanceFacts) queue(b *pgx.Batch, root int64) {
	b.Queue(coverageGridsSQL, root).Query(func(rows pgx.Rows) error {
		gs, err := pgx.CollectRows(rows, scanGridFact)
		for _, g := range gs {
			if !m.seenGrid[g.ID] {
				m.seenGrid[g.ID] = true
				m.facts.Grids = append(m.facts.Grids, g)
			}
		}
		return err
	})
	b.Queue(coverageStaffSQL, root).Query(func(rows pgx.Rows) error {
		st, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.GridStaff])
		for _, x := range st {
			if !m.seenStaff[x] {
				m.seenStaff[x] = true
				m.facts.Staff = append(m.facts.Staff, x)
			}
		}
		return err
	})
	b.Queue(balanceVersionsSQL, root).Query(func(rows pgx.Rows) error {
		var id int64
		var v int
		_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			m.versions[id] = v
			return nil
		})
		return err
	})
}
