package postgis_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// demoCopy is the generator's view of the demo city the test databases hold.
func demoCopy() *demo.Copy {
	return demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs())
}

// pointIn returns a point inside the SQL geometry expression expr (ST_PointOnSurface).
func pointIn(t *testing.T, s *postgis.Store, expr string, args ...any) orb.Point {
	t.Helper()
	var lon, lat float64
	err := s.Pool().QueryRow(context.Background(),
		"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(("+expr+")) AS p) x", args...).Scan(&lon, &lat)
	if err != nil {
		t.Fatal(err)
	}
	return orb.Point{lon, lat}
}

func codes(l grid.Location) [3]string {
	var out [3]string
	for k, g := range l.Chain {
		if g != nil {
			out[k] = g.Code
		}
	}
	return out
}

func TestLocate(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	d := demoCopy().Defects
	gapParent := d.GapGrid[:12] + "000"
	gap := pointIn(t, s, `SELECT ST_Difference(p.geom, ST_Union(c.geom)) FROM grids p JOIN grids c ON c.parent_id = p.id
		WHERE p.code = $1 GROUP BY p.geom`, gapParent)
	overlap := pointIn(t, s, `SELECT ST_Intersection(a.geom, b.geom) FROM grids a, grids b WHERE a.code = $1 AND b.code = $2`,
		d.OverlapGrids[0], d.OverlapGrids[1])
	tests := []struct {
		name     string
		lon, lat float64
		status   string
		codes    [3]string
		building string
		overlaps int
	}{
		// a known point: inside building 00001 of the first grid of the first community
		{"known point", 118.70057, 32.00060, grid.LocatedOK,
			[3]string{"990100001000000", "990100001001000", "990100001001001"}, "99010000100100100001", 0},
		{"gap", gap[0], gap[1], grid.LocatedGap, [3]string{gapParent[:9] + "000000", gapParent, ""}, "", 0},
		{"overlap", overlap[0], overlap[1], grid.LocatedOverlap,
			[3]string{d.OverlapGrids[0][:9] + "000000", d.OverlapGrids[0][:12] + "000", ""}, "", 1},
		{"outside the city", 0, 0, grid.LocatedOutside, [3]string{}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.Locate(ctx, tc.lon, tc.lat)
			if err != nil {
				t.Fatal(err)
			}
			got := codes(l)
			if tc.name == "overlap" {
				got[2] = "" // either of the pair, checked below
				if l.Chain[2] == nil || len(l.Overlapping) != 1 {
					t.Fatalf("overlap: chain %v, overlapping %v", l.Chain[2], l.Overlapping)
				}
				pair := map[string]bool{l.Chain[2].Code: true, l.Overlapping[0].Code: true}
				if !pair[d.OverlapGrids[0]] || !pair[d.OverlapGrids[1]] {
					t.Errorf("overlap pair %v, want %v", pair, d.OverlapGrids)
				}
			}
			if l.Status != tc.status || got != tc.codes {
				t.Errorf("status %q codes %v, want %q %v", l.Status, got, tc.status, tc.codes)
			}
			if l.Gap != (tc.status == grid.LocatedGap) {
				t.Errorf("gap = %v", l.Gap)
			}
			var b string
			if l.Building != nil {
				b = l.Building.Code
			}
			if b != tc.building {
				t.Errorf("building %q, want %q", b, tc.building)
			}
			if len(l.Overlapping) != tc.overlaps {
				t.Errorf("overlapping %v, want %d", l.Overlapping, tc.overlaps)
			}
		})
	}
}

func TestLocateEdge(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	// a vertex shared by neighbouring level-3 grids: held by several, overlapping none
	p := pointIn(t, s, `SELECT ST_StartPoint(ST_ExteriorRing(ST_GeometryN(geom, 1))) FROM grids WHERE code = '990100001001002'`)
	l, err := s.Locate(context.Background(), p[0], p[1])
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != grid.LocatedOK || len(l.Overlapping) != 0 {
		t.Errorf("shared vertex: status %q overlapping %v", l.Status, l.Overlapping)
	}
}

func TestLocateInvalid(t *testing.T) {
	t.Parallel()
	s := testdb.New(t)
	for _, p := range [][2]float64{{181, 0}, {0, -91}} {
		_, err := s.Locate(context.Background(), p[0], p[1])
		if grid.ErrorCode(err) != grid.EINVALID {
			t.Errorf("%v: %v, want EINVALID", p, err)
		}
	}
}

