package postgis_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// Auto-divide and rebalance benchmarks on real data (bench/divide.sh runs them and prints a
// table). Every divide is applied — graph, partition, geometry, write with its checks — and
// undone untimed, so each iteration divides the same data.
//
//	go test ./grid/postgis -run '^$' -bench 'Divide|Rebalance' -benchtime 3x

// BenchmarkDivideCommunity divides one parent of about 2,000–3,000 buildings: Liechtenstein's
// Oberland district (2,957 buildings, roads) and Taipei's Nangang district (2,759 buildings,
// 75,000 estimated households: 250 grids), each imported as a level-1 grid holding all its
// buildings, with no level 2 under it.
func BenchmarkDivideCommunity(b *testing.B) {
	b.Run("oberland", func(b *testing.B) {
		dir := filepath.Join(testdb.DataDir(b), "liechtenstein")
		s := testdb.New(b)
		importFiles(b, s, filepath.Join(dir, "districts.geojson"), postgis.GridImport{Level: 1, NameProp: "name", CityName: "Liechtenstein", AdminCode: "438000"})
		importBuildings(b, s, filepath.Join(dir, "buildings.geojson"))
		loadRoads(b, s, filepath.Join(dir, "roads.geojson"))
		benchDivide(b, s, `SELECT array_agg(id) FROM grids WHERE name = 'Wahlkreis Oberland'`)
	})
	b.Run("nangang", func(b *testing.B) {
		dir := filepath.Join(testdb.DataDir(b), "taipei")
		s := testdb.New(b)
		importFiles(b, s, filepath.Join(dir, "districts.geojson"), postgis.GridImport{Level: 1, NameProp: "TOWNNAME", CityName: "臺北市", AdminCode: "630000"})
		files, _ := filepath.Glob(filepath.Join(dir, "buildings", "*.json"))
		importBuildings(b, s, files...)
		benchDivide(b, s, `SELECT array_agg(id) FROM grids WHERE name = '南港區'`)
	})
}

// BenchmarkDivideLiechtenstein divides every municipality of Liechtenstein.
func BenchmarkDivideLiechtenstein(b *testing.B) {
	s := liechtenstein(b)
	benchDivide(b, s, `SELECT array_agg(id ORDER BY code) FROM grids WHERE level = 2`)
}

// BenchmarkDivideTaipei divides every village of Taipei (448; those without buildings of their
// own are refused and counted as skipped).
func BenchmarkDivideTaipei(b *testing.B) {
	s := taipei(b)
	benchDivide(b, s, `SELECT array_agg(id ORDER BY code) FROM grids WHERE level = 2`)
}

// benchDivide divides the parents the query lists, each in its own transaction, and reports
// the quality of the last round: grids, share in band (of all, and of those that can be),
// mean Polsby–Popper, grids in more than one part besides exclaves.
func benchDivide(b *testing.B, s *postgis.Store, parentsSQL string) {
	ctx := context.Background()
	parents := q1[[]int64](b, s, parentsSQL)
	var q divideQuality
	for b.Loop() {
		q = divideQuality{}
		var ops int
		for _, id := range parents {
			res, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: id}, Seed: 1})
			if grid.ErrorCode(err) == grid.EINVALID {
				q.skipped++
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			q.add(res)
			ops++
		}
		b.StopTimer()
		for range ops {
			if _, err := s.Undo(ctx, planner); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	q.report(b)
}

// divideQuality rolls divides up for a benchmark's metrics.
type divideQuality struct {
	parents, skipped, grids, inBand, unreachable, split, buildings int
	pp                                                             float64
	slowest                                                        time.Duration
}

func (q *divideQuality) add(res *grid.DivideResult) {
	q.parents++
	q.buildings += res.Summary.Buildings
	q.unreachable += res.Summary.Unreachable
	q.slowest = max(q.slowest, res.Elapsed)
	for _, g := range res.Grids {
		q.grids++
		q.pp += g.PolsbyPopper
		if g.InBand {
			q.inBand++
		}
		if g.Parts > 1+g.Exclaves {
			q.split++
		}
	}
}

func (q *divideQuality) report(b *testing.B) {
	b.ReportMetric(float64(q.parents), "parents")
	b.ReportMetric(float64(q.skipped), "skipped")
	b.ReportMetric(float64(q.buildings), "buildings")
	b.ReportMetric(float64(q.grids), "grids")
	b.ReportMetric(100*float64(q.inBand)/float64(max(q.grids, 1)), "%in-band")
	b.ReportMetric(100*float64(q.inBand)/float64(max(q.grids-q.unreachable, 1)), "%in-band-of-reachable")
	b.ReportMetric(q.pp/float64(max(q.grids, 1)), "meanPP")
	b.ReportMetric(float64(q.split), "multipart")
	b.ReportMetric(q.slowest.Seconds(), "slowest-s")
}

// BenchmarkRebalanceDemo divides every community of the demo city (untimed), then changes the
// households of a fifth of the buildings (half up by half, half down by half) and rebalances
// every community, undoing the rebalances untimed after each round.
func BenchmarkRebalanceDemo(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	parents := q1[[]int64](b, s, `SELECT array_agg(id ORDER BY code) FROM grids WHERE level = 2`)
	for _, id := range parents {
		if _, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: id}, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE buildings b SET households = CASE WHEN (b.id / 5) % 2 = 0
		THEN b.households * 3 / 2 ELSE b.households / 2 END WHERE b.id % 5 = 0`); err != nil {
		b.Fatal(err)
	}
	buildings := q1[int](b, s, `SELECT count(*)::int FROM buildings WHERE grid_id IS NOT NULL`)
	var moves, skipped, grids, before, after int
	var pp float64
	for b.Loop() {
		moves, skipped, grids, before, after, pp = 0, 0, 0, 0, 0, 0
		var ops int
		for _, id := range parents {
			res, err := s.Rebalance(ctx, planner, grid.Rebalance{Parent: grid.GridKey{ID: id}})
			if err != nil {
				b.Fatal(err)
			}
			moves, skipped, grids = moves+res.Summary.Moves, skipped+res.Summary.Skipped, grids+res.Summary.K
			before, after = before+res.Summary.InBandBefore, after+res.Summary.InBand
			pp += res.Summary.MeanPolsbyPopper * float64(res.Summary.K)
			if res.Edit != nil && res.Edit.Op != 0 {
				ops++
			}
		}
		b.StopTimer()
		for range ops {
			if _, err := s.Undo(ctx, planner); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(buildings), "buildings")
	b.ReportMetric(float64(moves), "moves")
	b.ReportMetric(float64(skipped), "steps-not-made")
	b.ReportMetric(float64(grids), "grids")
	b.ReportMetric(100*float64(before)/float64(grids), "%in-band-before")
	b.ReportMetric(100*float64(after)/float64(grids), "%in-band-after")
	b.ReportMetric(pp/float64(grids), "meanPP")
}

func importFiles(tb testing.TB, s *postgis.Store, path string, o postgis.GridImport) {
	tb.Helper()
	if _, err := s.ImportGrids(context.Background(), openInputs(tb, path), o); err != nil {
		tb.Fatal(err)
	}
}

func importBuildings(tb testing.TB, s *postgis.Store, paths ...string) {
	tb.Helper()
	if _, err := s.ImportBuildings(context.Background(), openInputs(tb, paths...), postgis.BuildingImport{}); err != nil {
		tb.Fatal(err)
	}
}
