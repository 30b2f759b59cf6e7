package grid

import (
	"context"
	"math"
	"sort"
	"time"

	"gridmap/geo"
)

// Coverage defaults (DESIGN.md, invariant 4): 300 households per worker, ±20 %.
const (
	DefaultTarget = 300.0
	DefaultBand   = 0.2
	// DefaultMinAreaM2 is the area below which a gap, overlap or piece outside a parent or grid
	// is numerical noise of the overlay, not a finding: boundaries drawn in different tools
	// rarely share every vertex, and slivers under a square metre mean nothing on the ground.
	DefaultMinAreaM2 = 1.0
)

// CoverageOptions choose the report's scope and thresholds.
type CoverageOptions struct {
	Root      *GridKey // nil: the whole city
	Target    float64  // households per worker
	Band      float64  // accepted deviation from Target, a fraction (0.2: ±20 %)
	MinAreaM2 float64  // pieces smaller than this are ignored
}

// WithDefaults fills zero fields with the defaults.
func (o CoverageOptions) WithDefaults() CoverageOptions {
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Band == 0 {
		o.Band = DefaultBand
	}
	if o.MinAreaM2 == 0 {
		o.MinAreaM2 = DefaultMinAreaM2
	}
	return o
}

// Validate returns EINVALID for thresholds out of range.
func (o CoverageOptions) Validate() error {
	switch {
	case !(o.Target > 0 && o.Target <= 1e6):
		return Errorf(EINVALID, "target %v: want households per worker in (0, 1000000]", o.Target)
	case !(o.Band >= 0 && o.Band < 1):
		return Errorf(EINVALID, "band %v: want a fraction in [0, 1)", o.Band)
	case !(o.MinAreaM2 >= 0 && o.MinAreaM2 <= 1e6):
		return Errorf(EINVALID, "min area %v m²: want [0, 1000000]", o.MinAreaM2)
	}
	return nil
}

// CoverageService computes coverage reports.
type CoverageService interface {
	// Coverage returns the coverage report of o.Root's subtree (or the whole city). EINVALID
	// for bad options, ENOTFOUND for an unknown root.
	Coverage(ctx context.Context, o CoverageOptions) (*CoverageReport, error)
}

// UnitRef names a unit in replies.
type UnitRef struct {
	ID           int64  `json:"id"`
	Label        string `json:"label"`
	BuildingID   int64  `json:"building_id"`
	BuildingCode string `json:"building_code"`
}

// Gap is an area of a parent (or of the city, for level 1) that none of its children covers.
type Gap struct {
	Parent    *GridRef    `json:"parent"` // nil: the city boundary
	Bordering []GridRef   `json:"bordering"`
	AreaM2    float64     `json:"area_m2"`
	Geometry  geo.GeoJSON `json:"geometry"`
}

// Overlap is an area two grids of one level both cover.
type Overlap struct {
	Grids    [2]GridRef  `json:"grids"`
	AreaM2   float64     `json:"area_m2"`
	Geometry geo.GeoJSON `json:"geometry"`
}

// OutsideParent is the part of a grid outside its parent (or, for level 1, outside the city).
type OutsideParent struct {
	Grid     GridRef     `json:"grid"`
	Parent   *GridRef    `json:"parent"` // nil: the city boundary
	AreaM2   float64     `json:"area_m2"`
	Geometry geo.GeoJSON `json:"geometry"`
}

// Straddler is a building whose footprint reaches out of its level-3 grid.
type Straddler struct {
	Building     BuildingRef `json:"building"`
	Grid         GridRef     `json:"grid"`
	AreaM2       float64     `json:"area_m2"`
	OutsideM2    float64     `json:"outside_m2"`
	ShareOutside float64     `json:"share_outside"`
}

// MultiGridBuilding is a building whose point on surface lies in more than one level-3 grid
// (an overlap): its grid is ambiguous.
type MultiGridBuilding struct {
	Building BuildingRef `json:"building"`
	Grids    []GridRef   `json:"grids"`
}

// GridFact is what the store measures about one grid.
type GridFact struct {
	GridRef
	ParentID     *int64
	AreaM2       float64
	PerimeterM   float64
	PolsbyPopper float64
	Reock        float64
	Parts        int
	Own          Counts // buildings derived into this very grid, their units and households
}

// GridStaff is a current assignment of an unretired worker to a grid.
type GridStaff struct {
	GridID   int64
	WorkerID int64
}

