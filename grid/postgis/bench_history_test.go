package postgis_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"gridmap/grid"
	"gridmap/report"
)

// The division through time on the benchmark city (benchStore: demo --scale 10, or the
// database at GRIDMAP_BENCH_DATABASE_URL, e.g. demo --scale 100; bench/history.sh):
//
//	GRIDMAP_BENCH_DATABASE_URL='host=/tmp/h14b-s100/run user=postgres dbname=gridmap' \
//	  go test ./grid/postgis -run '^$' -bench History -benchtime 3x
//
// A period of edits is made once first — a paint, a rename and an assignment in each of
// historyCommunities communities, about what a city's planners do in a month — and the
// benchmarks read it: /changes over the whole city, the report of the whole city now, at the
// moment before the edits (measured from scratch) and with the period's changes. Each report
// reports the workbook's bytes and the heap in use after it (heap-MB), which should not grow
// with the city (rows are streamed to the workbook).

const historyCommunities = 40

var historyOnce struct {
	sync.Once
	before time.Time
	edits  int
}

// historyPeriod makes the period's edits once per run and returns the moment before them.
func historyPeriod(b *testing.B) (time.Time, int) {
	s := benchStore(b)
	historyOnce.Do(func() {
		ctx := context.Background()
		historyOnce.before = q1[time.Time](b, s, `SELECT clock_timestamp()`)
		rows, err := s.Pool().Query(ctx, `
			SELECT DISTINCT ON (a.parent_id) a.id, b.id, a.version,
			       (SELECT array_agg(id) FROM (SELECT id FROM buildings WHERE grid_id = b.id ORDER BY id LIMIT 2) x)
			FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
			WHERE a.level = 3 AND a.valid_to IS NULL AND b.valid_to IS NULL AND a.geom && b.geom
			  AND ST_Relate(a.geom, b.geom, '****1****') AND EXISTS (SELECT 1 FROM buildings x WHERE x.grid_id = b.id)
			ORDER BY a.parent_id, a.id LIMIT $1`, historyCommunities)
		if err != nil {
			b.Fatal(err)
		}
		type pr struct {
			a, b int64
			v    int
			ids  []int64
		}
		var prs []pr
		for rows.Next() {
			var p pr
			if err := rows.Scan(&p.a, &p.b, &p.v, &p.ids); err != nil {
				b.Fatal(err)
			}
			prs = append(prs, p)
		}
		rows.Close()
		worker := q1[int64](b, s, `SELECT id FROM workers WHERE retired_at IS NULL ORDER BY id LIMIT 1`)
		for _, p := range prs {
			if res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: p.a}, IfVersion: p.v, BuildingIDs: p.ids, Across: grid.AcrossSkip}); err == nil {
				historyOnce.edits++
				name := "renamed in the period"
				for _, g := range res.Grids {
					if g.ID == p.b {
						if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: p.b}, IfVersion: g.Version, Name: &name}); err == nil {
							historyOnce.edits++
						}
					}
				}
			}
			if _, err := s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: worker, GridID: &p.a, Role: grid.RoleGridWorker}); err == nil {
				historyOnce.edits++
			}
		}
	})
	return historyOnce.before, historyOnce.edits
}

func BenchmarkHistoryChanges(b *testing.B) {
	s := benchStore(b)
	from, edits := historyPeriod(b)
	var c *grid.Changes
	for b.Loop() {
		var err error
		if c, err = s.Changes(context.Background(), grid.ChangeQuery{From: from, Page: grid.Page{Limit: grid.DefaultLimit}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(edits), "edits")
	b.ReportMetric(float64(c.Summary.Edits), "edits-listed")
	b.ReportMetric(float64(c.Summary.BuildingsMoved), "buildings-moved")
}

// countWriter counts the bytes of a workbook.
type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

func BenchmarkHistoryReport(b *testing.B) {
	s := benchStore(b)
	from, _ := historyPeriod(b)
	for _, c := range []struct {
		name string
		q    grid.ReportQuery
	}{
		{"now", grid.ReportQuery{}},
		{"at-before-the-edits", grid.ReportQuery{At: &from}},
		{"with-the-period", grid.ReportQuery{From: &from}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n countWriter
			for b.Loop() {
				n = 0
				x := report.NewXLSX(&n, report.LangZH)
				if err := s.Report(context.Background(), c.q, x); err != nil {
					b.Fatal(err)
				}
				if err := x.Close(); err != nil {
					b.Fatal(err)
				}
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(n), "xlsx-bytes")
			b.ReportMetric(float64(m.HeapSys)/(1<<20), "heap-sys-MB")
		})
	}
}
