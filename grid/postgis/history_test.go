package postgis_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/postgis"
)

// moment is what a community looked like right after one step of a scripted sequence of edits:
// the time read from the database's clock then, and its grids, buildings and coverage report
// as they were current.
type moment struct {
	step      string
	at        time.Time
	grids     []grid.GridInfo
	buildings map[int64]int64 // building → grid
	coverage  *grid.CoverageReport
}

// history runs a scripted sequence of edits in one community — paint, merge, split, rename,
// assignment, undo — and returns the community and the moment after each step (the first:
// before any). Each moment lies between two edits' transactions, so reading the division at
// it must give exactly what was current then.
func history(t *testing.T, s *postgis.Store, ctx context.Context) (parent grid.GridRef, steps []moment) {
	t.Helper()
	target, donor, moved := pair(t, s, 3)
	parent = grid.GridRef{ID: *target.ParentID}
	if err := s.Pool().QueryRow(ctx, `SELECT level, code, name FROM grids WHERE id = $1`, parent.ID).
		Scan(&parent.Level, &parent.Code, &parent.Name); err != nil {
		t.Fatal(err)
	}
	record := func(step string) {
		t.Helper()
		m := moment{step: step, at: q1[time.Time](t, s, `SELECT clock_timestamp()`)}
		list, err := s.Grids(ctx, grid.GridFilter{Parent: &grid.GridKey{ID: parent.ID}, Page: grid.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		m.grids = list.Grids
		m.buildings = idPairs(t, s, `SELECT b.id, b.grid_id FROM buildings b JOIN grids g ON g.id = b.grid_id
			WHERE g.parent_id = $1`, parent.ID)
		if m.coverage, err = s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: parent.ID}, Recompute: true,
			Page: &grid.Page{Limit: 1000}}); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, m)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	record("before")
	must(s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: moved}))
	record("paint")
	tv, dv := state(t, s, target.ID).Version, state(t, s, donor.ID).Version
	must(s.Merge(ctx, planner, grid.Merge{Grids: []grid.VersionedKey{
		{GridKey: grid.GridKey{ID: target.ID}, Version: tv}, {GridKey: grid.GridKey{ID: donor.ID}, Version: dv}}}))
	record("merge")
	var line orb.LineString
	if err := s.Pool().QueryRow(ctx, `SELECT ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001), ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))
		FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, target.ID).Scan(&line); err != nil {
		t.Fatal(err)
	}
	res, err := s.Split(ctx, planner, grid.Split{Key: grid.GridKey{ID: target.ID}, IfVersion: state(t, s, target.ID).Version, Line: line, Name: "east"})
	must(res, err)
	record("split")
	var half int64
	for _, g := range res.Grids {
		if g.ID != target.ID {
			half = g.ID
		}
	}
	name := "east renamed"
	must(s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: half}, IfVersion: state(t, s, half).Version, Name: &name}))
	record("rename")
	worker := q1[int64](t, s, `SELECT id FROM workers WHERE retired_at IS NULL ORDER BY id LIMIT 1`)
	must(s.Assign(ctx, planner, grid.AssignmentSpec{WorkerID: worker, GridID: &half, Role: grid.RoleGridWorker}))
	record("assign")
	must(s.Undo(ctx, planner))
	record("undo")
	return parent, steps
}

// TestHistory: after a scripted sequence of edits, the division at each moment in between is
// what was current then — grids (geometry equal), their counts, each building's grid, the
// coverage report — and the changes between any two moments list exactly the edits made
// between them.
func TestHistory(t *testing.T) {
	s, ctx := demoTest(t)
	parent, steps := history(t, s, ctx)
	for _, m := range steps {
		t.Run("at "+m.step, func(t *testing.T) {
			at := m.at
			list, err := s.Grids(ctx, grid.GridFilter{Parent: &grid.GridKey{ID: parent.ID}, At: &at, Page: grid.Page{Limit: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Grids) != len(m.grids) {
				t.Fatalf("%d grids at %s, want %d", len(list.Grids), m.step, len(m.grids))
			}
			for k, got := range list.Grids {
				want := m.grids[k]
				// versions are not compared: retiring a grid bumps its version without archiving
				// the unchanged content, so a merged-away grid shows its last number
				if got.ID != want.ID || got.Code != want.Code || got.Name != want.Name || *got.ParentID != *want.ParentID {
					t.Errorf("grid %d %s %q, want %d %s %q", got.ID, got.Code, got.Name, want.ID, want.Code, want.Name)
				}
				if !got.Geom.Equal(want.Geom) {
					t.Errorf("grid %s: geometry differs from what was current", got.Code)
				}
				if got.Counts != want.Counts {
					t.Errorf("grid %s: counts %+v, want %+v", got.Code, got.Counts, want.Counts)
				}
				d, err := s.GridAt(ctx, grid.GridKey{ID: got.ID}, at)
				if err != nil || !d.Geom.Equal(want.Geom) || d.Counts != want.Counts || d.Ancestors[len(d.Ancestors)-1].ID != parent.ID {
					t.Errorf("GridAt %s: %+v, %v", got.Code, d.GridInfo.Counts, err)
				}
			}
			if got := buildingsAt(t, s, parent.ID, at); !reflect.DeepEqual(got, m.buildings) {
				t.Errorf("buildings' grids at %s differ from what was current: %d against %d", m.step, len(got), len(m.buildings))
			}
			c, err := s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: parent.ID}, At: &at, Page: &grid.Page{Limit: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Findings != m.coverage.Findings || c.Totals != m.coverage.Totals || !reflect.DeepEqual(c.Grids, m.coverage.Grids) {
				t.Errorf("coverage at %s: findings %+v totals %+v, want %+v %+v", m.step, c.Findings, c.Totals, m.coverage.Findings, m.coverage.Totals)
			}
		})
	}
	// every pair of moments: the edits between them, no more, no less
	for i := range steps {
		for j := i + 1; j < len(steps); j++ {
			from, to := steps[i].at, steps[j].at
			c, err := s.Changes(ctx, grid.ChangeQuery{From: from, To: &to, Parent: &grid.GridKey{ID: parent.ID}, ShowNames: true, Page: grid.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			want := q1[[]string](t, s, `SELECT coalesce(array_agg(action ORDER BY id), '{}') FROM audit_log WHERE tx_at > $1 AND tx_at <= $2`, from, to)
			var got []string
			for _, e := range c.Edits {
				got = append(got, e.Action)
				if e.Actor == nil || *e.Actor != planner.Name {
					t.Errorf("%s→%s: edit %s by %v, want %s", steps[i].step, steps[j].step, e.Action, e.Actor, planner.Name)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("changes %s→%s: edits %v, want %v", steps[i].step, steps[j].step, got, want)
			}
		}
	}
}

// buildingsAt reads each building's grid at moment at through the gridmap_asof views, for the
// buildings then in the community's grids.
func buildingsAt(t *testing.T, s *postgis.Store, parent int64, at time.Time) map[int64]int64 {
	t.Helper()
	out := map[int64]int64{}
	err := pgx.BeginFunc(context.Background(), s.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SELECT set_config('gridmap.at', $1, true),
			set_config('search_path', 'gridmap_asof, ' || current_setting('search_path'), true)`, at.Format(time.RFC3339Nano)); err != nil {
			return err
		}
		rows, _ := tx.Query(context.Background(), `SELECT b.id, b.grid_id FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.parent_id = $1`, parent)
		var b, g int64
		_, err := pgx.ForEachRow(rows, []any{&b, &g}, func() error { out[b] = g; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
