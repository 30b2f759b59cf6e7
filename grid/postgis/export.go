package postgis

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
	"gridmap/grid"
)

// exportGridsSQL makes each feature in PostGIS (ST_AsGeoJSON, json_build_object): the rows go
// from the database to the writer without being decoded. $1 level, $2 subtree root (the root
// itself excluded); NULL skips a term. %[1]s and %[2]s are the geometry member and the
// geometry to convert in Go (exportGeometry).
const exportGridsSQL = `
SELECT json_build_object(
    'type', 'Feature',
    'id', g.id,
    'geometry', %[1]s,
    'properties', json_build_object(
        'id', g.id, 'code', g.code, 'name', g.name, 'level', g.level,
        'parent_id', g.parent_id, 'parent_code', p.code,
        'buildings', c.buildings, 'units', c.units, 'households', c.households,
        'residents', c.residents, 'workers', c.workers,
        'version', g.version, 'valid_from', g.valid_from))::text, %[2]s
FROM grids g
LEFT JOIN grids p ON p.id = g.parent_id
CROSS JOIN LATERAL gridmap_grid_counts(g.id) c
WHERE g.valid_to IS NULL
  AND ($1::int IS NULL OR g.level = $1)
  AND ($2::bigint IS NULL OR (g.id IN (SELECT id FROM gridmap_subtree($2)) AND g.id <> $2))
ORDER BY g.code`

// exportBuildingsSQL: $1 subtree root (NULL: every building), $2 the smallest resident count
// shown (grid.Viewer.ResidentsFloor: smaller ones are null with residents_suppressed); %[1]s
// and %[2]s as in exportGridsSQL.
const exportBuildingsSQL = `
SELECT json_build_object(
    'type', 'Feature',
    'id', b.id,
    'geometry', %[1]s,
    'properties', json_build_object(
        'id', b.id, 'code', b.code, 'name', b.name, 'address', b.address, 'floors', b.floors,
        'height_m', b.height_m, 'grid_id', b.grid_id, 'grid_code', g.code,
        'units', (SELECT count(*) FROM units u WHERE u.building_id = b.id),
        'households', b.households,
        'residents', CASE WHEN b.residents >= $2::int THEN b.residents END,
        'residents_suppressed', b.residents < $2::int,
        'households_estimated', b.households_estimated))::text, %[2]s
FROM buildings b
LEFT JOIN grids g ON g.id = b.grid_id
WHERE $1::bigint IS NULL OR b.grid_id IN (SELECT id FROM gridmap_subtree($1))
ORDER BY b.code`

// exportAssignmentsSQL: one row per building with its grid chain (a building in a gap of
// level 3 has a level-2 grid and no level-3 one) and its staff counts by role. Every count is
// aggregated once per building, unit or grid and joined by hash: the counts as correlated
// subqueries over the staff each scanned all of it per building (O(buildings × assignments);
// demo --scale 100 ran into the 10-minute export timeout), this is one pass over each table.
const exportAssignmentsSQL = `
WITH staff AS MATERIALIZED (
    SELECT a.grid_id, a.building_id, a.unit_id, a.role, a.worker_id
    FROM assignments a JOIN workers w ON w.id = a.worker_id
    WHERE a.valid_to IS NULL AND w.retired_at IS NULL
), grid_staff AS (
    SELECT grid_id,
           count(DISTINCT worker_id) FILTER (WHERE role = 'grid_leader') AS leaders,
           count(DISTINCT worker_id) FILTER (WHERE role = 'grid_worker') AS workers
    FROM staff WHERE grid_id IS NOT NULL GROUP BY grid_id
), building_staff AS (
    SELECT building_id, count(DISTINCT worker_id) AS leaders
    FROM staff WHERE building_id IS NOT NULL AND role = 'building_leader' GROUP BY building_id
), led_units AS (
    SELECT unit_id, worker_id FROM staff WHERE unit_id IS NOT NULL AND role = 'unit_leader'
), unit_counts AS (
    SELECT u.building_id, count(DISTINCT u.id) AS units,
           count(DISTINCT l.worker_id) AS leaders,
           count(DISTINCT u.id) FILTER (WHERE l.unit_id IS NULL) AS without_leader
    FROM units u LEFT JOIN led_units l ON l.unit_id = u.id
    GROUP BY u.building_id
)
SELECT b.code, b.name,
       CASE g.level WHEN 1 THEN g.code WHEN 2 THEN p.code WHEN 3 THEN pp.code END,
       CASE g.level WHEN 2 THEN g.code WHEN 3 THEN p.code END,
       CASE g.level WHEN 3 THEN g.code END,
       b.households,
       coalesce(uc.units, 0),
       coalesce(bs.leaders, 0),
       coalesce(uc.leaders, 0),
       coalesce(uc.without_leader, 0),
       coalesce(CASE WHEN g.level = 3 THEN gs.leaders END, 0),
       coalesce(CASE WHEN g.level = 3 THEN gs.workers END, 0)
FROM buildings b
LEFT JOIN grids g ON g.id = b.grid_id
LEFT JOIN grids p ON p.id = g.parent_id
LEFT JOIN grids pp ON pp.id = p.parent_id
LEFT JOIN grid_staff gs ON gs.grid_id = g.id
LEFT JOIN building_staff bs ON bs.building_id = b.id
LEFT JOIN unit_counts uc ON uc.building_id = b.id
ORDER BY b.code`

