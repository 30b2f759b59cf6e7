package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// The statistical report (grid.AssembleReport): the coverage read of the scope — kept by the
// writing transactions for now, measured from scratch through the gridmap_asof views for a
// past moment — and per subtree of each sheet's level what the coverage read does not hold:
// distinct staff by role, estimated households, buildings and units without their leader.
// Subtrees are grouped by the code prefix their grids share (codes are hierarchical), so each
// measure is one grouped scan, and the rows, one per grid of a level, are small.
//
// Named parameters: @plen, the prefix length of the sheet's level (0: the scope as one);
// @minlevel, the lowest level whose grids fall in a row; @rlen, @prefix, the scope's code
// prefix (0, '': the whole city).

// reportStaffSQL counts the distinct current staff by role of each subtree: grid staff on
// their grid, building and unit leaders on the grid their building lies in.
const reportStaffSQL = `
SELECT left(g.code, @plen), a.role, count(DISTINCT a.worker_id)::int
FROM assignments a
JOIN workers w ON w.id = a.worker_id AND w.retired_at IS NULL
LEFT JOIN units u ON u.id = a.unit_id
LEFT JOIN buildings b ON b.id = coalesce(a.building_id, u.building_id)
JOIN grids g ON g.id = coalesce(a.grid_id, b.grid_id) AND g.valid_to IS NULL
WHERE a.valid_to IS NULL AND g.level >= @minlevel AND left(g.code, @rlen) = @prefix
GROUP BY 1, 2`

// reportBuildingsSQL sums each level-3 grid's estimated households and counts its buildings
// without a building leader and units without a unit leader (as the coverage report does);
// these add up, so the rows of every level are summed from these.
const reportBuildingsSQL = `
SELECT g.code,
       coalesce(sum(b.households) FILTER (WHERE b.households_estimated), 0)::int,
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM assignments a JOIN workers w ON w.id = a.worker_id
           WHERE a.building_id = b.id AND a.role = 'building_leader' AND a.valid_to IS NULL AND w.retired_at IS NULL))::int,
       coalesce(sum((SELECT count(*) FROM units u WHERE u.building_id = b.id AND NOT EXISTS (
           SELECT 1 FROM assignments a JOIN workers w ON w.id = a.worker_id
           WHERE a.unit_id = u.id AND a.role = 'unit_leader' AND a.valid_to IS NULL AND w.retired_at IS NULL))), 0)::int
FROM buildings b JOIN grids g ON g.id = b.grid_id AND g.valid_to IS NULL
WHERE g.level = 3 AND left(g.code, @rlen) = @prefix
GROUP BY g.code`

// Report reads the report q and hands it to sink. EINVALID for a bad query, ENOTFOUND for an
// unknown parent (named as at the report's moment).
func (s *Store) Report(ctx context.Context, q grid.ReportQuery, sink grid.ReportSink) error {
	q = q.WithDefaults()
	if err := q.Validate(); err != nil {
		return err
	}
	at, err := s.pastMoment(ctx, q.At)
	if err != nil {
		return err
	}
	head := grid.ReportHead{At: at, From: q.From, To: q.To, GeneratedAt: time.Now().UTC(), Target: q.Target, Band: q.Band}
	o := grid.CoverageOptions{Root: q.Parent, At: at, Target: q.Target, Band: q.Band}.WithDefaults()
	var f grid.ReportFacts
	if at == nil {
		f.Read, err = s.readCoverage(ctx, o, nil)
	} else {
		var facts grid.CoverageFacts
		if facts, err = s.coverageFacts(ctx, o); err == nil {
			f.Read = grid.FactsRead(facts, nil)
		}
	}
	if err != nil {
		return mapError(err)
	}
	head.Root, head.DataVersion = f.Read.Root, f.Read.DataVersion
	levels := []int{q.Level}
	if q.Level == 0 {
		levels = nil
		top := 1
		if head.Root != nil {
			top = head.Root.Level + 1
		}
		for l := top; l <= grid.LevelGrid; l++ {
			levels = append(levels, l)
		}
	}
	err = s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if at != nil {
			if err := asOf(ctx, tx, *at); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT name FROM city LIMIT 1), '')`).Scan(&head.City); err != nil {
			return err
		}
		f.Keys, err = reportKeys(ctx, tx, head.Root, levels)
		return err
	})
	if err != nil {
		return mapError(err)
	}
	if q.From != nil {
		cq := grid.ChangeQuery{From: *q.From, To: q.To, Parent: q.Parent, Page: grid.Page{Limit: grid.MaxLimit}}
		if f.Changes, err = s.Changes(ctx, cq); err != nil {
			return err
		}
		head.To = &f.Changes.To
	}
	return grid.AssembleReport(q, f, levels, head, sink)
}

// reportKeys measures the facts of every subtree of the levels, and of the scope (level 0).
func reportKeys(ctx context.Context, tx pgx.Tx, root *grid.GridRef, levels []int) (map[int]map[string]grid.ReportKeyFacts, error) {
	args := pgx.NamedArgs{"rlen": 0, "prefix": ""}
	if root != nil {
		args["rlen"], args["prefix"] = grid.PrefixLen(root.Level), root.Code[:grid.PrefixLen(root.Level)]
	}
	keys := map[int]map[string]grid.ReportKeyFacts{}
	role := map[string]int{grid.RoleGridLeader: 0, grid.RoleGridWorker: 1, grid.RoleBuildingLeader: 2, grid.RoleUnitLeader: 3}
	for _, l := range append([]int{0}, levels...) {
		m := map[string]grid.ReportKeyFacts{}
		keys[l] = m
		args["plen"], args["minlevel"] = 0, 0
		if l > 0 {
			args["plen"], args["minlevel"] = grid.PrefixLen(l), l
		}
		rows, _ := tx.Query(ctx, reportStaffSQL, args)
		var key, r string
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&key, &r, &n}, func() error {
			kf := m[key]
			if k, ok := role[r]; ok {
				kf.Staff[k] = n
			}
			m[key] = kf
			return nil
		}); err != nil {
			return nil, err
		}
	}
	rows, _ := tx.Query(ctx, reportBuildingsSQL, args)
	var code string
	var est, ub, uu int
	_, err := pgx.ForEachRow(rows, []any{&code, &est, &ub, &uu}, func() error {
		for l, m := range keys {
			k := ""
			if l > 0 {
				k = code[:grid.PrefixLen(l)]
			}
			kf := m[k]
			kf.HouseholdsEstimated += est
			kf.UnstaffedBuildings += ub
			kf.UnstaffedUnits += uu
			m[k] = kf
		}
		return nil
	})
	return keys, err
}