// CoverageFacts are the store's measurements for one report; BuildCoverage turns them into it.
type CoverageFacts struct {
	DataVersion        int64
	Root               *GridRef
	Grids              []GridFact // every current grid in scope
	Staff              []GridStaff
	Gaps               []Gap
	Overlaps           []Overlap
	OutsideParent      []OutsideParent
	BuildingsOutside   []BuildingRef
	MultiGrid          []MultiGridBuilding
	Straddlers         []Straddler
	UnstaffedBuildings []BuildingRef
	UnstaffedUnits     []UnitRef
}

// Workload statuses of a grid against the target band.
const (
	WorkloadWithin    = "within"
	WorkloadUnder     = "under"
	WorkloadOver      = "over"
	WorkloadUnstaffed = "unstaffed"
)

// Workload is households per worker of a grid. Workers are the distinct grid staff of the
// level-3 grids in the grid's subtree: they are who visits the households (leaders of levels
// 1 and 2 supervise, they do not carry households). For levels 1 and 2, Min and Max range
// over the level-3 grids below.
type Workload struct {
	Households int      `json:"households"`
	Workers    int      `json:"workers"`
	PerWorker  *float64 `json:"per_worker"` // nil: no workers
	Deviation  *float64 `json:"deviation"`  // (PerWorker − target) / target
	Status     string   `json:"status"`
	Min        *float64 `json:"min_per_worker,omitempty"`
	Max        *float64 `json:"max_per_worker,omitempty"`
}

// GridCoverage is one grid in the report.
type GridCoverage struct {
	GridRef
	ParentID     *int64   `json:"parent_id"`
	Counts                // rolled up over the subtree
	AreaM2       float64  `json:"area_m2"`
	PolsbyPopper float64  `json:"polsby_popper"`
	Reock        float64  `json:"reock"`
	Parts        int      `json:"parts"`
	Workload     Workload `json:"workload"`
}

// LevelSummary rolls a level up: counts, the spread of households per worker and compactness.
type LevelSummary struct {
	Level         int      `json:"level"`
	Grids         int      `json:"grids"`
	Within        int      `json:"within"`
	Under         int      `json:"under"`
	Over          int      `json:"over"`
	Unstaffed     int      `json:"unstaffed"`
	MinPerWorker  *float64 `json:"min_per_worker"`
	MaxPerWorker  *float64 `json:"max_per_worker"`
	MeanPerWorker *float64 `json:"mean_per_worker"`
	// RMSDeviation is the root mean square of the grids' relative deviations from the target:
	// 0 when every grid carries exactly the target.
	RMSDeviation     *float64 `json:"rms_deviation"`
	MaxDeviation     *float64 `json:"max_abs_deviation"`
	MinPolsbyPopper  float64  `json:"min_polsby_popper"`
	MeanPolsbyPopper float64  `json:"mean_polsby_popper"`
	MinReock         float64  `json:"min_reock"`
	MeanReock        float64  `json:"mean_reock"`
}

// Unstaffed lists what has no current, unretired staff: grids without a grid leader or
// worker, buildings without a building leader, units without a unit leader.
type Unstaffed struct {
	Grids     []GridRef     `json:"grids"`
	Buildings []BuildingRef `json:"buildings"`
	Units     []UnitRef     `json:"units"`
}

// Findings count each kind of defect; all zero means the hierarchy is sound.
type Findings struct {
	Gaps               int `json:"gaps"`
	Overlaps           int `json:"overlaps"`
	OutsideParent      int `json:"outside_parent"`
	BuildingsOutside   int `json:"buildings_outside"`
	MultiGrid          int `json:"buildings_multi_grid"`
	Straddlers         int `json:"straddlers"`
	UnstaffedGrids     int `json:"unstaffed_grids"`
	UnstaffedBuildings int `json:"unstaffed_buildings"`
	UnstaffedUnits     int `json:"unstaffed_units"`
	NonContiguous      int `json:"noncontiguous"`
}

// Total is the number of findings.
func (f Findings) Total() int {
	return f.Gaps + f.Overlaps + f.OutsideParent + f.BuildingsOutside + f.MultiGrid + f.Straddlers +
		f.UnstaffedGrids + f.UnstaffedBuildings + f.UnstaffedUnits + f.NonContiguous
}

// ReportOptions are the thresholds a report was computed with.
type ReportOptions struct {
	Target    float64 `json:"target"`
	Band      float64 `json:"band"`
	MinAreaM2 float64 `json:"min_area_m2"`
}

