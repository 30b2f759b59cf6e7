package tiles_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/grid/demo"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

func layerNames(ls mvt.Layers) string {
	var n []string
	for _, l := range ls {
		n = append(n, l.Name)
	}
	return strings.Join(n, ",")
}

func TestZoomRules(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	ctx := context.Background()
	// tiles around a unit of a building in the overlapping grid: every layer has something
	var lon, lat float64
	if err := e.pool.QueryRow(ctx, `SELECT ST_X(u.geom), ST_Y(u.geom) FROM units u
		JOIN buildings b ON b.id = u.building_id JOIN tile_grids s ON s.grid_id = b.grid_id
		WHERE s.overlap ORDER BY u.id LIMIT 1`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		z      int
		layers string // drawn by the rules, coverage where the tile reaches a gap or overlap
		levels string
	}{
		{0, "density", ""},
		{7, "density", ""},
		{8, "grids,density", "1"},
		{10, "grids,coverage,density", "1"},
		{11, "grids,coverage,density", "1,2"},
		{12, "grids,coverage,density", "1,2"},
		{13, "grids,coverage,density", "1,2,3"},
		{14, "grids,coverage,buildings", "1,2,3"},
		{15, "grids,coverage,buildings", "1,2,3"},
		{16, "grids,coverage,buildings,units", "1,2,3"},
		{22, "grids,coverage,buildings,units", "1,2,3"},
	} {
		tl := tileAt(lon, lat, c.z)
		var cov bool
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tile_coverage
			WHERE ST_Intersects(geom_3857, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)))`, tl.Z, tl.X, tl.Y).Scan(&cov); err != nil {
			t.Fatal(err)
		}
		if !cov {
			c.layers = strings.Replace(c.layers, "coverage,", "", 1)
		}
		// labels where the tile holds the label point of a grid drawn, 16 pixels across
		deepest := 0
		if c.levels != "" {
			deepest = strings.Count(c.levels, ",") + 1
		}
		var labelled bool
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tile_grids
			WHERE label_3857 && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
			  AND level <= $4 AND size_3857 >= 16 * $5::float8)`, tl.Z, tl.X, tl.Y, deepest, tl.Width()/512).Scan(&labelled); err != nil {
			t.Fatal(err)
		}
		if labelled {
			c.layers = strings.Replace(c.layers, "grids", "grids,grid_labels", 1)
		}
		_, ls := e.tile(t, tl, "")
		if got := layerNames(ls); got != c.layers {
			t.Errorf("z%d: layers %s, want %s", c.z, got, c.layers)
		}
		levels := map[string]bool{}
		if l := layerNamed(ls, "grids"); l != nil {
			for _, f := range l.Features {
				levels[strconv.Itoa(int(f.Properties.MustFloat64("level")))] = true
			}
		}
		var got []string
		for l := range levels {
			got = append(got, l)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != c.levels {
			t.Errorf("z%d: grid levels %v, want %s", c.z, got, c.levels)
		}
	}
}

func TestLayersParameter(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 1 << 20})
	tl := cityTile(16, 0.5, 0.5)
	for _, q := range []string{"buildings", "units,grids", "grids,buildings,units,coverage,density"} {
		_, ls := e.tile(t, tl, "?layers="+q)
		want := []string{}
		for _, n := range []string{"grids", "coverage", "density", "buildings", "units"} {
			if strings.Contains(q, n) && n != "density" && n != "coverage" {
				want = append(want, n)
			}
		}
		if got := layerNames(ls); got != strings.Join(want, ",") {
			t.Errorf("layers=%s: got %s, want %s", q, got, strings.Join(want, ","))
		}
	}
}

// Every household of the city is in exactly one hexagon: at zoom 0 the whole city is one tile.
func TestDensityCountsEveryHousehold(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	_, ls := e.tile(t, tiles.Tile{}, "")
	l := layerNamed(ls, "density")
	if l == nil || layerNames(ls) != "density" {
		t.Fatalf("z0 layers %s, want density", layerNames(ls))
	}
	var hh, bs float64
	for _, f := range l.Features {
		hh += f.Properties.MustFloat64("households")
		bs += f.Properties.MustFloat64("buildings")
		if len(f.Properties.MustString("h3")) != 15 {
			t.Errorf("h3 index %q", f.Properties.MustString("h3"))
		}
	}
	var wantHH, wantBs float64
	if err := e.pool.QueryRow(context.Background(), `SELECT sum(households), count(*) FROM buildings`).Scan(&wantHH, &wantBs); err != nil {
		t.Fatal(err)
	}
	if hh != wantHH || bs != wantBs {
		t.Fatalf("density: %v households in %v buildings, want %v in %v", hh, bs, wantHH, wantBs)
	}
}

