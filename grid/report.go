package grid

import (
	"context"
	"sort"
	"time"
)

// The statistical report: the counts grid workers and community offices hand in, per level of
// the hierarchy, each row rolling up its subtree, as a workbook (or CSV) made by the system
// instead of typed by hand.

// ReportQuery asks for a report.
type ReportQuery struct {
	// Level 1..3 reports that level only; 0 every level below the scope's root.
	Level int
	// Parent is the scope: this grid and its subtree (named as at the report's moment);
	// nil: the whole city.
	Parent *GridKey
	// At is the moment whose division is reported; nil: To when a period is asked for, else
	// now. A past moment is measured from scratch (seconds on a large city).
	At *time.Time
	// From starts the period (From, To] whose changes are counted per row; nil: no period.
	// To nil: now.
	From, To     *time.Time
	Target, Band float64 // households per grid worker and the band around it (defaults)
}

// WithDefaults fills the target and band, and the moment from the period's end.
func (q ReportQuery) WithDefaults() ReportQuery {
	if q.Target == 0 {
		q.Target = DefaultTarget
	}
	if q.Band == 0 {
		q.Band = DefaultBand
	}
	if q.At == nil && q.From != nil {
		q.At = q.To
	}
	return q
}

// Validate returns EINVALID for a level out of range, a period ending before it starts, a
// period end without a start, or bad thresholds.
func (q ReportQuery) Validate() error {
	switch {
	case q.Level < 0 || q.Level > LevelGrid:
		return Errorf(EINVALID, "level %d: want 1, 2 or 3", q.Level)
	case q.To != nil && q.From == nil:
		return Errorf(EINVALID, "to without from: a period needs its start")
	case q.From != nil && q.To != nil && q.To.Before(*q.From):
		return Errorf(EINVALID, "to %s is before from %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	return CoverageOptions{Target: q.Target, Band: q.Band}.WithDefaults().Validate()
}

// Kinds of report row.
const (
	RowGrid  = "grid"  // one grid, with its subtree
	RowRest  = "rest"  // what lies in the scope but in no grid of the sheet's level
	RowTotal = "total" // the whole scope: the same on every sheet
)

// ReportCounts are what a row counts over its subtree (a total row: over the scope). Staff are
// distinct people holding the role in the subtree (someone leading buildings in two grids
// counts in both rows and once in the total).
type ReportCounts struct {
	Grids               [3]int `json:"grids"` // grids of levels 1, 2, 3 (a row's own included)
	Buildings           int    `json:"buildings"`
	Units               int    `json:"units"`
	Households          int    `json:"households"`
	HouseholdsEstimated int    `json:"households_estimated"` // of Households, estimated on import
	Residents           int    `json:"residents"`
	GridLeaders         int    `json:"grid_leaders"`
	GridWorkers         int    `json:"grid_workers"`
	BuildingLeaders     int    `json:"building_leaders"`
	UnitLeaders         int    `json:"unit_leaders"`
	// Carriers are the distinct grid staff of the level-3 grids: who carry the households
	// (the coverage report's workload divisor).
	Carriers           int `json:"carriers"`
	StaffedGrids       int `json:"staffed_grids"` // grids with grid staff of their own
	Gaps               int `json:"gaps"`          // of the grids of the subtree (level 1: of the city, in no row)
	Overlaps           int `json:"overlaps"`      // pairs, under the first grid of the pair
	UnstaffedGrids     int `json:"unstaffed_grids"`
	UnstaffedBuildings int `json:"unstaffed_buildings"` // without a building leader
	UnstaffedUnits     int `json:"unstaffed_units"`     // without a unit leader
	Straddlers         int `json:"straddlers"`          // buildings reaching 1 m² or more out of their level-3 grid
}

// GridCount is the number of grids the counts cover.
func (c ReportCounts) GridCount() int { return c.Grids[0] + c.Grids[1] + c.Grids[2] }

// StaffedShare is the share of the grids with grid staff (nil: no grids).
func (c ReportCounts) StaffedShare() *float64 {
	n := c.GridCount()
	if n == 0 {
		return nil
	}
	v := float64(c.StaffedGrids) / float64(n)
	return &v
}

// Workload rates the counts' households per carrier against target ± band.
func (c ReportCounts) Workload(target, band float64) Workload {
	return rate(c.Households, c.Carriers, target, target*(1-band), target*(1+band))
}

// Add adds the additive counts of o (staff, distinct people, do not add: left alone).
func (c *ReportCounts) Add(o ReportCounts) {
	for k := range c.Grids {
		c.Grids[k] += o.Grids[k]
	}
	c.Buildings += o.Buildings
	c.Units += o.Units
	c.Households += o.Households
	c.HouseholdsEstimated += o.HouseholdsEstimated
	c.Residents += o.Residents
	c.StaffedGrids += o.StaffedGrids
	c.Gaps += o.Gaps
	c.Overlaps += o.Overlaps
	c.UnstaffedGrids += o.UnstaffedGrids
	c.UnstaffedBuildings += o.UnstaffedBuildings
	c.UnstaffedUnits += o.UnstaffedUnits
	c.Straddlers += o.Straddlers
}

// ReportPeriod counts a row's changes over the report's period: grids created (new codes: by
// a split, a divide, an import), split (grids a split cut a new grid from), merged (grids
// merged away into another), reshaped (boundary changed), retired (gone, merged ones
// included); buildings moved into and out of the row's grid; assignments started and ended.
type ReportPeriod struct {
	Created  int `json:"created"`
	Split    int `json:"split"`
	Merged   int `json:"merged"`
	Reshaped int `json:"reshaped"`
	Retired  int `json:"retired"`
	MovedIn  int `json:"moved_in"`
	MovedOut int `json:"moved_out"`
	Started  int `json:"started"`
	Ended    int `json:"ended"`
}

// Add adds o.
func (p *ReportPeriod) Add(o ReportPeriod) {
	p.Created += o.Created
	p.Split += o.Split
	p.Merged += o.Merged
	p.Reshaped += o.Reshaped
	p.Retired += o.Retired
	p.MovedIn += o.MovedIn
	p.MovedOut += o.MovedOut
	p.Started += o.Started
	p.Ended += o.Ended
}

// ReportRow is one row of a level's sheet (or the total).
type ReportRow struct {
	Kind  string   `json:"kind"`
	Level int      `json:"level"` // the sheet's level (0 for the total)
	Grid  *GridRef `json:"grid"`  // RowGrid only
	// Ancestors are the grid's parents as then, level 1 first (RowGrid only).
	Ancestors []GridRef `json:"ancestors"`
	ReportCounts
	Period *ReportPeriod `json:"period"` // nil without a period
}

// ReportHead is what precedes a report's rows: its provenance, scope, moment and period, the
// scope's totals and findings.
type ReportHead struct {
	City        string     `json:"city"`
	Root        *GridRef   `json:"root"` // nil: the whole city
	At          *time.Time `json:"at"`   // nil: now
	From        *time.Time `json:"from"`
	To          *time.Time `json:"to"`
	GeneratedAt time.Time  `json:"generated_at"`
	DataVersion int64      `json:"data_version"`
	Target      float64    `json:"target"`
	Band        float64    `json:"band"`
	Levels      []int      `json:"levels"` // the levels reported, one sheet each
	Total       ReportRow  `json:"total"`
	// Findings are the coverage report's counts for the scope; Ungridded the buildings in no
	// grid (the whole city only), which no row counts.
	Findings  Findings `json:"findings"`
	Ungridded int      `json:"ungridded"`
}

// ReportSink receives a report as the store reads it: Head once, then for each level of
// Head.Levels, Level and its rows — grids by code, then the rest (when it holds anything),
// then the total.
type ReportSink interface {
	Head(h ReportHead) error
	Level(level int) error
	Row(r ReportRow) error
}

// ReportService reads statistical reports.
type ReportService interface {
	// Report reads the report q and hands it to sink as it reads, rows streamed from the
	// database (memory stays constant whatever the city's size). EINVALID, ENOTFOUND for an
	// unknown parent.
	Report(ctx context.Context, q ReportQuery, sink ReportSink) error
}

// Staff roles in report order: the columns of ReportCounts' staff.
var reportRoles = [4]string{RoleGridLeader, RoleGridWorker, RoleBuildingLeader, RoleUnitLeader}

// ReportKeyFacts are what the store measures of one subtree beyond the coverage read,
// keyed by the code prefix its grids share: distinct staff by role (reportRoles' order)
// and, additive, the estimated households and the buildings and units without their leader.
type ReportKeyFacts struct {
	Staff               [4]int
	HouseholdsEstimated int
	UnstaffedBuildings  int
	UnstaffedUnits      int
}

// ReportFacts are the store's measurements for a report: the coverage read of the scope (every
// grid rolled up, every list whole), the facts per subtree of each sheet level (by code
// prefix; level 0: the scope as a whole, key ""), and the period's changes (nil without one).
type ReportFacts struct {
	Read    CoverageRead
	Keys    map[int]map[string]ReportKeyFacts
	Changes *Changes
}

// PrefixLen is the length of the code prefix the grids of a level-`level` grid's subtree
// share (the whole code for level 3).
func PrefixLen(level int) int { return 6 + 3*level }

// AssembleReport hands the report of f to sink: the head (totals of the scope, the coverage
// report's findings), then for each level the grids of that level by code, each rolling up its
// subtree. levels are the sheets' levels.
func AssembleReport(q ReportQuery, f ReportFacts, levels []int, head ReportHead, sink ReportSink) error {
	cov := AssembleCoverage(f.Read, CoverageOptions{Target: q.Target, Band: q.Band, MinAreaM2: DefaultMinAreaM2, Page: &Page{}}, head.GeneratedAt)
	head.Findings, head.Ungridded, head.Levels = cov.Findings, f.Read.Ungridded, levels
	rows := map[int]map[string]*ReportRow{}
	for _, l := range levels {
		rows[l] = map[string]*ReportRow{}
	}
	total := &ReportRow{Kind: RowTotal}
	byID := map[int64]GridRollup{}
	for _, g := range f.Read.Grids {
		byID[g.ID] = g
	}
	rowOf := func(l int, code string) *ReportRow {
		if len(code) < PrefixLen(l) {
			return nil
		}
		return rows[l][code[:PrefixLen(l)]]
	}
	for _, g := range f.Read.Grids {
		if r, ok := rows[g.Level]; ok {
			ref := g.GridRef
			row := &ReportRow{Kind: RowGrid, Level: g.Level, Grid: &ref, Ancestors: []GridRef{}}
			row.Buildings, row.Units, row.Households, row.Residents = g.Buildings, g.Units, g.Households, g.Residents
			row.Carriers = g.Carriers
			for p := g.ParentID; p != nil; {
				a, ok := byID[*p]
				if !ok {
					break
				}
				row.Ancestors = append([]GridRef{a.GridRef}, row.Ancestors...)
				p = a.ParentID
			}
			r[g.Code[:PrefixLen(g.Level)]] = row
		}
	}
	// grids of the subtree, staffed or not, counted in every row above them and in the total
	for _, g := range f.Read.Grids {
		for _, l := range append([]int{0}, levels...) {
			row := total
			if l > 0 {
				if l > g.Level {
					continue
				}
				if row = rowOf(l, g.Code); row == nil {
					continue
				}
			}
			row.Grids[g.Level-1]++
			if g.Staffed {
				row.StaffedGrids++
			} else {
				row.UnstaffedGrids++
			}
		}
	}
	for _, l := range levels {
		for key, kf := range f.Keys[l] {
			if row := rows[l][key]; row != nil {
				row.setKeyFacts(kf)
			}
		}
		for _, gp := range f.Read.Lists.Gaps {
			if gp.Parent != nil && gp.Parent.Level >= l {
				if row := rowOf(l, gp.Parent.Code); row != nil {
					row.Gaps++
				}
			}
		}
		for _, o := range f.Read.Lists.Overlaps {
			if row := rowOf(l, o.Grids[0].Code); row != nil && o.Grids[0].Level >= l {
				row.Overlaps++
			}
		}
		for _, s := range f.Read.Lists.Straddlers {
			if row := rowOf(l, s.Grid.Code); row != nil && s.Grid.Level >= l {
				row.Straddlers++
			}
		}
		if f.Changes != nil {
			periodRows(l, f.Changes, rows[l], rowOf)
		}
	}
	total.setKeyFacts(f.Keys[0][""])
	t := cov.Totals
	total.Buildings, total.Units, total.Households, total.Residents = t.Buildings, t.Units, t.Households, t.Residents
	total.Gaps, total.Overlaps, total.Straddlers = cov.Findings.Gaps, cov.Findings.Overlaps, cov.Findings.Straddlers
	total.UnstaffedBuildings, total.UnstaffedUnits = cov.Findings.UnstaffedBuildings, cov.Findings.UnstaffedUnits
	total.Carriers = cov.Totals.Workers
	if f.Changes != nil {
		total.Period = &ReportPeriod{}
		periodRows(0, f.Changes, map[string]*ReportRow{"": total}, func(int, string) *ReportRow { return total })
	}
	head.Total = *total
	if err := sink.Head(head); err != nil {
		return err
	}
	for _, l := range levels {
		if err := sink.Level(l); err != nil {
			return err
		}
		keys := make([]string, 0, len(rows[l]))
		for k := range rows[l] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r := rows[l][k]
			if f.Changes != nil && r.Period == nil {
				r.Period = &ReportPeriod{}
			}
			if err := sink.Row(*r); err != nil {
				return err
			}
		}
		tr := *total
		tr.Level = l
		if err := sink.Row(tr); err != nil {
			return err
		}
	}
	return nil
}

func (r *ReportRow) setKeyFacts(kf ReportKeyFacts) {
	r.GridLeaders, r.GridWorkers, r.BuildingLeaders, r.UnitLeaders = kf.Staff[0], kf.Staff[1], kf.Staff[2], kf.Staff[3]
	r.HouseholdsEstimated, r.UnstaffedBuildings, r.UnstaffedUnits = kf.HouseholdsEstimated, kf.UnstaffedBuildings, kf.UnstaffedUnits
}

// periodRows counts the period's changes into the rows of level l (0: the one total row).
func periodRows(l int, c *Changes, rows map[string]*ReportRow, rowOf func(int, string) *ReportRow) {
	at := func(code string, level int) *ReportPeriod {
		if l > 0 && level < l {
			return nil
		}
		r := rowOf(l, code)
		if r == nil {
			return nil
		}
		if r.Period == nil {
			r.Period = &ReportPeriod{}
		}
		return r.Period
	}
	for _, g := range c.Grids {
		p := at(g.Code, g.Level)
		if p == nil {
			continue
		}
		if g.Added {
			p.Created++
			for _, e := range g.Edits {
				if e.Action == "grid.split" {
					p.Split++
					break
				}
			}
		}
		if g.Retired {
			p.Retired++
			if g.Successor != nil {
				p.Merged++
			}
		}
		if g.Reshaped {
			p.Reshaped++
		}
	}
	for _, b := range c.Buildings {
		if b.From != nil {
			if p := at(b.From.Code, b.From.Level); p != nil {
				p.MovedOut++
			}
		}
		if b.To != nil {
			if p := at(b.To.Code, b.To.Level); p != nil {
				p.MovedIn++
			}
		}
	}
	for _, a := range c.Assignments {
		if a.Grid == nil {
			continue
		}
		if p := at(a.Grid.Code, a.Grid.Level); p != nil {
			if a.Event == AssignmentStarted {
				p.Started++
			} else {
				p.Ended++
			}
		}
	}
}
