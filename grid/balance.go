package grid

import (
	"context"
	"time"
)

// BalanceQuery asks for the balance of the level-3 grids under a parent (any level), or of
// a set of grids (each with the level-3 grids under it), against a workload band.
type BalanceQuery struct {
	Parent *GridKey
	Grids  []GridKey
	Target float64 // households per worker (default DefaultTarget)
	Band   float64 // accepted deviation, a fraction (default DefaultBand)
}

// MaxBalanceGrids bounds the grids of one balance query.
const MaxBalanceGrids = 500

// Validate returns EINVALID unless exactly one of Parent and Grids is given and the band is
// sound.
func (q BalanceQuery) Validate() error {
	if (q.Parent == nil) == (len(q.Grids) == 0) {
		return Errorf(EINVALID, "balance: give parent (a grid id or code) or grids (a list)")
	}
	if len(q.Grids) > MaxBalanceGrids {
		return Errorf(EINVALID, "balance: at most %d grids", MaxBalanceGrids)
	}
	return CoverageOptions{Target: q.Target, Band: q.Band}.WithDefaults().Validate()
}

// BalanceGrid is one level-3 grid of the balance panel.
type BalanceGrid struct {
	GridRef
	ParentID     *int64   `json:"parent_id"`
	Version      int      `json:"version"`
	Buildings    int      `json:"buildings"`
	Households   int      `json:"households"`
	Workers      int      `json:"workers"`
	PerWorker    *float64 `json:"per_worker"`
	Deviation    *float64 `json:"deviation"`
	Status       string   `json:"status"` // within, under, over, unstaffed
	AreaM2       float64  `json:"area_m2"`
	PolsbyPopper float64  `json:"polsby_popper"`
	Parts        int      `json:"parts"` // 1: contiguous
}

// Balance is the live balance panel: per level-3 grid households, workers, households per
// worker against the band, compactness and contiguity, and their summary.
type Balance struct {
	DataVersion int64         `json:"data_version"`
	Target      float64       `json:"target"`
	Band        float64       `json:"band"`
	Low         float64       `json:"low"`
	High        float64       `json:"high"`
	Roots       []GridRef     `json:"roots"`
	Grids       []BalanceGrid `json:"grids"`
	Summary     LevelSummary  `json:"summary"`
	Elapsed     time.Duration `json:"-"`
}

// BalanceService computes the balance panel.
type BalanceService interface {
	// Balance returns the balance of q's level-3 grids, by code. EINVALID, ENOTFOUND.
	Balance(ctx context.Context, q BalanceQuery) (*Balance, error)
}

// BuildBalance turns coverage facts about the query's subtrees into the balance panel, with
// the coverage report's rules for households per worker (BuildCoverage): one definition of
// workload for the report and the panel.
func BuildBalance(f CoverageFacts, versions map[int64]int, roots []GridRef, q BalanceQuery) *Balance {
	o := CoverageOptions{Target: q.Target, Band: q.Band}.WithDefaults()
	rep := BuildCoverage(f, o, time.Now())
	b := &Balance{DataVersion: f.DataVersion, Target: o.Target, Band: o.Band,
		Low: o.Target * (1 - o.Band), High: o.Target * (1 + o.Band), Roots: roots, Grids: []BalanceGrid{}}
	var l3 []GridCoverage
	for _, g := range rep.Grids {
		if g.Level != LevelGrid {
			continue
		}
		l3 = append(l3, g)
		b.Grids = append(b.Grids, BalanceGrid{GridRef: g.GridRef, ParentID: g.ParentID, Version: versions[g.ID],
			Buildings: g.Buildings, Households: g.Households, Workers: g.Workload.Workers,
			PerWorker: g.Workload.PerWorker, Deviation: g.Workload.Deviation, Status: g.Workload.Status,
			AreaM2: g.AreaM2, PolsbyPopper: g.PolsbyPopper, Parts: g.Parts})
	}
	if s := summarise(l3); len(s) == 1 {
		b.Summary = s[0]
	} else {
		b.Summary = LevelSummary{Level: LevelGrid}
	}
	return b
}
