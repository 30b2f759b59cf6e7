package grid

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/geo"
)

// Entities whose versions writes check.
const (
	EntityGrid   = "grid"
	EntityWorker = "worker"
)

// ETag returns the HTTP entity tag of version v of an entity: strong, quoted, and naming the
// entity so that a tag of one grid never matches another.
func ETag(entity string, id int64, v int) string {
	return fmt.Sprintf(`"%s-%d-v%d"`, entity, id, v)
}

// ParseETag reads the version out of an entity tag of entity id: ok is false when the tag is
// not one of that entity's.
func ParseETag(tag, entity string, id int64) (v int, ok bool) {
	tag = strings.TrimSpace(tag)
	prefix := fmt.Sprintf(`"%s-%d-v`, entity, id)
	if !strings.HasPrefix(tag, prefix) || !strings.HasSuffix(tag, `"`) || len(tag) <= len(prefix)+1 {
		return 0, false
	}
	n, err := strconv.Atoi(tag[len(prefix) : len(tag)-1])
	// If-Match compares strongly, character for character: "v03" or "v+3" is not the tag of
	// version 3, though Atoi reads them so
	if err != nil || n <= 0 || ETag(entity, id, n) != tag {
		return 0, false
	}
	return n, true
}

// StaleError is a write that named a version other than the current one: nothing was
// changed. It is an ECONFLICT (the HTTP layer answers 412 with the current ETag).
type StaleError struct {
	Entity  string
	ID      int64
	Want    int // the version the write named
	Current int // 0: the entity no longer exists (or is no longer current)
}

func (e *StaleError) Error() string { return e.coded().Error() }

// Unwrap makes a StaleError an ECONFLICT *Error for ErrorCode and ErrorMessage.
func (e *StaleError) Unwrap() error { return e.coded() }

func (e *StaleError) coded() *Error {
	if e.Current == 0 {
		return Errorf(ECONFLICT, "%s %d is no longer current (the write was for version %d): nothing changed", e.Entity, e.ID, e.Want)
	}
	return Errorf(ECONFLICT, "%s %d is at version %d, the write was for version %d: reload it and try again; nothing changed",
		e.Entity, e.ID, e.Current, e.Want)
}

// ETag is the current entity tag ("" when the entity is gone).
func (e *StaleError) ETag() string {
	if e.Current == 0 {
		return ""
	}
	return ETag(e.Entity, e.ID, e.Current)
}

// CheckVersion returns a *StaleError unless want is current.
func CheckVersion(entity string, id int64, want, current int) error {
	if want != current {
		return &StaleError{Entity: entity, ID: id, Want: want, Current: current}
	}
	return nil
}

// MaxEditVertices bounds the vertices of a geometry sent with an edit (as a query area).
const MaxEditVertices = MaxQueryVertices

// MaxPaintBuildings bounds the buildings one paint may move.
const MaxPaintBuildings = 20000

// GridPatch changes a grid's name and/or geometry (a reshape). The grid takes exactly the new
// geometry, clipped to its parent; its siblings give up what it now covers, the area it gives
// up goes to the sibling sharing the longest border with each piece, its children are
// clipped to it (area it gains goes to the child sharing the longest border), and buildings
// follow their points on surface.
type GridPatch struct {
	Key       GridKey
	IfVersion int // the version the edit was made on (If-Match)
	Name      *string
	Geometry  orb.MultiPolygon // nil: unchanged
}

// Validate returns EINVALID for an empty patch, a bad name or an oversized geometry.
func (p GridPatch) Validate() error {
	if p.Name == nil && p.Geometry == nil {
		return Errorf(EINVALID, "nothing to change: send name and/or geometry")
	}
	if p.Name != nil {
		if err := checkGridName(*p.Name); err != nil {
			return err
		}
	}
	if p.Geometry != nil {
		return checkVertices("geometry", p.Geometry)
	}
	return nil
}

func checkGridName(n string) error {
	if strings.TrimSpace(n) == "" || len([]rune(n)) > 200 {
		return Errorf(EINVALID, "grid name: 1 to 200 characters, not blank")
	}
	return nil
}

func checkVertices(what string, g orb.Geometry) error {
	n := 0
	switch g := g.(type) {
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				n += len(r)
			}
		}
	case orb.LineString:
		n = len(g)
	}
	if n > MaxEditVertices {
		return Errorf(EINVALID, "%s has %d vertices, more than %d", what, n, MaxEditVertices)
	}
	return nil
}

