package grid

import (
	"context"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Paging limits shared by every list: a page holds DefaultLimit items unless asked otherwise
// and never more than MaxLimit, so one request cannot make the server build an unbounded reply.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
	// MaxOffset keeps offsets in a range PostgreSQL and JSON clients handle exactly.
	MaxOffset = 1 << 40
)

// Limits of a query area (POST /query/within): beyond them a polygon is almost surely a mistake
// (a whole country at full resolution), and checking it would tie up the database.
const (
	MaxQueryBytes    = 5 << 20 // 5 MB of GeoJSON
	MaxQueryVertices = 100_000
)

// Page is limit/offset paging. Limit 0 asks for the counts only.
type Page struct {
	Limit  int
	Offset int
}

// Validate returns EINVALID when the page is out of range.
func (p Page) Validate() error {
	if p.Limit < 0 || p.Limit > MaxLimit {
		return Errorf(EINVALID, "limit %d out of range 0..%d", p.Limit, MaxLimit)
	}
	if p.Offset < 0 || p.Offset > MaxOffset {
		return Errorf(EINVALID, "offset %d out of range 0..%d", p.Offset, MaxOffset)
	}
	return nil
}

// BBox is a lon/lat rectangle (WGS 84), edges included.
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// Validate returns EINVALID unless the box is finite, on the globe and not inverted. A box
// crossing the antimeridian (min lon > max lon) is refused too: no city gridmap serves needs it.
func (b BBox) Validate() error {
	for _, v := range []float64{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Errorf(EINVALID, "bbox: %v is not a finite number", v)
		}
	}
	if b.MinLon < -180 || b.MaxLon > 180 || b.MinLat < -90 || b.MaxLat > 90 {
		return Errorf(EINVALID, "bbox: outside lon [-180, 180], lat [-90, 90]")
	}
	if b.MinLon > b.MaxLon || b.MinLat > b.MaxLat {
		return Errorf(EINVALID, "bbox: minimum greater than maximum (want minLon,minLat,maxLon,maxLat)")
	}
	return nil
}

// CheckPoint returns EINVALID unless lon/lat is a finite WGS 84 position.
func CheckPoint(lon, lat float64) error {
	switch {
	case math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0):
		return Errorf(EINVALID, "lon/lat must be finite numbers")
	case lon < -180 || lon > 180:
		return Errorf(EINVALID, "lon %v out of range [-180, 180]", lon)
	case lat < -90 || lat > 90:
		return Errorf(EINVALID, "lat %v out of range [-90, 90]", lat)
	}
	return nil
}

// GridKey names a grid by database id or by its 15-digit code; exactly one is set. Codes stay
// stable across redivisions and are what people type, ids are what links carry.
type GridKey struct {
	ID   int64
	Code string
}

