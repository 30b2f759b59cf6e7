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

// CoverageOptions choose the report's scope, thresholds and page.
type CoverageOptions struct {
	Root      *GridKey // nil: the whole city
	Target    float64  // households per worker
	Band      float64  // accepted deviation from Target, a fraction (0.2: ±20 %)
	MinAreaM2 float64  // pieces smaller than this are ignored (at least DefaultMinAreaM2)
	// Page is the page of each list the report carries (its lengths are always given);
	// nil: every item.
	Page *Page
	// Recompute measures everything from the data instead of reading what the writing
	// transactions keep: a check of the kept facts, slow (seconds on a large city).
	Recompute bool
	// At reports on the division as it stood at that moment, measured from scratch (what is
	// kept describes now only); nil: now.
	At *time.Time
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
	case !(o.MinAreaM2 >= DefaultMinAreaM2 && o.MinAreaM2 <= 1e6):
		// the kept pieces stop at DefaultMinAreaM2: smaller ones are overlay noise
		return Errorf(EINVALID, "min area %v m²: want [%g, 1000000]", o.MinAreaM2, DefaultMinAreaM2)
	}
	if o.Page != nil {
		return o.Page.Validate()
	}
	return nil
}

// CoverageService computes coverage reports.
type CoverageService interface {
	// Coverage returns the coverage report of o.Root's subtree (or the whole city). EINVALID
	// for bad options, ENOTFOUND for an unknown root.
	Coverage(ctx context.Context, o CoverageOptions) (*CoverageReport, error)
	// CoverageSummary returns the report's key figures only. EINVALID, ENOTFOUND.
	CoverageSummary(ctx context.Context, o CoverageOptions) (*CoverageSummary, error)
	// CoverageIssues returns a page of the report's findings as one list, filtered by kind,
	// subtree and box. EINVALID, ENOTFOUND.
	CoverageIssues(ctx context.Context, q IssueQuery) (*IssueList, error)
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
	OwnEstimated bool   // some of Own.Households are estimates
}

// GridStaff is a current assignment of an unretired worker to a grid.
type GridStaff struct {
	GridID   int64
	WorkerID int64
}

// CoverageLists are the report's lists of places: all of each, or one page of each.
type CoverageLists struct {
	Gaps               []Gap
	Overlaps           []Overlap
	OutsideParent      []OutsideParent
	BuildingsOutside   []BuildingRef
	MultiGrid          []MultiGridBuilding
	Straddlers         []Straddler
	UnstaffedBuildings []BuildingRef
	UnstaffedUnits     []UnitRef
}

// CoverageFacts are the store's measurements for one report, taken from scratch;
// BuildCoverage turns them into it.
type CoverageFacts struct {
	DataVersion int64
	Root        *GridRef
	Grids       []GridFact // every current grid in scope
	Staff       []GridStaff
	Ungridded   int // buildings in no grid (the whole city only)
	CoverageLists
}

// GridRollup is one current grid with the facts of its subtree (the grid and every current
// grid below it): what the report is built from. The store keeps these as the data is
// written; RollUp computes them from CoverageFacts.
type GridRollup struct {
	GridRef
	ParentID *int64
	// Counts are the subtree's; Workers counts its distinct grid staff, of every level.
	Counts
	HouseholdsEstimated bool // some of the households are estimates
	// Carriers counts the distinct grid staff of the level-3 grids of the subtree: those
	// who visit the households (see Workload).
	Carriers     int
	Staffed      bool // the grid itself has grid staff
	AreaM2       float64
	PerimeterM   float64
	PolsbyPopper float64
	Reock        float64
	Parts        int
}

