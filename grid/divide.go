package grid

import (
	"context"
	"math"
	"time"

	"github.com/paulmach/orb"
)

// Auto-divide and rebalance: the store builds the adjacency graph of a parent grid's building
// cells, package partition divides it (or moves few buildings between the current children),
// and the store writes the children back in one transaction.

// MaxDivideParts bounds the children one divide may make: codes have 3 digits per level.
const MaxDivideParts = 999

// MaxKeep bounds the kept grids one request may name.
const MaxKeep = 999

// Divide divides a level-1 or level-2 grid's area into child grids (one level down) that tile
// it, are each one connected polygon, hold Target ± Band households wherever the buildings
// allow, are compact and are cut along roads where roads are. Kept children stay as they are
// and the rest of the parent is divided around them; every other current child is retired.
type Divide struct {
	Parent    GridKey
	IfVersion int // the parent's version the request was made on (If-Match); 0: not checked
	// K is the number of new children; 0: households ÷ Target per connected piece of the
	// area, at least one each.
	K      int
	Target float64 // households per child; 0: DefaultTarget
	Band   float64 // accepted deviation from Target, a fraction in (0, 1); 0: DefaultBand
	Seed   uint64  // the same seed on the same data gives the same division
	Keep   []GridKey
	DryRun bool // compute and measure the proposal, write nothing
	// Fingerprint, when set, is a dry run's Fingerprint: the apply is refused (ECONFLICT)
	// when the inputs changed since, so a planner applies exactly what was previewed.
	Fingerprint string
}

// Validate returns EINVALID for parameters out of range.
func (d Divide) Validate() error {
	if d.K < 0 || d.K > MaxDivideParts {
		return Errorf(EINVALID, "divide: k %d: want 0 (from households ÷ target) or 1 to %d", d.K, MaxDivideParts)
	}
	return checkBalanceParams("divide", d.Target, d.Band, d.Keep)
}

// WithDefaults fills in the default target and band.
func (d Divide) WithDefaults() Divide {
	d.Target, d.Band = withBandDefaults(d.Target, d.Band)
	return d
}

// Rebalance moves few buildings between the current children of a grid, across their shared
// boundaries, so that they land in Target ± Band households: only the boundaries next to the
// moved buildings change (paint's rules), no child splits into parts or is emptied, and kept
// children neither give nor take.
type Rebalance struct {
	Parent    GridKey
	IfVersion int // the parent's version (If-Match); 0: not checked
	Target    float64
	Band      float64
	Keep      []GridKey
	MaxMoves  int // at most this many buildings move; 0: no bound
	DryRun    bool
	// Fingerprint: as Divide's.
	Fingerprint string
}

// Validate returns EINVALID for parameters out of range.
func (r Rebalance) Validate() error {
	if r.MaxMoves < 0 || r.MaxMoves > MaxPaintBuildings {
		return Errorf(EINVALID, "rebalance: max_moves %d: want 0 (no bound) or 1 to %d", r.MaxMoves, MaxPaintBuildings)
	}
	return checkBalanceParams("rebalance", r.Target, r.Band, r.Keep)
}

// WithDefaults fills in the default target and band.
func (r Rebalance) WithDefaults() Rebalance {
	r.Target, r.Band = withBandDefaults(r.Target, r.Band)
	return r
}

func withBandDefaults(target, band float64) (float64, float64) {
	if target == 0 {
		target = DefaultTarget
	}
	if band == 0 {
		band = DefaultBand
	}
	return target, band
}

// checkBalanceParams refuses a target or band the partition cannot work with, and too many
// kept grids.
func checkBalanceParams(what string, target, band float64, keep []GridKey) error {
	switch {
	case math.IsNaN(target) || target < 0 || target > 1e6:
		return Errorf(EINVALID, "%s: target %v: want households per grid in (0, 1000000]", what, target)
	case math.IsNaN(band) || band < 0 || band >= 1:
		return Errorf(EINVALID, "%s: band %v: want a fraction in (0, 1), e.g. 0.2 for ±20%%", what, band)
	case len(keep) > MaxKeep:
		return Errorf(EINVALID, "%s: %d kept grids, at most %d", what, len(keep), MaxKeep)
	}
	return nil
}

// ProposedGrid is one child of a division or a rebalance as it is (or would be) written,
// measured by PostGIS on its geometry: area and Polsby–Popper on the spheroid, as the coverage
// report measures them.
type ProposedGrid struct {
	Index int    `json:"index"` // 1, 2, …: the order of the answer
	ID    int64  `json:"id"`    // 0 for a new grid of a dry run
	Code  string `json:"code"`  // a new grid's code is the one applying would give it
	Name  string `json:"name"`
	// Version and ETag are the grid's as written (empty for a dry run's new grids).
	Version      int     `json:"version,omitempty"`
	ETag         string  `json:"etag,omitempty"`
	Kept         bool    `json:"kept"`
	Households   int     `json:"households"`
	Buildings    int     `json:"buildings"`
	AreaM2       float64 `json:"area_m2"`
	PolsbyPopper float64 `json:"polsby_popper"`
	InBand       bool    `json:"in_band"`
	// Parts is the number of polygons: 1, or more only where the parent has pieces holding
	// no building that border no child (a building-free exclave) — Exclaves counts those.
	Parts    int `json:"parts"`
	Exclaves int `json:"exclaves"`
	// Before a rebalance: the grid's households and whether they were in band.
	HouseholdsBefore *int             `json:"households_before,omitempty"`
	InBandBefore     *bool            `json:"in_band_before,omitempty"`
	Geom             orb.MultiPolygon `json:"-"`
}