// CoverageReport is DESIGN.md's coverage report for a subtree or the whole city. Workload out
// of band is a balance measure, not a defect: it shows in Levels and Grids, not in Findings.
type CoverageReport struct {
	GeneratedAt        time.Time           `json:"generated_at"`
	DataVersion        int64               `json:"data_version"`
	Root               *GridRef            `json:"root"` // nil: the whole city
	Options            ReportOptions       `json:"options"`
	OK                 bool                `json:"ok"`
	Findings           Findings            `json:"findings"`
	Totals             Counts              `json:"totals"`
	Levels             []LevelSummary      `json:"levels"`
	Gaps               []Gap               `json:"gaps"`
	Overlaps           []Overlap           `json:"overlaps"`
	OutsideParent      []OutsideParent     `json:"outside_parent"`
	BuildingsOutside   []BuildingRef       `json:"buildings_outside"`
	BuildingsMultiGrid []MultiGridBuilding `json:"buildings_multi_grid"`
	Straddlers         []Straddler         `json:"straddlers"`
	Unstaffed          Unstaffed           `json:"unstaffed"`
	NonContiguous      []GridRef           `json:"noncontiguous"`
	Grids              []GridCoverage      `json:"grids"`
	Elapsed            time.Duration       `json:"-"`
}

// BuildCoverage turns the store's measurements into the report: it rolls counts and staff up
// the hierarchy, rates each grid's workload against the band, summarises each level and
// counts the findings. Facts about grids outside the scope are the store's to leave out.
func BuildCoverage(f CoverageFacts, o CoverageOptions, now time.Time) *CoverageReport {
	o = o.WithDefaults()
	r := &CoverageReport{
		GeneratedAt: now.UTC(),
		DataVersion: f.DataVersion,
		Root:        f.Root,
		Options:     ReportOptions{Target: o.Target, Band: o.Band, MinAreaM2: o.MinAreaM2},
		Gaps:        nonNil(f.Gaps), Overlaps: nonNil(f.Overlaps), OutsideParent: nonNil(f.OutsideParent),
		BuildingsOutside: nonNil(f.BuildingsOutside), BuildingsMultiGrid: nonNil(f.MultiGrid),
		Straddlers:    nonNil(f.Straddlers),
		Unstaffed:     Unstaffed{Grids: []GridRef{}, Buildings: nonNil(f.UnstaffedBuildings), Units: nonNil(f.UnstaffedUnits)},
		NonContiguous: []GridRef{},
	}
	grids := append([]GridFact(nil), f.Grids...)
	sort.Slice(grids, func(a, b int) bool { return grids[a].Code < grids[b].Code })
	index := make(map[int64]int, len(grids))
	for k, g := range grids {
		index[g.ID] = k
	}
	// subtree members of each grid: the grid and its descendants in scope
	members := make([][]int, len(grids))
	for k := range grids {
		for cur, ok := k, true; ok; {
			members[cur] = append(members[cur], k)
			p := grids[cur].ParentID
			if p == nil {
				break
			}
			cur, ok = index[*p]
		}
	}
	staff := map[int64][]int64{} // grid → workers
	for _, s := range f.Staff {
		staff[s.GridID] = append(staff[s.GridID], s.WorkerID)
	}
	lo, hi := o.Target*(1-o.Band), o.Target*(1+o.Band)
	r.Grids = make([]GridCoverage, len(grids))
	for k, g := range grids {
		gc := GridCoverage{GridRef: g.GridRef, ParentID: g.ParentID, AreaM2: g.AreaM2,
			PolsbyPopper: g.PolsbyPopper, Reock: g.Reock, Parts: g.Parts}
		all, carriers := map[int64]bool{}, map[int64]bool{}
		var perL3 []float64
		for _, m := range members[k] {
			own := grids[m].Own
			gc.Buildings += own.Buildings
			gc.Units += own.Units
			gc.Households += own.Households
			gc.Residents += own.Residents
			for _, w := range staff[grids[m].ID] {
				all[w] = true
				if grids[m].Level == LevelGrid {
					carriers[w] = true
				}
			}
			if grids[m].Level == LevelGrid && g.Level < LevelGrid {
				if n := distinct(staff[grids[m].ID]); n > 0 {
					perL3 = append(perL3, float64(grids[m].Own.Households)/float64(n))
				}
			}
		}
		gc.Workers = len(all)
		gc.Workload = rate(gc.Households, len(carriers), o.Target, lo, hi)
		if len(perL3) > 0 {
			mn, mx := minMax(perL3)
			gc.Workload.Min, gc.Workload.Max = &mn, &mx
		}
		if len(staff[g.ID]) == 0 {
			r.Unstaffed.Grids = append(r.Unstaffed.Grids, g.GridRef)
		}
		if g.Parts > 1 {
			r.NonContiguous = append(r.NonContiguous, g.GridRef)
		}
		r.Grids[k] = gc
	}
	// totals: the roots of the scope (grids whose parent is not in it)
	for k, g := range grids {
		if g.ParentID != nil {
			if _, in := index[*g.ParentID]; in {
				continue
			}
		}
		t := r.Grids[k].Counts
		r.Totals.Buildings += t.Buildings
		r.Totals.Units += t.Units
		r.Totals.Households += t.Households
		r.Totals.Residents += t.Residents
	}
	all := map[int64]bool{}
	for _, s := range f.Staff {
		all[s.WorkerID] = true
	}
	r.Totals.Workers = len(all)
	r.Levels = summarise(r.Grids)
	r.Findings = Findings{
		Gaps: len(r.Gaps), Overlaps: len(r.Overlaps), OutsideParent: len(r.OutsideParent),
		BuildingsOutside: len(r.BuildingsOutside), MultiGrid: len(r.BuildingsMultiGrid),
		Straddlers: len(r.Straddlers), UnstaffedGrids: len(r.Unstaffed.Grids),
		UnstaffedBuildings: len(r.Unstaffed.Buildings), UnstaffedUnits: len(r.Unstaffed.Units),
		NonContiguous: len(r.NonContiguous),
	}
	r.OK = r.Findings.Total() == 0
	return r
}

