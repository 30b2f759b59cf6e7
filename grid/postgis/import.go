package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
	"gridmap/grid"
)

// Input is one GeoJSON document to import.
type Input struct {
	Name string // shown in rejections, e.g. the file path
	R    io.Reader
	// CRS is the CRS the document's coordinates are in, as its user said (--crs); empty: the
	// one its "crs" member names, else WGS 84. A member naming another CRS is refused
	// (chinacrs.Resolve). Coordinates in GCJ-02 and BD-09 are converted in Go, those of
	// CGCS2000 and its Gauss–Krüger zones by PostGIS as they are staged.
	CRS chinacrs.CRS
}

// BuildingImport configures ImportBuildings.
type BuildingImport struct {
	Actor         string
	SkipInvalid   bool    // import the valid features and report the rest; default: all or nothing
	StoreyM       float64 // metres per storey, to turn a height into floors (default 3)
	DwellingM2    float64 // average gross floor area per dwelling (default 90 m²)
	HouseholdSize float64 // average residents per dwelling, for estimates (default 2.6)
}

func (o *BuildingImport) defaults() {
	if o.StoreyM <= 0 {
		o.StoreyM = 3
	}
	if o.DwellingM2 <= 0 {
		o.DwellingM2 = 90
	}
	if o.HouseholdSize <= 0 {
		o.HouseholdSize = 2.6
	}
	if o.Actor == "" {
		o.Actor = "import"
	}
}

// GridImport configures ImportGrids.
type GridImport struct {
	Actor       string
	Level       int
	NameProp    string // property holding the grid's name; default name/NAME/Name
	CityName    string // for the city row, when the database has none yet
	AdminCode   string // 6-digit administrative division code, when the database has no city yet
	SkipInvalid bool
	Conform     bool    // conform the families the import adds to (grid.Conform), in its transaction
	SnapM       float64 // the sliver width of Conform
}

// stageBatch is how many features a parser holds before they are copied to the database.
const stageBatch = 2000

// shape is the kind of geometry an import reads: areas (grids, buildings) or lines (roads).
type shape struct {
	parse func(json.RawMessage, geo.PositionCheck) (orb.Geometry, bool, error)
	// extract is the ST_CollectionExtract type a repaired geometry keeps: 3 polygons, 2 lines
	extract int
	// measure is the SQL function by which a feature must have a size, after repair
	measure string
	// derive is the SQL of import_prep's anchor and g3857 columns, given the repaired r.g:
	// what the insert needs besides (NULLs when it needs neither)
	derive string
}

var (
	areas = shape{parse: func(raw json.RawMessage, check geo.PositionCheck) (orb.Geometry, bool, error) {
		mp, fixed, err := geo.ParsePolygonalIn(raw, 0, check)
		return mp, fixed, err
	}, extract: 3, measure: "ST_Area", derive: "NULL::geometry, NULL::geometry"}
	// footprints are areas that get their points on surface and Web-Mercator copies
	footprints = shape{parse: areas.parse, extract: 3, measure: "ST_Area",
		derive: "ST_PointOnSurface(r.g), ST_Transform(r.g, 3857)"}
	lines = shape{parse: func(raw json.RawMessage, check geo.PositionCheck) (orb.Geometry, bool, error) {
		ml, fixed, err := geo.ParseLinealIn(raw, check)
		return ml, fixed, err
	}, extract: 2, measure: "ST_Length", derive: "NULL::geometry, ST_Transform(r.g, 3857)"}
)

// stage streams the inputs' polygon features into the temporary table import_stage (see
// stageShape).
func stage(ctx context.Context, tx pgx.Tx, inputs []Input, props func(f geo.Feature) (stageProps, error), sum *grid.ImportSummary) error {
	return stageShape(ctx, tx, inputs, areas, props, sum)
}

