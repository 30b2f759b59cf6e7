package postgis_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/geo"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// liechtenstein loads the Liechtenstein test data into a new database: the two districts as
// level 1, the eleven municipalities as level 2 (a plain import), the buildings, and the roads
// (inserted directly: the roads import is another command's).
func liechtenstein(t testing.TB) *postgis.Store {
	t.Helper()
	dir := filepath.Join(testdb.DataDir(t), "liechtenstein")
	s := testdb.New(t)
	ctx := context.Background()
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "districts.geojson")),
		postgis.GridImport{Level: 1, NameProp: "name", CityName: "Liechtenstein", AdminCode: "438000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "municipalities.geojson")),
		postgis.GridImport{Level: 2, NameProp: "name"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportBuildings(ctx, openInputs(t, filepath.Join(dir, "buildings.geojson")), postgis.BuildingImport{}); err != nil {
		t.Fatal(err)
	}
	loadRoads(t, s, filepath.Join(dir, "roads.geojson"))
	return s
}

// loadRoads inserts the lines of a GeoJSON file into roads, with their OSM highway class.
func loadRoads(t testing.TB, s *postgis.Store, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var classes []string
	var geoms []orb.Geometry
	err = geo.ReadFeatures(f, func(ft geo.Feature) error {
		g, err := geojsonGeometry(ft.Geometry)
		if err != nil {
			return err
		}
		class, _ := ft.Properties["highway"].(string)
		classes, geoms = append(classes, class), append(geoms, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(context.Background(), `INSERT INTO roads (class, geom)
		SELECT c, ST_Multi(g) FROM unnest($1::text[], $2::geometry[]) x(c, g) WHERE ST_IsValid(g) AND NOT ST_IsEmpty(g)`, classes, geoms); err != nil {
		t.Fatal(err)
	}
}

// divisionChecks checks what every division of parent must be: the children tile it (no gap,
// no overlap of 0.01 m² or more), each is one polygon (or more where a building-free exclave
// of the parent borders no child), every building the divide shared out lies in exactly the
// child the answer says, and the answer's counts match the database's.
func divisionChecks(t *testing.T, s *postgis.Store, parent int64, res *grid.DivideResult) {
	t.Helper()
	ctx := context.Background()
	gap, overlap := robustTiling(t, s, parent)
	if gap >= 0.01 || overlap >= 0.01 {
		t.Errorf("grid %d: children leave %.4f m² uncovered and overlap by %.4f m²", parent, gap, overlap)
	}
	for _, g := range res.Grids {
		var parts, held, buildings, households int
		err := s.Pool().QueryRow(ctx, `SELECT ST_NumGeometries(g.geom),
			(SELECT count(*) FROM ST_Dump(g.geom) d WHERE EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id AND ST_Intersects(d.geom, b.anchor))),
			c.buildings, c.households
			FROM grids g, gridmap_grid_counts(g.id) c WHERE g.id = $1 AND g.valid_to IS NULL`, g.ID).Scan(&parts, &held, &buildings, &households)
		if err != nil {
			t.Fatalf("child %s (%d): %v", g.Code, g.ID, err)
		}
		if held != 1 || parts != g.Parts || parts != 1+g.Exclaves {
			t.Errorf("child %s: %d polygons (%d holding buildings), answer says %d parts and %d exclaves", g.Code, parts, held, g.Parts, g.Exclaves)
		}
		if buildings != g.Buildings || households != g.Households {
			t.Errorf("child %s: %d buildings, %d households; answer says %d, %d", g.Code, buildings, households, g.Buildings, g.Households)
		}
		if g.PolsbyPopper <= 0 || g.PolsbyPopper > 1 || g.AreaM2 <= 0 {
			t.Errorf("child %s: area %.0f m², Polsby–Popper %.3f", g.Code, g.AreaM2, g.PolsbyPopper)
		}
	}
	// every building whose point on surface lies in the parent is in one of its children
	// (none of the Liechtenstein and Taipei test parents loses one to an overlap)
	if n := q1[int](t, s, `SELECT count(*)::int FROM buildings b, grids p WHERE p.id = $1 AND ST_Contains(p.geom, b.anchor)
		AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.id = b.grid_id AND c.parent_id = $1 AND c.valid_to IS NULL)`, parent); n > len(res.Summary.Left) {
		t.Errorf("grid %d: %d buildings with their point on surface in it are in none of its children (left: %v)", parent, n, res.Summary.Left)
	}
}

// robustTiling measures how the current children of parent tile it, as the divide's own check
// does: the area of the parent no child covers and the area children share, on the spheroid,
// with the overlays snap-rounded to 1e-12° so that GEOS measures what is there (in floating
// precision it may report a hairline between two children as a sliver: up to 0.0105 m² seen
// on a Taipei village, 7·10⁻⁶ m² in the plane).
func robustTiling(t testing.TB, s *postgis.Store, parent int64) (gap, overlap float64) {
	t.Helper()
	gap = q1[float64](t, s, `SELECT coalesce(ST_Area(ST_Difference(p.geom, (SELECT ST_Union(geom, 1e-12) FROM grids
		WHERE parent_id = p.id AND valid_to IS NULL), 1e-12)::geography), 0) FROM grids p WHERE p.id = $1`, parent)
	overlap = q1[float64](t, s, `SELECT coalesce(sum(ST_Area(geom::geography)) - ST_Area(ST_Union(geom, 1e-12)::geography), 0)
		FROM grids WHERE parent_id = $1 AND valid_to IS NULL`, parent)
	return gap, overlap
}

// logCoverage logs what the coverage report finds among the grids of a level after dividing:
// gaps and overlaps inside their parents (on the spheroid, pieces ≥ 1 m²) and buildings
// straddling their grid.
func logCoverage(t *testing.T, s *postgis.Store, level int) {
	t.Helper()
	divided := map[int64]bool{}
	for _, id := range q1[[]int64](t, s, `SELECT coalesce(array_agg(DISTINCT parent_id), '{}') FROM grids WHERE level = $1 AND valid_to IS NULL`, level) {
		divided[id] = true
	}
	rep, err := s.Coverage(context.Background(), grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gaps, overlaps []float64
	for _, g := range rep.Gaps {
		if g.Parent != nil && divided[g.Parent.ID] {
			gaps = append(gaps, math.Round(g.AreaM2*10)/10)
		}
	}
	var inherited int
	for _, o := range rep.Overlaps {
		if len(o.Grids) != 2 || o.Grids[0].Level != level {
			continue
		}
		if q1[bool](t, s, `SELECT a.parent_id = b.parent_id FROM grids a, grids b WHERE a.id = $1 AND b.id = $2`, o.Grids[0].ID, o.Grids[1].ID) {
			overlaps = append(overlaps, math.Round(o.AreaM2*10)/10)
		} else {
			inherited++ // two parents that overlap each other
		}
	}
	t.Logf("coverage report, level %d: gaps in their parents %v m², overlaps between siblings %v m² (%d between children of overlapping parents), %d buildings straddling their grid",
		level, gaps, overlaps, inherited, len(rep.Straddlers))
}

// TestDivideLiechtenstein divides every municipality of Liechtenstein (a plain import: their
// boundaries have exclaves and do not follow the buildings) and checks every promise.
func TestDivideLiechtenstein(t *testing.T) {
	t.Parallel()
	s := liechtenstein(t)
	ctx := context.Background()
	parents := q1[[]int64](t, s, `SELECT array_agg(id ORDER BY code) FROM grids WHERE level = 2`)
	var children, inBand, unreachable int
	var pp float64
	for _, id := range parents {
		w := snapshot(t, s)
		dry, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: id}, Seed: 1, DryRun: true})
		if err != nil {
			t.Fatalf("dry run %d: %v", id, err)
		}
		wantNoWrite(t, s, w)
		res, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: id}, Seed: 1, IfVersion: dry.Parent.Version, Fingerprint: dry.Fingerprint})
		if err != nil {
			t.Fatalf("divide %d: %v", id, err)
		}
		wantOneWrite(t, s, w, "pat", "grid.divide")
		if res.Edit == nil || res.Edit.Op == 0 || res.AuditID == 0 || res.DataVersion <= w.version {
			t.Fatalf("divide %d: result %+v", id, res)
		}
		for k, g := range res.Grids {
			if g.Code != dry.Grids[k].Code || g.Households != dry.Grids[k].Households || !g.Geom.Equal(dry.Grids[k].Geom) {
				t.Errorf("divide %d: child %d differs from the preview: %s/%d vs %s/%d", id, k, g.Code, g.Households, dry.Grids[k].Code, dry.Grids[k].Households)
			}
		}
		divisionChecks(t, s, id, res)
		children += len(res.Grids)
		inBand += res.Summary.InBand
		pp += res.Summary.MeanPolsbyPopper * float64(len(res.Grids))
		unreachable += res.Summary.Unreachable
		t.Logf("%s: %d children, %d in band, mean Polsby–Popper %.2f, %d exclave polygons, %d pieces, %.0f ms",
			dry.Parent.Code, res.Summary.K, res.Summary.InBand, res.Summary.MeanPolsbyPopper, res.Summary.Exclaves, res.Summary.Pieces, res.Summary.ElapsedMS)
	}
	t.Logf("Liechtenstein: %d grids, %d in band, %d out of band where the buildings allow no better, mean Polsby–Popper %.2f",
		children, inBand, unreachable, pp/float64(children))
	logCoverage(t, s, 3)
	if float64(inBand) < 0.9*float64(children-unreachable) {
		t.Errorf("%d of %d grids in band (%d cannot be): want ≥ 90%% of those that can", inBand, children, unreachable)
	}
}

