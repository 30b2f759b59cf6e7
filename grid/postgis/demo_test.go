package postgis_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/internal/testdb"
)

func count(t *testing.T, q pgx.Row) int {
	t.Helper()
	var n int
	if err := q.Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The demo city has the seed report's shape: exact grid counts per level, the rest within 5%.
func TestDemoShape(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	db := s.Pool()
	for level, want := range map[int]int{1: 5, 2: 37, 3: 134} {
		if got := count(t, db.QueryRow(ctx, "SELECT count(*) FROM grids WHERE level = $1", level)); got != want {
			t.Errorf("level %d: %d grids, want %d", level, got, want)
		}
	}
	approx := []struct {
		what string
		sql  string
		want float64
	}{
		{"buildings", "SELECT count(*) FROM buildings", 1535},
		{"units", "SELECT count(*) FROM units", 3011},
		{"households", "SELECT count(*) FROM households", 50000},
		{"residents", "SELECT sum(residents) FROM households", 140000},
		{"workers", "SELECT count(*) FROM workers", 829},
	}
	for _, a := range approx {
		got := float64(count(t, db.QueryRow(ctx, a.sql)))
		if math.Abs(got-a.want)/a.want > 0.05 {
			t.Errorf("%s: %v, want %v ± 5%%", a.what, got, a.want)
		}
	}
	// counts kept by triggers agree with the rows
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM buildings b
		WHERE b.households <> (SELECT count(*) FROM households h JOIN units u ON u.id = h.unit_id WHERE u.building_id = b.id)
		   OR b.residents <> (SELECT coalesce(sum(h.residents), 0) FROM households h JOIN units u ON u.id = h.unit_id WHERE u.building_id = b.id)`)); n != 0 {
		t.Errorf("%d buildings whose household counts disagree with the household rows", n)
	}
	// mixed building sizes: low-rise to towers
	var minF, maxF int
	if err := db.QueryRow(ctx, "SELECT min(floors), max(floors) FROM buildings").Scan(&minF, &maxF); err != nil || minF > 3 || maxF < 25 {
		t.Errorf("floors range %d..%d (%v), want low-rise and towers", minF, maxF, err)
	}
	// every building is in a level-3 grid (derived by the database), and its code extends it
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id
		WHERE g.level IS DISTINCT FROM 3`)); n != 0 {
		t.Errorf("%d buildings outside every level-3 grid", n)
	}
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE left(b.code, 15) <> g.code`)); n != 0 {
		t.Errorf("%d buildings whose code does not extend their grid's", n)
	}
	// every level-2 and level-3 grid lies inside its parent (no child outside, beyond 1 m² of noise)
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM grids c JOIN grids p ON p.id = c.parent_id
		WHERE ST_Area(ST_Difference(c.geom, p.geom)::geography) > 1`)); n != 0 {
		t.Errorf("%d grids reach outside their parent", n)
	}
	// the level-1 grids tile the city boundary
	var gap, over float64
	if err := db.QueryRow(ctx, `SELECT ST_Area(ST_Difference(c.boundary, u.g)::geography), ST_Area(ST_Difference(u.g, c.boundary)::geography)
		FROM city c, (SELECT ST_Union(geom) g FROM grids WHERE level = 1) u`).Scan(&gap, &over); err != nil || gap > 1 || over > 1 {
		t.Errorf("level-1 vs city boundary: gap %.1f m², outside %.1f m² (%v)", gap, over, err)
	}
	// the household checks lifted for the bulk load are back
	for sql, code := range map[string]string{
		`INSERT INTO households (unit_id, label, floor, geom) VALUES (999999999, 'x', 1, ST_SetSRID(ST_MakePoint(0, 0), 4326))`: "23503",
		`INSERT INTO households (unit_id, label, floor) SELECT unit_id, label, floor FROM households LIMIT 1`:                   "23505",
	} {
		_, err := db.Exec(ctx, sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("%s: %v, want SQLSTATE %s", sql, err, code)
		}
	}
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname = 'households_geom'`)); n != 1 {
		t.Error("households_geom index missing after the demo load")
	}
	// the load was audited once
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'demo.load'`)); n != 1 {
		t.Errorf("%d demo.load audit entries, want 1", n)
	}
}