// CoverageRead is what a report is assembled from (AssembleCoverage): every grid of the
// scope rolled up, and the lists of places, each as the page asked for, with their lengths.
type CoverageRead struct {
	DataVersion int64
	Root        *GridRef
	Grids       []GridRollup // every current grid in scope
	Workers     int          // distinct grid staff of the scope
	Ungridded   int          // buildings in no grid (the whole city only)
	Lists       CoverageLists
	// Lengths are the lengths of Lists, whatever page of them Lists holds (the counts of
	// the grid findings are the assembly's).
	Lengths Findings
	// EmptyLevel holds how many gaps and buildings outside are the empty level's (read for
	// a summary; its other fields are the summary's to fill).
	EmptyLevel EmptyLevel
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

// CoverageTotals are the counts of the scope: its places and its distinct grid staff.
type CoverageTotals struct {
	Counts
	HouseholdsEstimated bool `json:"households_estimated"` // some households are estimates
}

// ListTotals are the lengths of the report's lists: the findings, and the grids.
type ListTotals struct {
	Findings
	Grids int `json:"grids"`
}

// CoveragePage says which page of each list a report carries and how long each list is.
type CoveragePage struct {
	Limit  *int       `json:"limit"` // null: every item
	Offset int        `json:"offset"`
	Total  ListTotals `json:"total"`
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
	At                 *time.Time          `json:"at,omitempty"` // the moment reported on; absent: now
	Root               *GridRef            `json:"root"`         // nil: the whole city
	Options            ReportOptions       `json:"options"`
	OK                 bool                `json:"ok"`
	Findings           Findings            `json:"findings"`
	Totals             CoverageTotals      `json:"totals"`
	Page               CoveragePage        `json:"page"`
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
// the hierarchy (RollUp) and assembles the report (AssembleCoverage) with the page of
// o.Page. Facts about grids outside the scope are the store's to leave out.
func BuildCoverage(f CoverageFacts, o CoverageOptions, now time.Time) *CoverageReport {
	return AssembleCoverage(FactsRead(f, o.Page), o, now)
}

// FactsRead rolls facts measured from scratch up into what a report is assembled from, with
// the page p of each list (nil: all of it).
func FactsRead(f CoverageFacts, p *Page) CoverageRead {
	lists := f.CoverageLists
	read := CoverageRead{DataVersion: f.DataVersion, Root: f.Root, Grids: RollUp(f), Ungridded: f.Ungridded,
		Lengths: Findings{Gaps: len(lists.Gaps), Overlaps: len(lists.Overlaps), OutsideParent: len(lists.OutsideParent),
			BuildingsOutside: len(lists.BuildingsOutside), MultiGrid: len(lists.MultiGrid), Straddlers: len(lists.Straddlers),
			UnstaffedBuildings: len(lists.UnstaffedBuildings), UnstaffedUnits: len(lists.UnstaffedUnits)},
		Lists: CoverageLists{Gaps: pageOf(lists.Gaps, p), Overlaps: pageOf(lists.Overlaps, p),
			OutsideParent: pageOf(lists.OutsideParent, p), BuildingsOutside: pageOf(lists.BuildingsOutside, p),
			MultiGrid: pageOf(lists.MultiGrid, p), Straddlers: pageOf(lists.Straddlers, p),
			UnstaffedBuildings: pageOf(lists.UnstaffedBuildings, p), UnstaffedUnits: pageOf(lists.UnstaffedUnits, p)},
	}
	all := map[int64]bool{}
	for _, s := range f.Staff {
		all[s.WorkerID] = true
	}
	read.Workers = len(all)
	return read
}

// RollUp computes each grid's subtree facts from the facts of the grids themselves: the
// counts summed over the subtree, its distinct grid staff (Workers) and level-3 grid staff
// (Carriers), whether it has staff itself. Subtrees are taken within f.Grids.
func RollUp(f CoverageFacts) []GridRollup {
	index := make(map[int64]int, len(f.Grids))
	for k, g := range f.Grids {
		index[g.ID] = k
	}
	staff := map[int64][]int64{} // grid → workers
	for _, s := range f.Staff {
		staff[s.GridID] = append(staff[s.GridID], s.WorkerID)
	}
	out := make([]GridRollup, len(f.Grids))
	workers := make([]map[int64]bool, len(f.Grids))
	carriers := make([]map[int64]bool, len(f.Grids))
	for k, g := range f.Grids {
		out[k] = GridRollup{GridRef: g.GridRef, ParentID: g.ParentID, Staffed: len(staff[g.ID]) > 0, AreaM2: g.AreaM2,
			PerimeterM: g.PerimeterM, PolsbyPopper: g.PolsbyPopper, Reock: g.Reock, Parts: g.Parts}
		workers[k], carriers[k] = map[int64]bool{}, map[int64]bool{}
	}
	// each grid's facts go to it and every ancestor in scope
	for m, g := range f.Grids {
		for cur, ok := m, true; ok; {
			r := &out[cur]
			r.Buildings += g.Own.Buildings
			r.Units += g.Own.Units
			r.Households += g.Own.Households
			r.Residents += g.Own.Residents
			r.HouseholdsEstimated = r.HouseholdsEstimated || g.OwnEstimated
			for _, w := range staff[g.ID] {
				workers[cur][w] = true
				if g.Level == LevelGrid {
					carriers[cur][w] = true
				}
			}
			p := f.Grids[cur].ParentID
			if p == nil {
				break
			}
			cur, ok = index[*p]
		}
	}
	for k := range out {
		out[k].Workers, out[k].Carriers = len(workers[k]), len(carriers[k])
	}
	return out
}

// AssembleCoverage builds the report from its read: it rates each grid's workload against
// the band, with the spread of its level-3 grids below; lists unstaffed and non-contiguous
// grids; sums the totals over the scope's top grids; summarises each level and counts the
// findings. The grid lists are paged here, the lists of places come paged in r.
func AssembleCoverage(r CoverageRead, o CoverageOptions, now time.Time) *CoverageReport {
	o = o.WithDefaults()
	rep := &CoverageReport{
		GeneratedAt: now.UTC(),
		DataVersion: r.DataVersion,
		Root:        r.Root,
		Options:     ReportOptions{Target: o.Target, Band: o.Band, MinAreaM2: o.MinAreaM2},
		Gaps:        nonNil(r.Lists.Gaps), Overlaps: nonNil(r.Lists.Overlaps), OutsideParent: nonNil(r.Lists.OutsideParent),
		BuildingsOutside: nonNil(r.Lists.BuildingsOutside), BuildingsMultiGrid: nonNil(r.Lists.MultiGrid),
		Straddlers: nonNil(r.Lists.Straddlers),
		Unstaffed:  Unstaffed{Buildings: nonNil(r.Lists.UnstaffedBuildings), Units: nonNil(r.Lists.UnstaffedUnits)},
	}
	grids := append([]GridRollup(nil), r.Grids...)
	sort.Slice(grids, func(a, b int) bool { return grids[a].Code < grids[b].Code })
	all, unstaffed, noncontiguous := rateGrids(grids, o)
	scope := make(map[int64]bool, len(grids))
	for _, g := range grids {
		scope[g.ID] = true
	}
	for _, g := range grids {
		if g.ParentID != nil && scope[*g.ParentID] {
			continue
		}
		rep.Totals.Buildings += g.Buildings
		rep.Totals.Units += g.Units
		rep.Totals.Households += g.Households
		rep.Totals.Residents += g.Residents
		rep.Totals.HouseholdsEstimated = rep.Totals.HouseholdsEstimated || g.HouseholdsEstimated
	}
	rep.Totals.Workers = r.Workers
	rep.Levels = summarise(all)
	rep.Findings = r.Lengths
	rep.Findings.UnstaffedGrids, rep.Findings.NonContiguous = len(unstaffed), len(noncontiguous)
	rep.OK = rep.Findings.Total() == 0
	rep.Grids = nonNil(pageOf(all, o.Page))
	rep.Unstaffed.Grids = nonNil(pageOf(unstaffed, o.Page))
	rep.NonContiguous = nonNil(pageOf(noncontiguous, o.Page))
	rep.Page = CoveragePage{Total: ListTotals{Findings: rep.Findings, Grids: len(all)}}
	if o.Page != nil {
		limit := o.Page.Limit
		rep.Page.Limit, rep.Page.Offset = &limit, o.Page.Offset
	}
	return rep
}

// rateGrids turns rolled-up grids (sorted by code) into the report's grids, and lists those
// without staff and those in more than one piece.
func rateGrids(grids []GridRollup, o CoverageOptions) (all []GridCoverage, unstaffed, noncontiguous []GridRef) {
	index := make(map[int64]int, len(grids))
	for k, g := range grids {
		index[g.ID] = k
	}
	lo, hi := o.Target*(1-o.Band), o.Target*(1+o.Band)
	all = make([]GridCoverage, len(grids))
	for k, g := range grids {
		all[k] = GridCoverage{GridRef: g.GridRef, ParentID: g.ParentID, Counts: g.Counts, AreaM2: g.AreaM2,
			PolsbyPopper: g.PolsbyPopper, Reock: g.Reock, Parts: g.Parts,
			Workload: rate(g.Households, g.Carriers, o.Target, lo, hi)}
		if !g.Staffed {
			unstaffed = append(unstaffed, g.GridRef)
		}
		if g.Parts > 1 {
			noncontiguous = append(noncontiguous, g.GridRef)
		}
	}
	// the spread below a grid: households per worker of each staffed level-3 grid, carried
	// up to its ancestors in scope
	for _, g := range grids {
		if g.Level != LevelGrid || g.Carriers == 0 || g.ParentID == nil {
			continue
		}
		per := float64(g.Households) / float64(g.Carriers)
		for p, ok := index[*g.ParentID]; ok; {
			w := &all[p].Workload
			if w.Min == nil || per < *w.Min {
				w.Min = &per
			}
			if w.Max == nil || per > *w.Max {
				w.Max = &per
			}
			if all[p].ParentID == nil {
				break
			}
			p, ok = index[*all[p].ParentID]
		}
	}
	return all, unstaffed, noncontiguous
}

// pageOf returns the page p of xs (nil p: all of xs).
func pageOf[T any](xs []T, p *Page) []T {
	if p == nil {
		return xs
	}
	lo := min(p.Offset, len(xs))
	return xs[lo:min(lo+p.Limit, len(xs))]
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

// nonNil makes empty lists marshal as [] rather than null: a report reader can always iterate.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
