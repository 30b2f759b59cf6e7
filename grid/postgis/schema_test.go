package postgis_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/migrations"
)

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.ConnString(t)) // already migrated once by the template
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	applied, err := postgis.Migrate(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migration applied %v, want nothing", applied)
	}
	names, _ := fs.Glob(migrations.FS, "*.sql")
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(names) || n == 0 {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(names))
	}
}

func TestMigrateFreshDatabase(t *testing.T) {
	ctx := context.Background()
	// a database that never saw gridmap: create it bare from template0
	admin, err := pgx.Connect(ctx, testdb.Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE bare_migrate TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE bare_migrate WITH (FORCE)") })
	cfg, _ := pgx.ParseConfig(testdb.Admin(t))
	cfg.Database = "bare_migrate"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	applied, err := postgis.Migrate(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations.FS, "*.sql")
	if len(applied) != len(names) {
		t.Fatalf("applied %v, want all of %v", applied, names)
	}
	var geomType string
	if err := conn.QueryRow(ctx, `SELECT type FROM geometry_columns WHERE f_table_name = 'grids' AND f_geometry_column = 'geom'`).Scan(&geomType); err != nil {
		t.Fatal(err)
	}
	if geomType != "MULTIPOLYGON" {
		t.Fatalf("grids.geom is %s, want a typed MULTIPOLYGON column", geomType)
	}
	again, err := postgis.Migrate(ctx, conn)
	if err != nil || len(again) != 0 {
		t.Fatalf("re-run applied %v, %v", again, err)
	}
}

// The schema refuses bad rows itself, whoever writes them.
func TestConstraintsRejectBadRows(t *testing.T) {
	s := testdb.New(t)
	ctx := context.Background()
	setup := `
INSERT INTO grids (id, level, parent_id, code, name, geom) VALUES
 (1, 1, NULL, '110101001000000', 'L1', ST_Multi(ST_MakeEnvelope(0, 0, 10, 10, 4326))),
 (2, 2, 1, '110101001001000', 'L2', ST_Multi(ST_MakeEnvelope(0, 0, 5, 5, 4326))),
 (3, 3, 2, '110101001001001', 'L3', ST_Multi(ST_MakeEnvelope(0, 0, 2, 2, 4326)));
INSERT INTO buildings (id, code, footprint) VALUES (1, '11010100100100100001', ST_Multi(ST_MakeEnvelope(0.5, 0.5, 0.6, 0.6, 4326)));
INSERT INTO units (id, building_id, label, geom) VALUES (1, 1, '1单元', ST_SetSRID(ST_MakePoint(0.55, 0.55), 4326));
INSERT INTO workers (id, display_name, role) VALUES (1, 'W', 'grid_leader');
INSERT INTO audit_log (actor, action, entity) VALUES ('t', 'test', 'x');`
	if _, err := s.Pool().Exec(ctx, setup); err != nil {
		t.Fatal(err)
	}
	poly := `ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326))`
	bowtie := `ST_GeomFromText('MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))', 4326)`
	tests := []struct {
		name, sql, code string
	}{
		{"level 4", `INSERT INTO grids (level, parent_id, code, name, geom) VALUES (4, 3, '110101001001002', 'x', ` + poly + `)`, "23514"},
		{"level 2 without parent", `INSERT INTO grids (level, code, name, geom) VALUES (2, '110101001002000', 'x', ` + poly + `)`, "23514"},
		{"level 1 with parent", `INSERT INTO grids (level, parent_id, code, name, geom) VALUES (1, 1, '110101002000000', 'x', ` + poly + `)`, "23514"},
		{"parent two levels up", `INSERT INTO grids (level, parent_id, code, name, geom) VALUES (3, 1, '110101001001002', 'x', ` + poly + `)`, "23514"},
		{"code not extending parent", `INSERT INTO grids (level, parent_id, code, name, geom) VALUES (3, 2, '110101001002001', 'x', ` + poly + `)`, "23514"},
		{"code not 15 digits", `INSERT INTO grids (level, code, name, geom) VALUES (1, '11010100200000', 'x', ` + poly + `)`, "23514"},
		{"code with level digits wrong", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002001000', 'x', ` + poly + `)`, "23514"},
		{"duplicate current code", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101001000000', 'x', ` + poly + `)`, "23505"},
		{"self-intersecting grid", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002000000', 'x', ` + bowtie + `)`, "23514"},
		{"empty grid", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002000000', 'x', ST_GeomFromText('MULTIPOLYGON EMPTY', 4326))`, "23514"},
		{"grid point geometry", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002000000', 'x', ST_SetSRID(ST_MakePoint(1, 1), 4326))`, "22023"},
		{"grid wrong SRID", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002000000', 'x', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 3857)))`, "22023"},
		{"empty name", `INSERT INTO grids (level, code, name, geom) VALUES (1, '110101002000000', '', ` + poly + `)`, "23514"},
		{"building floors 0", `INSERT INTO buildings (code, floors, footprint) VALUES ('11010100100100100002', 0, ` + poly + `)`, "23514"},
		{"building invalid footprint", `INSERT INTO buildings (code, footprint) VALUES ('11010100100100100002', ` + bowtie + `)`, "23514"},
		{"building negative households", `INSERT INTO buildings (code, footprint, households) VALUES ('11010100100100100002', ` + poly + `, -1)`, "23514"},
		{"unit outside its building", `INSERT INTO units (building_id, label, geom) VALUES (1, '2单元', ST_SetSRID(ST_MakePoint(3, 3), 4326))`, "23514"},
		{"unit of no building", `INSERT INTO units (building_id, label, geom) VALUES (99, '2单元', ST_SetSRID(ST_MakePoint(3, 3), 4326))`, "23503"},
		{"household negative residents", `INSERT INTO households (unit_id, label, floor, residents) VALUES (1, '101', 1, -2)`, "23514"},
		{"household bad occupancy", `INSERT INTO households (unit_id, label, floor, occupancy) VALUES (1, '101', 1, 'rented')`, "23514"},
		{"vacant household with residents", `INSERT INTO households (unit_id, label, floor, occupancy, residents) VALUES (1, '101', 1, 'vacant', 2)`, "23514"},
		{"assignment to two targets", `INSERT INTO assignments (worker_id, grid_id, building_id, role) VALUES (1, 3, 1, 'grid_leader')`, "23514"},
		{"assignment role not fitting target", `INSERT INTO assignments (worker_id, building_id, role) VALUES (1, 1, 'grid_leader')`, "23514"},
		{"worker unknown role", `INSERT INTO workers (display_name, role) VALUES ('W2', 'informant')`, "23514"},
		{"audit log update", `UPDATE audit_log SET actor = 'someone else'`, "42501"},
		{"audit log delete", `DELETE FROM audit_log`, "42501"},
		{"audit log truncate", `TRUNCATE audit_log`, "42501"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Pool().Exec(ctx, tc.sql)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want SQLSTATE %s", err, tc.code)
			}
			if pe.Code != tc.code {
				t.Fatalf("got SQLSTATE %s (%s), want %s", pe.Code, pe.Message, tc.code)
			}
		})
	}
	// a household with no point takes its unit's entrance
	var same bool
	err := s.Pool().QueryRow(ctx, `WITH h AS (INSERT INTO households (unit_id, label, floor, residents) VALUES (1, '101', 1, 3) RETURNING geom)
		SELECT ST_Equals(h.geom, u.geom) FROM h, units u WHERE u.id = 1`).Scan(&same)
	if err != nil || !same {
		t.Fatalf("household default point: same=%v err=%v", same, err)
	}
	var hh, res int
	if err := s.Pool().QueryRow(ctx, `SELECT households, residents FROM buildings WHERE id = 1`).Scan(&hh, &res); err != nil || hh != 1 || res != 3 {
		t.Fatalf("building counts after one household: %d/%d, %v; want 1/3", hh, res, err)
	}
}

// No column anywhere may hold a personal attribute of a resident (DESIGN.md, scope).
func TestSchemaHoldsNoPersonalAttributes(t *testing.T) {
	s := testdb.New(t)
	rows, _ := s.Pool().Query(context.Background(), `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name ~* '(resident_?name|surname|given_?name|id_?(card|number)|passport|phone|mobile|ethnic|religio|nationality|birth|gender|sex$|watch)'`)
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("columns holding personal attributes: %v", bad)
	}
	var cols []string
	rows, _ = s.Pool().Query(context.Background(), `SELECT column_name FROM information_schema.columns WHERE table_name = 'households' ORDER BY ordinal_position`)
	cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"id": true, "unit_id": true, "label": true, "floor": true, "occupancy": true, "residents": true, "geom": true}
	for _, c := range cols {
		if !want[c] {
			t.Errorf("households has column %q: households are dwelling records only", c)
		}
	}
}