// The deliberate defects are where the generator put them.
func TestDemoDefects(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	db := s.Pool()
	want := demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs()).Defects

	// the gap: part of the gap grid's parent that no level-3 child covers
	var gapArea float64
	err := db.QueryRow(ctx, `SELECT ST_Area(ST_Difference(p.geom, (SELECT ST_Union(c.geom) FROM grids c WHERE c.parent_id = p.id))::geography)
		FROM grids g JOIN grids p ON p.id = g.parent_id WHERE g.code = $1`, want.GapGrid).Scan(&gapArea)
	if err != nil || gapArea < 5000 {
		t.Errorf("gap under %s: %.0f m² (%v), want a block", want.GapGrid, gapArea, err)
	}
	// ...and no other community has one
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM grids p WHERE p.level = 2
		AND ST_Area(ST_Difference(p.geom, (SELECT ST_Union(c.geom) FROM grids c WHERE c.parent_id = p.id))::geography) > 1`)); n != 1 {
		t.Errorf("%d communities with a gap, want 1", n)
	}
	// the overlap: exactly one pair of level-3 grids overlaps
	rows, _ := db.Query(ctx, `SELECT a.code, b.code FROM grids a JOIN grids b ON a.id < b.id AND a.level = 3 AND b.level = 3
		AND a.geom && b.geom AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1`)
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var p [2]string
		return p, r.Scan(&p[0], &p[1])
	})
	if err != nil || len(pairs) != 1 || pairs[0] != want.OverlapGrids {
		t.Errorf("overlapping pairs %v (%v), want [%v]", pairs, err, want.OverlapGrids)
	}
	// unstaffed: exactly the three level-3 grids without a grid leader or worker
	rows, _ = db.Query(ctx, `SELECT code FROM grids g WHERE level = 3 AND NOT EXISTS (
		SELECT 1 FROM assignments a WHERE a.grid_id = g.id AND a.valid_to IS NULL) ORDER BY code`)
	unstaffed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(unstaffed, want.Unstaffed) {
		t.Errorf("unstaffed %v (%v), want %v", unstaffed, err, want.Unstaffed)
	}
	// buildings and units all have leaders
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM buildings b WHERE NOT EXISTS (
		SELECT 1 FROM assignments a WHERE a.building_id = b.id AND a.role = $1)`, grid.RoleBuildingLeader)); n != 0 {
		t.Errorf("%d buildings without a leader", n)
	}
	if n := count(t, db.QueryRow(ctx, `SELECT count(*) FROM units u WHERE NOT EXISTS (
		SELECT 1 FROM assignments a WHERE a.unit_id = u.id AND a.role = $1)`, grid.RoleUnitLeader)); n != 0 {
		t.Errorf("%d units without a leader", n)
	}
	// straddlers: exactly the four buildings with a real share outside their grid
	rows, _ = db.Query(ctx, `SELECT b.code FROM buildings b JOIN grids g ON g.id = b.grid_id
		WHERE ST_Area(ST_Difference(b.footprint, g.geom)::geography) > 0.01 * ST_Area(b.footprint::geography) ORDER BY b.code`)
	straddlers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(straddlers, want.Straddlers) {
		t.Errorf("straddlers %v (%v), want %v", straddlers, err, want.Straddlers)
	}
}

// The same seed gives the same city in the database.
func TestDemoDeterministic(t *testing.T) {
	a, b := testdb.NewDemo(t), testdb.New(t)
	ctx := context.Background()
	if _, err := b.LoadDemo(ctx, demo.Options{Scale: 1, Seed: testdb.DemoSeed}, "test", nil); err != nil {
		t.Fatal(err)
	}
	q := `SELECT md5(string_agg(code || ST_AsText(footprint) || households, ',' ORDER BY code)) FROM buildings`
	var ha, hb string
	if err := a.Pool().QueryRow(ctx, q).Scan(&ha); err != nil {
		t.Fatal(err)
	}
	if err := b.Pool().QueryRow(ctx, q).Scan(&hb); err != nil {
		t.Fatal(err)
	}
	if ha != hb {
		t.Fatal("two loads with the same seed differ")
	}
	// loading again into a non-empty database is refused and changes nothing
	_, err := b.LoadDemo(ctx, demo.Options{Scale: 1, Seed: 9}, "test", nil)
	if grid.ErrorCode(err) != grid.ECONFLICT {
		t.Fatalf("second load: %v, want ECONFLICT", err)
	}
	if err := b.Pool().QueryRow(ctx, q).Scan(&hb); err != nil || ha != hb {
		t.Fatalf("refused load changed the data (%v)", err)
	}
}

