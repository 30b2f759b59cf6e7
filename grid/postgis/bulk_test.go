package postgis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// shiftedDemoSQL turns the demo city's footprints into an import: each moved 40 × 30 m so that
// many land across grid boundaries (straddlers) or in other grids, plus a self-intersecting
// one (repaired) and one outside every grid.
const shiftedDemoSQL = `
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(f ORDER BY n))::text FROM (
	SELECT id AS n, json_build_object('type', 'Feature', 'properties', json_build_object('height', floors * 3),
	       'geometry', ST_AsGeoJSON(ST_Translate(footprint, 0.0004, 0.0003))::json) AS f
	FROM buildings
	UNION ALL
	SELECT 1e9, json_build_object('type', 'Feature', 'properties', json_build_object('name', 'bowtie'),
	       'geometry', ST_AsGeoJSON(ST_Translate('POLYGON((0 0,0.0002 0.0002,0.0002 0,0 0.0002,0 0))'::geometry, x, y))::json)
	FROM (SELECT ST_X(anchor) AS x, ST_Y(anchor) AS y FROM buildings ORDER BY id LIMIT 1) a
	UNION ALL
	SELECT 1e9 + 1, json_build_object('type', 'Feature', 'properties', json_build_object('name', 'far away'),
	       'geometry', '{"type":"Polygon","coordinates":[[[10,10],[10.0001,10],[10.0001,10.0001],[10,10]]]}'::json)
) x`

// The bulk path of the building import writes exactly what the row triggers would: the same
// buildings inserted again one by one through buildings_derive and buildings_tile (in input
// order, codes continuing after the city's own) get the same grid, code, point on surface,
// Web-Mercator copy, size, grid code and straddling flag, column for column. And the grid
// tile rows it refreshed equal a rebuild from scratch.
func TestBulkImportMatchesTriggers(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	db := s.Pool()
	var doc string
	if err := db.QueryRow(ctx, shiftedDemoSQL).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	sum, err := s.ImportBuildings(ctx, []postgis.Input{{Name: "bulk.geojson", R: strings.NewReader(doc)}}, postgis.BuildingImport{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported < 1500 || sum.Repaired != 1 {
		t.Fatalf("summary %+v", sum)
	}
	var straddlers, outside, grids int
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE straddling), count(*) FILTER (WHERE grid_id IS NULL),
		count(DISTINCT grid_id) FROM buildings WHERE source = 'bulk.geojson'`).Scan(&straddlers, &outside, &grids); err != nil {
		t.Fatal(err)
	}
	if straddlers < 50 || outside < 1 || grids < 100 {
		t.Fatalf("%d straddlers, %d outside every grid, %d grids: the test does not exercise the derivation", straddlers, outside, grids)
	}

	var tilesDiffer int
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			CREATE TEMP TABLE before ON COMMIT DROP AS SELECT * FROM tile_grids;
			SELECT tile_rebuild();`)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM (
			(SELECT * FROM before EXCEPT SELECT * FROM tile_grids) UNION ALL (SELECT * FROM tile_grids EXCEPT SELECT * FROM before)) d`).Scan(&tilesDiffer)
	})
	if err != nil {
		t.Fatal(err)
	}
	if tilesDiffer != 0 {
		t.Errorf("%d tile_grids rows differ from a rebuild after the bulk import", tilesDiffer)
	}

	var checked int
	var diffs []string
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			CREATE TEMP TABLE bulk ON COMMIT DROP AS SELECT * FROM buildings WHERE source = 'bulk.geojson';
			DELETE FROM buildings WHERE source = 'bulk.geojson';
			INSERT INTO buildings (id, name, address, floors, height_m, footprint, households, residents,
			                       households_estimated, repaired, source, source_hash)
			SELECT id, name, address, floors, height_m, footprint, households, residents,
			       households_estimated, repaired, source, source_hash
			FROM bulk ORDER BY id`)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM bulk`).Scan(&checked); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT b.id || ': ' || concat_ws(' ',
				CASE WHEN b.grid_id IS DISTINCT FROM k.grid_id THEN 'grid ' || k.grid_id || '≠' || b.grid_id END,
				CASE WHEN b.code <> k.code THEN 'code ' || k.code || '≠' || b.code END,
				CASE WHEN b.grid_code IS DISTINCT FROM k.grid_code THEN 'grid_code' END,
				CASE WHEN b.straddling <> k.straddling THEN 'straddling' END,
				CASE WHEN b.size_3857 IS DISTINCT FROM k.size_3857 THEN 'size_3857' END,
				CASE WHEN b.footprint_3857::bytea IS DISTINCT FROM k.footprint_3857::bytea THEN 'footprint_3857' END,
				CASE WHEN b.anchor::bytea IS DISTINCT FROM k.anchor::bytea THEN 'anchor' END)
			FROM buildings b JOIN bulk k USING (id)
			WHERE (b.grid_id, b.code, b.grid_code, b.straddling, b.size_3857, b.footprint_3857::bytea, b.anchor::bytea)
			      IS DISTINCT FROM (k.grid_id, k.code, k.grid_code, k.straddling, k.size_3857, k.footprint_3857::bytea, k.anchor::bytea)
			ORDER BY b.id LIMIT 10`)
		diffs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked != sum.Imported+sum.Repaired || len(diffs) > 0 {
		t.Fatalf("%d buildings compared; the bulk path and the triggers differ: %v", checked, diffs)
	}
}
