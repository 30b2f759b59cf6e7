package tiles_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/uber/h3-go/v4"

	"gridmap/tiles"
)

// ogrinfo returns the path of GDAL's ogrinfo. Without it the test fails under CI=true and is
// skipped elsewhere.
func ogrinfo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ogrinfo (GDAL) not found: install gdal-bin (scripts/setup.sh test)")
		}
		t.Skip("ogrinfo (GDAL) not found; install gdal-bin to run this test")
	}
	return p
}

// gdalTile is a tile as GDAL's MVT driver reads it: per layer, the features' geometries as WKT
// in EPSG:3857.
type gdalTile map[string][]string

// decodeGDAL writes a tile to a file and reads it back with ogrinfo (CLIP=NO: geometries
// reach into the buffer, as encoded).
func decodeGDAL(t *testing.T, tl tiles.Tile, body []byte) gdalTile {
	t.Helper()
	bin := ogrinfo(t)
	f := filepath.Join(t.TempDir(), "tile.mvt")
	if err := os.WriteFile(f, body, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-ro", "-al", "-oo", "Z="+strconv.Itoa(tl.Z), "-oo", "X="+strconv.Itoa(tl.X),
		"-oo", "Y="+strconv.Itoa(tl.Y), "-oo", "CLIP=NO", f)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ogrinfo: %v: %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "ERROR") {
		t.Fatalf("ogrinfo: %s", stderr.String())
	}
	g := gdalTile{}
	layer := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "Layer name: "); ok {
			g[name] = []string{}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "OGRFeature("); ok {
			layer, _, _ = strings.Cut(rest, ")")
			continue
		}
		s := strings.TrimSpace(line)
		if layer != "" && !strings.Contains(s, " = ") && strings.Contains(s, "(") &&
			strings.IndexAny(s, "PML") == 0 { // POINT, POLYGON, MULTI…, LINESTRING
			g[layer] = append(g[layer], s)
		}
	}
	return g
}

// wantRes is the density resolution per zoom of the default rules (README).
var wantRes = map[int]int{8: 5, 9: 6, 10: 7, 11: 7, 12: 8, 13: 9}

// expectCounts counts, straight from the base tables, the features each layer of tile tl must
// hold under the default zoom rules: those intersecting the tile grown by its 64/4096 buffer,
// polygons at least a pixel (1/512 of the tile) across; grid labels whose grid is 16 pixels across.
func (e *env) expectCounts(t *testing.T, tl tiles.Tile) map[string]int {
	t.Helper()
	ctx := context.Background()
	level := 0
	for l, from := range []int{8, 11, 13} {
		if tl.Z >= from {
			level = l + 1
		}
	}
	px := tl.Width() / 512
	var n [5]int
	err := e.pool.QueryRow(ctx, `
		WITH env AS (SELECT ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS area)
		SELECT
		  (SELECT count(*) FROM grids g, env WHERE g.valid_to IS NULL AND g.level <= $4
		     AND ST_Intersects((ST_MaximumInscribedCircle(ST_Transform(g.geom, 3857))).center, area)
		     AND greatest(ST_XMax(ST_Transform(g.geom, 3857)) - ST_XMin(ST_Transform(g.geom, 3857)),
		                  ST_YMax(ST_Transform(g.geom, 3857)) - ST_YMin(ST_Transform(g.geom, 3857))) >= 16 * $8),
		  (SELECT count(*) FROM grids g, env WHERE g.valid_to IS NULL AND g.level <= $4
		     AND ST_Intersects(ST_Transform(g.geom, 3857), area)
		     AND greatest(ST_XMax(ST_Transform(g.geom, 3857)) - ST_XMin(ST_Transform(g.geom, 3857)),
		                  ST_YMax(ST_Transform(g.geom, 3857)) - ST_YMin(ST_Transform(g.geom, 3857))) >= $8),
		  (SELECT count(*) FROM buildings b, env WHERE $5 AND ST_Intersects(ST_Transform(b.footprint, 3857), area)
		     AND greatest(ST_XMax(ST_Transform(b.footprint, 3857)) - ST_XMin(ST_Transform(b.footprint, 3857)),
		                  ST_YMax(ST_Transform(b.footprint, 3857)) - ST_YMin(ST_Transform(b.footprint, 3857))) >= $8),
		  (SELECT count(*) FROM units u, env WHERE $6 AND ST_Intersects(ST_Transform(u.geom, 3857), area)),
		  (SELECT count(*) FROM tile_coverage c, env WHERE $7 AND ST_Intersects(c.geom_3857, area))`,
		tl.Z, tl.X, tl.Y, level, tl.Z >= 14, tl.Z >= 16, tl.Z >= 10, px,
	).Scan(&n[4], &n[0], &n[1], &n[2], &n[3])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"grids": n[0], "buildings": n[1], "units": n[2], "coverage": n[3], "grid_labels": n[4]}
	if res, ok := wantRes[tl.Z]; ok {
		want["density"] = e.countCells(t, tl, res)
	}
	return want
}

