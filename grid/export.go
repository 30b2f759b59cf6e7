package grid

import (
	"context"
	"io"
	"time"

	"gridmap/geo/chinacrs"
)

// Export is the provenance of an export: what was exported, when, from which data version and
// with which filters. GeoJSON exports carry it as top-level members, CSV exports in HTTP
// headers, so a file found later says where it came from.
type Export struct {
	Kind        string         `json:"kind"` // "grids", "buildings", "assignments"
	ExportedAt  time.Time      `json:"exported_at"`
	DataVersion int64          `json:"data_version"`
	Filters     map[string]any `json:"filters"`
}

// GridExport selects the grids of an export.
type GridExport struct {
	Level  int      // 1..3; 0: every level
	Parent *GridKey // the subtree under this grid (not the grid itself)
	CRS    chinacrs.CRS
	At     *time.Time // the grids as they stood at that moment; nil: now
}

// Validate returns EINVALID for an unknown level.
func (f GridExport) Validate() error {
	if f.Level < 0 || f.Level > LevelGrid {
		return Errorf(EINVALID, "level %d: want 1, 2 or 3", f.Level)
	}
	return checkExportCRS(f.CRS)
}

// checkExportCRS returns EINVALID for a CRS that is set and not one chinacrs knows.
func checkExportCRS(c chinacrs.CRS) error {
	if c != "" && !c.Valid() {
		return Errorf(EINVALID, "CRS %q: want one of %v", c, chinacrs.Supported())
	}
	return nil
}

// BuildingExport selects the buildings of an export.
type BuildingExport struct {
	Grid   *GridKey // buildings of this grid and the grids below it
	Viewer Viewer   // who asks: small resident counts are withheld unless Viewer.SmallCounts
	// CRS is the CRS of the exported coordinates; empty: WGS 84 (GeoJSON's own). Coordinates
	// stay longitude (easting) first whatever the CRS, as GIS tools read GeoJSON, and a CRS
	// other than WGS 84 is named in the document's "crs" member (see ExportService).
	CRS chinacrs.CRS
	// At exports the buildings there at that moment, each with the grid it was in then
	// (nil: now).
	At *time.Time
}

// AssignmentExport selects the rows of the assignments export.
type AssignmentExport struct {
	// At counts the staff assignments valid at that moment, per building as it stood then
	// (nil: now).
	At *time.Time
}

// Validate returns EINVALID for an unknown CRS.
func (f BuildingExport) Validate() error { return checkExportCRS(f.CRS) }

// ExportService streams exports. Each method reads one consistent snapshot, resolves its
// filters (so ENOTFOUND and EINVALID come before any output), then calls open once with the
// provenance and writes the document to the writer open returns, row by row as the database
// sends them: memory stays constant whatever the size. An error after open has been called
// means the output is truncated. Each returns the number of features (rows) written.
//
// GeoJSON exports in a CRS other than WGS 84 carry the GeoJSON 2008 "crs" member GDAL reads:
// {"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}} for an EPSG CRS, and
// gridmap's own name ("GCJ-02", "BD-09") for the two no register lists, which gridmap's
// import reads back (GDAL takes such a file for WGS 84).
type ExportService interface {
	// ExportGrids writes the current grids matching f as a GeoJSON FeatureCollection, by code.
	ExportGrids(ctx context.Context, f GridExport, open func(Export) (io.Writer, error)) (int, error)
	// ExportBuildings writes the buildings matching f as a GeoJSON FeatureCollection, by code.
	ExportBuildings(ctx context.Context, f BuildingExport, open func(Export) (io.Writer, error)) (int, error)
	// ExportAssignments writes one CSV row per building: its code, its level-1/2/3 grid codes
	// and the counts of current staff by role (its building and unit leaders, its level-3
	// grid's leaders and workers).
	ExportAssignments(ctx context.Context, f AssignmentExport, open func(Export) (io.Writer, error)) (int, error)
	// ExportHouseholds writes the household rows (dwelling records) under a grid as CSV:
	// PermExportHouseholds, and a grid leader only under their own grids (EFORBIDDEN).
	ExportHouseholds(ctx context.Context, u *User, f HouseholdExport, open func(Export) (io.Writer, error)) (int, error)
}

// HouseholdExport selects the household rows of an export.
type HouseholdExport struct {
	Grid *GridKey // the subtree under this grid; nil: everywhere (planners and admins only)
}