// AssignmentColumns are the CSV header of the assignments export.
var assignmentColumns = []string{
	"building_code", "building_name", "level1_code", "level2_code", "level3_code",
	"households", "units", "building_leaders", "unit_leaders", "units_without_leader",
	"grid_leaders", "grid_workers",
}

// export runs fn in a read-only, repeatable-read transaction: the data version in the
// provenance is the version of exactly the rows exported. Its statements may run for
// Limits.ExportTimeout, as the rows stream while the client reads them.
func (s *Store) export(ctx context.Context, fn func(tx pgx.Tx, e grid.Export) error, e grid.Export) error {
	return mapError(pgx.BeginTxFunc(ctx, s.read(ctx), pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if d := s.limits.ExportTimeout; d > 0 {
			if err := statementTimeout(ctx, tx, d); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, "SELECT version FROM data_version").Scan(&e.DataVersion); err != nil {
			return err
		}
		e.ExportedAt = time.Now().UTC()
		return fn(tx, e)
	}))
}

// geojsonMembers are the top-level members of an exported FeatureCollection. "name" is the
// layer name GDAL and QGIS show.
type geojsonMembers struct {
	Name        string         `json:"name"`
	CRS         *crsMember     `json:"crs,omitempty"`
	Generator   string         `json:"generator"`
	ExportedAt  time.Time      `json:"exported_at"`
	DataVersion int64          `json:"data_version"`
	Filters     map[string]any `json:"filters"`
}

// crsMember is GeoJSON 2008's named CRS, which GDAL and gridmap's import read.
type crsMember struct {
	Type       string            `json:"type"`
	Properties map[string]string `json:"properties"`
}

// exportCRS returns the crs member of an export in c: none for WGS 84 (GeoJSON's own), the
// EPSG URN GDAL reads for an EPSG CRS, gridmap's name for GCJ-02 and BD-09.
func exportCRS(c chinacrs.CRS) *crsMember {
	name := c.String()
	switch {
	case c == "" || c == chinacrs.CRS84 || c == chinacrs.WGS84:
		return nil
	case c.EPSG() != 0:
		name = fmt.Sprintf("urn:ogc:def:crs:EPSG::%d", c.EPSG())
	}
	return &crsMember{Type: "name", Properties: map[string]string{"name": name}}
}

// exportGeometry returns the SQL of an export's geometry member and of the geometry its
// features get in Go instead, for the column geom in CRS c: PostGIS writes WGS 84 and the
// CRSs it converts (ST_Transform, the SRID coming from a validated CRS), Go converts GCJ-02
// and BD-09 (the member is null in SQL and filled in by fillGeometry).
func exportGeometry(geom string, c chinacrs.CRS) (member, inGo string) {
	switch {
	case c.NeedsPostGIS():
		return fmt.Sprintf("ST_AsGeoJSON(ST_Transform(%s, %d))::json", geom, c.EPSG()), "NULL::geometry"
	case c == "" || c == chinacrs.CRS84 || c == chinacrs.WGS84:
		return fmt.Sprintf("ST_AsGeoJSON(%s)::json", geom), "NULL::geometry"
	}
	return "NULL::json", geom
}

// nullGeometry is how json_build_object writes the null geometry member fillGeometry fills:
// the first member with that text in a feature whose type and id come before it.
var nullGeometry = []byte(`"geometry" : null`)

// fillGeometry returns feature (json_build_object's text) with its null geometry member
// replaced by the EWKB geometry raw converted from WGS 84 to c, with ST_AsGeoJSON's 9
// decimals.
func fillGeometry(buf, feature, raw []byte, c chinacrs.CRS) ([]byte, error) {
	i := bytes.Index(feature, nullGeometry)
	if i < 0 {
		return nil, errors.New("postgis: export: a feature without its null geometry member")
	}
	if raw[0] == '0' { // hex text, as the simple protocol sends it (binary EWKB starts 0x00 or 0x01)
		if raw, err := hex.DecodeString(string(raw)); err == nil {
			return fillGeometry(buf, feature, raw, c)
		}
	}
	g, _, err := ewkb.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("postgis: export: %w", err)
	}
	if g, err = chinacrs.Convert(g, chinacrs.WGS84, c); err != nil {
		return nil, err
	}
	member, err := json.Marshal(geo.GeoJSON{Geometry: orb.Round(g, 1e9)})
	if err != nil {
		return nil, err
	}
	buf = append(buf[:0], feature[:i+len(nullGeometry)-len("null")]...)
	buf = append(buf, member...)
	return append(buf, feature[i+len(nullGeometry):]...), nil
}