func geojsonGeometry(raw []byte) (orb.Geometry, error) {
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		return nil, err
	}
	return g.Geometry(), nil
}

// TestDivideRedivideUndo divides a municipality, divides it again keeping two children, undoes
// and redoes: kept children are untouched, codes are never reused, the retired children's
// staff come back with them, and undo restores the previous division exactly. The same seed
// gives the same proposal.
func TestDivideRedivideUndo(t *testing.T) {
	t.Parallel()
	s := liechtenstein(t)
	ctx := context.Background()
	id := q1[int64](t, s, `SELECT id FROM grids WHERE name = 'Triesen'`)
	key := grid.GridKey{ID: id}
	first, err := s.Divide(ctx, planner, grid.Divide{Parent: key, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.Grids[0], first.Grids[1]
	worker := q1[int64](t, s, `INSERT INTO workers (display_name, role) VALUES ('网格员1', 'grid_worker') RETURNING id`)
	loose := first.Grids[2] // not kept: its staff's assignment ends with it
	if _, err := s.Pool().Exec(ctx, `INSERT INTO assignments (worker_id, grid_id, role) VALUES ($1, $2, 'grid_worker')`, worker, loose.ID); err != nil {
		t.Fatal(err)
	}

	p1, err := s.Divide(ctx, planner, grid.Divide{Parent: key, Seed: 2, Keep: []grid.GridKey{{Code: a.Code}, {ID: b.ID}}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.Divide(ctx, planner, grid.Divide{Parent: key, Seed: 2, Keep: []grid.GridKey{{Code: a.Code}, {ID: b.ID}}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Fingerprint != p2.Fingerprint || len(p1.Grids) != len(p2.Grids) {
		t.Fatalf("same seed, different proposals: %s vs %s", p1.Fingerprint, p2.Fingerprint)
	}
	for k := range p1.Grids {
		if p1.Grids[k].Code != p2.Grids[k].Code || p1.Grids[k].Households != p2.Grids[k].Households || !p1.Grids[k].Geom.Equal(p2.Grids[k].Geom) {
			t.Errorf("same seed: child %d differs", k)
		}
	}

	w := snapshot(t, s)
	second, err := s.Divide(ctx, planner, grid.Divide{Parent: key, Seed: 2, Keep: []grid.GridKey{{Code: a.Code}, {ID: b.ID}}, IfVersion: p1.Parent.Version})
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.divide")
	divisionChecks(t, s, id, second)
	for _, k := range []grid.ProposedGrid{a, b} {
		if st := state(t, s, k.ID); !st.Current || st.Version != k.Version || !st.Geom.Equal(k.Geom) {
			t.Errorf("kept grid %s changed: version %d → %d", k.Code, k.Version, st.Version)
		}
	}
	maxFirst := first.Grids[len(first.Grids)-1].Code
	for _, g := range second.Grids {
		if !g.Kept && g.Code <= maxFirst {
			t.Errorf("new child %s reuses a code at or below %s", g.Code, maxFirst)
		}
	}
	if st := state(t, s, loose.ID); st.Current {
		t.Errorf("child %s not retired", loose.Code)
	}
	staffed := `SELECT count(*)::int FROM assignments WHERE worker_id = $1 AND grid_id = $2 AND valid_to IS NULL`
	if n := q1[int](t, s, staffed, worker, loose.ID); n != 0 {
		t.Errorf("the retired child still has %d current assignments", n)
	}

	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for _, g := range first.Grids {
		if st := state(t, s, g.ID); !st.Current || !st.Geom.Equal(g.Geom) || st.Code != g.Code {
			t.Errorf("undo: child %s current=%v, geometry restored exactly: %v", g.Code, st.Current, st.Geom.Equal(g.Geom))
		}
	}
	for _, g := range second.Grids {
		if st := state(t, s, g.ID); !g.Kept && st.Current {
			t.Errorf("undo: new child %s still current", g.Code)
		}
	}
	if n := q1[int](t, s, staffed, worker, loose.ID); n != 1 {
		t.Errorf("undo: %d current assignments of the worker on %s, want 1", n, loose.Code)
	}
	divisionChecks(t, s, id, first)

	if _, err := s.Redo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for _, g := range second.Grids {
		if st := state(t, s, g.ID); !st.Current || !st.Geom.Equal(g.Geom) {
			t.Errorf("redo: child %s current=%v", g.Code, st.Current)
		}
	}
	divisionChecks(t, s, id, second)
}

// TestDivideRefusals: every refusal is coded and writes nothing.
func TestDivideRefusals(t *testing.T) {
	t.Parallel()
	s := liechtenstein(t)
	ctx := context.Background()
	ruggell := q1[int64](t, s, `SELECT id FROM grids WHERE name = 'Ruggell'`)
	vaduz := q1[int64](t, s, `SELECT id FROM grids WHERE name = 'Vaduz'`)
	done, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: vaduz}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var allKids []grid.GridKey
	for _, g := range done.Grids {
		allKids = append(allKids, grid.GridKey{ID: g.ID})
	}
	// an empty community: a square of the Rhine's western bank no building stands on
	empty := q1[int64](t, s, `INSERT INTO grids (level, parent_id, code, name, geom)
		SELECT 2, id, '438000001099000', 'Empty', ST_Multi(ST_MakeEnvelope(9.40, 47.20, 9.41, 47.21, 4326))
		FROM grids WHERE level = 1 ORDER BY code LIMIT 1 RETURNING id`)
	key := func(id int64) grid.GridKey { return grid.GridKey{ID: id} }
	for _, c := range []struct {
		name string
		u    *grid.User
		d    grid.Divide
		code string
	}{
		{"k larger than the buildings", planner, grid.Divide{Parent: key(ruggell), K: 500}, grid.EINVALID},
		{"everything kept", planner, grid.Divide{Parent: key(vaduz), Keep: allKids}, grid.EINVALID},
		{"no buildings", planner, grid.Divide{Parent: key(empty)}, grid.EINVALID},
		{"a level-3 parent", planner, grid.Divide{Parent: key(done.Grids[0].ID)}, grid.EINVALID},
		{"keep a stranger", planner, grid.Divide{Parent: key(ruggell), Keep: []grid.GridKey{key(done.Grids[0].ID)}}, grid.EINVALID},
		{"band 1.5", planner, grid.Divide{Parent: key(ruggell), Band: 1.5}, grid.EINVALID},
		{"negative target", planner, grid.Divide{Parent: key(ruggell), Target: -5}, grid.EINVALID},
		{"negative k", planner, grid.Divide{Parent: key(ruggell), K: -1}, grid.EINVALID},
		{"viewer", viewer, grid.Divide{Parent: key(ruggell)}, grid.EFORBIDDEN},
		{"nobody", nil, grid.Divide{Parent: key(ruggell)}, grid.EUNAUTHORIZED},
		{"unknown parent", planner, grid.Divide{Parent: grid.GridKey{Code: "438000009009000"}}, grid.ENOTFOUND},
		{"stale parent", planner, grid.Divide{Parent: key(ruggell), IfVersion: 7}, grid.ECONFLICT},
		{"stale preview", planner, grid.Divide{Parent: key(ruggell), Fingerprint: "0123456789abcdef01234567"}, grid.ECONFLICT},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Divide(ctx, c.u, c.d)
			wantCode(t, err, c.code)
			if grid.ErrorMessage(err) == "" {
				t.Error("no message")
			}
			wantNoWrite(t, s, w)
		})
	}
}

// taipei loads the Taipei test data: districts as level 1, villages as level 2, buildings.
func taipei(t testing.TB) *postgis.Store {
	t.Helper()
	dir := filepath.Join(testdb.DataDir(t), "taipei")
	s := testdb.New(t)
	ctx := context.Background()
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "districts.geojson")),
		postgis.GridImport{Level: 1, NameProp: "TOWNNAME", CityName: "臺北市", AdminCode: "630000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "villages.geojson")), postgis.GridImport{Level: 2, NameProp: "VILLAGENAM"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "buildings", "*.json"))
	if _, err := s.ImportBuildings(ctx, openInputs(t, files...), postgis.BuildingImport{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDivideTaipei divides every fourth village of Taipei holding buildings (35 of the 137 that
// do; the benchmark divides all 448): villages overlap and leave slivers between them (a plain
// import), buildings are dense and large, there are no roads.
func TestDivideTaipei(t *testing.T) {
	t.Parallel()
	s := taipei(t)
	ctx := context.Background()
	villages := q1[[]int64](t, s, `SELECT array_agg(id ORDER BY code) FROM grids g WHERE level = 2
		AND EXISTS (SELECT 1 FROM buildings b WHERE b.grid_id = g.id)`)
	var children, inBand, unreachable, left int
	for i := 0; i < len(villages); i += 4 {
		w := snapshot(t, s)
		res, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: villages[i]}, Seed: 1})
		if err != nil {
			t.Fatalf("village %d: %v", villages[i], err)
		}
		wantOneWrite(t, s, w, "pat", "grid.divide")
		divisionChecks(t, s, villages[i], res)
		children += len(res.Grids)
		inBand += res.Summary.InBand
		unreachable += res.Summary.Unreachable
		left += len(res.Summary.Left)
	}
	t.Logf("Taipei, every 4th village with buildings: %d grids, %d in band, %d cannot be, %d buildings left to overlapping villages", children, inBand, unreachable, left)
	logCoverage(t, s, 3)
	if float64(inBand) < 0.9*float64(children-unreachable) {
		t.Errorf("%d of %d grids in band (%d cannot be): want ≥ 90%% of those that can", inBand, children, unreachable)
	}
}

// TestDivideFollowsRoads divides every municipality of Liechtenstein with and without its
// roads and measures the share of the new boundaries (those inside the municipalities) lying
// within 10 m of a road: the road factor must raise it.
func TestDivideFollowsRoads(t *testing.T) {
	t.Parallel()
	share := func(withRoads bool) (float64, float64) {
		s := liechtenstein(t)
		ctx := context.Background()
		// the measure reads each road's class from name; without roads, the divide sees them
		// all as footpaths, which it ignores
		if _, err := s.Pool().Exec(ctx, `UPDATE roads SET name = class, class = CASE WHEN $1 THEN class ELSE 'footway' END`, withRoads); err != nil {
			t.Fatal(err)
		}
		var pp float64
		var n int
		for _, id := range q1[[]int64](t, s, `SELECT array_agg(id ORDER BY code) FROM grids WHERE level = 2`) {
			res, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: id}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			pp += res.Summary.MeanPolsbyPopper * float64(len(res.Grids))
			n += len(res.Grids)
		}
		// the boundaries siblings share, in pieces of about 5 m, and which of them lie near a road
		return q1[float64](t, s, `
			WITH b AS (
			    SELECT ST_CollectionExtract(ST_Intersection(a.geom, c.geom), 2) AS g
			    FROM grids a JOIN grids c ON a.parent_id = c.parent_id AND a.id < c.id AND a.geom && c.geom
			    WHERE a.level = 3 AND a.valid_to IS NULL AND c.valid_to IS NULL
			), seg AS (
			    SELECT d.geom AS g, ST_Length(d.geom::geography) AS len
			    FROM b CROSS JOIN LATERAL ST_DumpSegments(ST_Segmentize(b.g, 0.00005)) d
			)
			SELECT sum(len) FILTER (WHERE EXISTS (SELECT 1 FROM roads r WHERE r.name NOT IN ('footway', 'path', 'steps', 'corridor', 'bridleway', 'cycleway')
			           AND r.geom && ST_Expand(seg.g, 0.0002) AND ST_DWithin(r.geom::geography, ST_Centroid(seg.g)::geography, 10)))
			       / sum(len)
			FROM seg`), pp / float64(n)
	}
	with, ppWith := share(true)
	without, ppWithout := share(false)
	t.Logf("new boundaries within 10 m of a road: %.1f%% with the road factor, %.1f%% without; mean Polsby–Popper %.3f and %.3f",
		100*with, 100*without, ppWith, ppWithout)
	if with <= without {
		t.Errorf("the road factor did not draw boundaries to the roads: %.3f with, %.3f without", with, without)
	}
}