// What a paint does with buildings outside the target's parent (level-2 grid).
const (
	// AcrossRefuse refuses the paint and names those buildings: the default, because moving a
	// building out of its community moves the community's boundary.
	AcrossRefuse = "refuse"
	// AcrossSkip moves the buildings inside the target's parent and reports the rest.
	AcrossSkip = "skip"
	// AcrossMove moves them all; the parents (and their parents) follow the redrawn level-3
	// boundaries.
	AcrossMove = "move"
)

// Paint moves buildings into a level-3 grid. The buildings are named by id, by code, and/or
// by an area (those whose point on surface lies in it).
//
// Boundaries are redrawn locally: every point of the grids losing buildings (the donors) goes
// to the donors' building nearest to it (Voronoi cells of the footprints' vertices and points
// on surface, plus the footprints themselves), and only the cells of the moved buildings
// change hands. The target's buildings have no say (the target only gains): else the donor
// kept the strip between a moved building and the target that lay nearer the target's
// buildings, and the target came out in two parts. Grids that neither gain nor lose a building keep their
// geometry exactly, and so do the parts of the affected grids away from the moved buildings.
// The affected grids still tile the area they tiled, so no gap or overlap appears.
type Paint struct {
	Target      GridKey
	IfVersion   int // the target's version (If-Match)
	BuildingIDs []int64
	Codes       []string
	Area        orb.MultiPolygon
	Across      string // AcrossRefuse (default), AcrossSkip, AcrossMove
}

// Validate returns EINVALID for a paint naming no buildings, too many, or an unknown mode.
func (p Paint) Validate() error {
	if len(p.BuildingIDs) == 0 && len(p.Codes) == 0 && p.Area == nil {
		return Errorf(EINVALID, "paint: name the buildings (buildings: ids, codes, or area: a polygon)")
	}
	if len(p.BuildingIDs)+len(p.Codes) > MaxPaintBuildings {
		return Errorf(EINVALID, "paint: %d buildings, at most %d at once", len(p.BuildingIDs)+len(p.Codes), MaxPaintBuildings)
	}
	for _, id := range p.BuildingIDs {
		if id <= 0 {
			return Errorf(EINVALID, "paint: building id %d: ids are positive", id)
		}
	}
	for _, c := range p.Codes {
		if len(c) != BuildingCodeLen || !allDigits(c) {
			return Errorf(EINVALID, "paint: building code %q: want %d digits", c, BuildingCodeLen)
		}
	}
	switch p.Across {
	case "", AcrossRefuse, AcrossSkip, AcrossMove:
	default:
		return Errorf(EINVALID, "paint: across_parents %q: want refuse, skip or move", p.Across)
	}
	if p.Area != nil {
		return checkVertices("paint area", p.Area)
	}
	return nil
}

// Split divides a grid in two by a line drawn across it or by a polygon. The grid keeps its
// id, code, staff and the larger side (by a line) or what lies outside the polygon; the other
// side becomes a new grid with the next free code under the same parent. A grid with children
// is split along its children's boundaries: each child goes whole to the side holding most of
// it (and takes its subtree along, recoded under the new grid).
type Split struct {
	Key       GridKey
	IfVersion int
	Line      orb.LineString   // either a line crossing the grid...
	Area      orb.MultiPolygon // ...or a polygon cutting part of it off
	Name      string           // the new grid's name; default: the old name + " (2)"
}

// Validate returns EINVALID unless exactly one of line and area is given, well formed.
func (s Split) Validate() error {
	if (s.Line == nil) == (s.Area == nil) {
		return Errorf(EINVALID, "split: give either line (a LineString across the grid) or area (a Polygon)")
	}
	if s.Line != nil {
		if len(s.Line) < 2 {
			return Errorf(EINVALID, "split: the line needs at least 2 positions")
		}
		for _, p := range s.Line {
			if err := CheckPoint(p[0], p[1]); err != nil {
				return Errorf(EINVALID, "split: line: %s", ErrorMessage(err))
			}
		}
		if err := checkVertices("split line", s.Line); err != nil {
			return err
		}
	} else if err := checkVertices("split area", s.Area); err != nil {
		return err
	}
	if s.Name != "" {
		return checkGridName(s.Name)
	}
	return nil
}

// VersionedKey names a grid and the version an edit was made on.
type VersionedKey struct {
	GridKey
	Version int
}

