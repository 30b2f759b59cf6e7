package grid

import (
	"time"

	"github.com/paulmach/orb"
)

// ChangeQuery asks what changed in the period (From, To]: a change made at From is before it,
// one made at To within it.
type ChangeQuery struct {
	From time.Time
	To   *time.Time // nil: now
	// Parent limits the answer to this grid and the grids below it (as they stood at From or
	// at To); nil: the whole city.
	Parent *GridKey
	// ShowNames names people: who made each change (user names) and the workers of
	// assignments are staff-directory facts, for signed-in users only.
	ShowNames bool
	// Page is the page of each list (grids, buildings, assignments), in the lists' order;
	// the summary counts them all.
	Page
}

// Validate returns EINVALID for a period that ends before it starts or a bad page.
func (q ChangeQuery) Validate() error {
	if q.To != nil && q.To.Before(q.From) {
		return Errorf(EINVALID, "to %s is before from %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	return q.Page.Validate()
}

// Edit is one audited write: when it holds from (its transaction's start, the time every
// change it made carries), who made it and what it was. AuditID is nil for a change no audit
// entry records (written around the application); Actor is nil when withheld from the viewer.
type Edit struct {
	AuditID *int64    `json:"audit_id"`
	At      time.Time `json:"at"`
	Actor   *string   `json:"actor"`
	Action  string    `json:"action"`
}

// GridVersionInfo is a grid as it stood at one end of the period.
type GridVersionInfo struct {
	Version  int     `json:"version"`
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	ParentID *int64  `json:"parent_id"`
	AreaM2   float64 `json:"area_m2"`
}

// GridChange is what became of one grid over the period: its state at From (Before, nil if it
// was not there) against its state at To (After, nil if it is gone), the area it gained and
// lost, and every edit that changed it in between. A grid that came and went within the period
// is Added and Retired with neither state. Reshaped compares the geometries (an edit undone
// within the period leaves the grid as it was: its edits are listed, nothing else is set).
type GridChange struct {
	GridRef                     // as at To, or as it last stood
	Added      bool             `json:"added"`
	Retired    bool             `json:"retired"`
	Reshaped   bool             `json:"reshaped"`
	Renamed    bool             `json:"renamed"`
	Recoded    bool             `json:"recoded"`
	Reparented bool             `json:"reparented"`
	Before     *GridVersionInfo `json:"before"`
	After      *GridVersionInfo `json:"after"`
	GainedM2   float64          `json:"gained_m2"`
	LostM2     float64          `json:"lost_m2"`
	// Successor is where a retired grid's area went: the grid a merge recorded, else the grid
	// of its level at To holding most of it (nil: none).
	Successor *GridRef `json:"successor"`
	Edits     []Edit   `json:"edits"`
	// Gained and Lost are the areas (for GeoJSON; empty when none).
	Gained orb.MultiPolygon `json:"-"`
	Lost   orb.MultiPolygon `json:"-"`
}

// BuildingChange is a building whose grid at To differs from its grid at From (nil: in no grid),
// with the edits that moved it.
type BuildingChange struct {
	Building BuildingRef `json:"building"`
	From     *GridRef    `json:"from"`
	To       *GridRef    `json:"to"`
	Edits    []Edit      `json:"edits"`
}

// Assignment events.
const (
	AssignmentStarted = "start"
	AssignmentEnded   = "end"
)

// WorkerRef names a worker in replies.
type WorkerRef struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
}

// AssignmentEvent is the start or end of a staff assignment within the period: on a grid, or
// on a building or unit (with the grid that building was in then). Worker is nil when withheld.
type AssignmentEvent struct {
	Event        string       `json:"event"`
	At           time.Time    `json:"at"`
	AssignmentID int64        `json:"assignment_id"`
	Role         string       `json:"role"`
	Worker       *WorkerRef   `json:"worker"`
	Grid         *GridRef     `json:"grid"`
	Building     *BuildingRef `json:"building"`
	Unit         *UnitRef     `json:"unit"`
	Edit         Edit         `json:"edit"`
}

// ChangeSummary counts the changes of a period: all of them, whatever page the lists hold.
type ChangeSummary struct {
	GridsAdded         int     `json:"grids_added"`
	GridsRetired       int     `json:"grids_retired"`
	GridsReshaped      int     `json:"grids_reshaped"`
	GridsRenamed       int     `json:"grids_renamed"`
	GridsRecoded       int     `json:"grids_recoded"`
	GridsReparented    int     `json:"grids_reparented"`
	GainedM2           float64 `json:"gained_m2"`
	LostM2             float64 `json:"lost_m2"`
	BuildingsMoved     int     `json:"buildings_moved"`
	AssignmentsStarted int     `json:"assignments_started"`
	AssignmentsEnded   int     `json:"assignments_ended"`
	Edits              int     `json:"edits"`
}

// Changes is what changed in a period, within a scope.
type Changes struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Parent      *GridRef  `json:"parent"` // nil: the whole city
	GeneratedAt time.Time `json:"generated_at"`
	DataVersion int64     `json:"data_version"`
	// NamesShown says whether actors and workers are named (signed-in viewers) or withheld.
	NamesShown  bool              `json:"names_shown"`
	Summary     ChangeSummary     `json:"summary"`
	Grids       []GridChange      `json:"grids"`
	Buildings   []BuildingChange  `json:"buildings"`
	Assignments []AssignmentEvent `json:"assignments"`
	// Edits are the edits the lists' items name, in time order.
	Edits []Edit      `json:"edits"`
	Page  ChangesPage `json:"page"`
}

// ChangesPage says which page of each list a reply holds and how long each list is.
type ChangesPage struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	Total  struct {
		Grids       int `json:"grids"`
		Buildings   int `json:"buildings"`
		Assignments int `json:"assignments"`
	} `json:"total"`
}