// countCells counts the H3 cells at res holding a building's point on surface whose hexagon
// intersects the buffered tile.
func (e *env) countCells(t *testing.T, tl tiles.Tile, res int) int {
	t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT ST_X(anchor), ST_Y(anchor) FROM buildings`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[h3.Cell]bool{}
	var hexes []string
	for rows.Next() {
		var lon, lat float64
		if err := rows.Scan(&lon, &lat); err != nil {
			t.Fatal(err)
		}
		c := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lon}, res)
		if seen[c] {
			continue
		}
		seen[c] = true
		var wkt strings.Builder
		wkt.WriteString("POLYGON((")
		b := c.Boundary()
		for k := 0; k <= len(b); k++ {
			p := b[k%len(b)]
			if k > 0 {
				wkt.WriteString(",")
			}
			wkt.WriteString(strconv.FormatFloat(p.Lng, 'f', -1, 64) + " " + strconv.FormatFloat(p.Lat, 'f', -1, 64))
		}
		wkt.WriteString("))")
		hexes = append(hexes, wkt.String())
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM unnest($4::text[]) w
		WHERE ST_Intersects(ST_Transform(ST_GeomFromText(w, 4326), 3857), ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))`,
		tl.Z, tl.X, tl.Y, hexes).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// GDAL's MVT driver, an independent decoder, reads every tile: the layers present are those
// the zoom rules draw, each with as many features as a direct SQL count of what intersects the
// tile, and every geometry valid.
func TestGDALReadsTiles(t *testing.T) {
	ogrinfo(t)
	e := newEnv(t, tiles.Options{})
	ctx := context.Background()
	for _, tl := range []tiles.Tile{
		cityTile(8, 0.5, 0.5), cityTile(9, 0.5, 0.5), cityTile(10, 0.5, 0.5), cityTile(11, 0.5, 0.5),
		cityTile(12, 0.5, 0.5), cityTile(13, 0.5, 0.5), cityTile(13, 0.95, 0.95),
		cityTile(14, 0.5, 0.5), cityTile(14, 0.05, 0.05), cityTile(15, 0.3, 0.7),
		cityTile(16, 0.5, 0.5), cityTile(16, 0.98, 0.02),
	} {
		t.Run(tl.String(), func(t *testing.T) {
			body, _ := e.tile(t, tl, "")
			got := decodeGDAL(t, tl, body)
			want := e.expectCounts(t, tl)
			for name, n := range want {
				if n == 0 {
					if _, ok := got[name]; ok {
						t.Errorf("layer %s: present, want none at z%d", name, tl.Z)
					}
					continue
				}
				if len(got[name]) != n {
					t.Errorf("layer %s: %d features, SQL counts %d", name, len(got[name]), n)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("unexpected layer %s", name)
				}
			}
			var all []string
			for _, ws := range got {
				all = append(all, ws...)
			}
			var invalid []string
			rows, err := e.pool.Query(ctx, `SELECT w || ': ' || ST_IsValidReason(ST_GeomFromText(w, 3857))
				FROM unnest($1::text[]) w WHERE NOT ST_IsValid(ST_GeomFromText(w, 3857))`, all)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				invalid = append(invalid, s)
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			if len(invalid) > 0 {
				t.Errorf("%d of %d geometries invalid, e.g. %.300s", len(invalid), len(all), invalid[0])
			}
			t.Logf("%d bytes: %v", len(body), want)
		})
	}
}
