package postgis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/postgis"
)

// TestCoveragePastFromKept: the coverage report at a past moment, of the city or a subtree, built
// from the kept facts of what did not change since and measurements of what did, equals the
// one measured from scratch through the gridmap_asof views — every field of every list,
// numbers to 1e-9 (relative), geometries within 1e-8° (kept gaps and overlaps come back from
// Web Mercator) — at every moment of a scripted sequence of edits: a paint, merge, split,
// rename, assignment and undo in one community (the first moments lie before its merge and
// split, while the other communities are untouched), then a paint on a grid with an overlap in
// another community, a grid of a third shrunk (its neighbours take
// what it gives up), one of a fourth shrunk in SQL (a gap), a subdistrict renamed and a worker retired, and at two sizes of the smallest piece.
func TestCoveragePastFromKept(t *testing.T) {
	s, ctx := demoTest(t)
	parent, steps := history(t, s, ctx)
	moments := []time.Time{}
	for _, m := range steps {
		moments = append(moments, m.at)
	}
	// a paint where an overlap is: the pair's pieces are measured again before it
	var target, donor int64
	var version int
	var ids []int64
	if err := s.Pool().QueryRow(ctx, `
		SELECT a.id, a.version, b.id, (SELECT array_agg(id) FROM (SELECT id FROM buildings WHERE grid_id = b.id ORDER BY id LIMIT 2) x)
		FROM tile_coverage c JOIN grids a ON a.id = c.grid_ids[1] JOIN grids b ON b.id = c.grid_ids[2]
		WHERE c.kind = 'overlap' AND c.level = 3 AND EXISTS (SELECT 1 FROM buildings x WHERE x.grid_id = b.id)
		ORDER BY a.code LIMIT 1`).Scan(&target, &version, &donor, &ids); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target}, IfVersion: version, BuildingIDs: ids, Across: grid.AcrossSkip}); err != nil {
		t.Fatal(err)
	}
	moments = append(moments, q1[time.Time](t, s, `SELECT clock_timestamp()`))
	// a grid of a third community shrunk (a gap in its parent, buildings left outside or
	// straddling) and a subdistrict renamed (the city's gaps and its piece outside the city
	// measured again)
	var shrunk int64
	var shape orb.MultiPolygon
	if err := s.Pool().QueryRow(ctx, `
		SELECT g.id, ST_Multi(ST_Buffer(g.geom, -0.0004, 'quad_segs=2')) FROM grids g
		WHERE g.level = 3 AND g.valid_to IS NULL AND g.parent_id NOT IN (
		        SELECT parent_id FROM grids WHERE id IN ($1, $2))
		  AND (SELECT count(*) FROM buildings b WHERE b.grid_id = g.id) > 5
		ORDER BY g.code DESC LIMIT 1`, target, steps[0].grids[0].ID).Scan(&shrunk, &shape); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: shrunk}, IfVersion: state(t, s, shrunk).Version, Geometry: shape}); err != nil {
		t.Fatal(err)
	}
	// and one shrunk in SQL, as a writer that keeps the history does (the old version
	// archived): its parent gets a gap, buildings fall outside every level-3 grid
	var gapParent int64
	if err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `
			WITH g AS (SELECT id FROM grids g WHERE level = 3 AND valid_to IS NULL AND parent_id NOT IN (
			               SELECT parent_id FROM grids WHERE id IN ($1, $2, $3))
			             AND (SELECT count(*) FROM buildings b WHERE b.grid_id = g.id) > 5 ORDER BY code LIMIT 1),
			v AS (INSERT INTO grid_versions (grid_id, version, parent_id, code, name, geom, valid_from, valid_to)
			      SELECT id, version, parent_id, code, name, geom, valid_from, now() FROM grids WHERE id = (SELECT id FROM g))
			UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0004, 'quad_segs=2')), version = version + 1, valid_from = now()
			WHERE id = (SELECT id FROM g) RETURNING parent_id`, target, steps[0].grids[0].ID, shrunk).Scan(&gapParent)
	}); err != nil {
		t.Fatal(err)
	}
	sub := q1[int64](t, s, `SELECT id FROM grids WHERE level = 1 AND valid_to IS NULL ORDER BY code LIMIT 1`)
	name := "renamed subdistrict"
	if _, err := s.PatchGrid(ctx, planner, grid.GridPatch{Key: grid.GridKey{ID: sub}, IfVersion: state(t, s, sub).Version, Name: &name}); err != nil {
		t.Fatal(err)
	}
	moments = append(moments, q1[time.Time](t, s, `SELECT clock_timestamp()`))
	if _, err := s.Pool().Exec(ctx, `UPDATE workers SET retired_at = now() WHERE id = (
		SELECT a.worker_id FROM assignments a WHERE a.valid_to IS NULL AND a.building_id IS NOT NULL ORDER BY a.id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	moments = append(moments, q1[time.Time](t, s, `SELECT clock_timestamp()`))
	// the whole city; the community of the script, of the paint, of the gap, and the
	// subdistrict renamed, with their subtrees
	roots := []*grid.GridKey{nil, {ID: parent.ID}, {ID: *state(t, s, target).ParentID}, {ID: gapParent}, {ID: sub}}
	for k, at := range moments {
		for _, minArea := range []float64{1, 20} {
			for _, root := range roots {
				what := fmt.Sprintf("moment %d, min_area %g, scope %v", k, minArea, root)
				if diffs := pastDiffs(t, s, ctx, root, at, minArea); len(diffs) > 0 {
					t.Errorf("%s: the report from the kept facts differs from the one measured from scratch:\n  %s",
						what, strings.Join(diffs[:min(len(diffs), 20)], "\n  "))
				}
			}
		}
	}
}

// pastDiffs returns how the coverage report of root's scope (nil: the city) at at, as
// Coverage builds it, differs from the one measured from scratch.
func pastDiffs(t *testing.T, s *postgis.Store, ctx context.Context, root *grid.GridKey, at time.Time, minArea float64) []string {
	t.Helper()
	page := &grid.Page{Limit: grid.MaxLimit}
	fast, err := s.Coverage(ctx, grid.CoverageOptions{Root: root, At: &at, MinAreaM2: minArea, Page: page})
	if err != nil {
		t.Fatal(err)
	}
	scratch, err := s.Coverage(ctx, grid.CoverageOptions{Root: root, At: &at, MinAreaM2: minArea, Page: page, Recompute: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fast.Grids) == 0 {
		t.Errorf("an empty report at %s", at)
	}
	a, b := toTree(t, fast), toTree(t, scratch)
	var geoms [][2]string
	var diffs []string
	compareJSON("", a, b, &geoms, &diffs)
	for _, pair := range geoms {
		var d float64
		err := s.Pool().QueryRow(ctx, `SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2))`,
			pair[0], pair[1]).Scan(&d)
		if err != nil || d > 1e-8 {
			diffs = append(diffs, fmt.Sprintf("geometry %.40s…: Hausdorff distance %g (%v)", pair[0], d, err))
		}
	}
	return diffs
}