// BuildingMove is a building a rebalance moves from one grid to another.
type BuildingMove struct {
	BuildingID   int64  `json:"building_id"`
	BuildingCode string `json:"building_code"`
	Households   int    `json:"households"`
	From         string `json:"from"` // grid codes
	To           string `json:"to"`
}

// DivideSummary rolls a division or a rebalance up.
type DivideSummary struct {
	K                int     `json:"k"` // a divide: the new children (kept grids are in Kept); a rebalance: every child
	InBand           int     `json:"in_band"`
	MeanPolsbyPopper float64 `json:"mean_polsby_popper"`
	MinPolsbyPopper  float64 `json:"min_polsby_popper"`
	Target           float64 `json:"target"`
	Band             float64 `json:"band"`
	Low              float64 `json:"low"`
	High             float64 `json:"high"`
	Buildings        int     `json:"buildings"`  // divided (or rebalanced) buildings
	Households       int     `json:"households"` // their households
	// Oversize lists the buildings whose own households exceed High: each is a grid of its own
	// (with any pocket only it borders), out of band by necessity.
	Oversize []string `json:"oversize"`
	// Pieces is the number of separate pieces of the divided area holding buildings (islands,
	// a parent in several parts): each is divided on its own.
	Pieces int `json:"pieces"`
	// Exclaves counts polygons of children that hold no building and border no other child.
	Exclaves int `json:"exclaves"`
	// Unreachable counts children out of band that no division could put in band: they hold
	// an oversize building, or their piece of the area holds households that no whole number
	// of grids in band adds up to (409 households with 240–360 a grid: one is too many, two
	// too few).
	Unreachable int `json:"unreachable"`
	// Left lists buildings under the parent that no new child gets: their point on surface lies
	// in a grid of another parent (an overlap between parents), or outside the parent.
	Left    []string `json:"left"`
	Kept    []string `json:"kept"`    // codes of the kept children
	Retired []string `json:"retired"` // codes of the children a divide retires
	// Moves (rebalance): how many buildings move; Skipped: how many of the partition's
	// single-building steps were not made, because painting them would have split a grid;
	// InBandBefore: children in band before.
	Moves        int `json:"moves"`
	Skipped      int `json:"skipped"`
	InBandBefore int `json:"in_band_before"`
	// Timings, in milliseconds: the cell graph, the partition, the child geometries, the
	// write with its checks, and all of it.
	GraphMS     float64 `json:"graph_ms"`
	PartitionMS float64 `json:"partition_ms"`
	GeometryMS  float64 `json:"geometry_ms"`
	WriteMS     float64 `json:"write_ms"`
	ElapsedMS   float64 `json:"elapsed_ms"`
}

// DivideResult is what a divide or a rebalance proposes (a dry run) or did.
type DivideResult struct {
	DryRun bool        `json:"dry_run"`
	Parent GridVersion `json:"parent"`
	// DataVersion is the data version the proposal was computed on (dry run) or the one the
	// write committed.
	DataVersion int64 `json:"data_version"`
	// Fingerprint names the inputs (parent and kept versions, buildings, households, roads,
	// parameters); send it back with the apply to refuse a stale preview.
	Fingerprint string         `json:"fingerprint"`
	Grids       []ProposedGrid `json:"grids"`
	Moves       []BuildingMove `json:"moves,omitempty"`
	Summary     DivideSummary  `json:"summary"`
	// Edit is what an apply wrote (journal id, grids with versions and ETags); nil for a dry run.
	Edit    *EditResult   `json:"edit,omitempty"`
	AuditID int64         `json:"audit_id,omitempty"`
	Elapsed time.Duration `json:"-"`
}

// DivideService divides grids and rebalances their children. Each call runs in one
// transaction: a dry run writes nothing, an apply writes one audit entry and one journal
// entry that POST /ops/undo reverts exactly.
type DivideService interface {
	// Divide divides a grid (see Divide); locked children are kept like those in Keep.
	// EINVALID for bad parameters, a parent without buildings to divide, everything kept or
	// locked, k larger than the buildings, a kept grid that is
	// not a child of the parent, or a retiring child that has children; ENOTFOUND;
	// EFORBIDDEN; a *StaleError for a stale parent version; ECONFLICT for a stale fingerprint.
	Divide(ctx context.Context, u *User, d Divide) (*DivideResult, error)
	// Rebalance rebalances a grid's children (see Rebalance). EINVALID for bad parameters or a
	// parent without children holding buildings; otherwise as Divide.
	Rebalance(ctx context.Context, u *User, r Rebalance) (*DivideResult, error)
	// SetLocked locks or unlocks a current grid (planners): a locked grid's area and place in
	// the hierarchy stay as they are — any write that would change them is refused with
	// ECONFLICT naming it — and Divide and Rebalance keep it. One audit entry; not on the undo
	// stack; the grid's version stays. Answers the grid as it now stands.
	SetLocked(ctx context.Context, u *User, k GridKey, locked bool) (GridDetail, error)
}
