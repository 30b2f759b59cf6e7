package postgis_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// The kept coverage report: what reading it costs, and what keeping it costs an edit. On
// demo --scale 100, loaded once and reused (bench/coverage.sh does this; the database is
// left tracking function times):
//
//	GRIDMAP_BENCH_DATABASE_URL='host=/tmp/cov-s100/run user=postgres dbname=gridmap' \
//	  go test ./grid/postgis -run '^$' -bench 'CoverageKept|CoverageRead' -benchtime 20x
//
// Without the variable the city is demo --scale 10, loaded for the run. Each edit benchmark
// reports the edit's time (ns/op), the refresh its commit ran (flush-ms/op, heard on the
// gridmap_coverage channel) and the time spent in all the coverage triggers per write
// (coverage-ms/write); its "unkept" variant runs the same edits with the coverage triggers
// disabled (a comparison of wall times, noisier than the triggers' own time).

var benchCity struct {
	once  bool
	store *postgis.Store
}

// benchStore returns the store of the benchmark city, shared by the benchmarks of a run.
func benchStore(b *testing.B) *postgis.Store {
	b.Helper()
	if benchCity.store != nil {
		return benchCity.store
	}
	ctx := context.Background()
	if url := os.Getenv("GRIDMAP_BENCH_DATABASE_URL"); url != "" {
		s, err := postgis.Open(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchCity.store = s
		return s
	}
	s, err := postgis.Open(ctx, testdb.ConnString(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.LoadDemo(ctx, demo.Options{Scale: 10, Seed: testdb.DemoSeed}, "bench", nil); err != nil {
		b.Fatal(err)
	}
	benchCity.store = s
	return s
}

// coverageTriggers turns the triggers that keep the coverage report on or off.
func coverageTriggers(b *testing.B, s *postgis.Store, on bool) {
	b.Helper()
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	rows, err := s.Pool().Query(context.Background(), `SELECT format('ALTER TABLE %I %s TRIGGER %I', c.relname, $1::text, t.tgname)
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'coverage\_%' AND NOT t.tgisinternal`, verb)
	if err != nil {
		b.Fatal(err)
	}
	var stmts []string
	for rows.Next() {
		var sql string
		if err := rows.Scan(&sql); err != nil {
			b.Fatal(err)
		}
		stmts = append(stmts, sql)
	}
	if _, err := s.Pool().Exec(context.Background(), strings.Join(stmts, ";")); err != nil {
		b.Fatal(err)
	}
}

// benchEdit runs edit (timed) and undo (untimed) in a loop, kept and unkept. Kept, it
// reports the refresh heard after each edit (flush-ms/op) and all the coverage triggers cost,
// noting what each statement touched and refreshing it at commit, per write (the edit and,
// when it writes, the undo: writes per iteration; the warm-up's included), from PostgreSQL's
// function statistics. Both variants start with an untimed edit and undo.
func benchEdit(b *testing.B, writes int, edit func() error, undo func() error) {
	s := benchStore(b)
	ctx := context.Background()
	b.Run("kept", func(b *testing.B) {
		before := coverageTriggerTime(b, s)
		conn, err := s.Pool().Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "LISTEN gridmap_coverage"); err != nil {
			b.Fatal(err)
		}
		warmUp(b, edit, undo)
		drain(conn.Conn().WaitForNotification)
		var flush time.Duration
		for b.Loop() {
			if err := edit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			// heard at the edit's commit; nothing heard: nothing kept changed (a rename)
			wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			n, err := conn.Conn().WaitForNotification(wctx)
			cancel()
			if err == nil {
				ms, _ := strconv.ParseFloat(strings.Fields(n.Payload)[0], 64)
				flush += time.Duration(ms * float64(time.Millisecond))
			}
			if err := undo(); err != nil {
				b.Fatal(err)
			}
			drain(conn.Conn().WaitForNotification)
			b.StartTimer()
		}
		conn.Exec(ctx, "UNLISTEN gridmap_coverage")
		conn.Release()
		n := float64(b.N)
		b.ReportMetric(float64(flush.Microseconds())/1000/n, "flush-ms/op")
		b.ReportMetric((coverageTriggerTime(b, s)-before)/((n+1)*float64(writes)), "coverage-ms/write")
	})
	b.Run("unkept", func(b *testing.B) {
		coverageTriggers(b, s, false)
		defer coverageTriggers(b, s, true)
		warmUp(b, edit, undo)
		for b.Loop() {
			if err := edit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := undo(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

// warmUp runs an edit and its undo untimed: the connection's first statements prepare
// plans (and, after the triggers change, prepare them again).
func warmUp(b *testing.B, edit, undo func() error) {
	b.Helper()
	if err := edit(); err != nil {
		b.Fatal(err)
	}
	if err := undo(); err != nil {
		b.Fatal(err)
	}
}

// coverageTriggerTime returns the time PostgreSQL has spent in the coverage trigger
// functions (each including what it calls), in ms. It has the database track function
// times, and closes the pool's connections so that each reports its time on the way out.
func coverageTriggerTime(b *testing.B, s *postgis.Store) float64 {
	b.Helper()
	ctx := context.Background()
	if _, err := s.Pool().Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = pl', current_database()); END $$`); err != nil {
		b.Fatal(err)
	}
	s.Pool().Reset()
	time.Sleep(300 * time.Millisecond)
	var ms float64
	err := s.Pool().QueryRow(ctx, `SELECT coalesce(sum(f.total_time), 0) FROM pg_stat_user_functions f
		JOIN pg_proc p ON p.oid = f.funcid WHERE p.proname LIKE 'coverage\_%' AND p.prorettype = 'trigger'::regtype`).Scan(&ms)
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

// drain reads the notifications already delivered (the undo's).
func drain[N any](wait func(context.Context) (N, error)) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := wait(ctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// BenchmarkCoverageKeptPaint: three buildings painted into the neighbouring grid, as a
// planner does with a brush; undone after each.
func BenchmarkCoverageKeptPaint(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	target, _, moved := pair(b, s, 3)
	version := target.Version
	benchEdit(b, 2, func() error {
		_, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: version, BuildingIDs: moved})
		return err
	}, func() error {
		_, err := s.Undo(ctx, planner)
		version += 2
		return err
	})
}

// BenchmarkCoverageKeptRename: a grid renamed (nothing the report keeps changes: the
// refresh has nothing to do).
func BenchmarkCoverageKeptRename(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	target, _, _ := pair(b, s, 1)
	version, k := target.Version, 0
	benchEdit(b, 1, func() error {
		k++
		name := fmt.Sprintf("%s %d", target.Name, k)
		_, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: target.ID}, IfVersion: version, Name: &name})
		version++
		return err
	}, func() error { return nil })
}

// BenchmarkCoverageKeptAssign: a worker assigned to a level-3 grid; the assignment is ended
// after each.
func BenchmarkCoverageKeptAssign(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	target, _, _ := pair(b, s, 1)
	wk, err := s.CreateWorker(ctx, planner, grid.WorkerPatch{DisplayName: ptr("bench"), Role: ptr(grid.RoleGridWorker)})
	if err != nil {
		b.Fatal(err)
	}
	var id int64
	benchEdit(b, 2, func() error {
		a, err := s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: wk.ID, GridID: &target.ID, Role: grid.RoleGridWorker})
		id = a.ID
		return err
	}, func() error {
		_, err := s.EndAssignment(ctx, planner, id)
		return err
	})
}

// BenchmarkCoverageRead: the report of the whole city (a page of each list, as the API
// serves it), of one community, and the summary of each.
func BenchmarkCoverageRead(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	community := q1[int64](b, s, `SELECT id FROM grids WHERE level = 2 AND valid_to IS NULL ORDER BY code LIMIT 1 OFFSET 7`)
	page := &grid.Page{Limit: grid.DefaultLimit}
	for _, bc := range []struct {
		name string
		read func() error
	}{
		{"city", func() error { _, err := s.Coverage(ctx, grid.CoverageOptions{Page: page}); return err }},
		{"community", func() error {
			_, err := s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: community}, Page: page})
			return err
		}},
		{"city-summary", func() error { _, err := s.CoverageSummary(ctx, grid.CoverageOptions{}); return err }},
		{"community-summary", func() error {
			_, err := s.CoverageSummary(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: community}})
			return err
		}},
		{"city-issues", func() error {
			_, err := s.CoverageIssues(ctx, grid.IssueQuery{Page: grid.Page{Limit: 50}})
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