// stageShape streams the inputs' features into the temporary table import_prep, validating
// each: features that can't be of the shape are rejected here with their file and index. A
// malformed document (truncated, not GeoJSON) fails the whole import with EINVALID naming the
// file. Files are parsed in parallel (one per core) while this goroutine copies finished
// batches and has the database prepare each (prepSQL) as the next ones are parsed: parsing and
// the database's work overlap, and memory stays at a few batches per parser.
func stageShape(ctx context.Context, tx pgx.Tx, inputs []Input, sh shape, props func(f geo.Feature) (stageProps, error), sum *grid.ImportSummary) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_stage (
		file_no int NOT NULL, file text NOT NULL, idx int NOT NULL,
		geom geometry NOT NULL, fixed boolean NOT NULL,
		name text, address text, floors int, height real, households int, class text,
		srid int NOT NULL
	) ON COMMIT DROP;
	CREATE TEMP TABLE import_prep ON COMMIT DROP AS
	SELECT file_no, file, idx, fixed, name, address, floors, height, households, class,
	       true AS valid, geom AS g, NULL::bytea AS hash, geom AS anchor, geom AS g3857
	FROM import_stage WITH NO DATA`); err != nil {
		return err
	}
	cols := []string{"file_no", "file", "idx", "geom", "fixed", "name", "address", "floors", "height", "households", "class", "srid"}
	prep := fmt.Sprintf(prepSQL, sh.extract, sh.measure, sh.derive)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches, results := parseAll(ctx, inputs, sh, props)
	var copyErr error
	for batch := range batches {
		if copyErr != nil {
			continue // drain so the parsers can finish
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"}, cols, pgx.CopyFromRows(batch))
		if err == nil {
			_, err = tx.Exec(ctx, prep)
		}
		if err != nil {
			copyErr = err
			cancel()
		}
	}
	for n, r := range results {
		sum.Read += r.read
		sum.Rejected = append(sum.Rejected, r.rejected...)
		if r.crs != "" && datum(r.crs) != chinacrs.WGS84 && !slices.Contains(sum.CRS, r.crs.String()) {
			sum.CRS = append(sum.CRS, r.crs.String())
		}
		var ge *grid.Error
		switch {
		case r.err == nil || copyErr != nil:
		case errors.Is(r.err, geo.ErrNotGeoJSON):
			return grid.Errorf(grid.EINVALID, "%s: %s", inputs[n].Name, strings.TrimPrefix(r.err.Error(), geo.ErrNotGeoJSON.Error()+": "))
		case errors.As(r.err, &ge):
			return r.err
		default:
			return fmt.Errorf("%s: %w", inputs[n].Name, r.err)
		}
	}
	return copyErr
}

// parseAll parses the inputs in parallel (one per core), sending batches of staged rows. The
// channel closes when every parser is done; results[n] then holds what parsing input n found.
func parseAll(ctx context.Context, inputs []Input, sh shape, props func(f geo.Feature) (stageProps, error)) (<-chan [][]any, []parsed) {
	batches := make(chan [][]any, 2*runtime.GOMAXPROCS(0))
	results := make([]parsed, len(inputs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(inputs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				results[n] = parseInput(ctx, n, inputs[n], sh, props, batches)
			}
		}()
	}
	go func() {
		defer close(batches)
		defer wg.Wait()
		defer close(jobs)
		for n := range inputs {
			select {
			case jobs <- n:
			case <-ctx.Done():
				return
			}
		}
	}()
	return batches, results
}

// parsed is what parsing one input found besides the staged rows.
type parsed struct {
	read     int
	rejected []grid.Rejection
	crs      chinacrs.CRS // the CRS the document's coordinates were read in
	err      error
}

// parseInput reads one document, sending batches of staged rows; rejections are returned in
// feature order.
func parseInput(ctx context.Context, n int, in Input, sh shape, props func(f geo.Feature) (stageProps, error), out chan<- [][]any) (r parsed) {
	batch := make([][]any, 0, stageBatch)
	send := func() error {
		select {
		case out <- batch:
			batch = make([][]any, 0, stageBatch)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var c crsReader
	if err := c.resolve(in, "", 0); err != nil {
		r.err = err
		return r
	}
	r.err = geo.ReadFeaturesCRS(in.R, func(name string, before int) error {
		return c.resolve(in, name, before)
	}, func(f geo.Feature) error {
		r.read++
		g, fixed, err := sh.parse(f.Geometry, c.Check)
		if err == nil {
			g, err = c.toWGS84(g)
		}
		var p stageProps
		if err == nil {
			p, err = props(f)
		}
		if err != nil {
			r.rejected = append(r.rejected, grid.Rejection{File: in.Name, Index: f.Index, Reason: err.Error()})
			return nil
		}
		batch = append(batch, []any{n, in.Name, f.Index, g, fixed,
			p.name, p.address, p.floors, p.height, p.households, p.class, c.srid})
		if len(batch) == stageBatch {
			return send()
		}
		return nil
	})
	if r.err == nil && len(batch) > 0 {
		r.err = send()
	}
	r.crs = c.CRS
	return r
}

// crsReader is the CRS one document is read in: how its positions are checked, converted in Go
// (GCJ-02, BD-09) and staged (with the SRID PostGIS transforms from).
type crsReader struct {
	grid.DocumentCRS
	srid int
}

// resolve declares the document's crs member (see grid.DocumentCRS.Declare): EINVALID naming
// the file.
func (c *crsReader) resolve(in Input, declared string, before int) error {
	c.Given = in.CRS
	if err := c.Declare(declared, before); err != nil {
		return grid.Errorf(grid.EINVALID, "%s: %s", in.Name, grid.ErrorMessage(err))
	}
	c.srid = geo.SRID
	if c.CRS.NeedsPostGIS() {
		c.srid = c.CRS.EPSG()
	}
	return nil
}

// toWGS84 converts g from a CRS converted in Go (GCJ-02, BD-09) to WGS 84, in place; other
// CRSs are left to PostGIS (prepSQL) or are WGS 84 already.
func (c *crsReader) toWGS84(g orb.Geometry) (orb.Geometry, error) {
	if c.CRS.NeedsPostGIS() || datum(c.CRS) == chinacrs.WGS84 {
		return g, nil
	}
	return chinacrs.Convert(g, c.CRS, chinacrs.WGS84)
}

// datum names CRS84 and EPSG:4326 alike: the same coordinates in a GeoJSON document.
func datum(c chinacrs.CRS) chinacrs.CRS {
	if c == chinacrs.CRS84 {
		return chinacrs.WGS84
	}
	return c
}

// stageProps are the properties an import reads; nil fields were not given.
type stageProps struct {
	name, address, class *string
	floors               *int
	height               *float64
	households           *int
}

// prepSQL prepares a batch of staged features: it moves those staged in another CRS to WGS 84
// (ST_Transform from the SRID they came with: CGCS2000 and its Gauss–Krüger zones), repairs
// invalid geometries (ST_MakeValid,
// keeping the part of the import's shape), hashes the result after normalization (vertex order
// and start, and a line's direction, do not matter) when it has a size, and derives what the
// shape asks for; each function once per row (OFFSET 0 keeps the planner from inlining a
// subquery and repeating its expressions where they are used).
const prepSQL = `
INSERT INTO import_prep (file_no, file, idx, fixed, name, address, floors, height, households, class,
                         valid, g, hash, anchor, g3857)