// The derived tables behind the grids, buildings and coverage layers find the demo city's
// deliberate defects, and nothing else.
func TestDerivedTablesFindTheDefects(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	ctx := context.Background()
	d := demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs()).Defects
	check := func(what string, got, want []string) {
		t.Helper()
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	check("gaps (parent codes)", codes(t, e.pool, `SELECT p.code FROM tile_coverage c JOIN grids p ON p.id = c.parent_id WHERE c.kind = 'gap'`),
		[]string{d.GapGrid[:12] + "000"})
	check("overlaps", codes(t, e.pool, `SELECT string_agg(g.code, ',' ORDER BY g.code) FROM tile_coverage c JOIN grids g ON g.id = ANY(c.grid_ids)
		WHERE c.kind = 'overlap' GROUP BY c.id`), []string{d.OverlapGrids[0] + "," + d.OverlapGrids[1]})
	check("grids flagged overlap", codes(t, e.pool, `SELECT g.code FROM tile_grids s JOIN grids g ON g.id = s.grid_id WHERE s.overlap`),
		d.OverlapGrids[:])
	check("grids flagged gap", codes(t, e.pool, `SELECT g.code FROM tile_grids s JOIN grids g ON g.id = s.grid_id WHERE s.gap`),
		[]string{d.GapGrid[:12] + "000"})
	check("unstaffed grids", codes(t, e.pool, `SELECT g.code FROM tile_grids s JOIN grids g ON g.id = s.grid_id WHERE NOT s.staffed`),
		d.Unstaffed)
	check("straddling buildings", codes(t, e.pool, `SELECT code FROM buildings WHERE straddling`), d.Straddlers)

	// tile_grids mirrors the current grids, buildings their grid's code
	var wrong int
	if err := e.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM grids g FULL JOIN tile_grids s ON s.grid_id = g.id AND g.valid_to IS NULL
		 WHERE g.valid_to IS NULL AND (s.grid_id IS NULL OR (s.level, s.code, s.name) IS DISTINCT FROM (g.level, g.code, g.name)
		   OR NOT ST_Equals(s.geom_3857, ST_Transform(g.geom, 3857))))
		+ (SELECT count(*) FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id WHERE b.grid_code IS DISTINCT FROM g.code)`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong > 0 {
		t.Errorf("%d grids or buildings whose tile copy differs", wrong)
	}

	// households and workers of every grid equal a direct count over the grids under it
	if err := e.pool.QueryRow(ctx, `
		WITH RECURSIVE sub(root, id) AS (
			SELECT id, id FROM grids WHERE valid_to IS NULL
			UNION ALL SELECT sub.root, g.id FROM sub JOIN grids g ON g.parent_id = sub.id)
		SELECT count(*) FROM tile_grids s JOIN (
			SELECT root,
			       (SELECT coalesce(sum(households), 0) FROM buildings WHERE grid_id IN (SELECT id FROM sub s2 WHERE s2.root = sub.root)) AS hh,
			       (SELECT count(DISTINCT worker_id) FROM assignments WHERE valid_to IS NULL
			          AND grid_id IN (SELECT id FROM sub s2 WHERE s2.root = sub.root)) AS wk
			FROM sub GROUP BY root) x ON x.root = s.grid_id
		WHERE s.households <> x.hh OR s.workers <> x.wk`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong > 0 {
		t.Errorf("%d grids with households or workers unlike a direct count", wrong)
	}
}

// A tile over the byte cap is rendered coarser, then loses its last layers, and says so.
func TestByteCap(t *testing.T) {
	tl := cityTile(14, 0.5, 0.5)
	full := newEnv(t, tiles.Options{})
	body, _ := full.tile(t, tl, "")
	for _, limit := range []int{len(body) - 1, len(body) / 3, 200} {
		e := newEnv(t, tiles.Options{MaxTileBytes: limit})
		resp, body := e.get(t, "/tiles/"+tl.String()+".mvt")
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
			t.Fatalf("cap %d: status %d", limit, resp.StatusCode)
		}
		if len(body) > limit || resp.Header.Get("Gridmap-Tile-Reduced") == "" {
			t.Fatalf("cap %d: %d bytes, reduced %q", limit, len(body), resp.Header.Get("Gridmap-Tile-Reduced"))
		}
		ls, err := mvt.Unmarshal(body)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("cap %d: %d bytes, layers %s: %s", limit, len(body), layerNames(ls), resp.Header.Get("Gridmap-Tile-Reduced"))
	}
}

// codes returns the first column of a query's rows, sorted.
func codes(t *testing.T, db *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
