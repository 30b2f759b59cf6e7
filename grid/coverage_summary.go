package grid

import (
	"slices"
	"sort"
	"strings"
	"time"

	"gridmap/geo"
)

// CoverageSummary is the coverage report's key figures, small enough for a dashboard to poll:
// what the scope holds, how much of it is staffed and covered exactly once, the spread of
// households per worker against the band, and how many findings of each kind there are.
type CoverageSummary struct {
	GeneratedAt time.Time     `json:"generated_at"`
	DataVersion int64         `json:"data_version"`
	At          *time.Time    `json:"at,omitempty"` // the moment summarised; absent: now
	Root        *GridRef      `json:"root"`         // nil: the whole city
	Options     ReportOptions `json:"options"`
	// GridsPerLevel counts the scope's current grids of levels 1, 2 and 3.
	GridsPerLevel [3]int         `json:"grids_per_level"`
	Grids         int            `json:"grids"`
	Totals        CoverageTotals `json:"totals"`
	// StaffedGrids have grid staff of their own; StaffedShare is their share of Grids
	// (null: no grids).
	StaffedGrids int      `json:"staffed_grids"`
	StaffedShare *float64 `json:"staffed_share"`
	// Buildings are the scope's buildings: Totals.Buildings and, for the whole city, those
	// in no grid. BuildingsOneGrid are those neither outside every level-3 grid, nor in
	// two, nor straddling their grid's boundary; OneGridShare is their share (null: none).
	Buildings        int      `json:"buildings"`
	BuildingsOneGrid int      `json:"buildings_one_grid"`
	OneGridShare     *float64 `json:"one_grid_share"`
	// HouseholdsPerWorker is the spread over the scope's level-3 grids.
	HouseholdsPerWorker WorkloadSpread `json:"households_per_worker"`
	Gaps                int            `json:"gaps"`
	Overlaps            int            `json:"overlaps"`
	Findings            Findings       `json:"findings"`
	FindingsTotal       int            `json:"findings_total"`
	OK                  bool           `json:"ok"`
	// EmptyLevel is what of the scope is not divided yet.
	EmptyLevel EmptyLevel `json:"empty_level"`
}

// EmptyLevelListed is how many undivided grids a summary names (EmptyLevel.First).
const EmptyLevelListed = 6

// EmptyLevel is the part of a scope whose level below is still empty: its level-1 and level-2
// grids with no current child. A real city arrives like this (its districts and villages from
// official boundaries, no level-3 grid yet), and the report counts each such grid's whole area
// as a gap and the buildings derived into it as outside every level-3 grid: work not done yet
// rather than defects, which a view may leave out (the issue list's OmitEmptyLevel). Gaps and
// BuildingsOutside say how many of the summary's findings are theirs.
type EmptyLevel struct {
	// Grids counts the undivided grids of levels 1 and 2; Households, what they hold.
	Grids            [2]int `json:"grids"`
	Households       [2]int `json:"households"`
	Gaps             int    `json:"gaps"`
	BuildingsOutside int    `json:"buildings_outside"`
	// First are the first of them by code (at most EmptyLevelListed); a root with no child
	// is the only one of its scope.
	First []GridRef `json:"first"`
}

// WorkloadSpread is households per worker over a set of level-3 grids against the band
// [Low, High]: the grids within, under and over it, those without workers, and the minimum,
// median and maximum of the staffed ones (null when none is staffed).
type WorkloadSpread struct {
	Low       float64  `json:"low"`
	High      float64  `json:"high"`
	Within    int      `json:"within"`
	Under     int      `json:"under"`
	Over      int      `json:"over"`
	Unstaffed int      `json:"unstaffed"`
	Min       *float64 `json:"min"`
	Median    *float64 `json:"median"`
	Max       *float64 `json:"max"`
}

// SummarizeCoverage computes the key figures from a read (whose lists may be empty pages:
// only their lengths count).
func SummarizeCoverage(r CoverageRead, o CoverageOptions, now time.Time) *CoverageSummary {
	o = o.WithDefaults()
	o.Page = nil // every grid counts
	rep := AssembleCoverage(r, o, now)
	s := &CoverageSummary{GeneratedAt: rep.GeneratedAt, DataVersion: rep.DataVersion, Root: rep.Root,
		Options: rep.Options, Grids: len(rep.Grids), Totals: rep.Totals, Gaps: rep.Findings.Gaps,
		Overlaps: rep.Findings.Overlaps, Findings: rep.Findings, FindingsTotal: rep.Findings.Total(), OK: rep.OK}
	s.HouseholdsPerWorker = WorkloadSpread{Low: o.Target * (1 - o.Band), High: o.Target * (1 + o.Band)}
	var per []float64
	for _, g := range rep.Grids {
		s.GridsPerLevel[g.Level-1]++
		if g.Level != LevelGrid {
			continue
		}
		h := &s.HouseholdsPerWorker
		switch g.Workload.Status {
		case WorkloadWithin:
			h.Within++
		case WorkloadUnder:
			h.Under++
		case WorkloadOver:
			h.Over++
		case WorkloadUnstaffed:
			h.Unstaffed++
		}
		if g.Workload.PerWorker != nil {
			per = append(per, *g.Workload.PerWorker)
		}
	}
	if len(per) > 0 {
		sort.Float64s(per)
		mn, md, mx := per[0], median(per), per[len(per)-1]
		s.HouseholdsPerWorker.Min, s.HouseholdsPerWorker.Median, s.HouseholdsPerWorker.Max = &mn, &md, &mx
	}
	s.StaffedGrids = s.Grids - rep.Findings.UnstaffedGrids
	s.StaffedShare = share(s.StaffedGrids, s.Grids)
	s.Buildings = rep.Totals.Buildings + r.Ungridded
	f := rep.Findings
	s.BuildingsOneGrid = max(0, s.Buildings-f.BuildingsOutside-f.MultiGrid-f.Straddlers)
	s.OneGridShare = share(s.BuildingsOneGrid, s.Buildings)
	s.EmptyLevel = emptyLevel(rep.Grids, r.EmptyLevel)
	return s
}

