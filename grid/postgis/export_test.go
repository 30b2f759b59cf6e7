package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// LocateBoth answers lon, lat by SQL and from the in-memory index (ok false: the index could
// not be brought up to the current version).
func (s *Store) LocateBoth(ctx context.Context, lon, lat float64) (bySQL, byIndex grid.Location, ok bool, err error) {
	if bySQL, err = s.locateSQL(ctx, s.pool, lon, lat); err != nil {
		return
	}
	byIndex, ok, err = s.loc.locate(ctx, lon, lat)
	return
}

// assignmentsOracleSQL is the assignments export as it was first written, each count a
// correlated subquery over the staff: obviously what the columns mean, and O(buildings ×
// assignments). Tests hold exportAssignmentsSQL to it.
const assignmentsOracleSQL = `
WITH staff AS (
    SELECT a.grid_id, a.building_id, a.unit_id, a.role, a.worker_id
    FROM assignments a JOIN workers w ON w.id = a.worker_id
    WHERE a.valid_to IS NULL AND w.retired_at IS NULL
), grid_staff AS (
    SELECT grid_id,
           count(DISTINCT worker_id) FILTER (WHERE role = 'grid_leader') AS leaders,
           count(DISTINCT worker_id) FILTER (WHERE role = 'grid_worker') AS workers
    FROM staff WHERE grid_id IS NOT NULL GROUP BY grid_id
)
SELECT b.code, b.name,
       CASE g.level WHEN 1 THEN g.code WHEN 2 THEN p.code WHEN 3 THEN pp.code END,
       CASE g.level WHEN 2 THEN g.code WHEN 3 THEN p.code END,
       CASE g.level WHEN 3 THEN g.code END,
       b.households,
       (SELECT count(*) FROM units u WHERE u.building_id = b.id),
       (SELECT count(DISTINCT s.worker_id) FROM staff s WHERE s.building_id = b.id AND s.role = 'building_leader'),
       (SELECT count(DISTINCT s.worker_id) FROM staff s JOIN units u ON u.id = s.unit_id
        WHERE u.building_id = b.id AND s.role = 'unit_leader'),
       (SELECT count(*) FROM units u WHERE u.building_id = b.id
        AND NOT EXISTS (SELECT 1 FROM staff s WHERE s.unit_id = u.id AND s.role = 'unit_leader')),
       coalesce(CASE WHEN g.level = 3 THEN gs.leaders END, 0),
       coalesce(CASE WHEN g.level = 3 THEN gs.workers END, 0)
FROM buildings b
LEFT JOIN grids g ON g.id = b.grid_id
LEFT JOIN grids p ON p.id = g.parent_id
LEFT JOIN grids pp ON pp.id = p.parent_id
LEFT JOIN grid_staff gs ON gs.grid_id = g.id
ORDER BY b.code`

// AssignmentsOracle runs assignmentsOracleSQL now (at nil) or at a past moment, its rows as
// the export's CSV records (no header).
func (s *Store) AssignmentsOracle(ctx context.Context, at *time.Time) ([][]string, error) {
	var out [][]string
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if at != nil {
			if err := asOf(ctx, tx, *at); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, assignmentsOracleSQL)
		var code, name string
		var l1, l2, l3 *string
		var c [7]int64
		_, err := pgx.ForEachRow(rows, []any{&code, &name, &l1, &l2, &l3, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]}, func() error {
			rec := []string{code, name, deref(l1), deref(l2), deref(l3)}
			for _, n := range c {
				rec = append(rec, fmt.Sprint(n))
			}
			out = append(out, rec)
			return nil
		})
		return err
	})
	return out, err
}
