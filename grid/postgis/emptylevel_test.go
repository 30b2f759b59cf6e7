package postgis_test

import (
	"context"
	"testing"

	"gridmap/grid"
)

// TestEmptyLevel: Liechtenstein as imported — districts, municipalities, buildings, no level-3
// grid — is all empty level: each municipality's whole area a gap, every building in one of
// them outside every level-3 grid (a building over the border, in no grid, is a real finding).
// The summary says so, the issue list without the empty level holds only what is left, the
// grid list does not count an undivided municipality's gap; dividing one leaves ten.
func TestEmptyLevel(t *testing.T) {
	t.Parallel()
	s := liechtenstein(t)
	ctx := context.Background()
	sum, err := s.CoverageSummary(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := sum.EmptyLevel
	if e.Grids != [2]int{0, 11} || e.Households[1] != sum.Totals.Households || e.Gaps < 11 ||
		e.BuildingsOutside > sum.Findings.BuildingsOutside || e.BuildingsOutside == 0 || len(e.First) != grid.EmptyLevelListed {
		t.Fatalf("empty level %+v; gaps %d, findings %+v, households %d", e, sum.Gaps, sum.Findings, sum.Totals.Households)
	}
	for k := 1; k < len(e.First); k++ {
		if e.First[k-1].Code >= e.First[k].Code || e.First[k].Level != 2 {
			t.Errorf("first %v: not level-2 grids in code order", e.First)
		}
	}
	without, err := s.CoverageIssues(ctx, grid.IssueQuery{OmitEmptyLevel: true, Page: grid.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if without.ByKind[grid.IssueGap] != sum.Gaps-e.Gaps || without.ByKind[grid.IssueBuildingOutside] != sum.Findings.BuildingsOutside-e.BuildingsOutside {
		t.Errorf("without the empty level: %v (summary gaps %d, empty %d)", without.ByKind, sum.Gaps, e.Gaps)
	}
	vaduz := q1[int64](t, s, `SELECT id FROM grids WHERE name = 'Vaduz'`)
	one, err := s.CoverageSummary(ctx, grid.CoverageOptions{Root: &grid.GridKey{ID: vaduz}})
	if err != nil {
		t.Fatal(err)
	}
	if one.EmptyLevel.Grids != [2]int{0, 1} || len(one.EmptyLevel.First) != 1 || one.EmptyLevel.First[0].ID != vaduz {
		t.Errorf("Vaduz's own empty level: %+v", one.EmptyLevel)
	}
	list, err := s.Grids(ctx, grid.GridFilter{Level: 2, Status: true, Page: grid.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	// an undivided municipality's own issues (no staff, more than one piece) count; its gap not
	for _, g := range list.Grids {
		own, err := s.CoverageIssues(ctx, grid.IssueQuery{Root: &grid.GridKey{ID: g.ID}, OmitEmptyLevel: true,
			Kinds: []string{grid.IssueGap, grid.IssueOverlap, grid.IssueOutsideParent, grid.IssueStraddler, grid.IssueUnstaffed, grid.IssueNonContiguous}})
		if err != nil {
			t.Fatal(err)
		}
		if g.Status == nil || g.Status.Issues != own.NumberMatched || own.ByKind[grid.IssueGap] != 0 {
			t.Errorf("%s: status %+v; the issue list without the empty level %v", g.Name, g.Status, own.ByKind)
		}
	}
	if _, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: vaduz}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	after, err := s.CoverageSummary(ctx, grid.CoverageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.EmptyLevel.Grids != [2]int{0, 10} || after.EmptyLevel.BuildingsOutside >= e.BuildingsOutside {
		t.Errorf("after dividing Vaduz: %+v", after.EmptyLevel)
	}
	for _, g := range after.EmptyLevel.First {
		if g.ID == vaduz {
			t.Error("Vaduz still undivided")
		}
	}
}
