package postgis_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// The in-memory index answers exactly as SQL does: at random points over and around the city
// (in gaps, overlaps, outside), at the vertices of grids and buildings and on their edges
// (boundary cases: a shared vertex is held by several grids, overlapping none), and again after
// edits that it must read from the change log.
func TestLocateIndexMatchesSQL(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	if err := s.WarmLocate(ctx); err != nil {
		t.Fatal(err)
	}
	points := func(sql string, args ...any) []orb.Point {
		t.Helper()
		rows, err := s.Pool().Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []orb.Point
		for rows.Next() {
			var p orb.Point
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var ps []orb.Point
	for range 1500 { // the city is lon 118.700–118.744, lat 32.000–32.025: a margin around it
		ps = append(ps, orb.Point{118.695 + rnd.Float64()*0.054, 31.997 + rnd.Float64()*0.031})
	}
	d := demoCopy().Defects
	ps = append(ps, pointIn(t, s, `SELECT ST_Difference(p.geom, ST_Union(c.geom)) FROM grids p JOIN grids c ON c.parent_id = p.id
		WHERE p.code = $1 GROUP BY p.geom`, d.GapGrid[:12]+"000"))
	ps = append(ps, pointIn(t, s, `SELECT ST_Intersection(a.geom, b.geom) FROM grids a, grids b WHERE a.code = $1 AND b.code = $2`,
		d.OverlapGrids[0], d.OverlapGrids[1]))
	// vertices and points along the edges of the grids of two communities and of their buildings
	ps = append(ps, points(`SELECT ST_X(d.geom), ST_Y(d.geom) FROM grids g, ST_DumpPoints(g.geom) d
		WHERE g.parent_id IN (SELECT id FROM grids WHERE level = 2 ORDER BY id LIMIT 2)`)...)
	ps = append(ps, points(`SELECT ST_X(p), ST_Y(p) FROM grids g, ST_Dump(ST_Boundary(g.geom)) r,
		generate_series(1, 9) k, ST_LineInterpolatePoint(r.geom, k / 10.0) p
		WHERE g.parent_id IN (SELECT id FROM grids WHERE level = 2 ORDER BY id LIMIT 2)`)...)
	ps = append(ps, points(`SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT footprint FROM buildings ORDER BY id LIMIT 60) b,
		ST_DumpPoints(b.footprint) d`)...)
	compare := func(when string, ps []orb.Point) {
		t.Helper()
		differ := 0
		for _, p := range ps {
			bySQL, byIndex, ok, err := s.LocateBoth(ctx, p[0], p[1])
			if err != nil || !ok {
				t.Fatalf("%s: %v: ok %v, err %v", when, p, ok, err)
			}
			a, _ := json.Marshal(bySQL)
			b, _ := json.Marshal(byIndex)
			if string(a) != string(b) {
				if differ++; differ <= 5 {
					t.Errorf("%s: %v:\n  SQL   %s\n  index %s", when, p, a, b)
				}
			}
		}
		if differ > 0 {
			t.Errorf("%s: %d of %d points differ", when, differ, len(ps))
		}
	}
	compare("as loaded", ps)

	// edits the index reads from the log: a rename, a building moved, one deleted, a grid
	// reshaped over its neighbour (an overlap), a grid retired
	for _, edit := range []string{
		`UPDATE grids SET name = 'renamed' WHERE id = (SELECT min(id) FROM grids WHERE level = 3)`,
		`UPDATE buildings SET footprint = ST_Translate(footprint, 0.0002, 0) WHERE id = (SELECT min(id) FROM buildings)`,
		`DELETE FROM buildings WHERE id = (SELECT max(id) FROM buildings WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = buildings.id))`,
		`UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, 0.0005)) WHERE id = (SELECT min(id) FROM grids WHERE level = 3)`,
		`UPDATE grids SET valid_to = now() WHERE id = (SELECT max(id) FROM grids WHERE level = 3)`,
	} {
		if _, err := s.Pool().Exec(ctx, edit); err != nil {
			t.Fatalf("%s: %v", edit, err)
		}
	}
	compare("after edits", ps)
	var _ *postgis.Store = s
}
