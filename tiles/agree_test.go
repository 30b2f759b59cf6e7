package tiles_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
	"gridmap/internal/testdb"
)

// The map and the coverage report say the same thing: every grid's households, workers and
// staffing, the straddling buildings, the gaps and the overlaps the tiles draw from are the
// report's (grid/postgis), on the demo city and after edits that move them.
func TestTilesAgreeWithCoverageReport(t *testing.T) {
	store := testdb.NewDemo(t)
	db := store.Pool()
	ctx := context.Background()
	compare := func(t *testing.T) {
		t.Helper()
		r, err := store.Coverage(ctx, grid.CoverageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type counts struct {
			households, workers int
			staffed             bool
		}
		tiles := map[int64]counts{}
		rows, _ := db.Query(ctx, `SELECT grid_id, households, workers, staffed FROM tile_grids`)
		for rows.Next() {
			var id int64
			var c counts
			if err := rows.Scan(&id, &c.households, &c.workers, &c.staffed); err != nil {
				t.Fatal(err)
			}
			tiles[id] = c
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		unstaffed := map[int64]bool{}
		for _, g := range r.Unstaffed.Grids {
			unstaffed[g.ID] = true
		}
		if len(tiles) != len(r.Grids) {
			t.Errorf("tile_grids has %d grids, the report %d", len(tiles), len(r.Grids))
		}
		for _, g := range r.Grids {
			want := counts{g.Households, g.Workers, !unstaffed[g.ID]}
			if got := tiles[g.ID]; got != want {
				t.Errorf("grid %s: tiles %+v, report %+v", g.Code, got, want)
			}
		}

		var straddlers []string
		for _, s := range r.Straddlers {
			straddlers = append(straddlers, s.Building.Code)
		}
		same(t, "straddling buildings", codes(t, db, `SELECT code FROM buildings WHERE straddling`), straddlers)

		var gaps, overlaps []string
		for _, g := range r.Gaps {
			p := "city"
			if g.Parent != nil {
				p = g.Parent.Code
			}
			gaps = append(gaps, p)
		}
		for _, o := range r.Overlaps {
			overlaps = append(overlaps, o.Grids[0].Code+","+o.Grids[1].Code)
		}
		same(t, "gaps (by parent)", codes(t, db, `SELECT DISTINCT coalesce(p.code, 'city') FROM tile_coverage c
			LEFT JOIN grids p ON p.id = c.parent_id WHERE c.kind = 'gap'`), gaps)
		t.Logf("%d grids, %d unstaffed, %d straddlers, %d gaps, %d overlaps",
			len(r.Grids), len(r.Unstaffed.Grids), len(r.Straddlers), len(r.Gaps), len(r.Overlaps))
		same(t, "overlaps", codes(t, db, `SELECT DISTINCT string_agg(g.code, ',' ORDER BY g.code) FROM tile_coverage c
			JOIN grids g ON g.id = ANY(c.grid_ids) WHERE c.kind = 'overlap' GROUP BY c.id`), overlaps)
	}

	t.Run("demo city", compare)
	for _, edit := range []string{
		// a worker retires, another grid loses its whole staff
		`UPDATE workers SET retired_at = now() WHERE id = (SELECT min(worker_id) FROM assignments WHERE grid_id IS NOT NULL)`,
		`UPDATE assignments SET valid_to = now() WHERE grid_id = (SELECT max(id) FROM grids WHERE level = 3)`,
		// a building moves 140 m east: households change grid
		`UPDATE buildings SET footprint = ST_Translate(footprint, 0.0015, 0) WHERE id = (SELECT min(id) FROM buildings)`,
		// a grid shrinks: a gap in its community, and its buildings there move up a level
		`UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0004)) WHERE id = (SELECT min(id) FROM grids WHERE level = 3)`,
		// households come and go
		`DELETE FROM households WHERE id % 7 = 0`,
	} {
		t.Run(fmt.Sprintf("after %.60s", edit), func(t *testing.T) {
			if _, err := db.Exec(ctx, edit); err != nil {
				t.Fatal(err)
			}
			compare(t)
		})
	}
	// The tables are refreshed once, at commit: several statements in one transaction, and one
	// rolled back, leave them as right and leave nothing queued.
	t.Run("after a transaction", func(t *testing.T) {
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for _, sql := range []string{
				`UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0003)) WHERE id = (SELECT max(id) FROM grids WHERE level = 3)`,
				`UPDATE workers SET retired_at = now() WHERE id IN (SELECT worker_id FROM assignments WHERE grid_id IS NOT NULL ORDER BY id LIMIT 20)`,
				`DELETE FROM households WHERE id % 5 = 0`,
			} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM buildings WHERE id % 3 = 0`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		compare(t)
		if n := codes(t, db, `SELECT count(*)::text FROM tile_dirty`); n[0] != "0" {
			t.Errorf("%s rows left in tile_dirty", n[0])
		}
	})
}

func same(t *testing.T, what string, tiles, report []string) {
	t.Helper()
	slices.Sort(tiles)
	slices.Sort(report)
	if !slices.Equal(tiles, report) {
		t.Errorf("%s: tiles %v, report %v", what, tiles, report)
	}
}
