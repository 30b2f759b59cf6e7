package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// Input is one GeoJSON document to import.
type Input struct {
	Name string // shown in rejections, e.g. the file path
	R    io.Reader
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

// stage streams the inputs' features into the temporary table import_stage, validating each:
// features that can't be polygons are rejected here with their file and index. A malformed
// document (truncated, not GeoJSON) fails the whole import with EINVALID naming the file.
// Files are parsed in parallel (one per core) while this goroutine copies finished batches,
// so parsing and the database's work overlap; memory stays at a few batches per parser.
func stage(ctx context.Context, tx pgx.Tx, inputs []Input, props func(f geo.Feature) (stageProps, error), sum *grid.ImportSummary) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_stage (
		file_no int NOT NULL, file text NOT NULL, idx int NOT NULL,
		geom geometry NOT NULL, fixed boolean NOT NULL,
		name text, address text, floors int, height real, households int
	) ON COMMIT DROP`); err != nil {
		return err
	}
	cols := []string{"file_no", "file", "idx", "geom", "fixed", "name", "address", "floors", "height", "households"}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan [][]any, 2*runtime.GOMAXPROCS(0))
	results := make([]parsed, len(inputs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(inputs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				results[n] = parseInput(ctx, n, inputs[n], props, batches)
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
	var copyErr error
	for batch := range batches {
		if copyErr != nil {
			continue // drain so the parsers can finish
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"}, cols, pgx.CopyFromRows(batch)); err != nil {
			copyErr = err
			cancel()
		}
	}
	for n, r := range results {
		sum.Read += r.read
		sum.Rejected = append(sum.Rejected, r.rejected...)
		if r.err != nil && copyErr == nil {
			if errors.Is(r.err, geo.ErrNotGeoJSON) {
				return grid.Errorf(grid.EINVALID, "%s: %s", inputs[n].Name, strings.TrimPrefix(r.err.Error(), geo.ErrNotGeoJSON.Error()+": "))
			}
			return fmt.Errorf("%s: %w", inputs[n].Name, r.err)
		}
	}
	return copyErr
}

// parsed is what parsing one input found besides the staged rows.
type parsed struct {
	read     int
	rejected []grid.Rejection
	err      error
}

// parseInput reads one document, sending batches of staged rows; rejections are returned in
// feature order.
func parseInput(ctx context.Context, n int, in Input, props func(f geo.Feature) (stageProps, error), out chan<- [][]any) (r parsed) {
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
	r.err = geo.ReadFeatures(in.R, func(f geo.Feature) error {
		r.read++
		mp, fixed, err := geo.ParsePolygonal(f.Geometry)
		var p stageProps
		if err == nil {
			p, err = props(f)
		}
		if err != nil {
			r.rejected = append(r.rejected, grid.Rejection{File: in.Name, Index: f.Index, Reason: err.Error()})
			return nil
		}
		batch = append(batch, []any{n, in.Name, f.Index, orb.Geometry(mp), fixed,
			p.name, p.address, p.floors, p.height, p.households})
		if len(batch) == stageBatch {
			return send()
		}
		return nil
	})
	if r.err == nil && len(batch) > 0 {
		r.err = send()
	}
	return r
}

// stageProps are the properties an import reads; nil fields were not given.
type stageProps struct {
	name, address *string
	floors        *int
	height        *float64
	households    *int
}

// classifySQL repairs invalid footprints (ST_MakeValid, keeping the polygonal part) and marks
// exact duplicates: the same area after repair and normalization (vertex order and start do
// not matter), of an earlier feature in this import or of one already stored. Among equal
// features the one that needed no repair is kept. Features left with no area have no hash.
// One pass over the staged rows: updating them in place would rewrite every geometry per step.
const classifySQL = `
CREATE TEMP TABLE import_ready ON COMMIT DROP AS
WITH repaired AS MATERIALIZED ( -- materialized: each reference would otherwise repeat ST_MakeValid
	SELECT s.file_no, s.file, s.idx, s.fixed, s.name, s.address, s.floors, s.height, s.households, v.valid,
	       CASE WHEN v.valid THEN ST_Multi(s.geom)
	            ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(s.geom, 'method=structure keepcollapsed=false'), 3)) END AS g,
	       NULL::bigint AS parent_id
	FROM import_stage s, LATERAL (SELECT ST_IsValid(s.geom) AS valid) v
), hashed AS MATERIALIZED (
	SELECT r.*, CASE WHEN NOT ST_IsEmpty(r.g) AND ST_Area(r.g) > 0
	                 THEN decode(md5(ST_AsBinary(ST_Normalize(r.g))), 'hex') END AS hash
	FROM repaired r
)
SELECT h.*, CASE WHEN h.hash IS NULL THEN false
                 ELSE row_number() OVER (PARTITION BY h.hash ORDER BY h.fixed OR NOT h.valid, h.file_no, h.idx) > 1
                      OR EXISTS (SELECT 1 FROM %[1]s t WHERE t.source_hash = h.hash %[2]s) END AS dup
