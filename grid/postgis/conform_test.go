package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// Synthetic families drawn in metres: a level-1 parent P = [0,200]×[0,100] m at 30°N, 120°E,
// and level-2 (and level-3) rectangles in it.

// Metres per degree at 30°N on WGS 84, near enough for rectangles of a few hundred metres.
const (
	mPerDegLon = 96486.0
	mPerDegLat = 110852.0
)

// box is a rectangle [X0,X1]×[Y0,Y1] in metres, named.
type box struct {
	Name           string
	X0, Y0, X1, Y1 float64
}

func (b box) area() float64 { return (b.X1 - b.X0) * (b.Y1 - b.Y0) }

// boxes returns the boxes as a GeoJSON FeatureCollection.
func boxes(bs ...box) string {
	var fs []string
	for _, b := range bs {
		ring := [][2]float64{{b.X0, b.Y0}, {b.X1, b.Y0}, {b.X1, b.Y1}, {b.X0, b.Y1}, {b.X0, b.Y0}}
		var pts []string
		for _, p := range ring {
			pts = append(pts, fmt.Sprintf("[%.9f,%.9f]", 120+p[0]/mPerDegLon, 30+p[1]/mPerDegLat))
		}
		fs = append(fs, fmt.Sprintf(`{"type":"Feature","properties":{"name":%q},"geometry":{"type":"Polygon","coordinates":[[%s]]}}`,
			b.Name, strings.Join(pts, ",")))
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + `]}`
}

var parentP = box{"P", 0, 0, 200, 100}

// conformCity imports P and the levels of boxes below it (levels[0]: level 2, levels[1]:
// level 3) and returns the store and the ids of the grids by name.
func conformCity(t *testing.T, levels ...[]box) (*postgis.Store, map[string]int64) {
	t.Helper()
	t.Parallel()
	s := testdb.New(t)
	ctx := context.Background()
	all := append([][]box{{parentP}}, levels...)
	for k, bs := range all {
		in := []postgis.Input{{Name: "boxes.geojson", R: strings.NewReader(boxes(bs...))}}
		if _, err := s.ImportGrids(ctx, in, postgis.GridImport{Level: k + 1, AdminCode: "110000"}); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int64{}
	rows, err := s.Pool().Query(ctx, `SELECT name, id FROM grids`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	return s, ids
}

// areaM2 is grid id's area in m².
func areaM2(t *testing.T, s *postgis.Store, id int64) float64 {
	return q1[float64](t, s, `SELECT ST_Area(geom::geography) FROM grids WHERE id = $1`, id)
}

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want)+1e-9 }

// conform2 conforms level 2 as the planner with the default snap width.
func conform2(t *testing.T, s *postgis.Store, dry bool) grid.EditResult {
	t.Helper()
	res, err := s.Conform(context.Background(), planner, grid.Conform{Level: 2, SnapM: grid.DefaultSnapM, DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conform == nil {
		t.Fatal("no summary")
	}
	return res
}

// familyFindings returns the gaps of parent id (its children, not theirs) and the overlaps
// and overhangs of its children, from the coverage report of its subtree.
func familyFindings(t *testing.T, s *postgis.Store, id int64) (gaps []grid.Gap, overlaps []grid.Overlap, outside []grid.OutsideParent) {
	t.Helper()
	r, err := s.Coverage(context.Background(), grid.CoverageOptions{Root: &grid.GridKey{ID: id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range r.Gaps {
		if g.Parent != nil && g.Parent.ID == id {
			gaps = append(gaps, g)
		}
	}
	lvl := q1[int](t, s, `SELECT level + 1 FROM grids WHERE id = $1`, id)
	for _, o := range r.Overlaps {
		if o.Grids[0].Level == lvl {
			overlaps = append(overlaps, o)
		}
	}
	for _, o := range r.OutsideParent {
		if o.Parent != nil && o.Parent.ID == id {
			outside = append(outside, o)
		}
	}
	return gaps, overlaps, outside
}

// A 2 m gap between A and the pair B, C goes to A, which borders it along 100 m (B and C along
// 50 m each); B and C keep their geometry exactly. One audit entry with every grid it changed.
func TestConformGapSliver(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 99, 100}, {"B", 101, 0, 200, 50}, {"C", 101, 50, 200, 100}})
	b, c := state(t, s, id["B"]), state(t, s, id["C"])
	w := snapshot(t, s)
	res := conform2(t, s, false)
	wantOneWrite(t, s, w, planner.Name, "grid.conform")
	sum := res.Conform
	if sum.GapSlivers.Count != 1 || !near(sum.GapSlivers.AreaM2, 200, 0.01) || sum.Changed != 1 || sum.RemainingGaps.Count != 0 {
		t.Fatalf("summary %+v: want one 200 m² gap sliver filled, one grid changed, no gap left", sum)
	}
	if len(sum.Grid) != 1 || sum.Grid[0].ID != id["A"] || !near(sum.Grid[0].GainedM2, 200, 0.01) || sum.Grid[0].LostM2 != 0 {
		t.Fatalf("per grid %+v: want A +200 m²", sum.Grid)
	}
	if a := areaM2(t, s, id["A"]); !near(a, 101*100, 0.005) {
		t.Errorf("A is %.1f m², want 10,100", a)
	}
	if !state(t, s, id["B"]).Geom.Equal(b.Geom) || !state(t, s, id["C"]).Geom.Equal(c.Geom) {
		t.Error("B or C changed: the sliver borders A longest")
	}
	if gaps, overlaps, _ := familyFindings(t, s, id["P"]); len(gaps) != 0 || len(overlaps) != 0 {
		t.Errorf("coverage after: %d gaps, %d overlaps", len(gaps), len(overlaps))
	}
	var after []byte
	if err := s.Pool().QueryRow(context.Background(), `SELECT after FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Grids   []grid.GridState     `json:"grids"`
		Conform *grid.ConformSummary `json:"conform"`
	}
	if err := json.Unmarshal(after, &doc); err != nil || len(doc.Grids) != 1 || doc.Grids[0].ID != id["A"] || doc.Grids[0].Geom == nil ||
		doc.Conform == nil || doc.Conform.GapSlivers != sum.GapSlivers {
		t.Errorf("audit after %s (%v): want A with its geometry, and the summary", after, err)
	}
}

// A 3 m overlap of A and B stays with A, whose rest borders it along 33 m (B's along 30 m), and
// is cut from B; C, which only touches A, keeps its geometry.
func TestConformOverlapSliver(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 103, 100}, {"B", 100, 0, 200, 30}, {"C", 103, 30, 200, 100}})
	a, c := state(t, s, id["A"]), state(t, s, id["C"])
	if _, overlaps, _ := familyFindings(t, s, id["P"]); len(overlaps) != 1 {
		t.Fatalf("coverage before: %d overlaps, want 1", len(overlaps))
	}
	sum := conform2(t, s, false).Conform
	if sum.OverlapSlivers.Count != 1 || !near(sum.OverlapSlivers.AreaM2, 90, 0.01) || sum.Changed != 1 || sum.RemainingOverlaps.Count != 0 {
		t.Fatalf("summary %+v: want one 90 m² overlap sliver resolved, only B changed, no overlap left", sum)
	}
	if !state(t, s, id["A"]).Geom.Equal(a.Geom) || !state(t, s, id["C"]).Geom.Equal(c.Geom) {
		t.Error("A or C changed")
	}
	if got := areaM2(t, s, id["B"]); !near(got, 97*30, 0.005) {
		t.Errorf("B is %.1f m², want 2,910", got)
	}
	if gaps, overlaps, _ := familyFindings(t, s, id["P"]); len(gaps) != 0 || len(overlaps) != 0 {
		t.Errorf("coverage after: %d gaps, %d overlaps", len(gaps), len(overlaps))
	}
}

// A 50 m wide gap is real: it stays, the report and the summary say so, and nothing is written.
func TestConformRealGapStays(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 75, 100}, {"B", 125, 0, 200, 100}})
	w := snapshot(t, s)
	res := conform2(t, s, false)
	wantNoWrite(t, s, w)
	sum := res.Conform
	if res.Op != 0 || sum.Changed != 0 || sum.GapSlivers.Count != 0 || sum.RemainingGaps.Count != 1 || !near(sum.RemainingGaps.AreaM2, 5000, 0.01) {
		t.Fatalf("op %d, summary %+v: want nothing changed and one 5,000 m² gap left", res.Op, sum)
	}
	if gaps, _, _ := familyFindings(t, s, id["P"]); len(gaps) != 1 || !near(gaps[0].AreaM2, 5000, 0.01) {
		t.Errorf("coverage after: %d gaps, want the 5,000 m² one", len(gaps))
	}
}

// A reaches 10 m out of P: it is clipped, and its level-3 children follow, still tiling it.
func TestConformClipsAndChildrenFollow(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 100, 110}, {"B", 100, 0, 200, 100}},
		[]box{{"A1", 0, 0, 50, 110}, {"A2", 50, 0, 100, 110}, {"B1", 100, 0, 200, 100}})
	b1 := state(t, s, id["B1"])
	sum := conform2(t, s, false).Conform
	if sum.Clipped.Count != 1 || !near(sum.Clipped.AreaM2, 1000, 0.01) || sum.Changed != 1 || sum.Followed != 2 {
		t.Fatalf("summary %+v: want 1,000 m² clipped off A, A1 and A2 following", sum)
	}
	for _, n := range []string{"A1", "A2"} {
		if got := areaM2(t, s, id[n]); !near(got, 5000, 0.005) {
			t.Errorf("%s is %.1f m², want 5,000", n, got)
		}
	}
	if gap, overlap := tiling(t, s, id["A"]); gap > 0.01 || overlap > 0.01 {
		t.Errorf("A's children: gap %.3f m², overlap %.3f m²", gap, overlap)
	}
	if !state(t, s, id["B1"]).Geom.Equal(b1.Geom) {
		t.Error("B1 changed")
	}
	if gaps, _, outside := familyFindings(t, s, id["P"]); len(outside) != 0 || len(gaps) != 0 {
		t.Errorf("coverage after: %d outside their parent, %d gaps", len(outside), len(gaps))
	}
}

// The family of the three tests above in one: a dry run writes nothing and says what the run
// then does; undo restores every grid exactly, the children too.
func TestConformDryRunAndUndo(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 99, 110}, {"B", 101, 0, 200, 50}, {"C", 101, 50, 200, 100}},
		[]box{{"A1", 0, 0, 50, 110}, {"A2", 50, 0, 99, 110}})
	ctx := context.Background()
	before := map[string]grid.GridState{}
	for n, gid := range id {
		before[n] = state(t, s, gid)
	}
	w := snapshot(t, s)
	dry := conform2(t, s, true)
	wantNoWrite(t, s, w)
	if dry.Op != 0 || !dry.Conform.DryRun || dry.Conform.Changed != 1 || dry.Conform.Followed != 2 {
		t.Fatalf("dry run: op %d, summary %+v", dry.Op, dry.Conform)
	}
	for n, b := range before {
		if !state(t, s, id[n]).Same(b) {
			t.Errorf("dry run changed %s", n)
		}
	}
	run := conform2(t, s, false)
	d, r := *dry.Conform, *run.Conform
	d.DryRun, d.Elapsed, r.Elapsed = false, 0, 0
	if fmt.Sprint(d) != fmt.Sprint(r) {
		t.Errorf("dry run said %+v, the run did %+v", d, r)
	}
	if len(run.Grids) != 3 {
		t.Errorf("run changed %d grids, want A, A1, A2", len(run.Grids))
	}
	if gap, overlap := tiling(t, s, id["A"]); gap > 0.01 || overlap > 0.01 {
		t.Errorf("A's children after the run: gap %.3f m², overlap %.3f m²", gap, overlap)
	}
	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for n, b := range before {
		g := state(t, s, id[n])
		g.Version = b.Version
		if !g.Same(b) {
			t.Errorf("undo left %s not as it was", n)
		}
	}
}

// Refusals change nothing and say what is wrong.
func TestConformRefused(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 99, 100}, {"B", 101, 0, 200, 100}})
	ctx := context.Background()
	a := grid.GridKey{ID: id["A"]}
	p := grid.GridKey{ID: id["P"]}
	tests := []struct {
		name string
		user *grid.User
		c    grid.Conform
		code string
	}{
		{"negative snap", planner, grid.Conform{Level: 2, SnapM: -1}, grid.EINVALID},
		{"snap over 100 m", planner, grid.Conform{Level: 2, SnapM: 100.5}, grid.EINVALID},
		{"snap NaN", planner, grid.Conform{Level: 2, SnapM: math.NaN()}, grid.EINVALID},
		{"level 0", planner, grid.Conform{Level: 0, SnapM: 5}, grid.EINVALID},
		{"level 4", planner, grid.Conform{Level: 4, SnapM: 5}, grid.EINVALID},
		{"parent of the same level", planner, grid.Conform{Level: 2, Parent: &a, SnapM: 5}, grid.EINVALID},
		{"parent two levels up", planner, grid.Conform{Level: 3, Parent: &p, SnapM: 5}, grid.EINVALID},
		{"parent of level 1", planner, grid.Conform{Level: 1, Parent: &p, SnapM: 5}, grid.EINVALID},
		{"unknown parent", planner, grid.Conform{Level: 2, Parent: &grid.GridKey{ID: 999999}, SnapM: 5}, grid.ENOTFOUND},
		{"viewer", viewer, grid.Conform{Level: 2, SnapM: 5}, grid.EFORBIDDEN},
		{"nobody", nil, grid.Conform{Level: 2, SnapM: 5}, grid.EUNAUTHORIZED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Conform(ctx, tc.user, tc.c)
			wantCode(t, err, tc.code)
			wantNoWrite(t, s, w)
		})
	}
	// the family of P alone, by code: the sliver is filled
	res, err := s.Conform(ctx, planner, grid.Conform{Level: 2, Parent: &grid.GridKey{Code: state(t, s, id["P"]).Code}, SnapM: 5})
	if err != nil || res.Conform.Parent == nil || res.Conform.Parent.ID != id["P"] || res.Conform.GapSlivers.Count != 1 {
		t.Fatalf("conform of P's children: %v, %+v", err, res.Conform)
	}
}

// Imported with Conform, the grids come in conformed, in one transaction with one audit entry
// (the import's, which carries the summary); their geometries as read stay as version 1.
func TestImportGridsConform(t *testing.T) {
	t.Parallel()
	s := testdb.New(t)
	ctx := context.Background()
	in := func(bs ...box) []postgis.Input {
		return []postgis.Input{{Name: "boxes.geojson", R: strings.NewReader(boxes(bs...))}}
	}
	if _, err := s.ImportGrids(ctx, in(parentP), postgis.GridImport{Level: 1, AdminCode: "110000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportGrids(ctx, in(parentP), postgis.GridImport{Level: 2, Conform: true, SnapM: 101}); grid.ErrorCode(err) != grid.EINVALID {
		t.Fatalf("snap 101 m: %v, want EINVALID", err)
	}
	w := snapshot(t, s)
	sum, err := s.ImportGrids(ctx, in(box{"A", 0, 0, 99, 110}, box{"B", 101, 0, 200, 100}),
		postgis.GridImport{Level: 2, Conform: true, SnapM: 5})
	if err != nil {
		t.Fatal(err)
	}
	if now := snapshot(t, s); now.audit != w.audit+1 {
		t.Errorf("%d audit entries, want 1", now.audit-w.audit)
	}
	c := sum.Conform
	if c == nil || c.GapSlivers.Count != 1 || c.Clipped.Count != 1 || c.Changed != 1 || !strings.Contains(sum.Format(), "gap slivers filled") {
		t.Fatalf("import summary %+v, conform %+v", sum, c)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM grid_versions v JOIN grids g ON g.id = v.grid_id WHERE g.level = 2 AND v.version = 1`); n != 1 {
		t.Errorf("%d imported geometries kept as version 1, want A's", n)
	}
	if n := q1[int](t, s, `SELECT count(*)::int FROM audit_log WHERE action = 'import.grids' AND after ? 'conform'`); n != 1 {
		t.Errorf("%d import audit entries with the conform summary, want 1", n)
	}
}

// The demo city's levels tile their parents (level 1: the city boundary) but for its two
// deliberate defects, a block wide each: conform of any level changes nothing and leaves
// exactly those, as the coverage report has them.
func TestConformDemoChangesNothing(t *testing.T) {
	s, ctx := demoTest(t)
	r, err := s.Coverage(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for level := 1; level <= 3; level++ {
		w := snapshot(t, s)
		res, err := s.Conform(ctx, planner, grid.Conform{Level: level, SnapM: grid.DefaultSnapM})
		if err != nil {
			t.Fatal(err)
		}
		wantNoWrite(t, s, w)
		c := res.Conform
		gaps, overlaps := 0, 0
		for _, g := range r.Gaps {
			if g.Parent == nil && level == 1 || g.Parent != nil && g.Parent.Level == level-1 {
				gaps++
			}
		}
		for _, o := range r.Overlaps {
			if o.Grids[0].Level == level {
				overlaps++
			}
		}
		if c.Changed != 0 || c.RemainingGaps.Count != gaps || c.RemainingOverlaps.Count != overlaps {
			t.Errorf("level %d: %+v; the report has %d gaps and %d overlaps", level, c, gaps, overlaps)
		}
	}
}

// Level 1 is conformed to the city boundary: P reaching 10 m past it is clipped, and its
// children follow.
func TestConformLevelOneToCityBoundary(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 100, 100}, {"B", 100, 0, 200, 100}})
	ctx := context.Background()
	city := boxes(box{"city", 0, 0, 190, 100})
	if _, err := s.Pool().Exec(ctx, `UPDATE city SET boundary = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($1::json->'features'->0->>'geometry'), 4326))`, city); err != nil {
		t.Fatal(err)
	}
	res, err := s.Conform(ctx, planner, grid.Conform{Level: 1, SnapM: grid.DefaultSnapM})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Conform; c.Changed != 1 || c.Followed != 1 || c.Clipped.Count != 1 || !near(c.Clipped.AreaM2, 1000, 0.01) {
		t.Fatalf("summary %+v: want 1,000 m² clipped off P and B following", c)
	}
	if got := areaM2(t, s, id["B"]); !near(got, 9000, 0.005) {
		t.Errorf("B is %.1f m², want 9,000", got)
	}
	if gap, overlap := tiling(t, s, id["P"]); gap > 0.01 || overlap > 0.01 {
		t.Errorf("P's children: gap %.3f m², overlap %.3f m²", gap, overlap)
	}
}

// A locked child is conformed around: it keeps its part outside the parent, and does not
// take the 2 m gap sliver beside it (which, tied with C along the sliver's long sides, it would
// take unlocked: the lower id wins a tie) — C takes it; nothing of A changes. (The overlap
// sliver it shares with B stays A's either way here: TestConformOverlapKeptByLocked.)
func TestConformAroundLocked(t *testing.T) {
	// A overlaps B by 3 m and reaches 2 m past the parent's top; a 2 m gap lies between A and C
	s, id := conformCity(t, []box{{"A", 0, 0, 103, 102}, {"B", 100, 0, 200, 70}, {"C", 105, 70, 200, 100}})
	if _, err := s.SetLocked(context.Background(), planner, grid.GridKey{ID: id["A"]}, true); err != nil {
		t.Fatal(err)
	}
	a := state(t, s, id["A"])
	sum := conform2(t, s, false).Conform
	if got := state(t, s, id["A"]); got.Version != a.Version || !got.Geom.Equal(a.Geom) {
		t.Fatalf("the locked grid A changed (version %d → %d)", a.Version, got.Version)
	}
	if got := areaM2(t, s, id["B"]); !near(got, 97*70, 0.005) {
		t.Errorf("B is %.1f m², want 6,790 (the 3 m overlap with the locked A cut from it)", got)
	}
	if got := areaM2(t, s, id["C"]); !near(got, 97*30, 0.005) {
		t.Errorf("C is %.1f m², want 2,910 (the gap sliver beside the locked A is C's)", got)
	}
	if sum.OverlapSlivers.Count != 1 || sum.GapSlivers.Count != 1 || sum.Clipped.Count != 0 || sum.RemainingOverlaps.Count != 0 {
		t.Errorf("summary %+v: want one overlap sliver and one gap sliver resolved, nothing clipped, no overlap left", sum)
	}
}

// A conform of level 2 that would move a locked level-3 grid with its community is refused,
// naming it — in the dry run as in the apply — and writes nothing.
func TestConformRefusedByLockedFollower(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 103, 100}, {"B", 100, 0, 200, 100}},
		[]box{{"a1", 0, 0, 103, 100}, {"b1", 100, 0, 200, 100}})
	for _, g := range []string{"a1", "b1"} {
		if _, err := s.SetLocked(context.Background(), planner, grid.GridKey{ID: id[g]}, true); err != nil {
			t.Fatal(err)
		}
	}
	w := snapshot(t, s)
	for _, dry := range []bool{true, false} {
		_, err := s.Conform(context.Background(), planner, grid.Conform{Level: 2, SnapM: grid.DefaultSnapM, DryRun: dry})
		wantCode(t, err, grid.ECONFLICT)
		if msg := grid.ErrorMessage(err); !strings.Contains(msg, "locked") || !strings.Contains(msg, "(a1)") && !strings.Contains(msg, "(b1)") {
			t.Errorf("dry run %v: %q does not name the locked grid", dry, msg)
		}
	}
	wantNoWrite(t, s, w)
}

