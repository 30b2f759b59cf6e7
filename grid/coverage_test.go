package grid_test

import (
	"math"
	"testing"
	"time"

	"gridmap/grid"
)

func id(n int64) *int64 { return &n }

// A city of one subdistrict (1), one community (2) and three grids (3, 4, 5): the rules of
// BuildCoverage without a database.
func tinyFacts() grid.CoverageFacts {
	g := func(i int64, level int, parent *int64, households int) grid.GridFact {
		return grid.GridFact{GridRef: grid.GridRef{ID: i, Level: level, Code: string(rune('0' + i))},
			ParentID: parent, Parts: 1, Own: grid.Counts{Buildings: households / 100, Households: households}}
	}
	return grid.CoverageFacts{
		Grids: []grid.GridFact{
			g(1, 1, nil, 0), g(2, 2, id(1), 0),
			g(3, 3, id(2), 600), g(4, 3, id(2), 300), g(5, 3, id(2), 400),
		},
		Staff: []grid.GridStaff{
			{GridID: 1, WorkerID: 100}, {GridID: 2, WorkerID: 101},
			{GridID: 3, WorkerID: 1}, {GridID: 3, WorkerID: 2}, // 300 each: within
			{GridID: 4, WorkerID: 3}, {GridID: 4, WorkerID: 4}, // 150 each: under
			{GridID: 4, WorkerID: 1}, // worker 1 also helps in grid 4: counted once above
		},
	}
}

func TestBuildCoverageWorkload(t *testing.T) {
	r := grid.BuildCoverage(tinyFacts(), grid.CoverageOptions{}, time.Unix(0, 0))
	byID := map[int64]grid.GridCoverage{}
	for _, g := range r.Grids {
		byID[g.ID] = g
	}
	tests := []struct {
		id         int64
		status     string
		households int
		workers    int
		perWorker  float64
	}{
		{3, grid.WorkloadWithin, 600, 2, 300},
		{4, grid.WorkloadUnder, 300, 3, 100},
		{5, grid.WorkloadUnstaffed, 400, 0, 0},
		// rolled up: the level-3 staff below (4 distinct), all the households below
		{2, grid.WorkloadWithin, 1300, 4, 325},
		{1, grid.WorkloadWithin, 1300, 4, 325},
	}
	for _, tc := range tests {
		w := byID[tc.id].Workload
		if w.Status != tc.status || w.Households != tc.households || w.Workers != tc.workers {
			t.Errorf("grid %d: %+v, want %s %d/%d", tc.id, w, tc.status, tc.households, tc.workers)
		}
		if tc.perWorker > 0 && (w.PerWorker == nil || math.Abs(*w.PerWorker-tc.perWorker) > 1e-9) {
			t.Errorf("grid %d: per worker %v, want %v", tc.id, w.PerWorker, tc.perWorker)
		}
	}
	if c := byID[1].Counts; c.Households != 1300 || c.Buildings != 13 || c.Workers != 6 {
		t.Errorf("subdistrict counts %+v: want 1300 households, 13 buildings, 6 staff (grid staff of every level)", c)
	}
	if mn, mx := byID[2].Workload.Min, byID[2].Workload.Max; mn == nil || *mn != 100 || *mx != 300 {
		t.Errorf("community min/max per worker %v/%v, want 100/300", mn, mx)
	}
	if r.Findings.UnstaffedGrids != 1 || r.Unstaffed.Grids[0].ID != 5 || r.OK {
		t.Errorf("findings %+v", r.Findings)
	}
	l3 := r.Levels[2]
	if l3.Within != 1 || l3.Under != 1 || l3.Unstaffed != 1 || *l3.MinPerWorker != 100 || *l3.MaxPerWorker != 300 {
		t.Errorf("level 3 summary %+v", l3)
	}
	if r.Totals.Households != 1300 || r.Totals.Workers != 6 {
		t.Errorf("totals %+v", r.Totals)
	}
}

func TestBuildCoverageBand(t *testing.T) {
	tests := []struct {
		households int
		status     string
	}{
		{239, grid.WorkloadUnder}, {240, grid.WorkloadWithin}, {360, grid.WorkloadWithin}, {361, grid.WorkloadOver},
	}
	for _, tc := range tests {
		f := grid.CoverageFacts{
			Grids: []grid.GridFact{{GridRef: grid.GridRef{ID: 1, Level: 3}, Own: grid.Counts{Households: tc.households}}},
			Staff: []grid.GridStaff{{GridID: 1, WorkerID: 1}},
		}
		r := grid.BuildCoverage(f, grid.CoverageOptions{Target: 300, Band: 0.2}, time.Now())
		if got := r.Grids[0].Workload.Status; got != tc.status {
			t.Errorf("%d households, one worker: %s, want %s", tc.households, got, tc.status)
		}
	}
}

func TestCoverageOptionsValidate(t *testing.T) {
	for _, o := range []grid.CoverageOptions{{Target: -1}, {Band: 1}, {Band: -0.1}, {MinAreaM2: -1}, {Target: math.NaN()}} {
		if err := o.WithDefaults().Validate(); grid.ErrorCode(err) != grid.EINVALID {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := (grid.CoverageOptions{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
