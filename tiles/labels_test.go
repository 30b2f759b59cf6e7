package tiles_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/tiles"
)

// Each grid is labelled once: the grid_labels layer has one point per grid, in the one tile
// holding it (a copy in a neighbour's buffer lies outside that neighbour's 0–4096 square,
// where a map does not place it), inside the grid, with the figures of its grids feature and
// a level-3 grid's name without its community's.
func TestGridLabelsOncePerGrid(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	ctx := context.Background()
	const z = 14
	lo, hi := cityTile(z, 0, 1), cityTile(z, 1, 0) // north-west and south-east corners
	placed := map[float64]int{}
	props := map[float64]map[string]any{}
	grids := map[float64]map[string]any{}
	for x := lo.X - 1; x <= hi.X+1; x++ {
		for y := lo.Y - 1; y <= hi.Y+1; y++ {
			resp, body := e.get(t, "/tiles/"+tiles.Tile{Z: z, X: x, Y: y}.String()+".mvt")
			if resp.StatusCode == http.StatusNoContent {
				continue
			}
			ls, err := mvt.Unmarshal(body)
			if err != nil {
				t.Fatal(err)
			}
			if l := layerNamed(ls, "grids"); l != nil {
				for _, f := range l.Features {
					grids[f.ID.(float64)] = f.Properties
				}
			}
			l := layerNamed(ls, "grid_labels")
			if l == nil {
				continue
			}
			for _, f := range l.Features {
				p, ok := f.Geometry.(orb.Point)
				if !ok {
					t.Fatalf("label %v is a %s", f.ID, f.Geometry.GeoJSONType())
				}
				if p[0] < 0 || p[0] >= 4096 || p[1] < 0 || p[1] >= 4096 {
					continue // in the buffer: the tile holding it places it
				}
				placed[f.ID.(float64)]++
				props[f.ID.(float64)] = f.Properties
			}
		}
	}
	var want int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM tile_grids WHERE size_3857 >= 16 * $1::float8`,
		tiles.Tile{Z: z}.Width()/512).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if want < 100 {
		t.Fatalf("only %d grids of the demo city are 16 pixels across at z%d", want, z)
	}
	if len(placed) != want {
		t.Errorf("%d grids labelled, want %d", len(placed), want)
	}
	for id, n := range placed {
		if n != 1 {
			t.Errorf("grid %v labelled %d times", id, n)
		}
		g := grids[id]
		figures := []string{"households", "staffed", "carriers", "polsby_popper"}
		for _, k := range append([]string{"level", "code"}, figures...) {
			want := g[k]
			if g["level"] != 3.0 && k != "level" && k != "code" {
				want = nil // the levels above label their names only
			}
			if props[id][k] != want {
				t.Errorf("grid %v: label %s %v, want %v", id, k, props[id][k], want)
			}
		}
	}
	var outside int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM tile_grids WHERE NOT ST_Intersects(geom_3857, label_3857)`).Scan(&outside); err != nil {
		t.Fatal(err)
	}
	if outside > 0 {
		t.Errorf("%d label points outside their grid", outside)
	}
	// a level-3 grid's label drops its community's name
	var id float64
	var label string
	if err := e.pool.QueryRow(ctx, `SELECT g.id, substr(g.name, length(p.name) + 1) FROM grids g JOIN grids p ON p.id = g.parent_id
		WHERE g.level = 3 AND g.valid_to IS NULL AND left(g.name, length(p.name)) = p.name ORDER BY g.id LIMIT 1`).Scan(&id, &label); err != nil {
		t.Fatal(err)
	}
	if got := props[id]["label"]; got != label {
		t.Errorf("grid %v: label %q, want %q", id, got, label)
	}
}
