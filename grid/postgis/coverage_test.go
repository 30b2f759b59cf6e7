package postgis_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"gridmap/grid"
	"gridmap/internal/testdb"
)

func refCodes(rs []grid.GridRef) []string {
	out := make([]string, len(rs))
	for k, r := range rs {
		out[k] = r.Code
	}
	return out
}

// TestCoverageFindsExactlyTheDemoDefects: the report of the demo city lists the generator's
// deliberate defects, each where the generator put it, and nothing else.
func TestCoverageFindsExactlyTheDemoDefects(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	d := demoCopy().Defects
	r, err := s.Coverage(context.Background(), grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := grid.Findings{Gaps: 1, Overlaps: 1, Straddlers: len(d.Straddlers), UnstaffedGrids: len(d.Unstaffed)}
	if r.Findings != want {
		t.Errorf("findings %+v, want %+v", r.Findings, want)
	}
	if r.OK {
		t.Error("report OK with defects")
	}
	if len(r.Gaps) == 1 {
		g := r.Gaps[0]
		if g.Parent == nil || g.Parent.Code != d.GapGrid[:12]+"000" {
			t.Errorf("gap in %v, want in the parent of %s", g.Parent, d.GapGrid)
		}
		if !slices.Contains(refCodes(g.Bordering), d.GapGrid) {
			t.Errorf("gap bordered by %v, want %s among them", refCodes(g.Bordering), d.GapGrid)
		}
		// one block of the lattice: 160 m × 140 m pitch
		if g.AreaM2 < 15000 || g.AreaM2 > 35000 || g.Geometry.Geometry == nil {
			t.Errorf("gap of %.0f m² (geometry %v)", g.AreaM2, g.Geometry.Geometry != nil)
		}
	}
	if len(r.Overlaps) == 1 {
		o := r.Overlaps[0]
		got := []string{o.Grids[0].Code, o.Grids[1].Code}
		sort.Strings(got)
		exp := []string{d.OverlapGrids[0], d.OverlapGrids[1]}
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("overlap of %v, want %v", got, exp)
		}
		if o.AreaM2 < 15000 || o.AreaM2 > 35000 {
			t.Errorf("overlap of %.0f m²", o.AreaM2)
		}
	}
	var straddlers []string
	for _, s := range r.Straddlers {
		straddlers = append(straddlers, s.Building.Code)
		if s.ShareOutside <= 0.05 || s.ShareOutside >= 0.95 {
			t.Errorf("straddler %s: share outside %.2f", s.Building.Code, s.ShareOutside)
		}
	}
	exp := append([]string(nil), d.Straddlers...)
	sort.Strings(exp)
	if !slices.Equal(straddlers, exp) {
		t.Errorf("straddlers %v, want %v", straddlers, exp)
	}
	unstaffed := refCodes(r.Unstaffed.Grids)
	exp = append([]string(nil), d.Unstaffed...)
	sort.Strings(exp)
	if !slices.Equal(unstaffed, exp) {
		t.Errorf("unstaffed grids %v, want %v", unstaffed, exp)
	}
	// the unstaffed grids are the only level-3 grids without workload
	for _, g := range r.Grids {
		if g.Level == grid.LevelGrid && (g.Workload.Status == grid.WorkloadUnstaffed) != slices.Contains(exp, g.Code) {
			t.Errorf("grid %s: workload %s", g.Code, g.Workload.Status)
		}
	}
}

// TestCoverageCounts: the report's rolled-up counts agree with the grid list (one SQL
// definition) and with the whole database.
func TestCoverageCounts(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	r, err := s.Coverage(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want grid.Counts
	err = s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM units),
		(SELECT sum(households) FROM buildings), (SELECT sum(residents) FROM buildings),
		(SELECT count(DISTINCT worker_id) FROM assignments WHERE grid_id IS NOT NULL)`).
		Scan(&want.Buildings, &want.Units, &want.Households, &want.Residents, &want.Workers)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Counts != want {
		t.Errorf("totals %+v, want %+v", r.Totals, want)
	}
	list, err := s.Grids(ctx, grid.GridFilter{Page: grid.Page{Limit: grid.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]grid.Counts{}
	for _, g := range list.Grids {
		byCode[g.Code] = g.Counts
	}
	if len(r.Grids) != 176 || len(byCode) != 176 {
		t.Fatalf("%d grids in the report, %d listed, want 176", len(r.Grids), len(byCode))
	}
	for _, g := range r.Grids {
		if g.Counts != byCode[g.Code] {
			t.Errorf("grid %s: report %+v, list %+v", g.Code, g.Counts, byCode[g.Code])
		}
		if g.PolsbyPopper <= 0 || g.PolsbyPopper > 1 || g.Reock <= 0 || g.Reock > 1 || g.Parts != 1 {
			t.Errorf("grid %s: Polsby–Popper %.3f, Reock %.3f, parts %d", g.Code, g.PolsbyPopper, g.Reock, g.Parts)
		}
	}
	if len(r.Levels) != 3 || r.Levels[2].Grids != 134 || r.Levels[2].Unstaffed != 3 {
		t.Errorf("levels %+v", r.Levels)
	}
}

// TestCoverageSubtree: a subtree's report holds that subtree's grids and findings only.
func TestCoverageSubtree(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	d := demoCopy().Defects
	tests := []struct {
		root     string
		grids    int
		findings grid.Findings
	}{
		// the community holding the gap: its own grids, the gap, nothing else of the city
		{d.GapGrid[:12] + "000", -1, grid.Findings{Gaps: 1}},
		// the subdistrict holding the overlap
		{d.OverlapGrids[0][:9] + "000000", -1, grid.Findings{Overlaps: 1}},
		// an unstaffed level-3 grid alone
		{d.Unstaffed[0], 1, grid.Findings{UnstaffedGrids: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			r, err := s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{Code: tc.root}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Root == nil || r.Root.Code != tc.root {
				t.Fatalf("root %v", r.Root)
			}
			for _, g := range r.Grids {
				if g.Code[:6+3*r.Root.Level] != tc.root[:6+3*r.Root.Level] {
					t.Errorf("grid %s outside the subtree", g.Code)
				}
			}
			if tc.grids > 0 && len(r.Grids) != tc.grids {
				t.Errorf("%d grids", len(r.Grids))
			}
			f := r.Findings
			f.Straddlers = 0 // wherever they happen to fall
			if f != tc.findings {
				t.Errorf("findings %+v, want %+v", r.Findings, tc.findings)
			}
		})
	}
	_, err := s.Coverage(ctx, grid.CoverageOptions{Root: &grid.GridKey{Code: "990100999000000"}})
	if grid.ErrorCode(err) != grid.ENOTFOUND {
		t.Errorf("unknown root: %v", err)
	}
	_, err = s.Coverage(ctx, grid.CoverageOptions{Band: 2})
	if grid.ErrorCode(err) != grid.EINVALID {
		t.Errorf("band 2: %v", err)
	}
}