// streamFeatures writes the rows of sql as the features of a FeatureCollection in CRS c: the
// feature, and the geometry to convert in Go when c needs that (exportGeometry). Rows are read
// with RawValues: each feature's bytes go from the connection buffer to the writer without a
// copy.
func streamFeatures(ctx context.Context, tx pgx.Tx, e grid.Export, c chinacrs.CRS, open func(grid.Export) (io.Writer, error), sql string, args ...any) (int, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	// a query error shows at the first Next: find it before any output is written
	more := rows.Next()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	w, err := open(e)
	if err != nil {
		return 0, err
	}
	fw, err := geo.NewFeatureWriter(w, geojsonMembers{Name: e.Kind, CRS: exportCRS(c), Generator: "gridmap",
		ExportedAt: e.ExportedAt, DataVersion: e.DataVersion, Filters: e.Filters})
	if err != nil {
		return 0, err
	}
	var buf []byte
	for ; more; more = rows.Next() {
		feature := rows.RawValues()[0]
		if raw := rows.RawValues()[1]; raw != nil {
			if buf, err = fillGeometry(buf, feature, raw, c); err != nil {
				return fw.Count(), err
			}
			feature = buf
		}
		if err := fw.Add(feature); err != nil {
			return fw.Count(), err
		}
	}
	if err := rows.Err(); err != nil {
		return fw.Count(), err
	}
	return fw.Count(), fw.Close()
}

// ExportGrids streams the current grids matching f, by code, with their counts; with f.At in
// the past, the grids as they stood then (export_at.go).
func (s *Store) ExportGrids(ctx context.Context, f grid.GridExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	at, err := s.pastMoment(ctx, f.At)
	if err != nil || at != nil {
		if err != nil {
			return 0, err
		}
		return s.exportGridsAt(ctx, f, *at, open)
	}
	e := grid.Export{Kind: "grids", Filters: map[string]any{}}
	var level *int
	if f.Level != 0 {
		level = &f.Level
		e.Filters["level"] = f.Level
	}
	n := 0
	err = s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		root, err := exportScope(ctx, tx, e, "parent", f.Parent)
		if err != nil {
			return err
		}
		member, inGo := exportGeometry("g.geom", f.CRS)
		n, err = streamFeatures(ctx, tx, e, f.CRS, open, fmt.Sprintf(exportGridsSQL, member, inGo), level, root)
		return err
	}, e)
	return n, err
}

// exportScope resolves an export's optional root grid k and records its code as filter
// name in the export's provenance; nil without k.
func exportScope(ctx context.Context, tx pgx.Tx, e grid.Export, name string, k *grid.GridKey) (*int64, error) {
	if k == nil {
		return nil, nil
	}
	r, err := resolveGrid(ctx, tx, *k)
	if err != nil {
		return nil, err
	}
	e.Filters[name] = r.Code
	return &r.ID, nil
}

// ExportBuildings streams the buildings matching f, by code; with f.At, those there then in
// the grids they were in then.
func (s *Store) ExportBuildings(ctx context.Context, f grid.BuildingExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	e := grid.Export{Kind: "buildings", Filters: map[string]any{}}
	at, err := s.pastMoment(ctx, f.At)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		if err := exportAsOf(ctx, tx, e, at); err != nil {
			return err
		}
		root, err := exportScope(ctx, tx, e, "grid", f.Grid)
		if err != nil {
			return err
		}
		member, inGo := exportGeometry("b.footprint", f.CRS)
		n, err = streamFeatures(ctx, tx, e, f.CRS, open, fmt.Sprintf(exportBuildingsSQL, member, inGo), root, f.Viewer.ResidentsFloor())
		return err
	}, e)
	return n, err
}