// A locked level-3 grid away from what its community gains or loses does not stop the conform.
func TestConformPastLockedFollower(t *testing.T) {
	s, id := conformCity(t, []box{{"A", 0, 0, 103, 100}, {"B", 100, 0, 200, 100}},
		[]box{{"a1", 0, 0, 50, 100}, {"a2", 50, 0, 103, 100}, {"b1", 100, 0, 200, 100}})
	if _, err := s.SetLocked(context.Background(), planner, grid.GridKey{ID: id["a1"]}, true); err != nil {
		t.Fatal(err)
	}
	a1 := state(t, s, id["a1"])
	if sum := conform2(t, s, false).Conform; sum.OverlapSlivers.Count != 1 || sum.Followed == 0 {
		t.Errorf("summary %+v: want the overlap sliver resolved and grids one level down following", sum)
	}
	if got := state(t, s, id["a1"]); got.Version != a1.Version || !got.Geom.Equal(a1.Geom) {
		t.Errorf("the locked a1 changed")
	}
}

// An overlap sliver that a locked child shares stays with it even where the other child's
// rest borders it longer (unlocked, A loses it: A 5,000 m², B 10,000 m²).
func TestConformOverlapKeptByLocked(t *testing.T) {
	for _, lock := range []bool{false, true} {
		t.Run(fmt.Sprintf("locked=%v", lock), func(t *testing.T) {
			s, id := conformCity(t, []box{{"A", 0, 0, 103, 50}, {"B", 100, 0, 200, 100}, {"D", 0, 50, 100, 100}})
			if lock {
				if _, err := s.SetLocked(context.Background(), planner, grid.GridKey{ID: id["A"]}, true); err != nil {
					t.Fatal(err)
				}
			}
			conform2(t, s, false)
			wantA, wantB := 100.0*50, 100.0*100
			if lock {
				wantA, wantB = 103*50, 97*50+100*50
			}
			if a, b := areaM2(t, s, id["A"]), areaM2(t, s, id["B"]); !near(a, wantA, 0.005) || !near(b, wantB, 0.005) {
				t.Errorf("A %.1f m², B %.1f m²; want %.0f and %.0f", a, b, wantA, wantB)
			}
		})
	}
}
