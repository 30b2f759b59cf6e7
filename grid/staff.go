package grid

import (
	"context"
	"strings"
	"time"
)

// StaffMember is a current assignment of an unretired worker: who is on a grid, building or
// unit and in which role. A worker is a display name, a role and an optional work contact —
// nothing else (DESIGN.md, "Scope and data protection").
type StaffMember struct {
	WorkerID    int64     `json:"worker_id"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	WorkContact string    `json:"work_contact,omitempty"`
	ValidFrom   time.Time `json:"valid_from"`
}

// StaffQuery names the one place whose staff is asked for: a grid, a building or a unit.
type StaffQuery struct {
	Grid       *GridKey
	BuildingID int64
	UnitID     int64
}

// Validate returns EINVALID unless exactly one target is set.
func (q StaffQuery) Validate() error {
	n := 0
	if q.Grid != nil {
		n++
	}
	if q.BuildingID != 0 {
		n++
	}
	if q.UnitID != 0 {
		n++
	}
	if n != 1 {
		return Errorf(EINVALID, "staff: name exactly one of grid, building or unit")
	}
	if q.BuildingID < 0 || q.UnitID < 0 {
		return Errorf(EINVALID, "staff: ids are positive")
	}
	return nil
}

// City is the city the database holds: its name, division code and extent.
type City struct {
	Name        string      `json:"name"`
	AdminCode   string      `json:"admin_code"`
	BBox        *[4]float64 `json:"bbox"` // of the current grids; nil when there are none
	DataVersion int64       `json:"data_version"`
	ChangedAt   time.Time   `json:"data_changed_at"`
}

// StaffService reads who is assigned where, and what the map UI needs to open on a city.
type StaffService interface {
	// Staff returns the current assignments of unretired workers to q's grid, building or
	// unit (that place only, not the places below it), by role then name. EINVALID for a
	// bad query, ENOTFOUND for an unknown place.
	Staff(ctx context.Context, q StaffQuery) ([]StaffMember, error)
	// City returns the city's name, code and extent. ENOTFOUND when no city is loaded.
	City(ctx context.Context) (City, error)
}

// WorkerInfo is a worker as the staff endpoints show it.
type WorkerInfo struct {
	ID          int64      `json:"id"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	WorkContact string     `json:"work_contact"`
	CreatedAt   time.Time  `json:"created_at"`
	RetiredAt   *time.Time `json:"retired_at"`
	Version     int        `json:"version"`
	Assignments int        `json:"current_assignments"`
}

// ETag is the worker's entity tag.
func (w WorkerInfo) ETag() string { return ETag(EntityWorker, w.ID, w.Version) }

// WorkerPatch is a new worker (all of DisplayName and Role required) or changes to one.
type WorkerPatch struct {
	DisplayName *string
	Role        *string
	WorkContact *string
}

// Validate returns EINVALID for a blank or long name, an unknown role or a long contact;
// creating requires a name and a role.
func (p WorkerPatch) Validate(create bool) error {
	if create && (p.DisplayName == nil || p.Role == nil) {
		return Errorf(EINVALID, "worker: display_name and role are required")
	}
	if !create && p.DisplayName == nil && p.Role == nil && p.WorkContact == nil {
		return Errorf(EINVALID, "worker: nothing to change")
	}
	if p.DisplayName != nil && (strings.TrimSpace(*p.DisplayName) == "" || len([]rune(*p.DisplayName)) > 100) {
		return Errorf(EINVALID, "worker: display_name: 1 to 100 characters, not blank")
	}
	if p.Role != nil && !validStaffRole(*p.Role) {
		return Errorf(EINVALID, "worker: role %q: want grid_leader, grid_worker, building_leader or unit_leader", *p.Role)
	}
	if p.WorkContact != nil && len([]rune(*p.WorkContact)) > 200 {
		return Errorf(EINVALID, "worker: work_contact: at most 200 characters")
	}
	return nil
}

func validStaffRole(r string) bool {
	switch r {
	case RoleGridLeader, RoleGridWorker, RoleBuildingLeader, RoleUnitLeader:
		return true
	}
	return false
}

// WorkerFilter selects workers.
type WorkerFilter struct {
	Retired bool // include retired workers
	Page
}

// AssignmentInfo is an assignment with the names of who and where.
type AssignmentInfo struct {
	ID           int64      `json:"id"`
	WorkerID     int64      `json:"worker_id"`
	WorkerName   string     `json:"worker_name"`
	Role         string     `json:"role"`
	GridID       *int64     `json:"grid_id"`
	GridCode     string     `json:"grid_code,omitempty"`
	BuildingID   *int64     `json:"building_id"`
	BuildingCode string     `json:"building_code,omitempty"`
	UnitID       *int64     `json:"unit_id"`
	UnitLabel    string     `json:"unit_label,omitempty"`
	ValidFrom    time.Time  `json:"valid_from"`
	ValidTo      *time.Time `json:"valid_to"`
}

// AssignmentFilter selects assignments; History includes ended ones.
type AssignmentFilter struct {
	WorkerID   int64
	Grid       *GridKey // assignments to this very grid
	BuildingID int64
	UnitID     int64
	History    bool
	Page
}

// StaffEditService manages workers and assignments. Writes run in one transaction with one
// audit entry and one undo journal entry each.
type StaffEditService interface {
	// Workers lists workers by name. EINVALID for a bad page.
	Workers(ctx context.Context, f WorkerFilter) ([]WorkerInfo, error)
	// Worker returns one worker. ENOTFOUND.
	Worker(ctx context.Context, id int64) (WorkerInfo, error)
	// CreateWorker adds a worker. PermEditStaff; EINVALID.
	CreateWorker(ctx context.Context, u *User, p WorkerPatch) (WorkerInfo, error)
	// UpdateWorker changes a worker made from version ifVersion. PermEditStaff; ENOTFOUND,
	// *StaleError, EINVALID.
	UpdateWorker(ctx context.Context, u *User, id int64, ifVersion int, p WorkerPatch) (WorkerInfo, error)
	// RetireWorker retires a worker and ends their current assignments. PermEditStaff;
	// ENOTFOUND, *StaleError, ECONFLICT when already retired.
	RetireWorker(ctx context.Context, u *User, id int64, ifVersion int) (WorkerInfo, error)
	// Assign starts an assignment. PermAssign in the place (grid leaders: their grids);
	// EINVALID for a role that does not fit the place or a retired worker, ENOTFOUND,
	// ECONFLICT when the worker already holds that role there.
	Assign(ctx context.Context, u *User, a AssignmentSpec) (AssignmentInfo, error)
	// EndAssignment ends a current assignment; the row stays as history. PermAssign in its
	// place; ENOTFOUND, ECONFLICT when already ended.
	EndAssignment(ctx context.Context, u *User, id int64) (AssignmentInfo, error)
	// Assignments lists assignments, newest first. EINVALID, ENOTFOUND for an unknown grid.
	Assignments(ctx context.Context, f AssignmentFilter) ([]AssignmentInfo, error)
}
