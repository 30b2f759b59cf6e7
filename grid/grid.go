// Package grid is gridmap's domain: the grid hierarchy (subdistrict → community → grid), the
// places in it (buildings, units, households as dwelling records), staff and their
// assignments, the coded errors and the reports computed over them. It imports only the
// standard library and geometry types; storage lives in grid/postgis, HTTP in api.
//
// Scope (DESIGN.md): gridmap models places and the service structure, never people. A
// household is a dwelling record (label, floor, occupancy, resident count); a worker is a
// display name, a role and an optional work contact.
package grid

import (
	"context"
	"time"

	"github.com/paulmach/orb"
)

// Levels of the hierarchy.
const (
	LevelSubdistrict = 1 // 街道
	LevelCommunity   = 2 // 社区
	LevelGrid        = 3 // 网格
)

// CodeLen is the length of a grid code: 6-digit administrative division + 3 digits per level.
const CodeLen = 15

// BuildingCodeLen is the length of a building code: its grid's code + 5 digits.
const BuildingCodeLen = 20

// Grid is a current service area at one level of the hierarchy: the GridRef that names it in
// replies (as every read shape of a grid embeds it), its parent, boundary and version.
type Grid struct {
	GridRef
	ParentID  *int64 // nil for level 1
	Geom      orb.MultiPolygon
	ValidFrom time.Time
	// ValidTo is when this version stopped holding: nil while it holds (always, for the
	// current division; set for a version read at a past moment that has changed since).
	ValidTo *time.Time
	Version int
	// Locked: a planner settled this grid's boundary; nothing changes its area or its place
	// in the hierarchy until it is unlocked (auto-divide and rebalance keep it). Always false
	// for a version read at a past moment (locks have no history).
	Locked bool
}

// Building is a footprint in a grid. GridID is derived from the footprint's point on
// surface: the deepest current grid holding it.
type Building struct {
	ID                  int64
	Code                string
	Name                string
	Address             string
	Floors              int
	Footprint           orb.MultiPolygon
	GridID              *int64
	Households          int
	Residents           int
	HouseholdsEstimated bool
}

// Unit is an entrance (stairwell) of a building.
type Unit struct {
	ID         int64
	BuildingID int64
	Label      string
	Geom       orb.Point
	Households int
	Residents  int
}

// Occupancy of a dwelling.
const (
	Occupied = "occupied"
	Vacant   = "vacant"
	Unknown  = "unknown"
)

// Household is a dwelling record: where it is and how many live there, nothing about who.
type Household struct {
	ID        int64
	UnitID    int64
	Label     string
	Floor     int
	Occupancy string
	Residents int
	Geom      orb.Point
}

// Staff roles. Grid roles attach to grids, the others to buildings and units.
const (
	RoleGridLeader     = "grid_leader"
	RoleGridWorker     = "grid_worker"
	RoleBuildingLeader = "building_leader"
	RoleUnitLeader     = "unit_leader"
)

// Store is what the HTTP layer needs from storage; grid/postgis implements it. Services are
// added here as the API grows.
type Store interface {
	// Ping returns nil when the database answers.
	Ping(ctx context.Context) error
	// DataVersion returns the current data version and when it changed.
	DataVersion(ctx context.Context) (int64, time.Time, error)

	GridService
	BuildingService
	QueryService
	CoverageService
	ExportService
	StaffService
	AuthService
	EditService
	ConformService
	OpService
	StaffEditService
	BalanceService
	AuditService
	DivideService
	CRSService
	ReportService
	HistoryService
}