SELECT r.*, CASE WHEN NOT ST_IsEmpty(r.g) AND %[2]s(r.g) > 0
                 THEN decode(md5(ST_AsBinary(ST_Normalize(r.g))), 'hex') END, %[3]s
FROM (
	SELECT s.file_no, s.file, s.idx, s.fixed, s.name, s.address, s.floors, s.height, s.households, s.class, v.valid,
	       CASE WHEN v.valid THEN ST_Multi(t.geom)
	            ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(t.geom, 'method=structure keepcollapsed=false'), %[1]d)) END AS g
	FROM import_stage s
	CROSS JOIN LATERAL (SELECT CASE WHEN s.srid = 4326 THEN s.geom
	                                ELSE ST_Transform(ST_SetSRID(s.geom, s.srid), 4326) END AS geom OFFSET 0) t
	CROSS JOIN LATERAL (SELECT ST_IsValid(t.geom) AS valid OFFSET 0) v
	OFFSET 0) r;
TRUNCATE import_stage`

// classifySQL marks exact duplicates among the prepared features: the same hash as an
// earlier feature of this import or as a stored one. Among equal features the one that needed
// no repair is kept.
const classifySQL = `
CREATE TEMP TABLE import_ready ON COMMIT DROP AS
SELECT p.*, NULL::bigint AS parent_id,
       p.hash IS NOT NULL
       AND (row_number() OVER (PARTITION BY p.hash ORDER BY p.fixed OR NOT p.valid, p.file_no, p.idx) > 1
            OR EXISTS (SELECT 1 FROM %[1]s t WHERE t.source_hash = p.hash %[2]s)) AS dup