// Merge joins adjacent grids of one parent into the first one named: it keeps its id, code
// and staff and takes the union of their areas; the others are retired (valid_to set, their
// successor recorded), their children move under it (recoded) and their staff assignments are
// moved to it.
type Merge struct {
	Grids []VersionedKey
	Name  *string // the merged grid's name; default: the first grid's
}

// Validate returns EINVALID for fewer than two grids, repeats or missing versions.
func (m Merge) Validate() error {
	if len(m.Grids) < 2 {
		return Errorf(EINVALID, "merge: name at least two grids")
	}
	if len(m.Grids) > 100 {
		return Errorf(EINVALID, "merge: at most 100 grids at once")
	}
	seen := map[string]bool{}
	for _, g := range m.Grids {
		if g.Version <= 0 {
			return Errorf(EINVALID, "merge: grid %s: give the version the merge was made on", g.GridKey)
		}
		if seen[g.GridKey.String()] {
			return Errorf(EINVALID, "merge: grid %s named twice", g.GridKey)
		}
		seen[g.GridKey.String()] = true
	}
	if m.Name != nil {
		return checkGridName(*m.Name)
	}
	return nil
}

// Connected reports whether the n nodes 0..n-1 joined by edges form one component (merge
// needs its grids adjacent: each shares a border with the rest).
func Connected(n int, edges [][2]int) bool {
	if n == 0 {
		return true
	}
	parent := make([]int, n)
	for k := range parent {
		parent[k] = k
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	comps := n
	for _, e := range edges {
		a, b := find(e[0]), find(e[1])
		if a != b {
			parent[a] = b
			comps--
		}
	}
	return comps == 1
}

// GridFeature is one feature of a GeoJSON import through the API (planners' files from QGIS):
// a new grid, or, with ID or Code, new name and geometry for an existing one. Geometries are
// taken as they are (after validation): neighbours are not adjusted, the coverage report
// shows any gap or overlap the file leaves.
type GridFeature struct {
	Index   int      // position in the document, for messages
	ID      int64    // existing grid (update)
	Code    string   // existing grid (update), or the code a new grid asks for
	Version int      // updates: the version the file was made from (required)
	Level   int      // new grids
	Parent  *GridKey // new grids: default the grid one level up overlapping it most
	Name    string
	Geom    orb.MultiPolygon
}

// Validate returns EINVALID naming the feature.
func (f GridFeature) Validate() error {
	if f.ID < 0 {
		return Errorf(EINVALID, "feature %d: id %d: ids are positive", f.Index, f.ID)
	}
	update := f.ID > 0
	if update && f.Version <= 0 {
		return Errorf(EINVALID, "feature %d: updating grid %d needs its version (property \"version\")", f.Index, f.ID)
	}
	if !update && (f.Level < LevelSubdistrict || f.Level > LevelGrid) {
		return Errorf(EINVALID, "feature %d: level %d: want 1, 2 or 3 (property \"level\" or ?level=)", f.Index, f.Level)
	}
	if f.Code != "" && (len(f.Code) != CodeLen || !allDigits(f.Code)) {
		return Errorf(EINVALID, "feature %d: code %q: want %d digits", f.Index, f.Code, CodeLen)
	}
	if err := checkGridName(f.Name); err != nil {
		return Errorf(EINVALID, "feature %d: %s", f.Index, ErrorMessage(err))
	}
	return checkVertices(fmt.Sprintf("feature %d", f.Index), f.Geom)
}

// GridState is what an edit can change about a grid: audit entries record it before and
// after, undo restores it. Geometry is carried exactly (GeoJSON with full float64 precision).
type GridState struct {
	ID          int64            `json:"id"`
	Version     int              `json:"version"`
	Level       int              `json:"level"`
	ParentID    *int64           `json:"parent_id"`
	Code        string           `json:"code"`
	Name        string           `json:"name"`
	Current     bool             `json:"current"`
	SuccessorID *int64           `json:"successor_id,omitempty"`
	Geom        orb.MultiPolygon `json:"-"`
}

// gridStateJSON is the JSON form of a GridState: its fields and the geometry as GeoJSON.
type gridStateJSON struct {
	gridStateFields
	Geometry json.RawMessage `json:"geometry"`
}

// gridStateFields is GridState without its methods, so that encoding it does not recurse
// into MarshalJSON.
type gridStateFields GridState

// MarshalJSON writes the state with its geometry as GeoJSON.
func (s GridState) MarshalJSON() ([]byte, error) {
	g, err := json.Marshal(geo.GeoJSON{Geometry: s.Geom})
	if err != nil {
		return nil, err
	}
	return json.Marshal(gridStateJSON{gridStateFields: gridStateFields(s), Geometry: g})
}

// UnmarshalJSON reads a state written by MarshalJSON.
func (s *GridState) UnmarshalJSON(b []byte) error {
	var j gridStateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = GridState(j.gridStateFields)
	if len(j.Geometry) == 0 || string(j.Geometry) == "null" {
		return nil
	}
	g, err := geojson.UnmarshalGeometry(j.Geometry)
	if err != nil {
		return err
	}
	switch t := g.Geometry().(type) {
	case orb.MultiPolygon:
		s.Geom = t
	case orb.Polygon:
		s.Geom = orb.MultiPolygon{t}
	default:
		return fmt.Errorf("grid state: geometry %s is not polygonal", g.Type)
	}
	return nil
}

// Same reports whether two states describe the same grid content (versions aside).
func (s GridState) Same(o GridState) bool {
	return s.ID == o.ID && s.Level == o.Level && eqPtr(s.ParentID, o.ParentID) && s.Code == o.Code &&
		s.Name == o.Name && s.Current == o.Current && eqPtr(s.SuccessorID, o.SuccessorID) && s.Geom.Equal(o.Geom)
}

func eqPtr(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// WorkerState is what an edit can change about a worker.
type WorkerState struct {
	ID          int64  `json:"id"`
	Version     int    `json:"version"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	WorkContact string `json:"work_contact"`
	Retired     bool   `json:"retired"`
}

// AssignmentSpec is an assignment to start: a worker on exactly one grid, building or unit in
// a role.
type AssignmentSpec struct {
	WorkerID   int64  `json:"worker_id"`
	GridID     *int64 `json:"grid_id,omitempty"`
	GridCode   string `json:"grid_code,omitempty"` // instead of GridID
	BuildingID *int64 `json:"building_id,omitempty"`
	UnitID     *int64 `json:"unit_id,omitempty"`
	Role       string `json:"role"`
}

// Validate returns EINVALID unless the spec names one place and a role that fits it.
func (a AssignmentSpec) Validate() error {
	n := 0
	if a.GridCode != "" {
		if a.GridID != nil || len(a.GridCode) != CodeLen || !allDigits(a.GridCode) {
			return Errorf(EINVALID, "assignment: grid_code %q: want a %d-digit code (and no grid_id)", a.GridCode, CodeLen)
		}
		n++
	}
	for _, p := range []*int64{a.GridID, a.BuildingID, a.UnitID} {
		if p != nil {
			n++
			if *p <= 0 {
				return Errorf(EINVALID, "assignment: ids are positive")
			}
		}
	}
	if n != 1 {
		return Errorf(EINVALID, "assignment: name exactly one of grid, building or unit")
	}
	if a.WorkerID <= 0 {
		return Errorf(EINVALID, "assignment: worker id is required")
	}
	switch {
	case (a.GridID != nil || a.GridCode != "") && a.Role != RoleGridLeader && a.Role != RoleGridWorker:
		return Errorf(EINVALID, "assignment: role %q on a grid: want grid_leader or grid_worker", a.Role)
	case a.BuildingID != nil && a.Role != RoleBuildingLeader:
		return Errorf(EINVALID, "assignment: role %q on a building: want building_leader", a.Role)
	case a.UnitID != nil && a.Role != RoleUnitLeader:
		return Errorf(EINVALID, "assignment: role %q on a unit: want unit_leader", a.Role)
	}
	return nil
}

// GridRestore sets a grid to State if it is still at version Expect.
type GridRestore struct {
	Expect int       `json:"expect_version"`
	State  GridState `json:"state"`
}

// WorkerRestore sets a worker to State if it is still at version Expect.
type WorkerRestore struct {
	Expect int         `json:"expect_version"`
	State  WorkerState `json:"state"`
}

// Restore is a change that undo and redo apply: set grids and workers to given states (each
// only if nobody changed it since, else a *StaleError), end assignments and start others.
// Applying a Restore yields the Restore that reverts it, so undo and redo are new operations
// of their own (with their own audit entries) and the audit log stays append-only.
type Restore struct {
	Grids   []GridRestore    `json:"grids,omitempty"`
	Workers []WorkerRestore  `json:"workers,omitempty"`
	End     []int64          `json:"end_assignments,omitempty"`
	Start   []AssignmentSpec `json:"start_assignments,omitempty"`
}

// Empty reports whether r changes nothing.
func (r Restore) Empty() bool {
	return len(r.Grids) == 0 && len(r.Workers) == 0 && len(r.End) == 0 && len(r.Start) == 0
}

// GridVersion is a grid an edit changed or created, as it is now.
type GridVersion struct {
	GridRef
	Version int    `json:"version"`
	Current bool   `json:"current"`
	ETag    string `json:"etag"`
}

// VersionOf returns the reply form of a state.
func VersionOf(s GridState) GridVersion {
	return GridVersion{GridRef: GridRef{ID: s.ID, Level: s.Level, Code: s.Code, Name: s.Name}, Version: s.Version,
		Current: s.Current, ETag: ETag(EntityGrid, s.ID, s.Version)}
}

// EditResult is what an edit did: the journal entry (0 when nothing changed), the grids it
// changed (created, reshaped, renamed, recoded, retired) as they are now, for a paint the
// buildings moved and skipped, for a conform its summary.
type EditResult struct {
	Op          int64           `json:"op"`
	Action      string          `json:"action"`
	Grids       []GridVersion   `json:"grids"`
	Moved       []int64         `json:"moved,omitempty"`
	Skipped     []int64         `json:"skipped,omitempty"`
	Conform     *ConformSummary `json:"conform,omitempty"`
	DataVersion int64           `json:"data_version"`
	Elapsed     time.Duration   `json:"-"`
}

// EditService changes the grid hierarchy. Every method runs in one transaction, checks the
// user's role (EUNAUTHORIZED, EFORBIDDEN), the versions the edit was made on (*StaleError:
// nothing changed), writes exactly one audit entry (actor, before, after) and one undo
// journal entry. A refused edit changes nothing and says why (EINVALID, ENOTFOUND).
type EditService interface {
	// PatchGrid renames and/or reshapes a grid (see GridPatch).
	PatchGrid(ctx context.Context, u *User, p GridPatch) (EditResult, error)
	// Paint moves buildings into a level-3 grid and redraws the boundaries (see Paint).
	Paint(ctx context.Context, u *User, p Paint) (EditResult, error)
	// Split divides a grid (see Split).
	Split(ctx context.Context, u *User, s Split) (EditResult, error)
	// Merge joins adjacent grids of one parent (see Merge). EINVALID for grids of different
	// parents or levels, or that do not share a border.
	Merge(ctx context.Context, u *User, m Merge) (EditResult, error)
	// UpsertGrids creates and updates grids from GeoJSON features, all or nothing.
	UpsertGrids(ctx context.Context, u *User, fs []GridFeature) (EditResult, error)
}

// Journal states of an operation.
const (
	OpDone    = "done"
	OpUndone  = "undone"
	OpDropped = "dropped"
)

// Op is an entry of a user's undo journal.
type Op struct {
	ID        int64     `json:"id"`
	Action    string    `json:"action"`
	Entity    string    `json:"entity"`
	EntityID  *int64    `json:"entity_id"`
	State     string    `json:"state"`
	AuditID   int64     `json:"audit_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OpService undoes and redoes a user's own operations, newest first, as new operations. An
// undo or redo that retires a grid or a worker ends its current assignments too, and the
// opposite replay starts them again.
type OpService interface {
	// Undo reverts the user's latest operation still done. ECONFLICT when there is none or
	// when it no longer applies (a worker retired since, an assignment ended since: drop it),
	// a *StaleError when what it changed has changed since.
	Undo(ctx context.Context, u *User) (EditResult, error)
	// Redo re-applies the user's latest undone operation (a new operation clears the redo
	// stack). ECONFLICT as Undo.
	Redo(ctx context.Context, u *User) (EditResult, error)
	// Ops returns the user's latest operations, newest first.
	Ops(ctx context.Context, u *User, limit int) ([]Op, error)
	// DropOp takes the user's operation id off their undo or redo stack without applying it,
	// so that one which no longer applies does not block those before it. ENOTFOUND when it
	// is not the user's, ECONFLICT when dropped already.
	DropOp(ctx context.Context, u *User, id int64) (Op, error)
}