func TestDemoScaleMultiplies(t *testing.T) {
	if testing.Short() {
		t.Skip("loads three cities")
	}
	s := testdb.New(t)
	ctx := context.Background()
	var lines []string
	sum, err := s.LoadDemo(ctx, demo.Options{Scale: 3, Seed: 1}, "test", func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Grids[3] != 3*134 || sum.Grids[1] != 15 || len(lines) < 3 {
		t.Fatalf("scale 3: %v grids, %d progress lines", sum.Grids, len(lines))
	}
	// copies sit side by side: no level-1 grids of different copies overlap, codes stay unique
	if n := count(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM grids a JOIN grids b ON a.id < b.id AND a.level = 1 AND b.level = 1
		AND a.geom && b.geom AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1`)); n != 0 {
		t.Fatalf("%d overlapping level-1 pairs across copies", n)
	}
	if n := count(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM buildings`)); n != sum.Buildings {
		t.Fatalf("%d buildings stored, summary says %d", n, sum.Buildings)
	}
}

// The bulk load of the demo city leaves what the row triggers would: every building and unit
// written again through buildings_derive, buildings_tile, units_tile and units_check_inside
// keeps its grid, grid code, straddling flag, point on surface and Web-Mercator copies; the
// unit and building household counts are those of the household rows; and the schema is back
// as the migrations built it — the same indexes and constraints, every trigger enabled.
func TestDemoBulkMatchesTriggers(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	var diffs []string
	err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			CREATE TEMP TABLE b0 ON COMMIT DROP AS SELECT id, grid_id, grid_code, straddling, size_3857,
				footprint_3857::bytea AS f, anchor::bytea AS a FROM buildings;
			CREATE TEMP TABLE u0 ON COMMIT DROP AS SELECT id, geom_3857::bytea AS g FROM units;
			UPDATE buildings SET footprint = footprint;
			UPDATE units SET geom = geom`)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT 'building ' || b.id FROM buildings b JOIN b0 USING (id)
			WHERE (b.grid_id, b.grid_code, b.straddling, b.size_3857, b.footprint_3857::bytea, b.anchor::bytea)
			      IS DISTINCT FROM (b0.grid_id, b0.grid_code, b0.straddling, b0.size_3857, b0.f, b0.a)
			UNION ALL
			SELECT 'unit ' || u.id FROM units u JOIN u0 USING (id) WHERE u.geom_3857::bytea IS DISTINCT FROM u0.g
			UNION ALL
			SELECT 'unit counts ' || u.id FROM units u
			LEFT JOIN (SELECT unit_id, count(*)::int AS n, sum(residents)::int AS r FROM households GROUP BY unit_id) h
			       ON h.unit_id = u.id
			WHERE (u.households, u.residents) IS DISTINCT FROM (coalesce(h.n, 0), coalesce(h.r, 0))
			LIMIT 10`)
		diffs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return errors.New("rollback")
	})
	if err != nil && err.Error() != "rollback" {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("the bulk load and the row triggers differ: %v", diffs)
	}

	const schemaSQL = `
		SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL
		SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass || ' ' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
		ORDER BY 1`
	schema := func(s interface {
		Pool() *pgxpool.Pool
	}) []string {
		rows, _ := s.Pool().Query(ctx, schemaSQL)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := schema(s), schema(testdb.New(t))
	if !slices.Equal(got, want) {
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("after the load, missing: %s", w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("after the load, extra: %s", g)
			}
		}
	}
}