// rate returns the workload of households shared by workers against the band [lo, hi].
func rate(households, workers int, target, lo, hi float64) Workload {
	w := Workload{Households: households, Workers: workers}
	if workers == 0 {
		w.Status = WorkloadUnstaffed
		return w
	}
	per := float64(households) / float64(workers)
	dev := (per - target) / target
	w.PerWorker, w.Deviation = &per, &dev
	switch {
	case per < lo:
		w.Status = WorkloadUnder
	case per > hi:
		w.Status = WorkloadOver
	default:
		w.Status = WorkloadWithin
	}
	return w
}

func summarise(grids []GridCoverage) []LevelSummary {
	var out []LevelSummary
	for level := LevelSubdistrict; level <= LevelGrid; level++ {
		s := LevelSummary{Level: level}
		var per, dev, pp, reock []float64
		for _, g := range grids {
			if g.Level != level {
				continue
			}
			s.Grids++
			pp = append(pp, g.PolsbyPopper)
			reock = append(reock, g.Reock)
			switch g.Workload.Status {
			case WorkloadWithin:
				s.Within++
			case WorkloadUnder:
				s.Under++
			case WorkloadOver:
				s.Over++
			case WorkloadUnstaffed:
				s.Unstaffed++
			}
			if g.Workload.PerWorker != nil {
				per = append(per, *g.Workload.PerWorker)
				dev = append(dev, *g.Workload.Deviation)
			}
		}
		if s.Grids == 0 {
			continue
		}
		if len(per) > 0 {
			mn, mx := minMax(per)
			mean := meanOf(per)
			var sq, maxAbs float64
			for _, d := range dev {
				sq += d * d
				maxAbs = math.Max(maxAbs, math.Abs(d))
			}
			rms := math.Sqrt(sq / float64(len(dev)))
			s.MinPerWorker, s.MaxPerWorker, s.MeanPerWorker = &mn, &mx, &mean
			s.RMSDeviation, s.MaxDeviation = &rms, &maxAbs
		}
		s.MinPolsbyPopper, _ = minMax(pp)
		s.MeanPolsbyPopper = meanOf(pp)
		s.MinReock, _ = minMax(reock)
		s.MeanReock = meanOf(reock)
		out = append(out, s)
	}
	return out
}

func minMax(xs []float64) (float64, float64) {
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		mn, mx = math.Min(mn, x), math.Max(mx, x)
	}
	return mn, mx
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func distinct(ids []int64) int {
	seen := map[int64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// nonNil makes empty lists marshal as [] rather than null: a report reader can always iterate.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
