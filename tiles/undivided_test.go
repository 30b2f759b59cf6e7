package tiles_test

import (
	"context"
	"testing"

	"gridmap/tiles"
)

// A community whose grids are all retired is the empty level: its whole area is a gap, which
// the coverage layer marks undivided — and no other gap is marked.
func TestCoverageMarksUndividedGaps(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	ctx := context.Background()
	var id int64
	var code string
	var lon, lat float64
	if err := e.pool.QueryRow(ctx, `SELECT id, code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM grids WHERE level = 2 AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&id, &code, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	gaps := func(tl tiles.Tile) map[string]any {
		_, ls := e.tile(t, tl, "")
		out := map[string]any{}
		if l := layerNamed(ls, "coverage"); l != nil {
			for _, f := range l.Features {
				if f.Properties["kind"] == "gap" {
					out[f.Properties["parent"].(string)] = f.Properties["undivided"]
				}
			}
		}
		return out
	}
	tl := tileAt(lon, lat, 12)
	for parent, u := range gaps(tl) {
		if u != nil {
			t.Errorf("before: the gap of %s is marked undivided (%v)", parent, u)
		}
	}
	if _, err := e.pool.Exec(ctx, `UPDATE grids SET valid_to = now() WHERE parent_id = $1 AND valid_to IS NULL`, id); err != nil {
		t.Fatal(err)
	}
	after := gaps(tl)
	if after[code] != true {
		t.Errorf("after: the gap of %s is %v, want undivided (gaps: %v)", code, after[code], after)
	}
	for parent, u := range after {
		if parent != code && u != nil {
			t.Errorf("after: the gap of %s is marked undivided (%v)", parent, u)
		}
	}
}
