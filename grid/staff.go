package grid

import (
	"context"
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