FROM hashed h`

// classify repairs, rejects features with no area left after repair, and counts duplicates.
func classify(ctx context.Context, tx pgx.Tx, table, scope string, sum *grid.ImportSummary) error {
	if _, err := tx.Exec(ctx, fmt.Sprintf(classifySQL, table, scope)); err != nil {
		return err
	}
	if err := rejectStaged(ctx, tx, `DELETE FROM import_ready WHERE hash IS NULL RETURNING file, idx`,
		"invalid polygon with no area left after repair (collapsed ring)", sum); err != nil {
		return err
	}
	return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE dup) FROM import_ready`).Scan(&sum.Duplicates)
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

// insertBuildingsSQL leaves grid and code to the row trigger (one lookup each, by index).
// Household estimates take the footprint area from Web Mercator scaled by cos²(latitude):
// within 0.1% of the spheroidal area for a building, at a tenth of the cost.
const insertBuildingsSQL = `
INSERT INTO buildings (name, address, floors, height_m, footprint, households, residents,
                       households_estimated, repaired, source, source_hash)
SELECT coalesce(name, ''), coalesce(address, ''), f.floors, height, g,
       coalesce(households, e.n), round(coalesce(households, e.n) * $3::float8)::int,
       households IS NULL, fixed OR NOT valid, file, hash
FROM import_ready,
     LATERAL (SELECT greatest(1, least(200, coalesce(floors, round(coalesce(height, 3) / $1::float8)::int))) AS floors) f,
     LATERAL (SELECT round(ST_Area(ST_Transform(g, 3857)) * cos(radians(ST_YMin(g))) ^ 2 * f.floors / $2::float8)::int AS n) e
WHERE NOT dup
ORDER BY file_no, idx
ON CONFLICT (source_hash) DO NOTHING
RETURNING repaired, households_estimated`

// ImportBuildings imports building footprints from GeoJSON (Polygon/MultiPolygon features;
// optional properties height [m], floors, name, address, households). Each building's grid is
// derived by the database from its point on surface; households are estimated from footprint
// area × floors ÷ DwellingM2 where the input has no count, and flagged as estimated. Exact
// duplicates are skipped, invalid footprints repaired. One transaction: with rejections and no
// SkipInvalid nothing is written and the error is EINVALID; the summary accounts for every
// feature either way. Running the same import again imports nothing.
func (s *Store) ImportBuildings(ctx context.Context, inputs []Input, o BuildingImport) (grid.ImportSummary, error) {
	o.defaults()
	start := time.Now()
	sum := grid.ImportSummary{Kind: "buildings"}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := stage(ctx, tx, inputs, buildingProps, &sum); err != nil {
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
		rows, _ := tx.Query(ctx, insertBuildingsSQL, o.StoreyM, o.DwellingM2, o.HouseholdSize)
		if err := countInserted(rows, &sum); err != nil {
			return err
		}
		s.log.Debug("import: inserted", "ms", time.Since(start).Milliseconds())
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
