package postgis_test

import (
	"context"
	"testing"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// Paint benchmarks: 200 buildings into one level-3 grid, on the demo city and on demo
// --scale 10. A community of the demo holds about 40 buildings, so 200 come from the
// neighbouring communities too (across_parents=move: the communities follow). Every
// iteration paints and is then undone (untimed), so each paints the same 200 buildings.
//
//	go test ./grid/postgis -run '^$' -bench 'Paint|Balance' -benchtime 10x

func BenchmarkPaint200(b *testing.B) { benchPaint(b, testdb.NewDemo(b), 200, grid.AcrossMove) }

func BenchmarkPaint200Scale10(b *testing.B) {
	s := testdb.New(b)
	if _, err := s.LoadDemo(context.Background(), demo.Options{Scale: 10, Seed: testdb.DemoSeed}, "bench", nil); err != nil {
		b.Fatal(err)
	}
	benchPaint(b, s, 200, grid.AcrossMove)
}

// BenchmarkPaintCommunity paints every movable building of a community's other grids into
// one of them (within the parent, the default mode).
func BenchmarkPaintCommunity(b *testing.B) { benchPaint(b, testdb.NewDemo(b), 0, grid.AcrossRefuse) }

// benchPaint paints n buildings nearest a level-3 grid (n = 0: those of its community) into
// it, taking from each donor all but its building farthest from the target, so no donor is
// emptied.
func benchPaint(b *testing.B, s *postgis.Store, n int, across string) {
	ctx := context.Background()
	var tid int64
	var moved []int64
	err := s.Pool().QueryRow(ctx, `
		WITH t AS (
		    SELECT g.id, g.parent_id, g.geom FROM grids g WHERE g.level = 3 ORDER BY g.code LIMIT 1 OFFSET 40
		), ranked AS (
		    SELECT b.id, b.grid_id, ST_Distance(b.anchor, t.geom) AS d,
		           row_number() OVER (PARTITION BY b.grid_id ORDER BY ST_Distance(b.anchor, t.geom) DESC, b.id) AS far
		    FROM buildings b JOIN grids g ON g.id = b.grid_id AND g.level = 3, t
		    WHERE b.grid_id <> t.id AND ($1 > 0 OR g.parent_id = t.parent_id)
		)
		SELECT (SELECT id FROM t), array_agg(id) FROM (
		    SELECT id FROM ranked WHERE far > 1 ORDER BY d, id LIMIT CASE WHEN $1 > 0 THEN $1 END
		) x`, n).Scan(&tid, &moved)
	if err != nil {
		b.Fatal(err)
	}
	version := q1[int](b, s, `SELECT version FROM grids WHERE id = $1`, tid)
	donors := q1[int](b, s, `SELECT count(DISTINCT grid_id)::int FROM buildings WHERE id = ANY($1)`, moved)
	communities := q1[int](b, s, `SELECT count(DISTINCT g.parent_id)::int FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE b.id = ANY($1) OR g.id = $2`, moved, tid)
	for b.Loop() {
		res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: tid}, IfVersion: version, BuildingIDs: moved, Across: across})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Moved) != len(moved) {
			b.Fatalf("moved %d of %d", len(res.Moved), len(moved))
		}
		b.StopTimer()
		if _, err := s.Undo(ctx, planner); err != nil {
			b.Fatal(err)
		}
		version += 2
		b.StartTimer()
	}
	b.ReportMetric(float64(len(moved)), "buildings")
	b.ReportMetric(float64(donors), "donor-grids")
	b.ReportMetric(float64(communities), "communities")
}

// BenchmarkBalance is the balance panel of a community, as the UI asks after each change.
func BenchmarkBalance(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	parent := q1[int64](b, s, `SELECT id FROM grids WHERE level = 2 ORDER BY code LIMIT 1`)
	for b.Loop() {
		if _, err := s.Balance(ctx, grid.BalanceQuery{Parent: &grid.GridKey{ID: parent}}); err != nil {
			b.Fatal(err)
		}
	}
}