FROM import_prep p;
DROP TABLE import_prep`

// classify rejects the staged areas with none left after repair, and counts duplicates.
func classify(ctx context.Context, tx pgx.Tx, table, scope string, sum *grid.ImportSummary) error {
	return classifyShape(ctx, tx, areas, table, scope, sum)
}

// classifyShape rejects the staged features with no size left after repair, and marks and
// counts their duplicates, into import_ready.
func classifyShape(ctx context.Context, tx pgx.Tx, sh shape, table, scope string, sum *grid.ImportSummary) error {
	if _, err := tx.Exec(ctx, fmt.Sprintf(classifySQL, table, scope)); err != nil {
		return err
	}
	reason := "invalid polygon with no area left after repair (collapsed ring)"
	if sh.extract == lines.extract {
		reason = "line with no length"
	}
	if err := rejectStaged(ctx, tx, `DELETE FROM import_ready WHERE hash IS NULL RETURNING file, idx`, reason, sum); err != nil {
		return err
	}
	return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE dup) FROM import_ready`).Scan(&sum.Duplicates)
}

// bulkLoad makes the rest of the transaction a bulk load (migrations/0007_bulk.sql): the row
// triggers that derive columns, and the statement triggers that keep derived tables, stand
// aside, so the caller must write every derived column and end with bulk_refresh_derived.
// Sorts and hashes over the whole load get workMB of memory (more if the server gives more).
func bulkLoad(ctx context.Context, tx pgx.Tx, workMB int) error {
	_, err := tx.Exec(ctx, `SELECT set_config('gridmap.bulk', 'on', true),
		set_config('work_mem', greatest(setting::bigint, $1::bigint) || 'kB', true)
	FROM pg_settings WHERE name = 'work_mem'`, workMB*1024)
	return err
}

// rejectStaged removes the staged features deleteSQL deletes (returning their file and
// index) and rejects them, for reason.
func rejectStaged(ctx context.Context, tx pgx.Tx, deleteSQL, reason string, sum *grid.ImportSummary) error {
	rows, _ := tx.Query(ctx, deleteSQL)
	var file string
	var idx int
	_, err := pgx.ForEachRow(rows, []any{&file, &idx}, func() error {
		sum.Rejected = append(sum.Rejected, grid.Rejection{File: file, Index: idx, Reason: reason})
		return nil
	})
	return err
}

// countInserted counts the rows an insert returns (repaired, estimated) as imported or
// repaired, and estimated.
func countInserted(rows pgx.Rows, sum *grid.ImportSummary) error {
	var repaired, estimated bool
	_, err := pgx.ForEachRow(rows, []any{&repaired, &estimated}, func() error {
		if repaired {
			sum.Repaired++
		} else {
			sum.Imported++
		}
		if estimated {
			sum.Estimated++
		}
		return nil
	})
	return err
}

// errRollback ends an import's transaction without writing, after the summary is complete.
var errRollback = errors.New("rollback")

// importResult completes the summary of an import whose transaction ended with err: with
// errRollback (rejections, and no SkipInvalid) nothing was written.
func importResult(sum *grid.ImportSummary, start time.Time, err error) (grid.ImportSummary, error) {
	sum.Elapsed = time.Since(start)
	switch {
	case errors.Is(err, errRollback):
		sum.Committed = false
		return *sum, grid.Errorf(grid.EINVALID, "%d of %d features rejected (first: %s); nothing was written",
			len(sum.Rejected), sum.Read, sum.Rejected[0])
	case err != nil:
		sum.Committed = false
		return *sum, mapError(err)
	}
	sum.Committed = true
	return *sum, nil
}

// The building import's bulk path writes every column the row triggers buildings_derive and
// buildings_tile would (migrations 0001, 0005), set-based, and must write exactly what they
// would: a test holds the two paths equal column by column.
//
// anchorsSQL indexes the new buildings' points on surface, so that finding their grids is
// one point-in-polygon join that the planner may drive from the grids (one probe per grid
// instead of one per building: 0.05 s instead of 0.2 s for the Taipei files). Building the
// index tells the planner the table's size; ANALYZE would add 0.1–0.2 s for nothing it uses.
const anchorsSQL = `CREATE INDEX ON import_ready USING gist (anchor) WHERE NOT dup`