func TestWithinMatchesSQL(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	areas := map[string]orb.MultiPolygon{
		"box":      {{{{118.705, 32.005}, {118.725, 32.005}, {118.725, 32.015}, {118.705, 32.015}, {118.705, 32.005}}}},
		"triangle": {{{{118.70, 32.00}, {118.74, 32.00}, {118.72, 32.02}, {118.70, 32.00}}}},
		"two parts with a hole": {
			{{{118.700, 32.000}, {118.710, 32.000}, {118.710, 32.010}, {118.700, 32.010}, {118.700, 32.000}},
				{{118.703, 32.003}, {118.703, 32.007}, {118.707, 32.007}, {118.707, 32.003}, {118.703, 32.003}}},
			{{{118.730, 32.015}, {118.740, 32.015}, {118.740, 32.020}, {118.730, 32.020}, {118.730, 32.015}}},
		},
		"nothing there": {{{{10, 10}, {10.1, 10}, {10.1, 10.1}, {10, 10}}}},
	}
	for name, area := range areas {
		t.Run(name, func(t *testing.T) {
			r, err := s.Within(ctx, grid.WithinQuery{Area: area, Page: grid.Page{Limit: 5}})
			if err != nil {
				t.Fatal(err)
			}
			var want grid.WithinCounts
			err = s.Pool().QueryRow(ctx, `
				SELECT count(*), coalesce(sum(b.households), 0), coalesce(sum(b.residents), 0),
				       (SELECT count(*) FROM units u JOIN buildings b2 ON b2.id = u.building_id
				        WHERE ST_Within(ST_PointOnSurface(b2.footprint), $1))
				FROM buildings b WHERE ST_Within(ST_PointOnSurface(b.footprint), $1)`, area).
				Scan(&want.Buildings, &want.Households, &want.Residents, &want.Units)
			if err != nil {
				t.Fatal(err)
			}
			for level := 1; level <= 3; level++ {
				err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM grids
					WHERE level = $2 AND valid_to IS NULL AND ST_Area(ST_Intersection(geom, $1)) > 0`, area, level).
					Scan(&want.Grids[level-1])
				if err != nil {
					t.Fatal(err)
				}
			}
			if r.Counts != want {
				t.Errorf("counts %+v, want (SQL) %+v", r.Counts, want)
			}
			if n := min(5, want.Buildings); len(r.Buildings) != n {
				t.Errorf("%d buildings on the page, want %d", len(r.Buildings), n)
			}
			if name != "nothing there" && want.Buildings == 0 {
				t.Errorf("test area %s holds no buildings: pick another", name)
			}
		})
	}
}

func TestWithinInvalid(t *testing.T) {
	t.Parallel()
	s := testdb.New(t)
	bowtie := orb.MultiPolygon{{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}}
	big := make(orb.Ring, grid.MaxQueryVertices+1)
	for k := range big {
		big[k] = orb.Point{float64(k) * 1e-6, float64(k%2) * 1e-6}
	}
	for name, area := range map[string]orb.MultiPolygon{
		"self-intersecting": bowtie,
		"empty":             {},
		"too many vertices": {{big}},
	} {
		_, err := s.Within(context.Background(), grid.WithinQuery{Area: area, Page: grid.Page{Limit: 1}})
		if grid.ErrorCode(err) != grid.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	for _, kind := range []string{grid.KindBuilding, grid.KindUnit} {
		t.Run(kind, func(t *testing.T) {
			got, err := s.Nearest(ctx, grid.NearestQuery{Lon: 118.72, Lat: 32.01, Kind: kind, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			// brute force on the spheroid over every row
			sql := `SELECT id, ST_Distance(footprint::geography, ST_SetSRID(ST_MakePoint(118.72, 32.01), 4326)::geography) AS d
				FROM buildings ORDER BY d, id LIMIT 5`
			if kind == grid.KindUnit {
				sql = `SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(118.72, 32.01), 4326)::geography) AS d
					FROM units ORDER BY d, id LIMIT 5`
			}
			rows, _ := s.Pool().Query(ctx, sql)
			var ids []int64
			var ds []float64
			for rows.Next() {
				var id int64
				var d float64
				if err := rows.Scan(&id, &d); err != nil {
					t.Fatal(err)
				}
				ids, ds = append(ids, id), append(ds, d)
			}
			if len(got) != 5 {
				t.Fatalf("%d results", len(got))
			}
			for k, n := range got {
				if n.ID != ids[k] || n.DistanceM != ds[k] {
					t.Errorf("#%d: %d at %.2f m, want %d at %.2f m", k, n.ID, n.DistanceM, ids[k], ds[k])
				}
				if k > 0 && n.DistanceM < got[k-1].DistanceM {
					t.Errorf("not sorted by distance")
				}
			}
			if got[4].DistanceM < 10 || got[4].DistanceM > 1000 {
				t.Errorf("5th nearest at %.1f m: not metres?", got[4].DistanceM)
			}
		})
	}
}