// ParseGridKey reads a grid key: 15 digits are a code, any other positive integer an id. It
// returns EINVALID for anything else.
func ParseGridKey(s string) (GridKey, error) {
	if len(s) == CodeLen && allDigits(s) {
		return GridKey{Code: s}, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || !allDigits(s) {
		return GridKey{}, Errorf(EINVALID, "grid %q: want a numeric id or a %d-digit code", s, CodeLen)
	}
	return GridKey{ID: id}, nil
}

func (k GridKey) String() string {
	if k.Code != "" {
		return k.Code
	}
	return strconv.FormatInt(k.ID, 10)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// GridRef names a grid in replies.
type GridRef struct {
	ID    int64  `json:"id"`
	Level int    `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

// Counts are the places and grid staff in a grid and every grid below it. Buildings belong to
// the grid derived from their point on surface; Workers counts distinct current, unretired
// staff assigned to the grid or a grid below it (grid leaders and grid workers).
type Counts struct {
	Buildings  int `json:"buildings"`
	Units      int `json:"units"`
	Households int `json:"households"`
	Residents  int `json:"residents"`
	Workers    int `json:"workers"`
}

// GridInfo is a current grid with its counts, and its status where a list asked for it.
type GridInfo struct {
	Grid
	Counts
	Status *GridStatus
}

// GridStatus is a grid's state as the coverage report keeps it, for a list (the map UI's
// hierarchy tree and balance bars) that shows it without asking for a report: grid staff of its
// own, the workers who carry its households (households / carriers is the report's households
// per worker), Polsby–Popper, parts, and how many issues its subtree holds — gaps, overlaps,
// parts of grids outside their parent, straddling buildings, grids without staff and grids in
// more than one piece (the findings about places a map shows; buildings and units without a
// leader are counted in the report). The gap of a grid with no child yet is its whole area:
// the empty level (EmptyLevel), work not done rather than an issue, and not counted.
type GridStatus struct {
	Staffed      bool    `json:"staffed"`
	Carriers     int     `json:"carriers"`
	PolsbyPopper float64 `json:"polsby_popper"`
	Parts        int     `json:"parts"`
	Issues       int     `json:"issues"`
}

// GridDetail is a grid with its place in the hierarchy.
type GridDetail struct {
	GridInfo
	Ancestors []GridRef // level 1 first
	Children  []GridRef // current grids one level down, by code
}

// GridFilter selects current grids, or with At the grids as they stood at that moment.
type GridFilter struct {
	Level  int      // 1..3; 0: every level
	Parent *GridKey // children of this grid (named as at At)
	BBox   *BBox    // grids meeting the box
	// Query finds grids by what a user types: a code starting with it, or a name holding it
	// (case-insensitive); empty: every grid.
	Query string
	// Status asks for each grid's GridStatus.
	Status bool
	At     *time.Time
	Page
}

// MaxQueryLen is the longest GridFilter.Query, in characters.
const MaxQueryLen = 100

// Validate returns EINVALID for an unknown level, a bad box or page, or a query too long.
func (f GridFilter) Validate() error {
	if f.Level < 0 || f.Level > LevelGrid {
		return Errorf(EINVALID, "level %d: want 1, 2 or 3", f.Level)
	}
	if n := utf8.RuneCountInString(f.Query); n > MaxQueryLen {
		return Errorf(EINVALID, "q: %d characters, at most %d", n, MaxQueryLen)
	}
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return err
		}
	}
	return f.Page.Validate()
}

// GridList is a page of grids and how many match in all.
type GridList struct {
	Grids   []GridInfo
	Matched int
}

// GridService reads the grid hierarchy.
type GridService interface {
	// Grids returns the current grids matching f, by code, with their counts. EINVALID for a
	// bad filter, ENOTFOUND for an unknown parent.
	Grids(ctx context.Context, f GridFilter) (GridList, error)
	// Grid returns a current grid with its counts, ancestors and children. ENOTFOUND when no
	// current grid has the key.
	Grid(ctx context.Context, k GridKey) (GridDetail, error)
}

// BuildingRef names a building in replies.
type BuildingRef struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// BuildingInfo is a building with the facts lists show.
type BuildingInfo struct {
	Building
	GridCode string // "" when no current grid holds it
	Units    int
}

// BuildingFilter selects buildings.
type BuildingFilter struct {
	BBox *BBox    // footprints meeting the box
	Grid *GridKey // buildings of this grid and the grids below it
	Page
}

// Validate returns EINVALID for a bad box or page.
func (f BuildingFilter) Validate() error {
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return err
		}
	}
	return f.Page.Validate()
}

// BuildingList is a page of buildings and how many match in all.
type BuildingList struct {
	Buildings []BuildingInfo
	Matched   int
}

// UnitDetail is a unit of a building detail. HouseholdRows holds the dwelling rows only when
// the viewer may see them (Viewer.MaySeeHouseholds); the counts in Unit are always there.
type UnitDetail struct {
	Unit
	HouseholdRows []Household // nil: not shown to this viewer
}

// BuildingDetail is a building with its grid chain and its units.
type BuildingDetail struct {
	BuildingInfo
	Grids           []GridRef // level 1 first; empty when no grid holds it
	Units           []UnitDetail
	HouseholdsShown bool // whether the viewer got the dwelling rows
}

// UnitInfo is a unit with its building's code, for lists.
type UnitInfo struct {
	Unit
	BuildingCode string
}

// UnitFilter selects units.
type UnitFilter struct {
	BBox *BBox
	Page
}

// Validate returns EINVALID for a bad box or page.
func (f UnitFilter) Validate() error {
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return err
		}
	}
	return f.Page.Validate()
}

// UnitList is a page of units and how many match in all.
type UnitList struct {
	Units   []UnitInfo
	Matched int
}

// BuildingService reads buildings and units.
type BuildingService interface {
	// Buildings returns the buildings matching f, by id. EINVALID for a bad filter,
	// ENOTFOUND for an unknown grid.
	Buildings(ctx context.Context, f BuildingFilter) (BuildingList, error)
	// Building returns a building with its units; dwelling rows only when v may see them.
	// ENOTFOUND for an unknown id.
	Building(ctx context.Context, id int64, v Viewer) (BuildingDetail, error)
	// Units returns the units matching f, by id. EINVALID for a bad filter.
	Units(ctx context.Context, f UnitFilter) (UnitList, error)
	// Unit returns one unit. ENOTFOUND for an unknown id.
	Unit(ctx context.Context, id int64) (UnitInfo, error)
}

// Where a located point lies.
const (
	LocatedOK      = "ok"      // one grid at every level
	LocatedGap     = "gap"     // inside the city (or a grid) but a level has no grid there
	LocatedOverlap = "overlap" // two grids of one level hold the point
	LocatedOutside = "outside" // no grid and outside the city boundary
)

// Location answers "where is this point": the grid at each level (nil where none holds it),
// further grids that also hold it (an overlap), and the building under it.
type Location struct {
	Lon         float64      `json:"lon"`
	Lat         float64      `json:"lat"`
	Status      string       `json:"status"`
	Gap         bool         `json:"gap"`
	Chain       [3]*GridRef  `json:"chain"` // levels 1, 2, 3
	Overlapping []GridRef    `json:"overlapping"`
	Building    *BuildingRef `json:"building"`
}

// WithinQuery asks what lies inside an area.
type WithinQuery struct {
	Area orb.MultiPolygon
	Page // of the buildings returned as features
}

// Validate returns EINVALID for an empty or oversized area or a bad page. Self-intersection
// and other invalid shapes are the store's to find (PostGIS decides validity).
func (q WithinQuery) Validate() error {
	n := 0
	for _, p := range q.Area {
		for _, r := range p {
			n += len(r)
		}
	}
	if n == 0 {
		return Errorf(EINVALID, "query area is empty")
	}
	if n > MaxQueryVertices {
		return Errorf(EINVALID, "query area has %d vertices, more than %d", n, MaxQueryVertices)
	}
	return q.Page.Validate()
}

// WithinCounts count what lies inside a query area. A building is inside when its point on
// surface is (the same rule that puts it in a grid); its units, households and residents
// count with it. Grids counts, per level, the current grids whose interior meets the area.
type WithinCounts struct {
	Grids      [3]int
	Buildings  int
	Units      int
	Households int
	Residents  int
}

// WithinResult is the counts and a page of the buildings inside.
type WithinResult struct {
	Counts    WithinCounts
	Buildings []BuildingInfo
}

// Kinds of place: Nearest finds buildings and units, Extent measures all three.
const (
	KindGrid     = "grid"
	KindBuilding = "building"
	KindUnit     = "unit"
)

// MaxNearest bounds the places Nearest returns.
const MaxNearest = 1000

// NearestQuery asks for the places closest to a point.
type NearestQuery struct {
	Lon, Lat float64
	Kind     string // KindBuilding or KindUnit
	Limit    int    // 1..MaxNearest
}

// Validate returns EINVALID for a bad point, kind or limit.
func (q NearestQuery) Validate() error {
	if err := CheckPoint(q.Lon, q.Lat); err != nil {
		return err
	}
	if q.Kind != KindBuilding && q.Kind != KindUnit {
		return Errorf(EINVALID, "kind %q: want building or unit", q.Kind)
	}
	if q.Limit < 1 || q.Limit > MaxNearest {
		return Errorf(EINVALID, "limit %d out of range 1..%d", q.Limit, MaxNearest)
	}
	return nil
}

// Nearby is a place found by Nearest: a building (distance to its footprint, Geom its point on
// surface) or a unit (distance to its entrance point).
type Nearby struct {
	Kind       string
	ID         int64
	Code       string // building code (of the unit's building for a unit)
	Name       string // building name or unit label
	BuildingID int64
	DistanceM  float64 // on the WGS 84 spheroid
	Geom       orb.Point
}

// QueryService answers spatial questions.
type QueryService interface {
	// Locate returns where lon/lat lies. EINVALID for a bad position.
	Locate(ctx context.Context, lon, lat float64) (Location, error)
	// Within returns what lies inside q.Area. EINVALID for an empty, oversized or invalid
	// (e.g. self-intersecting) area.
	Within(ctx context.Context, q WithinQuery) (WithinResult, error)
	// Nearest returns the q.Limit places of q.Kind closest to the point, nearest first, with
	// true distances in metres. EINVALID for a bad query.
	Nearest(ctx context.Context, q NearestQuery) ([]Nearby, error)
	// Extent returns the box around every place of a kind (KindGrid at level, KindBuilding,
	// KindUnit), nil when there is none. EINVALID for an unknown kind.
	Extent(ctx context.Context, kind string, level int) (*BBox, error)
}