// insertBuildingsSQL derives each new building's grid (the deepest current grid holding its
// point on surface, the lowest id on a tie: gridmap_grid_at), its code (the grid's code and
// the next 5-digit number under it, in input order), its grid code and straddling flag
// (buildings_tile; the size from the Web-Mercator copy prepSQL made), and inserts them with
// the ids they would take inserted one by one in input order (so no sort of the footprints
// is needed). The grid and code are found on narrow rows before the footprints join them.
// Household estimates take the footprint area from Web Mercator scaled by cos²(latitude):
// within 0.1% of the spheroidal area for a building, at a tenth of the cost. It answers the
// counts of what it inserted and the grids they went to.
const insertBuildingsSQL = `
WITH cell AS MATERIALIZED (
	SELECT DISTINCT ON (r.file_no, r.idx) r.file_no, r.idx, g.id
	FROM import_ready r JOIN grids g ON g.valid_to IS NULL AND g.geom && r.anchor AND ST_Intersects(g.geom, r.anchor)
	WHERE NOT r.dup
	ORDER BY r.file_no, r.idx, g.level DESC, g.id
), plan AS MATERIALIZED (
	SELECT r.file_no, r.idx, c.id AS grid_id, coalesce(g.code, '000000000000000') AS prefix,
	       row_number() OVER (PARTITION BY g.code ORDER BY r.file_no, r.idx) AS rn,
	       row_number() OVER (ORDER BY r.file_no, r.idx) AS k
	FROM import_ready r LEFT JOIN cell c USING (file_no, idx) LEFT JOIN grids g ON g.id = c.id
	WHERE NOT r.dup
), last AS MATERIALIZED (
	SELECT p.prefix, coalesce((SELECT right(b.code, 5)::int FROM buildings b
	                           WHERE b.code >= p.prefix || '00000' AND b.code <= p.prefix || '99999'
	                           ORDER BY b.code DESC LIMIT 1), 0) AS n
	FROM (SELECT DISTINCT prefix FROM plan) p
), ids AS MATERIALIZED ( -- the ids the rows would take one by one in input order, reserved at once
	SELECT s.seq, setval(s.seq, nextval(s.seq) + n.n - 1) - n.n AS base
	FROM (SELECT pg_get_serial_sequence('buildings', 'id') AS seq) s, (SELECT count(*) AS n FROM plan) n
	WHERE n.n > 0
), ins AS (
	INSERT INTO buildings (id, code, name, address, floors, height_m, footprint, footprint_3857, size_3857,
	                       grid_id, grid_code, straddling, households, residents, households_estimated,
	                       repaired, source, source_hash)
	SELECT ids.base + p.k, p.prefix || lpad((l.n + p.rn)::text, 5, '0'),
	       coalesce(r.name, ''), coalesce(r.address, ''), f.floors, r.height, r.g, r.g3857, tile_size(r.g3857),
	       p.grid_id, g.code, tile_straddles(r.g, g.geom, g.level),
	       coalesce(r.households, e.n), round(coalesce(r.households, e.n) * $3::float8)::int,
	       r.households IS NULL, r.fixed OR NOT r.valid, r.file, r.hash
	FROM plan p JOIN last l USING (prefix) JOIN import_ready r USING (file_no, idx) CROSS JOIN ids
	     LEFT JOIN grids g ON g.id = p.grid_id,
	     LATERAL (SELECT greatest(1, least(200, coalesce(r.floors, round(coalesce(r.height, 3) / $1::float8)::int))) AS floors) f,
	     LATERAL (SELECT round(ST_Area(r.g3857) * cos(radians(ST_YMin(r.g))) ^ 2 * f.floors / $2::float8)::int AS n) e
	ON CONFLICT (source_hash) DO NOTHING
	RETURNING repaired, households_estimated, grid_id
)
SELECT count(*) FILTER (WHERE NOT repaired), count(*) FILTER (WHERE repaired),
       count(*) FILTER (WHERE households_estimated),
       coalesce(array_agg(DISTINCT grid_id) FILTER (WHERE grid_id IS NOT NULL), '{}')
FROM ins`