// emptyLevel finds the undivided grids among a scope's grids (all of its subtree: a grid's
// children are in scope with it); counted holds the counts of their findings as read.
func emptyLevel(gs []GridCoverage, counted EmptyLevel) EmptyLevel {
	e := EmptyLevel{Gaps: counted.Gaps, BuildingsOutside: counted.BuildingsOutside, First: []GridRef{}}
	parents := make(map[int64]bool, len(gs))
	for _, g := range gs {
		if g.ParentID != nil {
			parents[*g.ParentID] = true
		}
	}
	var undivided []GridRef
	for _, g := range gs {
		if g.Level >= LevelGrid || parents[g.ID] {
			continue
		}
		e.Grids[g.Level-1]++
		e.Households[g.Level-1] += g.Households
		undivided = append(undivided, g.GridRef)
	}
	slices.SortFunc(undivided, func(a, b GridRef) int { return strings.Compare(a.Code, b.Code) })
	e.First = append(e.First, undivided[:min(len(undivided), EmptyLevelListed)]...)
	return e
}

// median of sorted xs.
func median(xs []float64) float64 {
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := float64(n) / float64(of)
	return &v
}

// Kinds of coverage issue: one per list of the report.
const (
	IssueGap               = "gap"              // part of a parent (or the city) no child covers
	IssueOverlap           = "overlap"          // area two grids of a level share
	IssueOutsideParent     = "outside_parent"   // part of a grid outside its parent (or the city)
	IssueBuildingOutside   = "building_outside" // building in no level-3 grid
	IssueMultiGrid         = "multi_grid"       // building whose point on surface is in two level-3 grids
	IssueStraddler         = "straddler"        // building reaching out of its level-3 grid
	IssueUnstaffed         = "unstaffed"        // grid without grid staff
	IssueUnstaffedBuilding = "unstaffed_building"
	IssueUnstaffedUnit     = "unstaffed_unit"
	IssueNonContiguous     = "noncontiguous" // grid in more than one piece
)

// IssueKinds are the kinds in the order issue lists give them.
var IssueKinds = []string{IssueGap, IssueOverlap, IssueOutsideParent, IssueBuildingOutside, IssueMultiGrid,
	IssueStraddler, IssueUnstaffed, IssueUnstaffedBuilding, IssueUnstaffedUnit, IssueNonContiguous}

// IssueQuery asks for a page of the coverage findings of a scope as one list.
type IssueQuery struct {
	Root      *GridKey // nil: the whole city
	Kinds     []string // empty: every kind
	BBox      *BBox    // only issues whose geometry meets the box
	MinAreaM2 float64  // as CoverageOptions.MinAreaM2
	Geometry  bool     // with each issue's geometry
	// OmitEmptyLevel leaves out the findings of the empty level (EmptyLevel): the gap of each
	// level-1 or level-2 grid with no child yet, and the buildings derived into such a grid.
	OmitEmptyLevel bool
	Page           Page
}

// Validate returns EINVALID for an unknown kind, a bad box, area or page.
func (q IssueQuery) Validate() error {
	for _, k := range q.Kinds {
		if !slices.Contains(IssueKinds, k) {
			return Errorf(EINVALID, "kind %q: want one of %v", k, IssueKinds)
		}
	}
	if q.BBox != nil {
		if err := q.BBox.Validate(); err != nil {
			return err
		}
	}
	if err := q.Page.Validate(); err != nil {
		return err
	}
	return CoverageOptions{MinAreaM2: q.MinAreaM2}.WithDefaults().Validate()
}

// Issue is one finding: what kind, which grids (a gap's parent, none for the city's; the two
// grids of an overlap; the grid, then its parent, of a piece outside it; the grid of a
// building or unit; the grids holding a building twice), the building or unit, the area in
// m² (gap, overlap, outside a parent: the pieces; straddler: the part outside), and the
// bounding box of its geometry (a grid's for a grid's finding) as minLon, minLat, maxLon,
// maxLat. Its id is stable while the finding lasts.
type Issue struct {
	ID       string       `json:"id"`
	Kind     string       `json:"kind"`
	Grids    []GridRef    `json:"grids"`
	Building *BuildingRef `json:"building,omitempty"`
	Unit     *UnitRef     `json:"unit,omitempty"`
	AreaM2   *float64     `json:"area_m2"`
	BBox     [4]float64   `json:"bbox"`
	Geometry *geo.GeoJSON `json:"geometry,omitempty"`
}

// IssueList is a page of issues with how many match in all and of each kind.
type IssueList struct {
	DataVersion    int64          `json:"data_version"`
	Root           *GridRef       `json:"root"`
	NumberMatched  int            `json:"numberMatched"`
	NumberReturned int            `json:"numberReturned"`
	ByKind         map[string]int `json:"by_kind"`
	Issues         []Issue        `json:"issues"`
}
