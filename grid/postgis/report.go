package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// The statistical report (grid.AssembleReport): the coverage read of the scope — kept by the
// writing transactions for now, for a past moment as coverageFacts measures it — and per subtree of each sheet's level what the coverage read does not hold:
// distinct staff by role, estimated households, buildings and units without their leader.
// Subtrees are grouped by the code prefix their grids share (codes are hierarchical), so each
// measure is one grouped scan, and the rows, one per grid of a level, are small.
//
// Named parameters: @rlen, @prefix, the scope's code prefix (0, '': the whole city); for the
// past moment, pastDiff's (coverage_past.go).

// reportStaffSQL counts the distinct current staff by role of each subtree of every level
// and of the scope (key NULL) in one pass: grid staff on their grid, building and unit leaders
// on the grid their building lies in. A grid's staff fall under the prefixes of its own code;
// a prefix longer than a grid's level names no grid of that level (its digits there are
// zeros), so those keys match no row.
func reportStaffSQL(from reportFrom) string {
	return `
WITH s AS (
    SELECT a.worker_id, a.role, g.code
    FROM ` + from.staff + ` a
    LEFT JOIN units u ON u.id = a.unit_id
    LEFT JOIN ` + from.buildings + ` b ON b.id = coalesce(a.building_id, u.building_id)
    JOIN ` + from.grids + ` g ON g.id = coalesce(a.grid_id, b.grid_id)
    WHERE left(g.code, @rlen) = @prefix
)
SELECT k, role, count(DISTINCT worker_id)::int
FROM s CROSS JOIN LATERAL (VALUES (NULL::text), (left(code, 9)), (left(code, 12)), (code)) x(k)
GROUP BY k, role`
}

// reportBuildingsSQL sums each level-3 grid's estimated households and counts its buildings
// without a building leader and units without a unit leader (as the coverage report does);
// these add up, so the rows of every level are summed from these. Set-based (hash joins over
// the led buildings and units): a correlated test per building took minutes on demo
// --scale 100.
func reportBuildingsSQL(from reportFrom) string {
	return `
WITH led AS MATERIALIZED (
    SELECT a.building_id, a.unit_id, a.role FROM ` + from.staff + ` a
    WHERE a.role IN ('building_leader', 'unit_leader')
), lb AS (
    SELECT DISTINCT building_id FROM led WHERE role = 'building_leader' AND building_id IS NOT NULL
), uu AS (
    SELECT u.building_id, count(*) AS n FROM units u
    WHERE NOT EXISTS (SELECT 1 FROM led l WHERE l.role = 'unit_leader' AND l.unit_id = u.id)
    GROUP BY u.building_id
)
SELECT g.code,
       coalesce(sum(b.households) FILTER (WHERE b.households_estimated), 0)::int,
       count(*) FILTER (WHERE lb.building_id IS NULL)::int,
       coalesce(sum(uu.n), 0)::int
FROM ` + from.buildings + ` b JOIN ` + from.grids + ` g ON g.id = b.grid_id
LEFT JOIN lb ON lb.building_id = b.id
LEFT JOIN uu ON uu.building_id = b.id
WHERE g.level = 3 AND left(g.code, @rlen) = @prefix
GROUP BY g.code`
}

// reportFrom names the sources of the report's statements: the staff (assignments a of
// workers not retired), the buildings with their grid, the grids.
type reportFrom struct {
	staff, buildings, grids string
}

var (
	// reportNow: what is current.
	reportNow = reportFrom{
		staff: `(SELECT a.* FROM assignments a JOIN workers w ON w.id = a.worker_id
              WHERE a.valid_to IS NULL AND w.retired_at IS NULL)`,
		buildings: `buildings`,
		grids:     `(SELECT * FROM grids WHERE valid_to IS NULL)`,
	}
	// reportThen: a past moment, with pastDiff's parameters (coverage_past.go).
	reportThen = reportFrom{staff: staffThen, buildings: buildingsThen, grids: gridsThen}
)

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
	if f.Keys, head.City, err = s.readReportKeys(ctx, head.Root, levels, at); err != nil {
		return err
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

// readReportKeys reads the city's name and measures the facts of every subtree of the
// levels (reportKeys), now or at the past moment at.
func (s *Store) readReportKeys(ctx context.Context, root *grid.GridRef, levels []int, at *time.Time) (map[int]map[string]grid.ReportKeyFacts, string, error) {
	var keys map[int]map[string]grid.ReportKeyFacts
	var city string
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT name FROM city LIMIT 1), '')`).Scan(&city); err != nil {
			return err
		}
		args, from := pgx.NamedArgs{}, reportNow
		if at != nil {
			// what differs since then, as coverageFacts finds it
			var err error
			if args, err = pastDiff(ctx, tx, *at, 0); err != nil {
				return err
			}
			from = reportThen
		}
		var err error
		keys, err = reportKeys(ctx, tx, root, levels, from, args)
		return err
	})
	return keys, city, mapError(err)
}

// reportKeys measures the facts of every subtree of the levels, and of the scope (level 0),
// from the sources from (with their parameters args, which it adds to).
func reportKeys(ctx context.Context, tx pgx.Tx, root *grid.GridRef, levels []int, from reportFrom, args pgx.NamedArgs) (map[int]map[string]grid.ReportKeyFacts, error) {
	args["rlen"], args["prefix"] = 0, ""
	if root != nil {
		args["rlen"], args["prefix"] = grid.PrefixLen(root.Level), root.Code[:grid.PrefixLen(root.Level)]
	}
	keys := map[int]map[string]grid.ReportKeyFacts{}
	role := map[string]int{grid.RoleGridLeader: 0, grid.RoleGridWorker: 1, grid.RoleBuildingLeader: 2, grid.RoleUnitLeader: 3}
	for _, l := range append([]int{0}, levels...) {
		keys[l] = map[string]grid.ReportKeyFacts{}
	}
	rows, _ := tx.Query(ctx, reportStaffSQL(from), args)
	var key *string
	var r string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&key, &r, &n}, func() error {
		l, k := 0, ""
		if key != nil {
			l, k = (len(*key)-6)/3, *key
		}
		m, ok := keys[l]
		if !ok {
			return nil
		}
		kf := m[k]
		if i, ok := role[r]; ok {
			kf.Staff[i] = n
		}
		m[k] = kf
		return nil
	}); err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, reportBuildingsSQL(from), args)
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