// ImportBuildings imports building footprints from GeoJSON (Polygon/MultiPolygon features;
// optional properties height [m], floors, name, address, households). Each building's grid is
// derived by the database from its point on surface; households are estimated from footprint
// area × floors ÷ DwellingM2 where the input has no count, and flagged as estimated. Exact
// duplicates are skipped, invalid footprints repaired. One transaction: with rejections and no
// SkipInvalid nothing is written and the error is EINVALID; the summary accounts for every
// feature either way. Running the same import again imports nothing. It is a bulk load: grids,
// codes and tile columns are derived in set SQL, not by the row triggers.
func (s *Store) ImportBuildings(ctx context.Context, inputs []Input, o BuildingImport) (grid.ImportSummary, error) {
	o.defaults()
	start := time.Now()
	sum := grid.ImportSummary{Kind: "buildings"}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := bulkLoad(ctx, tx, 64); err != nil {
			return err
		}
		if err := stageShape(ctx, tx, inputs, footprints, buildingProps, &sum); err != nil {
			return err
		}
		s.log.Debug("import: staged", "ms", time.Since(start).Milliseconds())
		if err := classify(ctx, tx, "buildings", "", &sum); err != nil {
			return err
		}
		s.log.Debug("import: classified", "ms", time.Since(start).Milliseconds())
		if len(sum.Rejected) > 0 && !o.SkipInvalid {
			return errRollback
		}
		if _, err := tx.Exec(ctx, anchorsSQL); err != nil {
			return err
		}
		s.log.Debug("import: anchors indexed", "ms", time.Since(start).Milliseconds())
		var grids []int64
		if err := tx.QueryRow(ctx, insertBuildingsSQL, o.StoreyM, o.DwellingM2, o.HouseholdSize).Scan(
			&sum.Imported, &sum.Repaired, &sum.Estimated, &grids); err != nil {
			return err
		}
		s.log.Debug("import: inserted", "ms", time.Since(start).Milliseconds())
		if _, err := tx.Exec(ctx, `SELECT bulk_refresh_derived($1)`, grids); err != nil {
			return err
		}
		s.log.Debug("import: derived tables refreshed", "ms", time.Since(start).Milliseconds())
		return auditImport(ctx, tx, o.Actor, "buildings", inputs, &sum)
	})
	return importResult(&sum, start, err)
}

func auditImport(ctx context.Context, tx pgx.Tx, actor, entity string, inputs []Input, sum *grid.ImportSummary) error {
	if sum.Imported+sum.Repaired == 0 {
		return nil // nothing was written: nothing to audit
	}
	files := make([]string, len(inputs))
	for k, in := range inputs {
		files[k] = in.Name
	}
	doc := map[string]any{"files": files, "read": sum.Read, "imported": sum.Imported,
		"repaired": sum.Repaired, "duplicates": sum.Duplicates, "rejected": len(sum.Rejected), "estimated": sum.Estimated}
	if len(sum.CRS) > 0 {
		doc["crs"] = sum.CRS
	}
	if sum.Conform != nil {
		doc["conform"] = sum.Conform
	}
	after, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return audit(ctx, tx, actor, "import."+entity, entity, nil, nil, after)
}

func buildingProps(f geo.Feature) (stageProps, error) {
	var p stageProps
	var err error
	if p.height, err = floatProp(f.Properties, "height"); err != nil {
		return p, err
	}
	if p.height != nil && (*p.height <= 0 || *p.height > 1000) {
		return p, fmt.Errorf("property height %v out of range (0, 1000] m", *p.height)
	}
	if p.floors, err = intProp(f.Properties, "floors", 1, 200); err != nil {
		return p, err
	}
	if p.households, err = intProp(f.Properties, "households", 0, 100000); err != nil {
		return p, err
	}
	p.name = stringProp(f.Properties, "name")
	p.address = stringProp(f.Properties, "address")
	return p, nil
}

func floatProp(props map[string]any, key string) (*float64, error) {
	v, ok := props[key]
	if !ok || v == nil {
		return nil, nil
	}
	var f float64
	var err error
	switch t := v.(type) {
	case json.Number:
		f, err = t.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(t), 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("property %s is not a number: %v", key, v)
	}
	return &f, nil
}

func intProp(props map[string]any, key string, lo, hi int) (*int, error) {
	f, err := floatProp(props, key)
	if err != nil || f == nil {
		return nil, err
	}
	if *f != math.Trunc(*f) || *f < float64(lo) || *f > float64(hi) {
		return nil, fmt.Errorf("property %s %v is not a whole number in [%d, %d]", key, *f, lo, hi)
	}
	n := int(*f)
	return &n, nil
}

func stringProp(props map[string]any, key string) *string {
	v, ok := props[key]
	if !ok || v == nil {
		return nil
	}
	s := strings.TrimSpace(fmt.Sprint(v))
	if s == "" {
		return nil
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200])
	}
	return &s
}