// ExportAssignments streams one CSV row per building, by building code; with f.At, of the
// buildings and assignments of then.
func (s *Store) ExportAssignments(ctx context.Context, f grid.AssignmentExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	e := grid.Export{Kind: "assignments", Filters: map[string]any{}}
	at, err := s.pastMoment(ctx, f.At)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		if err := exportAsOf(ctx, tx, e, at); err != nil {
			return err
		}
		// Every join here is of whole tables, which hashing serves; at a past moment the as-of
		// views' row estimates (filters on gridmap.at) led the planner to a nested loop over the
		// 135,000 per-building unit counts of demo --scale 100 (over a minute instead of 1.7 s).
		if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, exportAssignmentsSQL)
		if err != nil {
			return err
		}
		var (
			code, name string
			l1, l2, l3 *string
			counts     [7]int64
			rec        = make([]string, len(assignmentColumns))
		)
		n, err = streamCSV(rows, open, e, assignmentColumns, func() ([]string, error) {
			if err := rows.Scan(&code, &name, &l1, &l2, &l3, &counts[0], &counts[1], &counts[2],
				&counts[3], &counts[4], &counts[5], &counts[6]); err != nil {
				return nil, err
			}
			rec[0], rec[1], rec[2], rec[3], rec[4] = code, name, deref(l1), deref(l2), deref(l3)
			for k, c := range counts {
				rec[5+k] = strconv.FormatInt(c, 10)
			}
			return rec, nil
		})
		return err
	}, e)
	return n, err
}

// householdsExportSQL: household rows (dwelling records: label, floor, occupancy, residents)
// of the buildings under grid $1 (NULL: all), with where they are.
const householdsExportSQL = `
SELECT coalesce(g.code, ''), b.code, u.label, h.label, h.floor, h.occupancy, h.residents
FROM households h JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = u.building_id
LEFT JOIN grids g ON g.id = b.grid_id
WHERE $1::bigint IS NULL OR b.grid_id IN (SELECT id FROM gridmap_subtree($1))
ORDER BY b.code, u.label, h.floor, h.label`

var householdColumns = []string{"grid_code", "building_code", "unit", "household", "floor", "occupancy", "residents"}

// ExportHouseholds streams the household rows under a grid as CSV, for those who may see them.
func (s *Store) ExportHouseholds(ctx context.Context, u *grid.User, f grid.HouseholdExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	if err := u.Require(grid.PermExportHouseholds); err != nil {
		return 0, err
	}
	if f.Grid == nil && !u.Everywhere() {
		return 0, grid.Errorf(grid.EFORBIDDEN, "%s: name one of your grids (grid=…)", u.Name)
	}
	e := grid.Export{Kind: "households", Filters: map[string]any{}}
	n := 0
	err := s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		var root *int64
		if f.Grid != nil {
			ref, err := householdsRoot(ctx, tx, u, *f.Grid)
			if err != nil {
				return err
			}
			root = &ref.ID
			e.Filters["grid"] = ref.Code
		}
		rows, err := tx.Query(ctx, householdsExportSQL, root)
		if err != nil {
			return err
		}
		var gc, bc, ul, hl, occ string
		var floor, res int
		n, err = streamCSV(rows, open, e, householdColumns, func() ([]string, error) {
			if err := rows.Scan(&gc, &bc, &ul, &hl, &floor, &occ, &res); err != nil {
				return nil, err
			}
			return []string{gc, bc, ul, hl, strconv.Itoa(floor), occ, strconv.Itoa(res)}, nil
		})
		return err
	}, e)
	return n, err
}

// householdsRoot resolves the grid whose household rows u exports: EFORBIDDEN unless u may
// see the households of the grid or of one above it.
func householdsRoot(ctx context.Context, tx pgx.Tx, u *grid.User, k grid.GridKey) (grid.GridRef, error) {
	ref, err := resolveGrid(ctx, tx, k)
	if err != nil {
		return ref, err
	}
	rows, _ := tx.Query(ctx, gridChainSQL, ref.ID)
	chain, err := pgx.CollectRows(rows, scanGridRef)
	if err != nil {
		return ref, err
	}
	if !u.Viewer().MaySeeHouseholds(idsOfRefs(chain)) {
		return ref, grid.Errorf(grid.EFORBIDDEN, "%s: grid %s is outside your grids", u.Name, ref.Code)
	}
	return ref, nil
}

// streamCSV writes rows as CSV under header, one record per row. The first row is fetched
// before open, so a failing query is still a coded error rather than a half-written file.
func streamCSV(rows pgx.Rows, open func(grid.Export) (io.Writer, error), e grid.Export, header []string, record func() ([]string, error)) (int, error) {
	defer rows.Close()
	more := rows.Next()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	w, err := open(e)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	for ; more; more = rows.Next() {
		rec, err := record()
		if err != nil {
			return n, err
		}
		for k, cell := range rec {
			rec[k] = csvCell(cell)
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// csvCell neutralises a cell a spreadsheet would run as a formula (CSV injection): text
// starting with = + - @, a tab or a carriage return gets a leading apostrophe, which the
// spreadsheet shows as text and keeps out of the value. A plain number ("-1", a basement
// floor) is left as it is: spreadsheets read it as the number it is.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber(s) {
		return s
	}
	return "'" + s
}

// plainNumber reports whether s is an optionally signed decimal number.
func plainNumber(s string) bool {
	s = strings.TrimLeft(s[:1], "+-") + s[1:]
	digits, dot := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
